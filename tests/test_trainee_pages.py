"""What a trainee reads: the practical list with level tabs, search, filters and a done / best-score
mark; progress history rows that open the attempt, a score trend, 五级 (not 5级) everywhere; the
weakest-areas hint under the right card; practice results that say nobody reviews them."""
from __future__ import annotations

import re

from exams import attempts as exam
from simulator.auth.models import Role
from simulator.extensions import db
from simulator.practical.models import PracticalCall
from tests.conftest import PASSWORD, scenario_fixture
from tests.helpers import csrf_token, login


def _client(app, username="trainee1"):
    client = app.test_client()
    login(client, username, PASSWORD)
    return client


def _practise(client, scenario_id, data) -> str:
    token = csrf_token(client, "/practical/")
    resp = client.post(f"/practical/start/{scenario_id}", data={"csrf_token": token})
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    meta = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    call_id = resp.headers["Location"].rsplit("/", 1)[-1]
    assert client.post(f"/practical/tasks/{call_id}/submit", data=data,
                       headers={"X-CSRFToken": meta}).status_code == 200
    return call_id


def _rows(page: str) -> list[str]:
    table = re.search(r'data-testid="scenario-list".*?</table>', page, re.S)
    return re.findall(r'data-testid="start-([\w-]+)"', table.group(0)) if table else []


def test_practical_list_tabs_search_filter_and_best_score(app, users, content):
    client = _client(app)
    everything = _rows(client.get("/practical/").get_data(as_text=True))
    assert len(everything) == 5
    level4 = _rows(client.get("/practical/?level=4").get_data(as_text=True))
    assert level4 and all(sid in ("test-runtime-lookup-4", "test-typing-workorder", "test-case-complaint",
                                  "test-review-opening") or "4" in sid for sid in level4)
    assert len(level4) < len(everything)
    assert _rows(client.get("/practical/?task=typing").get_data(as_text=True)) == ["test-typing-workorder"]
    found = _rows(client.get("/practical/?q=四级").get_data(as_text=True))
    assert found == ["test-runtime-lookup-4"]
    none = client.get("/practical/?q=不存在的场景").get_data(as_text=True)
    assert 'data-testid="no-match"' in none

    _practise(client, "test-typing-workorder", {"typed": scenario_fixture("typing-fixture")["typing"]["text"]})
    page = client.get("/practical/").get_data(as_text=True)
    best = re.search(r'data-testid="best-test-typing-workorder">(.*?)</td>', page, re.S).group(1)
    assert "已练习" in best and "最好" in best
    assert "未练习" in re.search(r'data-testid="best-test-review-opening">(.*?)</td>', page, re.S).group(1)
    assert _rows(client.get("/practical/?done=yes").get_data(as_text=True)) == ["test-typing-workorder"]
    assert "test-typing-workorder" not in _rows(client.get("/practical/?done=no").get_data(as_text=True))
    tabs = re.search(r'data-testid="level-tabs".*?</nav>', page, re.S).group(0)
    assert "五级" in tabs and "四级" in tabs and "5级" not in tabs


def test_progress_history_opens_attempts_and_draws_a_trend(app, users, content):
    trainee = users[Role.TRAINEE]
    attempt = exam.start_attempt(db.session, trainee.id, mode="practice", level=5, count=30, timed=False)
    exam.submit(attempt)
    client = _client(app)
    call_id = _practise(client, "test-review-opening", {"text": "坐席没有报工号。"})
    page = client.get("/progress").get_data(as_text=True)
    history = re.search(r'data-testid="history".*?</table>', page, re.S).group(0)
    assert f'href="/theory/attempts/{attempt.id}/result"' in history
    assert f'href="/practical/calls/{call_id}/result"' in history
    assert "五级练习" in history and "5级" not in page
    trend = re.search(r'<svg[^>]*data-testid="trend-chart".*?</svg>', page, re.S).group(0)
    points = re.search(r'<polyline[^>]*points="([^"]+)"', trend).group(1).split()
    assert len(points) == 2 and "合格线 60 分" in trend
    assert client.get(f"/practical/calls/{call_id}/result").status_code == 200


def test_practice_results_say_nobody_reviews_them(app, users, content):
    client = _client(app)
    call_id = _practise(client, "test-review-opening", {"text": "坐席没有报工号。"})
    call = db.session.get(PracticalCall, call_id)
    result = dict(call.result)
    result["provisional"] = True
    result["items"] = [dict(result["items"][0], verdict="review", verdict_label="待复核")] + result["items"][1:]
    call.result = result
    db.session.commit()
    page = client.get(f"/practical/calls/{call_id}/result").get_data(as_text=True)
    assert "练习通话不人工复核" in page and "系统无法确定" in page
    assert "待考评员复核" not in page and ">待复核<" not in page


def test_weakest_hint_sits_under_its_card_and_disabled_buttons_look_disabled(app, users, content):
    trainee = users[Role.TRAINEE]
    for _ in range(2):
        exam.submit(exam.start_attempt(db.session, trainee.id, mode="practice", level=5, count=30, timed=False))
    page = _client(app).get("/trainee").get_data(as_text=True)
    theory_card = page[page.index("<h2>理论知识</h2>"):]
    practical_card = page[page.index("<h2>操作技能练习</h2>"):page.index("<h2>理论知识</h2>")]
    assert 'data-testid="weakest-theory"' in theory_card and 'data-testid="weakest-theory"' not in practical_card
    css = _client(app).get("/static/css/app.css").get_data(as_text=True)
    assert re.search(r"\.button\[disabled\][^{]*\{[^}]*cursor: not-allowed", css)
