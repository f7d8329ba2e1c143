"""Theory autosave as real browsers send it, on SQLite and PostgreSQL: Date.now()-sized counters from
old pages, two tabs, a slow PC clock, resends, malformed bodies, and 50 answers racing two submits
through a real threaded HTTP server."""
from __future__ import annotations

import json
import re
import threading

import pytest
import requests
from werkzeug.serving import make_server

from exams import attempts as exam
from exams import bank_io
from exams.models import Attempt, AttemptAnswer, BankQuestion
from simulator.auth.models import Role
from simulator.extensions import db
from tests.bank_factory import write_bank
from tests.conftest import PASSWORD
from tests.helpers import login, submit

META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
FORM_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
QUESTION = re.compile(r'data-position="(\d+)" data-type="(\w+)"(?:\s+data-revision="(\d+)")?')
# What the page sent before this fix: Date.now() + n, about 1.8e12 (too big for a 32-bit column).
DATE_NOW_MS = 1_796_000_000_000


@pytest.fixture(scope="module")
def bank_dir(tmp_path_factory):
    return write_bank(tmp_path_factory.mktemp("bank"), extra=1)


@pytest.fixture
def bank(app, bank_dir):
    bank_io.sync_from_files(db.session, bank_dir)
    return bank_dir


def _tab(client, url):
    """Open the paper page as a browser tab does: its CSRF token and each question's revision."""
    page = client.get(url).get_data(as_text=True)
    return META_CSRF.search(page).group(1), {int(p): (t, int(r or 0)) for p, t, r in QUESTION.findall(page)}


def _post(client, url, body, token):
    return client.post(url, data=json.dumps(body), content_type="application/json",
                       headers={"X-CSRFToken": token, "Accept": "application/json"})


def _start(app, users):
    client = app.test_client()
    login(client, users[Role.TRAINEE].username, PASSWORD)
    resp = submit(client, "/theory/start/mock", {"level": "5"}, form_url="/theory/")
    assert resp.status_code == 302
    return client, resp.headers["Location"]


def _single(questions) -> int:
    return next(p for p, (t, _) in sorted(questions.items()) if t == "single")


def _stored(position: int) -> AttemptAnswer:
    db.session.expire_all()
    return db.session.query(AttemptAnswer).filter_by(position=position).one()


def test_autosave_with_a_date_now_sized_counter_is_stored(app, bank, users, database):
    """An old page (or any client) sending seq = Date.now(): acknowledged and stored, never a 500."""
    client, url = _start(app, users)
    token, questions = _tab(client, url)
    position = _single(questions)
    resp = _post(client, url + "/answer", {"position": position, "response": ["B"], "seq": DATE_NOW_MS + 1}, token)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.json["ok"] and resp.json["answered"] == 1
    assert _stored(position).answered_at is not None
    assert resp.json["answer"]["response"] == ["B"]
    _, questions = _tab(client, url)
    assert questions[position][1] == 1, "the page now carries the server's revision"


def test_two_tabs_the_stale_one_is_refused_and_shown_the_current_answer(app, bank, users, database):
    client, url = _start(app, users)
    token_a, questions = _tab(client, url)
    token_b, _ = _tab(client, url)                      # a second tab, opened at the same time
    position = _single(questions)
    base = questions[position][1]
    first = _post(client, url + "/answer", {"position": position, "response": ["A"], "base": base}, token_a)
    assert first.status_code == 200 and first.json["answer"]["revision"] == base + 1
    stale = _post(client, url + "/answer", {"position": position, "response": ["C"], "base": base}, token_b)
    assert stale.status_code == 409 and stale.json["stale"] and not stale.json["closed"]
    assert stale.json["current"] == {"position": position, "response": ["A"], "flagged": False, "revision": base + 1}
    assert "另一窗口" in stale.json["error"] and "A" in stale.json["error"]
    stored = _stored(position)
    item = exam.items(db.session.get(Attempt, stored.attempt_id))[position]
    assert stored.response == [item.order[0]], "the refused answer changed nothing"
    # the page shows the current answer; the candidate answers again, now from the current revision
    again = _post(client, url + "/answer", {"position": position, "response": ["C"], "base": base + 1}, token_b)
    assert again.status_code == 200 and again.json["answer"] == {"position": position, "response": ["C"],
                                                                   "flagged": False, "revision": base + 2}
    # a flag from the first tab is not an answer: it needs no current base and keeps the answer
    flag = _post(client, url + "/answer", {"position": position, "flagged": True, "base": base}, token_a)
    assert flag.status_code == 200 and flag.json["answer"]["response"] == ["C"] and flag.json["answer"]["flagged"]


def test_a_pc_clock_five_minutes_slow_does_not_lose_a_newer_answer(app, bank, users, database):
    """Tab A (right clock) answers; tab B on a PC whose clock is 5 minutes slow opens the paper after
    that and changes the answer. Its Date.now() counter is lower, but its answer is the newer one."""
    client, url = _start(app, users)
    token_a, questions = _tab(client, url)
    position = _single(questions)
    now_ms = DATE_NOW_MS
    assert _post(client, url + "/answer", {"position": position, "response": ["A"], "seq": now_ms,
                                           "base": questions[position][1]}, token_a).status_code == 200
    token_b, seen = _tab(client, url)
    resp = _post(client, url + "/answer", {"position": position, "response": ["D"], "seq": now_ms - 300_000,
                                           "base": seen[position][1]}, token_b)
    assert resp.status_code == 200 and resp.json["ok"]
    _, after = _tab(client, url)
    page = client.get(url).get_data(as_text=True)
    block = page.split(f'id="q-{position}"')[1].split("</section>")[0]
    assert re.search(r'value="D"\s+checked', block) and not re.search(r'value="A"\s+checked', block)
    assert after[position][1] == seen[position][1] + 1


def test_a_resend_of_what_is_stored_is_acknowledged(app, bank, users, database):
    """The first reply was lost, the page sends the same answer again with its old base: that is not
    a conflict."""
    client, url = _start(app, users)
    token, questions = _tab(client, url)
    position = _single(questions)
    body = {"position": position, "response": ["B"], "base": questions[position][1]}
    assert _post(client, url + "/answer", body, token).status_code == 200
    again = _post(client, url + "/answer", body, token)
    assert again.status_code == 200 and again.json["answer"]["revision"] == questions[position][1] + 1


@pytest.mark.parametrize("body", [
    {"position": 0, "response": ["A"], "seq": "abc"},        # seq is ignored now: saved
    {"position": 0, "response": ["A"], "base": "abc"},
    {"position": 0, "response": "A"},
    {"position": 0, "response": {"A": 1}},
    {"position": 0, "flagged": "yes"},
    {"position": True, "response": ["A"]},
    {"position": 0, "response": ["A"], "base": -1},
    {"position": 0, "response": [["T"]]},
    {"position": 0, "response": [None]},
    [{"position": 0}],
])
def test_malformed_answers_get_400_in_chinese_never_500(app, bank, users, database, body):
    client, url = _start(app, users)
    token, _ = _tab(client, url)
    resp = _post(client, url + "/answer", body, token)
    if "seq" in body:
        assert resp.status_code in (200, 400)
    else:
        assert resp.status_code == 400, resp.get_data(as_text=True)
        assert re.search(r"[\u4e00-\u9fff]", resp.json["error"])


# ---- 50 answers racing two submits through a real server ---------------------------------------------

class Server:
    def __init__(self, app):
        self.httpd = make_server("127.0.0.1", 0, app, threaded=True)
        self.base = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.thread.join(timeout=30)


def _http_login(base, username) -> requests.Session:
    s = requests.Session()
    page = s.get(base + "/login", timeout=60).text
    s.post(base + "/login", data={"username": username, "password": PASSWORD,
                                   "csrf_token": FORM_CSRF.search(page).group(1)}, timeout=60)
    return s


def _key(attempt: Attempt, position: int) -> list[str]:
    item = exam.items(attempt)[position]
    key = db.session.get(BankQuestion, item.question_id).answer
    return list(key) if item.qtype == "judge" else sorted(chr(ord("A") + item.order.index(k)) for k in key)


def _race(session, url, token, closers) -> dict[int, requests.Response]:
    """50 autosaves (the keys of questions 1-50, each from its own connection) and the ``closers``
    (callables given a fresh requests.Session), all released at once. Returns each answer's reply."""
    attempt = db.session.query(Attempt).filter_by(id=int(url.rstrip("/").rsplit("/", 1)[1])).one()
    keys = {p: _key(attempt, p) for p in range(50)}
    db.session.rollback()
    go = threading.Barrier(50 + len(closers))
    answers: dict[int, requests.Response] = {}
    errors: list[BaseException] = []

    def worker(job):
        s = requests.Session()
        s.cookies.update(session.cookies)
        try:
            go.wait(timeout=60)
            job(s)
        except BaseException as exc:          # reported below: a thread must not fail silently
            errors.append(exc)

    def answer(position):
        def job(s):
            answers[position] = s.post(url + "/answer", json={"position": position, "response": keys[position],
                                                                "base": 0},
                                       headers={"X-CSRFToken": token, "Accept": "application/json"}, timeout=120)
        return job

    threads = [threading.Thread(target=worker, args=(answer(p),)) for p in range(50)]
    threads += [threading.Thread(target=worker, args=(closer,)) for closer in closers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert not errors, errors
    assert len(answers) == 50
    return answers


def _every_acknowledged_answer_is_scored(attempt_id: int, answers: dict[int, requests.Response]) -> Attempt:
    acknowledged = {p for p, r in answers.items() if r.status_code == 200}
    refused = {p for p, r in answers.items() if r.status_code != 200}
    for p in refused:
        assert answers[p].status_code == 409 and answers[p].json()["closed"], answers[p].text
        assert "交卷" in answers[p].json()["error"]
    db.session.expire_all()
    attempt = db.session.get(Attempt, attempt_id)
    assert attempt.status == "submitted"
    rows = {r.position: r for r in db.session.query(AttemptAnswer).filter_by(attempt_id=attempt.id)}
    for p in acknowledged:
        assert rows[p].response and rows[p].correct, f"answer {p} was acknowledged but not scored"
    for p in refused:
        assert rows[p].response == [], f"answer {p} was refused but stored"
    assert sum(1 for r in rows.values() if r.response) == len(acknowledged)
    points = {p: item.points for p, item in enumerate(exam.items(attempt))}
    assert attempt.score == pytest.approx(sum(points[p] for p in acknowledged))
    return attempt


def test_fifty_autosaves_racing_two_submits_every_acknowledged_answer_is_scored(app, bank, users, database):
    with Server(app) as server:
        session = _http_login(server.base, users[Role.TRAINEE].username)
        home = session.get(server.base + "/theory/", timeout=60).text
        started = session.post(server.base + "/theory/start/mock",
                               data={"level": "5", "csrf_token": FORM_CSRF.search(home).group(1)}, timeout=60)
        token, url = META_CSRF.search(started.text).group(1), started.url
        submits: list[requests.Response] = []

        def submit_paper(s):
            submits.append(s.post(url + "/submit", data={"csrf_token": token}, allow_redirects=False, timeout=120))

        answers = _race(session, url, token, [submit_paper, submit_paper])
    assert len(submits) == 2
    assert all(r.status_code == 302 and r.headers["Location"].endswith("/result") for r in submits)
    attempt = _every_acknowledged_answer_is_scored(db.session.query(Attempt).one().id, answers)
    assert attempt.submit_reason == "candidate"


def test_fifty_autosaves_racing_publishing_every_acknowledged_answer_is_in_the_result(app, users, sitting,
                                                                                     database):
    """The assessor publishes while the candidate's answers are still arriving: publishing closes the
    paper under the same lock, and the published theory score holds every acknowledged answer."""
    from simulator.sittings import service
    from simulator.sittings.models import SittingCandidate

    service.enrol(sitting, [users[Role.TRAINEE]], users[Role.ASSESSOR])
    with Server(app) as server:
        trainee = _http_login(server.base, users[Role.TRAINEE].username)
        page = trainee.get(f"{server.base}/my/sittings/{sitting.id}", timeout=60).text
        trainee.post(f"{server.base}/my/sittings/{sitting.id}",
                     data={"csrf_token": FORM_CSRF.search(page).group(1), "code": "8848"}, timeout=60)
        page = trainee.get(f"{server.base}/my/sittings/{sitting.id}", timeout=60).text
        started = trainee.post(f"{server.base}/my/sittings/{sitting.id}/theory",
                               data={"csrf_token": FORM_CSRF.search(page).group(1)}, timeout=60)
        assert "/theory/attempts/" in started.url, started.url
        token, url = META_CSRF.search(started.text).group(1), started.url
        assessor = _http_login(server.base, users[Role.ASSESSOR].username)
        detail = assessor.get(f"{server.base}/sittings/{sitting.id}", timeout=60).text
        publish_token = FORM_CSRF.search(detail).group(1)
        publish_url = f"{server.base}/sittings/{sitting.id}/publish"      # read here: threads have no app context
        published: list[requests.Response] = []

        def publish(s):
            s.cookies.clear()
            s.cookies.update(assessor.cookies)
            published.append(s.post(publish_url, data={"csrf_token": publish_token}, allow_redirects=False,
                                    timeout=120))

        answers = _race(trainee, url, token, [publish])
    assert [r.status_code for r in published] == [302]
    attempt = _every_acknowledged_answer_is_scored(db.session.query(Attempt).one().id, answers)
    assert attempt.submit_reason == "assessor" and attempt.released
    candidate = db.session.query(SittingCandidate).one()
    assert candidate.theory_score == attempt.score and candidate.report["theory"] == attempt.score


def test_the_migration_upgrades_an_existing_database(app, bank, users, database):
    """A database at the previous head, with answers given: after the upgrade each given answer is at
    revision 1, so a page loaded before the upgrade (base 0) cannot overwrite it unseen."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect, text

    attempt = exam.start_attempt(db.session, users[Role.TRAINEE].id, mode="mock", level=5)
    attempt_id = attempt.id
    exam.save_answer(attempt, 0, ["T"] if attempt.paper[0]["type"] == "judge" else ["A"])
    db.session.remove()
    downgrade(revision="e7387fc4d30c")
    assert "client_seq" in {c["name"] for c in inspect(db.engine).get_columns("exam_answers")}
    with db.engine.begin() as connection:      # what the old page stored
        connection.execute(text("UPDATE exam_answers SET client_seq = :seq WHERE position = 0"),
                           {"seq": DATE_NOW_MS})
    upgrade()
    columns = {c["name"] for c in inspect(db.engine).get_columns("exam_answers")}
    assert "revision" in columns and "client_seq" not in columns
    revisions = dict(db.session.execute(text("SELECT position, revision FROM exam_answers WHERE attempt_id = :a"),
                                        {"a": attempt_id}).all())
    assert revisions[0] == 1 and set(revisions[p] for p in range(1, 100)) == {0}
    attempt = db.session.get(Attempt, attempt_id)
    with pytest.raises(exam.StaleAnswer):
        exam.save_answer(attempt, 0, ["F"] if attempt.paper[0]["type"] == "judge" else ["B"], base=0)
    other = ["F"] if attempt.paper[0]["type"] == "judge" else ["B"]
    assert exam.save_answer(attempt, 0, other, base=1)["revision"] == 2
