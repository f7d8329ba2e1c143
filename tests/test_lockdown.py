"""Closed book during a certification sitting, and the access code enforced on the server.

While a candidate's sitting is open (in its window, or with a paper or task still in progress, until
results are published) practice papers, mock papers, item feedback, practice tasks and calls and their
result pages are refused; after publishing they are open again. A login session that has not entered
the sitting's access code cannot open, answer or submit the certification paper."""
from __future__ import annotations

import json
import re
from datetime import timedelta

from exams import attempts as exam
from exams.models import Attempt
from simulator.auth.models import Role
from simulator.extensions import db
from simulator.sittings import service
from simulator.sittings.models import SittingCandidate, utcnow
from tests.conftest import PASSWORD, scenario_fixture
from tests.helpers import csrf_token, login

META_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')
LOCKED = "正式鉴定"


def _client(app, username="trainee1"):
    client = app.test_client()
    login(client, username, PASSWORD)
    return client


def _enter(client, sitting_id, code="8848"):
    token = csrf_token(client, f"/my/sittings/{sitting_id}")
    client.post(f"/my/sittings/{sitting_id}", data={"csrf_token": token, "code": code})


def _start_certification_theory(client, sitting_id) -> str:
    token = csrf_token(client, f"/my/sittings/{sitting_id}")
    resp = client.post(f"/my/sittings/{sitting_id}/theory", data={"csrf_token": token})
    assert resp.status_code == 302 and "/theory/attempts/" in resp.headers["Location"]
    return resp.headers["Location"]


def _post_json(client, url, body, token):
    return client.post(url, data=json.dumps(body), content_type="application/json",
                       headers={"X-CSRFToken": token, "Accept": "application/json"})


def _start_practice_paper(client):
    token = csrf_token(client, "/theory/")
    return client.post("/theory/start/practice", data={"csrf_token": token, "level": "4", "area": "",
                                                       "count": "10", "feedback": "immediate", "timed": ""})


def _practice_task(client, scenario_id="test-typing-workorder"):
    token = csrf_token(client, "/practical/")
    return client.post(f"/practical/start/{scenario_id}", data={"csrf_token": token})


def test_a_second_session_without_the_access_code_cannot_open_answer_or_submit(app, users, sitting, database):
    service.enrol(sitting, [users[Role.TRAINEE]], users[Role.ASSESSOR])
    first = _client(app)
    _enter(first, sitting.id)
    url = _start_certification_theory(first, sitting.id)
    token = META_CSRF.search(first.get(url).get_data(as_text=True)).group(1)
    assert _post_json(first, url + "/answer", {"position": 0, "response": ["T"] if db.session.query(Attempt).one()
                                               .paper[0]["type"] == "judge" else ["A"]}, token).status_code == 200

    second = _client(app)                                  # the same account, another browser
    page = second.get(url)
    assert page.status_code == 403 and "考场口令" in page.get_data(as_text=True)
    assert "stem" not in page.get_data(as_text=True) and 'class="question"' not in page.get_data(as_text=True)
    token2 = csrf_token(second, "/theory/")
    refused = _post_json(second, url + "/answer", {"position": 1, "response": ["A"]}, token2)
    assert refused.status_code == 403 and refused.json["access_code"] and "考场口令" in refused.json["error"]
    assert second.get(url + "/state", headers={"Accept": "application/json"}).status_code == 403
    assert second.post(url + "/submit", data={"csrf_token": token2}).status_code == 403
    db.session.expire_all()
    attempt = db.session.query(Attempt).one()
    assert attempt.is_open and sum(1 for a in attempt.answers if a.response) == 1

    _enter(second, sitting.id, code="0000")                # a wrong code admits nothing
    assert second.get(url).status_code == 403
    _enter(second, sitting.id)
    assert second.get(url).status_code == 200
    assert first.get(url).status_code == 200


def test_a_practical_task_of_the_sitting_needs_the_code_in_this_session_too(app, users, sitting, database):
    candidate = service.enrol(sitting, [users[Role.TRAINEE]], users[Role.ASSESSOR])[0]
    first = _client(app)
    _enter(first, sitting.id)
    index = next(i for i, p in enumerate(candidate.practical_plan) if p["type"] == "typing")
    token = csrf_token(first, f"/my/sittings/{sitting.id}")
    resp = first.post(f"/my/sittings/{sitting.id}/practical/{index}", data={"csrf_token": token})
    task_url = resp.headers["Location"]
    assert first.get(task_url).status_code == 200
    second = _client(app)
    assert second.get(task_url).status_code == 403
    call_id = task_url.rsplit("/", 1)[-1]
    token2 = csrf_token(second, "/theory/")
    assert second.post(f"/practical/tasks/{call_id}/submit", data={"typed": "abc"},
                       headers={"X-CSRFToken": token2}).status_code == 403


def test_practice_during_an_open_certification_is_refused_and_allowed_after_publishing(app, users, sitting,
                                                                                         database):
    trainee = users[Role.TRAINEE]
    client = _client(app)
    # before enrolment: a practice paper with feedback and a practice task, both with results
    practice_url = _start_practice_paper(client).headers["Location"]
    token = META_CSRF.search(client.get(practice_url).get_data(as_text=True)).group(1)
    practice = db.session.query(Attempt).filter_by(mode="practice").one()
    first_type = practice.paper[0]["type"]
    _post_json(client, practice_url + "/answer",
               {"position": 0, "response": ["T"] if first_type == "judge" else ["A"]}, token)
    task_url = _practice_task(client).headers["Location"]
    call_id = task_url.rsplit("/", 1)[-1]
    meta = META_CSRF.search(client.get(task_url).get_data(as_text=True)).group(1)
    typed = scenario_fixture("typing-fixture")["typing"]["text"]
    assert client.post(f"/practical/tasks/{call_id}/submit", data={"typed": typed},
                       headers={"X-CSRFToken": meta}).status_code == 200
    assert client.get(f"/practical/calls/{call_id}/result").status_code == 200

    service.enrol(sitting, [trainee], users[Role.ASSESSOR])
    assert service.open_certification_for(trainee) is not None
    _enter(client, sitting.id)
    cert_url = _start_certification_theory(client, sitting.id)

    home = client.get("/theory/").get_data(as_text=True)
    assert 'data-testid="lockdown"' in home and sitting.name in home
    refused = _start_practice_paper(client)
    assert refused.status_code == 403 and LOCKED in refused.get_data(as_text=True)
    token = csrf_token(client, "/theory/")
    assert client.post("/theory/start/mock", data={"csrf_token": token, "level": "4"}).status_code == 403
    assert db.session.query(Attempt).filter(Attempt.mode != "certification").count() == 1, "no new paper"
    # the practice paper begun before: its page, its feedback and its answers are closed too
    assert client.get(practice_url).status_code == 403
    check = _post_json(client, practice_url + "/check", {"position": 0}, token)
    assert check.status_code == 403 and check.json["lockdown"] and "key" not in check.get_data(as_text=True)
    assert client.get(practice_url + "/result").status_code == 403
    # practice on the scenario of the live certification call, and a practice result with references
    live_scenario = next(p["scenario_id"] for p in db.session.query(SittingCandidate).one().practical_plan
                         if p["type"] == "live_call")
    call = _practice_task(client, live_scenario)
    assert call.status_code == 403 and LOCKED in call.get_data(as_text=True)
    assert _practice_task(client).status_code == 403
    result = client.get(f"/practical/calls/{call_id}/result")
    assert result.status_code == 403 and LOCKED in result.get_data(as_text=True)
    assert "逐项评分" not in result.get_data(as_text=True)
    # the certification paper itself is unaffected
    assert client.get(cert_url).status_code == 200

    service.publish(db.session.get(type(sitting), sitting.id), users[Role.ASSESSOR])
    assert service.open_certification_for(trainee) is None
    assert "lockdown" not in client.get("/theory/").get_data(as_text=True)
    assert client.get(practice_url).status_code == 200
    assert client.get(f"/practical/calls/{call_id}/result").status_code == 200
    assert _practice_task(client).status_code == 302
    assert _start_practice_paper(client).status_code == 302


def test_when_the_book_is_closed(app, users, sitting, database):
    """Before the window opens: open book. In the window: closed. After the window with nothing in
    progress: open. A paper still in progress (reopened by the assessor) closes it again."""
    trainee = users[Role.TRAINEE]
    candidate = service.enrol(sitting, [trainee], users[Role.ASSESSOR])[0]
    now = utcnow()
    assert service.open_certification_for(trainee, now=sitting.opens_at - timedelta(minutes=1)) is None
    assert service.open_certification_for(trainee, now=now).id == sitting.id
    after = sitting.closes_at + timedelta(minutes=1)
    assert service.open_certification_for(trainee, now=after) is None
    attempt = service.start_theory(candidate)
    assert service.open_certification_for(trainee, now=after).id == sitting.id, "a paper still open"
    exam.submit(attempt)
    assert service.open_certification_for(trainee, now=after) is None
    assert service.open_certification_for(users[Role.TRAINER], now=now) is None, "only the candidates"
