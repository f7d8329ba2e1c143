"""Integrity of the practical tasks on the server (issue 18): certification scores stay hidden until
the sitting is published, time limits and answer lengths are enforced by the server, and concurrent
writes of a task's files never collide."""
from __future__ import annotations

import json
import threading
import wave
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import yaml

from scenarios import from_data as scenario_from_data
from simulator.extensions import db
from simulator.practical.library import add_version, sync_library
from simulator.practical.models import PracticalCall
from softphone_sim import render_line
from tests.conftest import PASSWORD
from tests.helpers import csrf_token, login

FIXTURES = Path(__file__).resolve().parent / "data" / "scenarios"
REVIEW = yaml.safe_load((FIXTURES / "review-fixture.yaml").read_text("utf-8"))
EXCELLENT = REVIEW["reference_answers"][0]["text"]
BORDERLINE = REVIEW["reference_answers"][1]["text"]


def fresh(call_id: str) -> PracticalCall:
    db.session.expire_all()
    return db.session.get(PracticalCall, call_id)


def meta_token(html: str) -> str:
    return html.split('name="csrf-token" content="')[1].split('"')[0]


def start_task(client, scenario_id: str = "test-review-opening") -> tuple[str, str]:
    token = csrf_token(client, "/practical/")
    resp = client.post(f"/practical/start/{scenario_id}", data={"csrf_token": token})
    assert resp.status_code == 302 and "/practical/tasks/" in resp.headers["Location"]
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    return resp.headers["Location"].rsplit("/", 1)[-1], meta_token(page)


def move_start_back(call_id: str, seconds: float) -> None:
    """The task as it stands ``seconds`` after it started, without waiting for them."""
    row = fresh(call_id)
    row.started_at = row.started_at - timedelta(seconds=seconds)
    db.session.commit()


@pytest.fixture
def trainee(app, client, users):
    sync_library(FIXTURES)
    login(client, "trainee1", PASSWORD)
    return client


# ---- certification scores stay hidden until publishing ------------------------------------------------

def test_certification_scores_are_hidden_from_the_trainee_until_published(app, client, users):
    from simulator.auth.models import Role
    from simulator.sittings import service as sittings
    from simulator.sittings.models import SittingCandidate, utcnow

    sync_library(FIXTURES)
    call4 = yaml.safe_load((FIXTURES / "runtime-lookup.yaml").read_text("utf-8"))
    call4.update(id="test-runtime-lookup-4", level=4, title="话费查询（四级）")   # the level-4 pool needs one
    add_version(scenario_from_data(call4, name=call4["id"]))
    db.session.commit()
    # A practice attempt of the same task before the sitting (practice is closed during it): its
    # score stays visible next to the certification's.
    login(client, "trainee1", PASSWORD)
    practice_id, practice_token = start_task(client)
    assert client.post(f"/practical/tasks/{practice_id}/submit", data={"text": BORDERLINE},
                       headers={"X-CSRFToken": practice_token}).status_code == 200
    opens = utcnow() - timedelta(minutes=5)
    sitting = sittings.create_sitting(users[Role.ASSESSOR], name="2026年第9期四级鉴定", level=4, opens_at=opens,
                                      closes_at=opens + timedelta(hours=3))
    sittings.enrol(sitting, [users[Role.TRAINEE]], users[Role.ASSESSOR])
    candidate_id = db.session.query(SittingCandidate).filter_by(sitting_id=sitting.id).one().id
    plan = db.session.get(SittingCandidate, candidate_id).practical_plan
    index = next(i for i, p in enumerate(plan) if p["type"] == "recording_review")

    token = csrf_token(client, f"/my/sittings/{sitting.id}")
    resp = client.post(f"/my/sittings/{sitting.id}/practical/{index}", data={"csrf_token": token})
    assert resp.status_code == 302 and "/practical/tasks/" in resp.headers["Location"]
    call_id = resp.headers["Location"].rsplit("/", 1)[-1]
    page_token = meta_token(client.get(resp.headers["Location"]).get_data(as_text=True))
    resp = client.post(f"/practical/tasks/{call_id}/submit", data={"text": EXCELLENT},
                       headers={"X-CSRFToken": page_token})
    assert resp.status_code == 200
    body = json.dumps(resp.get_json(), ensure_ascii=False)
    assert "score" not in body and "100" not in body, "the submit's JSON carries no score"
    certification, practice = fresh(call_id), fresh(practice_id)
    assert certification.status == "finished" and certification.score == 100.0 and certification.mode == "certification"
    assert practice.score not in (None, 100.0)

    home = client.get("/practical/").get_data(as_text=True)
    history = home.split('data-testid="call-history"')[1].split("</table>")[0]
    assert "成绩待发布" in history
    pending_row = next(r for r in history.split("<tr>") if "成绩待发布" in r)
    assert "100.0" not in history and "合格" not in pending_row
    assert f"{practice.score:.1f}" in history, "practice scores are still shown"
    assert f"/practical/calls/{call_id}/result" not in history
    hidden = client.get(f"/practical/calls/{call_id}/result").get_data(as_text=True)
    assert "100.0" not in hidden

    sittings.publish(db.session.get(type(sitting), sitting.id), users[Role.ASSESSOR])
    home = client.get("/practical/").get_data(as_text=True)
    history = home.split('data-testid="call-history"')[1].split("</table>")[0]
    assert "成绩待发布" not in history and "100.0" in history


# ---- time limits on the server ---------------------------------------------------------------------

def test_a_task_submitted_hours_after_its_limit_is_refused_and_graded_on_the_draft_saved_in_time(trainee):
    call_id, token = start_task(trainee)
    headers = {"X-CSRFToken": token}
    draft = trainee.post(f"/practical/tasks/{call_id}/draft", json={"text": BORDERLINE}, headers=headers)
    assert draft.status_code == 200
    move_start_back(call_id, 3 * 3600)                  # the limit is 300 s; three hours have passed
    resp = trainee.post(f"/practical/tasks/{call_id}/draft", json={"text": EXCELLENT}, headers=headers)
    assert resp.status_code == 409 and "作答时间已到" in resp.get_json()["error"]
    resp = trainee.post(f"/practical/tasks/{call_id}/submit", data={"text": EXCELLENT}, headers=headers)
    body = resp.get_json()
    assert resp.status_code == 409 and "作答时间已到" in body["error"] and "5 分钟" in body["error"]
    assert body["result_url"].endswith(f"/practical/calls/{call_id}/result")
    row = fresh(call_id)
    record = json.loads((Path(row.call_dir) / "record.json").read_text("utf-8"))
    said = " ".join(e["transcript"]["text"] for e in record["events"] if e["type"] == "agent_utterance")
    assert row.status == "finished" and said == BORDERLINE, "graded on what was saved in time, not the late text"
    assert record["time_up"]["graded_on"] == "saved_draft" and record["time_up"]["allowed_s"] == 300
    excellent_total = 100.0
    assert row.score < excellent_total
    again = trainee.post(f"/practical/tasks/{call_id}/submit", data={"text": EXCELLENT}, headers=headers)
    assert again.status_code == 409 and fresh(call_id).score == row.score, "nothing changes it afterwards"


def test_a_task_left_open_past_its_limit_is_closed_when_next_seen(trainee):
    call_id, token = start_task(trainee)
    assert trainee.post(f"/practical/tasks/{call_id}/draft", json={"text": EXCELLENT},
                        headers={"X-CSRFToken": token}).status_code == 200
    move_start_back(call_id, 301 + 31)
    resp = trainee.get(f"/practical/tasks/{call_id}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/result")
    assert fresh(call_id).status == "finished" and fresh(call_id).score == 100.0


def test_the_sweep_grades_a_task_whose_trainee_never_comes_back(app, trainee):
    """The trainee closed the browser: the server's sweep (the same one ``flask sweep`` runs) grades the
    task on the saved draft; a task still within its time is left alone."""
    from simulator.practical.service import close_overdue_tasks

    gone_id, token = start_task(trainee)
    assert trainee.post(f"/practical/tasks/{gone_id}/draft", json={"text": BORDERLINE},
                        headers={"X-CSRFToken": token}).status_code == 200
    move_start_back(gone_id, 300 + 31 + 5)
    assert close_overdue_tasks() == 1
    row = fresh(gone_id)
    assert row.status == "finished" and row.score is not None and row.score < 100.0
    record = json.loads((Path(row.call_dir) / "record.json").read_text("utf-8"))
    assert record["time_up"]["graded_on"] == "saved_draft"
    assert close_overdue_tasks() == 0, "a finished task is not graded twice"
    within_id, _ = start_task(trainee)
    move_start_back(within_id, 200)
    assert close_overdue_tasks() == 0 and fresh(within_id).status == "live"
    runner = app.test_cli_runner()
    move_start_back(within_id, 200)
    out = runner.invoke(args=["sweep"])
    assert out.exit_code == 0 and "graded 1 practical task" in out.output and fresh(within_id).status == "finished"


def test_a_submit_within_the_grace_after_the_limit_is_accepted(trainee):
    call_id, token = start_task(trainee)
    move_start_back(call_id, 300 + 10)                  # the page's countdown ended 10 s ago
    resp = trainee.post(f"/practical/tasks/{call_id}/submit", data={"text": EXCELLENT}, headers={"X-CSRFToken": token})
    assert resp.status_code == 200 and fresh(call_id).score == 100.0


def test_the_page_counts_down_from_the_server_clock(trainee):
    call_id, _token = start_task(trainee)
    move_start_back(call_id, 120)
    page = trainee.get(f"/practical/tasks/{call_id}").get_data(as_text=True)
    remaining = int(page.split('data-remaining="')[1].split('"')[0])
    assert 170 <= remaining <= 180


# ---- answer length -----------------------------------------------------------------------------------

def test_a_spoken_answer_longer_than_the_limit_is_refused_before_recognition(trainee, tmp_path):
    call_id, token = start_task(trainee)
    line = render_line("坐席没有报工号。", persona="calm", cache_dir=tmp_path)
    with wave.open(str(line.path)) as w:
        speech = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    long_answer = tmp_path / "long.wav"
    with wave.open(str(long_answer), "wb") as w:        # 200 s: speech, then quiet
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(np.concatenate([speech, np.zeros(16000 * 200 - speech.size, "<i2")]).tobytes())
    resp = trainee.post(f"/practical/tasks/{call_id}/submit", headers={"X-CSRFToken": token},
                        data={"text": "坐席没有报工号", "audio": (open(long_answer, "rb"), "answer.wav")},
                        content_type="multipart/form-data")
    error = resp.get_json()["error"]
    assert resp.status_code == 422 and "超过允许的 3 分钟" in error and "文字答案不会丢失" in error
    row = fresh(call_id)
    assert row.status == "live" and not (Path(row.call_dir) / "answer.wav").exists()
    page = trainee.get(f"/practical/tasks/{call_id}").get_data(as_text=True)
    assert "坐席没有报工号" in page and 'data-max-answer-s="180"' in page


def test_the_answer_limit_is_configurable(app, trainee, tmp_path):
    app.config["PRACTICAL_MAX_ANSWER_S"] = 2
    call_id, token = start_task(trainee)
    line = render_line("坐席没有报工号，还说了不知道，这是服务忌语。", persona="calm", cache_dir=tmp_path)
    resp = trainee.post(f"/practical/tasks/{call_id}/submit", headers={"X-CSRFToken": token},
                        data={"text": "", "audio": (open(line.path, "rb"), "answer.wav")},
                        content_type="multipart/form-data")
    assert resp.status_code == 422 and "超过允许的 2 秒" in resp.get_json()["error"]
    assert fresh(call_id).status == "live"


# ---- concurrent writes ---------------------------------------------------------------------------------

def _session(app) -> object:
    client = app.test_client()
    login(client, "trainee1", PASSWORD)
    return client


def test_concurrent_submits_and_drafts_never_collide(app, trainee):
    call_id, token = start_task(trainee)
    clients = [_session(app) for _ in range(8)]
    tokens = [meta_token(c.get(f"/practical/tasks/{call_id}").get_data(as_text=True)) for c in clients]
    barrier = threading.Barrier(len(clients))
    statuses: list = []
    errors: list = []

    def drafts(client, token, n):
        try:
            barrier.wait()
            for i in range(15):
                r = client.post(f"/practical/tasks/{call_id}/draft", json={"text": f"第{n}个标签页的第{i}次保存"},
                                headers={"X-CSRFToken": token})
                statuses.append(r.status_code)
        except Exception as exc:          # a 500 inside the test client surfaces as the exception
            errors.append(repr(exc))

    pairs = enumerate(zip(clients, tokens, strict=True))
    threads = [threading.Thread(target=drafts, args=(c, t, n)) for n, (c, t) in pairs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and statuses == [200] * (8 * 15), (errors, set(statuses))
    draft = json.loads((Path(fresh(call_id).call_dir) / "draft.json").read_text("utf-8"))
    assert draft["text"].startswith("第") and "次保存" in draft["text"]

    barrier = threading.Barrier(len(clients))
    answers = [EXCELLENT if n % 2 == 0 else BORDERLINE for n in range(len(clients))]
    statuses.clear()

    def submit(client, token, text):
        try:
            barrier.wait()
            r = client.post(f"/practical/tasks/{call_id}/submit", data={"text": text}, headers={"X-CSRFToken": token})
            statuses.append(r.status_code)
        except Exception as exc:
            errors.append(repr(exc))

    triples = zip(clients, tokens, answers, strict=True)
    threads = [threading.Thread(target=submit, args=(c, t, a)) for c, t, a in triples]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and statuses == [200] * len(clients), (errors, statuses)
    row = fresh(call_id)
    folder = Path(row.call_dir)
    record = json.loads((folder / "record.json").read_text("utf-8"))
    grade = json.loads((folder / "grade.json").read_text("utf-8"))
    said = " ".join(e["transcript"]["text"] for e in record["events"] if e["type"] == "agent_utterance")
    assert row.status == "finished" and grade["total"] == row.score, "one submit won: files and row agree"
    assert said.replace(" ", "") == (EXCELLENT if row.score == 100.0 else BORDERLINE).replace("\n", "")
    assert not list(folder.glob("*.tmp")) and not list(folder.glob(".*.tmp")), "no temporary file left behind"
