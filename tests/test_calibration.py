"""Calibration from real use: assessor overrides as labelled data points, agreement per rubric kind,
per scenario and per week on a staff page, exported as CSV and Excel with user text kept inert."""
from __future__ import annotations

import csv
import io
from datetime import date

from openpyxl import load_workbook

from grading import calibration
from simulator.auth.models import Role
from simulator.practical import service as practical
from simulator.sittings import service
from tests.conftest import PASSWORD, scenario_fixture
from tests.helpers import csrf_token, login


def _row(item, kind, machine, assessor, day, possible=10.0, call="c1", scenario="s1"):
    return calibration.Row(call, scenario, f"场景{scenario}", item, kind, item, possible, machine, assessor,
                           machine != assessor, day)


def test_agreement_counts_credit_not_small_corrections():
    rows = [_row("a", "phrase", 10, 10, date(2026, 11, 2)),          # accepted
            _row("b", "phrase", 10, 6, date(2026, 11, 2)),           # corrected, still credited: agrees
            _row("c", "phrase", 10, 0, date(2026, 11, 10)),          # machine credited, assessor did not
            _row("d", "forbidden", 0, 10, date(2026, 11, 10), scenario="s2")]   # machine too harsh
    s = calibration.summarise(rows)
    assert (s["overall"]["items"], s["overall"]["agree"], s["overall"]["overridden"]) == (4, 2, 3)
    kinds = {e["key"]: e for e in s["by_kind"]}
    assert kinds["phrase"]["agreement"] == round(2 / 3, 4) and kinds["phrase"]["machine_higher"] == 1
    assert kinds["forbidden"]["machine_lower"] == 1 and kinds["forbidden"]["label"] == "服务忌语"
    assert [e["key"] for e in s["by_week"]] == ["2026-W45", "2026-W46"]
    assert [e["agree"] for e in s["by_week"]] == [2, 0]
    assert s["by_scenario"][0]["key"] == "s2", "worst agreement first"
    figures, overrides = calibration.table(s)
    assert figures[0][:6] == ["总体", "", "", 4, 2, 0.5] and len(overrides) == 3


def _client(app, username):
    client = app.test_client()
    login(client, username, PASSWORD)
    return client


def test_calibration_page_from_real_overrides_and_exports(app, users, sitting):
    candidate = service.enrol(sitting, [users[Role.TRAINEE]], users[Role.ASSESSOR])[0]
    index = next(i for i, p in enumerate(candidate.practical_plan) if p["type"] == "recording_review")
    call = service.start_practical(candidate, index, users[Role.TRAINEE])
    practical.submit_task(call, text=scenario_fixture("review-fixture")["reference_answers"][0]["text"])
    graded = {i["id"]: i for i in call.result["items"]}
    assert graded["right-help"]["points_earned"] == 20

    assessor = _client(app, "assessor1")
    empty = assessor.get("/calibration").get_data(as_text=True)
    assert "还没有经考评员评阅的通话" in empty, "nothing reviewed yet: no data points"

    # the assessor takes the credit away, with a reason that looks like a spreadsheet formula
    page = f"/sittings/{sitting.id}/candidates/{candidate.id}"
    token = csrf_token(assessor, page)
    reason = "=HYPERLINK(\"http://x\",\"点我\") 没有说出查询办法"
    resp = assessor.post(f"{page}/calls/{call.id}/override",
                         data={"csrf_token": token, "item_id": "right-help", "points": "0", "reason": reason})
    assert resp.status_code in (302, 303)

    html = assessor.get("/calibration").get_data(as_text=True)
    items = sum(1 for i in graded.values() if i["points_possible"] > 0)
    assert f"评阅过的评分项 {items} 个（1 次通话），一致 {items - 1} 个" in html
    assert ("话术要点" in html and "没有说出查询办法" in html and "=HYPERLINK(&#34;" in html
            or "=HYPERLINK(&quot;" in html)

    text = assessor.get("/calibration.csv").get_data(as_text=True).lstrip("\ufeff")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == calibration.TABLE_HEADERS
    assert table[1][:5] == ["总体", "", "", str(items), str(items - 1)]
    override = next(r for r in table if r and r[-1].endswith("没有说出查询办法"))
    assert override[-1].startswith("'="), "a formula-looking reason is escaped in CSV"
    book = load_workbook(io.BytesIO(assessor.get("/calibration.xlsx").data))
    assert book.sheetnames == ["一致率", "考评员修改"]
    cell = book["考评员修改"]["I2"]
    assert cell.value == reason and cell.data_type == "s" and cell.quotePrefix

    # role checks on every route: trainees and trainers see nothing, admins do
    for url in ("/calibration", "/calibration.csv", "/calibration.xlsx"):
        assert _client(app, "trainee1").get(url).status_code == 403
        assert _client(app, "trainer1").get(url).status_code == 403
    assert _client(app, "admin1").get("/calibration").status_code == 200


def test_a_rude_certification_call_waits_for_the_assessor_before_publishing(app, users, sitting):
    """needs_review in the sittings flow: the candidates' list and the review page show the attitude flag
    with its evidence; publishing is refused until the assessor settles it with a reason."""
    from grading.rubric import grade
    from scenarios.simulate import simulate_call
    from simulator.extensions import db
    from simulator.practical.models import PracticalCall

    candidate = service.enrol(sitting, [users[Role.TRAINEE]], users[Role.ASSESSOR])[0]
    index = next(i for i, p in enumerate(candidate.practical_plan) if p["type"] == "live_call")
    call = service.start_practical(candidate, index, users[Role.TRAINEE])
    # the call as the live-call runtime would have graded it (the call itself is not under test here)
    scn = call.scenario.data
    answer = {"turns": ["您好，工号1035，请问有什么可以帮您？", "您打听这么多干什么，请您稍等。",
                        "查到了，本月话费八十元。感谢您的来电，再见。"]}
    result = grade(simulate_call(scn, answer), scn).to_dict()
    assert result["needs_review"] and result["provisional"]
    call.result, call.status, call.score = result, "finished", result["total"]
    db.session.commit()

    assessor = _client(app, "assessor1")
    listing = assessor.get(f"/sittings/{sitting.id}").get_data(as_text=True)
    assert 'data-testid="awaiting-review"' in listing and "1 次通话服务态度待复核" in listing
    page = f"/sittings/{sitting.id}/candidates/{candidate.id}"
    review = assessor.get(page).get_data(as_text=True)
    assert 'data-testid="needs-review"' in review and "打听这么多干什么" in review

    token = csrf_token(assessor, f"/sittings/{sitting.id}")
    assessor.post(f"/sittings/{sitting.id}/publish", data={"csrf_token": token})
    db.session.expire_all()
    assert sitting.published_at is None, "not published while a flag waits"
    assert "服务态度待复核" in assessor.get(f"/sittings/{sitting.id}").get_data(as_text=True)

    token = csrf_token(assessor, page)
    assessor.post(f"{page}/calls/{call.id}/override",
                  data={"csrf_token": token, "item_id": "attitude", "decision": "confirm",
                        "reason": "确认反问客户，扣分成立"})
    db.session.expire_all()
    assert db.session.get(PracticalCall, call.id).awaiting_review == []
    assert 'data-testid="awaiting-review"' not in assessor.get(f"/sittings/{sitting.id}").get_data(as_text=True)
    token = csrf_token(assessor, f"/sittings/{sitting.id}")
    assessor.post(f"/sittings/{sitting.id}/publish", data={"csrf_token": token})
    db.session.expire_all()
    assert sitting.published_at is not None
