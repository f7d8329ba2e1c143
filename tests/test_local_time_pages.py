"""Every time a person reads is local time with its zone's name: stored naive UTC (2026-12-01 02:00Z)
reads 10:00 北京时间 with the default zone and 21:00 the day before with TIME_ZONE=America/New_York,
on the theory, practical and progress history, the admin's user list, the authoring versions, appeals,
the audit log, calibration (page and CSV), the certificate check and the proctor's clock."""
from __future__ import annotations

import io
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from exams import attempts as exam
from simulator.auth.models import Role
from simulator.extensions import db
from simulator.practical import service as practical
from simulator.practical.models import PracticalCall, ScenarioVersion
from simulator.sittings import service
from simulator.sittings.models import Appeal, AuditEntry
from tests.conftest import PASSWORD, publish_with_candidate
from tests.helpers import login, submit

STORED = datetime(2026, 12, 1, 2, 0)          # naive UTC, as the models keep it
ZONES = {
    "Asia/Shanghai": {"label": "北京时间", "minute": "2026-12-01 10:00", "day": "2026-12-01"},
    "America/New_York": {"label": "America/New_York", "minute": "2026-11-30 21:00", "day": "2026-11-30"},
}


@pytest.fixture(params=list(ZONES))
def zone(request, app):
    app.config["TIME_ZONE"] = request.param
    return ZONES[request.param] | {"name": request.param}


@pytest.fixture
def stamped(app, users, sitting):
    """One of everything that carries a time, all stamped STORED: a published sitting whose candidate
    appealed an item (audit entry) and whose call an assessor overrode, a released mock paper, a
    finished practice task, a last login and the scenario versions."""
    trainee = users[Role.TRAINEE]
    candidate = publish_with_candidate(users, sitting, "王小明")
    call = db.session.query(PracticalCall).filter_by(sitting_candidate_id=candidate.id).first()
    appeal = service.open_appeal(candidate, call.id, "x", "开头已经按规范问候，请复核录音。", trainee)
    appeal.created_at = STORED
    for entry in db.session.query(AuditEntry).filter_by(action="appeal_open"):
        entry.at = STORED
    call.overrides = {"x": {"points": 40.0, "by": users[Role.ASSESSOR].id, "at": STORED.isoformat(),
                            "reason": "开头未问候"}}
    sitting.opens_at = STORED

    mock = exam.start_attempt(db.session, trainee.id, mode="mock", level=4, seed=1)
    exam.submit(mock)
    mock.started_at = mock.submitted_at = STORED
    task = practical.start_task(trainee, next(v for v in ScenarioVersion.current() if v.task == "typing"))
    task.status, task.result = "finished", {"total": 80, "items": []}
    task.started_at = task.finished_at = STORED
    trainee.last_login_at = STORED
    for version in db.session.query(ScenarioVersion):
        version.created_at = STORED
    db.session.commit()
    return {"candidate": candidate, "call": call, "appeal": appeal}


def _client(app, username):
    client = app.test_client()
    login(client, username, PASSWORD)
    return client


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"(?s)<script.*?</script>", "", html)))


def _page(app, username: str, url: str) -> str:
    resp = _client(app, username).get(url)
    assert resp.status_code == 200, (url, resp.status_code)
    return _text(resp.get_data(as_text=True))


def _shows(page: str, zone: dict, what: str = "minute") -> None:
    assert zone[what] in page and zone["label"] in page
    wrong = "2026-12-01 02:00"                       # the stored UTC itself
    assert wrong not in page and "(UTC)" not in page


def test_theory_history(app, stamped, zone):
    _shows(_page(app, "trainee1", "/theory/"), zone)


def test_practical_history(app, stamped, zone):
    _shows(_page(app, "trainee1", "/practical/"), zone)


def test_progress_history(app, stamped, zone):
    _shows(_page(app, "trainee1", "/progress"), zone)


def test_admin_user_list(app, stamped, zone):
    _shows(_page(app, "admin1", "/admin/users"), zone)


def test_authoring_versions(app, stamped, zone):
    _shows(_page(app, "trainer1", "/scenarios/test-runtime-lookup"), zone)


def test_appeals(app, stamped, sitting, zone):
    page = _page(app, "assessor1", f"/sittings/{sitting.id}/appeals")
    _shows(page, zone)
    assert f"提出于 {zone['minute']}（{zone['label']}）" in page


def test_audit_log(app, stamped, sitting, zone):
    page = _page(app, "assessor1", f"/sittings/{sitting.id}/candidates/{stamped['candidate'].id}")
    log = re.search(r"时间（[^）]+） 操作人.*", page).group(0)
    assert f"时间（{zone['label']}）" in log and f"{zone['minute']}:00" in log


def test_calibration_page_and_export(app, stamped, zone):
    page = _page(app, "assessor1", "/calibration")
    overrides = page[page.index("考评员修改记录"):]
    assert f"日期（{zone['label']}）" in overrides and zone["day"] in overrides
    csv = _client(app, "assessor1").get("/calibration.csv").get_data(as_text=True)
    override_rows = csv[csv.index("日期"):]
    assert override_rows.startswith(f"日期（{zone['label']}）") and f"\n{zone['day']}," in override_rows


def test_certificate_check(app, stamped, zone):
    number = stamped["candidate"].certificate_number
    page = _text(app.test_client().get(f"/verify/{number}").get_data(as_text=True))
    assert f"鉴定日期 {zone['day']}" in page


def test_proctor_clock_is_the_servers_local_time(app, stamped, sitting, zone):
    data = _client(app, "assessor1").get(f"/sittings/{sitting.id}/proctor.json").get_json()
    clock, label = re.fullmatch(r"(\d\d:\d\d:\d\d)（(.+)）", data["updated"]).groups()
    assert label == zone["label"]
    now = datetime.now(ZoneInfo(zone["name"]))
    shown = now.replace(hour=int(clock[:2]), minute=int(clock[3:5]), second=int(clock[6:]))
    assert abs((now - shown).total_seconds()) < 30 or abs((now - shown).total_seconds()) > 86370


def test_appeal_row_is_stored_in_utc(app, stamped, zone):
    # The zone only changes what people read, never what is stored.
    assert db.session.get(Appeal, stamped["appeal"].id).created_at == STORED


def _pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF")
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_score_report_and_certificate_pdfs(app, zone, stamped, sitting):
    # Published at STORED; the rebuilt report takes both dates (sitting, issue) from the stored UTC.
    sitting.published_at = STORED
    db.session.commit()
    candidate = stamped["candidate"]
    assessor = _client(app, "assessor1")
    base = f"/sittings/{sitting.id}/candidates/{candidate.id}"
    assert submit(assessor, f"{base}/report/rebuild", {}, form_url=f"/sittings/{sitting.id}").status_code == 302
    report = _pdf_text(assessor.get(f"{base}/report.pdf").data)
    assert f"日期：{zone['day']}" in report
    certificate = re.sub(r"\s+", "", _pdf_text(assessor.get(f"{base}/certificate.pdf").data))
    assert f"发证日期{zone['day']}" in certificate
