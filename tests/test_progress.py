"""Trainee progress (charts per area and rubric category, weakest areas, history, dashboard) and staff
analytics (pass rates, distributions, most-failed items, Excel export)."""
from __future__ import annotations

import io
import re

from openpyxl import load_workbook

from exams import attempts as exam
from simulator.auth.models import Role
from simulator.extensions import db
from simulator.progress import stats
from simulator.sittings import service
from tests.conftest import PASSWORD, scenario_fixture
from tests.helpers import csrf_token, login


def _client(app, username):
    client = app.test_client()
    login(client, username, PASSWORD)
    return client


def _practise(client, scenario_id, data):
    token = csrf_token(client, "/practical/")
    resp = client.post(f"/practical/start/{scenario_id}", data={"csrf_token": token})
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    meta = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    call_id = resp.headers["Location"].rsplit("/", 1)[-1]
    assert client.post(f"/practical/tasks/{call_id}/submit", data=data,
                       headers={"X-CSRFToken": meta}).status_code == 200


def test_progress_charts_weakest_areas_and_history(app, users, content):
    trainee = users[Role.TRAINEE]
    attempt = exam.start_attempt(db.session, trainee.id, mode="practice", level=5, count=30, timed=False)
    exam.submit(attempt)                                   # nothing answered: every area at 0 %
    client = _client(app, "trainee1")
    _practise(client, "test-typing-workorder", {"typed": scenario_fixture("typing-fixture")["typing"]["text"][:30]})
    _practise(client, "test-review-opening", {"text": "坐席没有报工号。"})
    areas = stats.theory_by_area(trainee.id)
    assert areas and all(a["rate"] == 0 for a in areas)
    categories = {c["key"]: c for c in stats.practical_by_category(trainee.id)}
    assert {"typing_speed", "typing_accuracy", "phrase"} <= set(categories)
    assert categories["typing_accuracy"]["rate"] == 1.0 and categories["phrase"]["rate"] < 1
    weakest = stats.weakest(trainee.id)
    assert len(weakest) == 3 and all(w["rate"] <= categories["typing_accuracy"]["rate"] for w in weakest)
    page = client.get("/progress").get_data(as_text=True)
    assert 'data-testid="theory-chart"' in page and 'data-testid="practical-chart"' in page
    assert "录入正确率" in page and "做这一领域的专项练习" in page and "cdn" not in page.lower()
    area = weakest[0]["key"] if weakest[0]["kind"] == "theory" else areas[0]["key"]
    theory_home = client.get(f"/theory/?area={area}").get_data(as_text=True)
    assert re.search(rf'<option selected value="{area}"|<option value="{area}" selected', theory_home), \
        "the link preselects the area to practise"
    assert "工单录入" in page and len(stats.history(trainee.id)) == 3


def test_dashboard_lists_upcoming_sittings(app, users, sitting):
    service.enrol(sitting, [users[Role.TRAINEE]], users[Role.ASSESSOR])
    page = _client(app, "trainee1").get("/trainee").get_data(as_text=True)
    assert "2026年第4期四级鉴定" in page and "即将参加的鉴定" in page


def test_staff_analytics_and_export(app, users, sitting):
    candidate = service.enrol(sitting, [users[Role.TRAINEE]], users[Role.ASSESSOR])[0]
    exam.submit(service.start_theory(candidate))
    index = next(i for i, p in enumerate(candidate.practical_plan) if p["type"] == "typing")
    call = service.start_practical(candidate, index, users[Role.TRAINEE])
    from datetime import timedelta

    from simulator.practical import service as practical
    call.started_at -= timedelta(minutes=5)               # five characters in five minutes
    practical.submit_task(call, typed="客户王先生")
    service.publish(sitting, users[Role.ASSESSOR])
    assert stats.pass_rates()["levels"][4] == {"certified": 0, "total": 1}
    assert sum(stats.score_distributions()["theory"]) == 1
    failed = stats.most_failed_items()
    assert (failed[0]["scenario"], failed[0]["item"], failed[0]["rate"]) == ("test-typing-workorder", "speed", 1.0)
    assessor = _client(app, "assessor1")
    page = assessor.get("/analytics").get_data(as_text=True)
    assert "2026年第4期四级鉴定" in page and "录入速度" in page and 'data-testid="theory-hist"' in page
    book = load_workbook(io.BytesIO(assessor.get("/analytics.xlsx").data))
    assert book.sheetnames == ["通过率", "成绩分布", "失分最多的评分项"]
    assert book["通过率"]["A2"].value == "2026年第4期四级鉴定"
    assert _client(app, "trainee1").get("/analytics").status_code == 403
    assert _client(app, "trainer1").get("/analytics").status_code == 200
