"""Security of generated documents: user text in PDFs is text, never markup; Excel exports write
text, never formulas; a published report can be rebuilt from stored data by its assessor."""
from __future__ import annotations

import http.server
import io
import threading
from datetime import timedelta

import pytest
from openpyxl import Workbook, load_workbook
from pypdf import PdfReader

from simulator.auth.models import Role
from simulator.extensions import db
from simulator.sittings import pdf, service
from simulator.sittings.models import AuditEntry, SittingCandidate, utcnow
from tests.conftest import PASSWORD, publish_with_candidate
from tests.helpers import csrf_token, login


@pytest.fixture
def probe():
    """A tiny HTTP server that counts the requests it gets (the 'internal URL' a PDF must not fetch)."""
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()


def _text(data: bytes) -> str:
    assert data.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(data))
    return "".join(page.extract_text() for page in reader.pages)


def _report(url: str) -> dict:
    return {"name": "李<b>四", "username": "li4", "organisation": f'<img src="{url}/org.png" width="9" height="9"/>',
            "sitting": f'<a href="{url}/sitting">第1期</a>', "level": 4, "date": "2026-12-01", "theory": 80.0,
            "theory_breakdown": [{"area": "职业道德<i>", "earned": 5, "possible": 10, "correct": 1, "total": 2}],
            "practical": 75.0, "certified": True, "complete": True,
            "practical_items": [{"title": f'话费<font color="red">查询</font><img src="{url}/t.png"/>',
                                 "type": "live_call", "weight": 40, "score": 75.0,
                                 "items": [{"label": "开头语 & <礼貌>", "earned": 5, "possible": 10}]}]}


def test_markup_in_report_fields_is_printed_literally_and_fetches_nothing(probe):
    url, hits = probe
    text = _text(pdf.score_report(_report(url), number="HJ1"))
    assert "李<b>四" in text
    assert f'<img src="{url}/org.png"' in text
    assert f'<a href="{url}/sitting">第1期</a>' in text
    assert '话费<font color="red">查询</font>' in text and "开头语 & <礼貌>" in text and "职业道德<i>" in text
    cert = _text(pdf.certificate(_report(url), "HJ1", f"{url}/verify/HJ1"))
    assert "李<b>四" in cert
    assert hits == [], "rendering a PDF must not fetch anything"


def _published_candidate(users, sitting, name: str) -> SittingCandidate:
    return publish_with_candidate(users, sitting, name, item_label="<b>规范")


@pytest.fixture
def markup_sitting(app, users, content):
    start = utcnow() - timedelta(minutes=5)
    return service.create_sitting(users[Role.ASSESSOR], name="第<b>4期", level=4, opens_at=start,
                                  closes_at=start + timedelta(hours=3))


def test_published_report_with_markup_name_downloads(app, users, markup_sitting, probe):
    url, hits = probe
    candidate = _published_candidate(users, markup_sitting, f'李<b>四<img src="{url}/n.png"/>')
    trainee = app.test_client()
    login(trainee, "trainee1", PASSWORD)
    report = trainee.get(f"/my/sittings/{markup_sitting.id}/report.pdf")
    assert report.status_code == 200
    text = _text(report.data)
    assert "李<b>四" in text and "第<b>4期" in text
    cert = trainee.get(f"/my/sittings/{markup_sitting.id}/certificate.pdf")
    assert cert.status_code == 200 and "李<b>四" in _text(cert.data)
    assert candidate.certificate_number in _text(cert.data)
    assert hits == []


def test_assessor_rebuilds_a_report_from_stored_data(app, users, markup_sitting):
    candidate = _published_candidate(users, markup_sitting, "李四")
    frozen_theory = candidate.report["theory"]
    # the stored report went bad (e.g. written by an older version); the account holds the right name
    candidate.report = {**candidate.report, "name": "旧名字"}
    users[Role.TRAINEE].display_name = "李思"
    db.session.commit()
    url = f"/sittings/{markup_sitting.id}/candidates/{candidate.id}/report/rebuild"
    trainee = app.test_client()
    login(trainee, "trainee1", PASSWORD)
    assert trainee.post(url).status_code in (400, 403), "candidates cannot rebuild"
    assessor = app.test_client()
    login(assessor, "assessor1", PASSWORD)
    assert assessor.post(url).status_code == 400, "CSRF token required"
    token = csrf_token(assessor, f"/sittings/{markup_sitting.id}")
    assert "重新生成" in assessor.get(f"/sittings/{markup_sitting.id}").get_data(as_text=True)
    resp = assessor.post(url, data={"csrf_token": token})
    assert resp.status_code == 302
    db.session.expire_all()
    candidate = db.session.get(SittingCandidate, candidate.id)
    assert candidate.report["name"] == "李思" and candidate.report["theory"] == frozen_theory
    entry = db.session.query(AuditEntry).filter_by(action="rebuild_report").one()
    assert entry.before["name"] == "旧名字" and entry.after["name"] == "李思"
    assert "李思" in _text(assessor.get(f"/sittings/{markup_sitting.id}/candidates/{candidate.id}/report.pdf").data)


# ---- Excel ----------------------------------------------------------------------------------------------

FORMULAS = ["=HYPERLINK(\"http://evil/\",\"点我\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


def _no_formulas(data: bytes):
    wb = load_workbook(io.BytesIO(data))
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert cells
    formulas = [(c.coordinate, c.value) for c in cells if c.data_type == "f"]
    assert formulas == [], formulas
    return [c.value for c in cells]


def test_sitting_results_export_writes_names_as_text(app, users, make_user, markup_sitting):
    candidate = _published_candidate(users, markup_sitting, FORMULAS[0])
    users[Role.TRAINEE].organisation = "=1+2"
    db.session.commit()
    assessor = app.test_client()
    login(assessor, "assessor1", PASSWORD)
    values = _no_formulas(assessor.get(f"/sittings/{markup_sitting.id}/results.xlsx").data)
    assert any(isinstance(v, str) and "HYPERLINK" in v for v in values)
    assert candidate.certificate_number in values
    assert 82.0 in values, "numbers stay numbers"


def test_every_export_writes_user_text_as_text(app, users, make_user, markup_sitting, tmp_path):
    """Results, analytics (sitting names, scenario titles), bank, templates: one helper, no formulas."""
    _published_candidate(users, markup_sitting, FORMULAS[0])
    markup_sitting.name = "=HYPERLINK(\"http://evil/\")"
    db.session.commit()
    exports = [(Role.ASSESSOR, f"/sittings/{markup_sitting.id}/results.xlsx"), (Role.ASSESSOR, "/analytics.xlsx"),
               (Role.TRAINER, "/bank/template.xlsx"), (Role.ASSESSOR, "/sittings/roster-template.xlsx")]
    for role, url in exports:
        resp = _client_for(app, role).get(url)
        assert resp.status_code == 200 and resp.data.startswith(b"PK"), url
        _no_formulas(resp.data)
    values = _no_formulas(_client_for(app, Role.ASSESSOR).get("/analytics.xlsx").data)
    assert markup_sitting.name in values


def _client_for(app, role):
    client = app.test_client()
    login(client, f"{role.value}1", PASSWORD)
    return client


def test_bank_export_writes_stems_as_text(app, users, tmp_path):
    from exams import bank_io
    from tests.bank_factory import write_bank
    bank_io.sync_from_files(db.session, write_bank(tmp_path / "bank"))
    from exams.models import BankQuestion
    question = db.session.query(BankQuestion).first()
    question.stem = FORMULAS[0]
    db.session.commit()
    trainer = _client_for(app, Role.TRAINER)
    resp = trainer.get("/bank/export.xlsx")
    assert resp.status_code == 200
    values = _no_formulas(resp.data)
    assert any(isinstance(v, str) and "HYPERLINK" in v for v in values)


def test_append_row_helper_keeps_values_and_types():
    from exams.spreadsheet import append_row
    wb = Workbook()
    ws = wb.active
    for value in FORMULAS:
        append_row(ws, [value, 12.5, None, "普通", 3])
    buf = io.BytesIO()
    wb.save(buf)
    values = _no_formulas(buf.getvalue())
    rows = [values[i:i + 5] for i in range(0, len(values), 5)]
    for value, row in zip(FORMULAS, rows, strict=True):
        assert row[0] == value.replace("\r", "\n") and row[1:] == [12.5, None, "普通", 3]
