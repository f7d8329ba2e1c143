"""The practical task types besides the live call: recording review, typing / work-order entry and case
handling — format checks, grading by the same engine, the rendered review recording, and the pages."""
from __future__ import annotations

import copy
import io
import json
import wave
from pathlib import Path

import pytest
import yaml

from grading.rubric import grade
from grading.rubric.typing import measure
from scenarios import check
from scenarios.tasks import reference_record, render_recording
from simulator.extensions import db
from simulator.practical.library import sync_library
from simulator.practical.models import PracticalCall
from softphone_sim import render_line
from tests.helpers import csrf_token, login

FIXTURES = Path(__file__).resolve().parent / "data" / "scenarios"
LOAD = lambda name: yaml.safe_load((FIXTURES / f"{name}.yaml").read_text("utf-8"))  # noqa: E731
BANDS = {"excellent": lambda s: s >= 85, "borderline": lambda s: 50 <= s <= 75, "failing": lambda s: s < 60}


@pytest.mark.parametrize("name", ["review-fixture", "typing-fixture", "case-fixture"])
def test_reference_answers_land_in_their_bands(name):
    data = LOAD(name)
    assert check(data) == []
    for answer in data["reference_answers"]:
        total = grade(reference_record(data, answer), data).total
        assert BANDS[answer["band"]](total), (answer["band"], total)


@pytest.mark.parametrize("name, change, place", [
    ("review-fixture", lambda d: d.pop("recording"), "recording"),
    ("review-fixture", lambda d: d["recording"]["lines"][0].update(who="robot"), "recording.lines[0]"),
    ("typing-fixture", lambda d: d["typing"].update(text="太短"), "typing.text"),
    ("typing-fixture", lambda d: d["reference_answers"][0].pop("seconds"), "reference_answers[0]"),
    ("case-fixture", lambda d: d["case"].pop("question"), "case.question"),
    ("case-fixture", lambda d: d.update(answer_mode="telepathy"), "answer_mode"),
    ("typing-fixture", lambda d: d["rubric"]["items"][0].update(target_wpm=30), "rubric.items[0].target_wpm"),
])
def test_task_specific_rules(name, change, place):
    data = copy.deepcopy(LOAD(name))
    change(data)
    assert any(p.startswith(place + ":") for p in check(data)), check(data)


def test_typing_measure_counts_only_correct_characters():
    ref = "客户反映家中宽带无法上网请尽快安排维修"
    assert measure(ref, ref, 60) == {"typed": 19, "correct": 19, "errors": 0, "accuracy": 1.0, "cpm": 19.0,
                                     "complete": 1.0}
    skipped = measure(ref, ref[:5] + ref[6:], 60)
    assert skipped["errors"] == 1 and skipped["correct"] == 18, "a skipped character is one error, not many"
    wrong = measure(ref, ref.replace("反映", "反应"), 30)
    assert wrong["errors"] == 1 and wrong["cpm"] == 36.0
    assert measure(ref, "", 60)["cpm"] == 0
    assert measure(ref, " 客户 反映\n", 60)["correct"] == 4, "spaces and line breaks are not characters"


def test_review_recording_has_both_sides(tmp_path):
    data = LOAD("review-fixture")
    path, seconds = render_recording(data, cache_dir=tmp_path)
    lines = [render_line(line["say"], persona="young" if line["who"] == "agent" else "elderly", cache_dir=tmp_path)
             for line in data["recording"]["lines"]]
    assert seconds == pytest.approx(sum(line.duration_s for line in lines) + 0.6 * len(lines), abs=0.05)
    again, _ = render_recording(data, cache_dir=tmp_path)
    assert again == path, "cached by content"


@pytest.fixture
def tasks(app, client, users):
    sync_library(FIXTURES)
    login(client, "trainee1", "correct-horse-1")
    return client


def start(client, scenario_id):
    token = csrf_token(client, "/practical/")
    resp = client.post(f"/practical/start/{scenario_id}", data={"csrf_token": token})
    assert resp.status_code == 302 and "/practical/tasks/" in resp.headers["Location"]
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    call_id = resp.headers["Location"].rsplit("/", 1)[-1]
    meta = page.split('name="csrf-token" content="')[1].split('"')[0]
    return call_id, meta, page


def test_recording_review_by_text(tasks):
    call_id, token, page = start(tasks, "test-review-opening")
    assert "这段录音中坐席有哪些不规范的地方" in page
    for secret in ("没有报工号", "服务忌语", "excellent", "指出开头没有"):
        assert secret not in page
    audio = tasks.get(f"/practical/calls/{call_id}/files/review.wav")
    assert audio.status_code == 200
    with wave.open(io.BytesIO(audio.data)) as w:
        assert w.getnframes() / w.getframerate() > 4
    headers = {"X-CSRFToken": token}
    draft = tasks.post(f"/practical/tasks/{call_id}/draft", json={"text": "坐席没有报工号"}, headers=headers)
    assert draft.get_json()["saved"]
    assert "坐席没有报工号" in tasks.get(f"/practical/tasks/{call_id}").get_data(as_text=True), "the draft comes back"
    empty = tasks.post(f"/practical/tasks/{call_id}/submit", data={"text": " "}, headers=headers)
    assert empty.status_code == 400
    answer = LOAD("review-fixture")["reference_answers"][0]["text"]
    resp = tasks.post(f"/practical/tasks/{call_id}/submit", data={"text": answer}, headers=headers)
    assert resp.status_code == 200
    row = db.session.get(PracticalCall, call_id)
    assert row.status == "finished" and row.score == 100.0 and row.passed
    again = tasks.post(f"/practical/tasks/{call_id}/submit", data={"text": "坐席态度不好"}, headers=headers)
    assert again.status_code == 200 and db.session.get(PracticalCall, call_id).score == 100.0, \
        "a double submit changes nothing"
    result = tasks.get(f"/practical/calls/{call_id}/result").get_data(as_text=True)
    assert "100.0" in result and "指出使用了服务忌语" in result and "参考答法" in result


def test_a_spoken_review_answer_is_transcribed_and_graded(tasks, tmp_path):
    call_id, token, _page = start(tasks, "test-review-opening")
    line = render_line("坐席没有报工号，还说了不知道，这是服务忌语。", persona="calm", cache_dir=tmp_path)
    resp = tasks.post(f"/practical/tasks/{call_id}/submit", headers={"X-CSRFToken": token},
                      data={"text": "", "audio": (open(line.path, "rb"), "answer.wav")},
                      content_type="multipart/form-data")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    row = db.session.get(PracticalCall, call_id)
    record = json.loads((Path(row.call_dir) / "record.json").read_text("utf-8"))
    spoken = [e for e in record["events"] if e["type"] == "agent_utterance"]
    assert spoken and spoken[0]["transcript"]["engine"] in ("whisper", "vosk")
    assert "没有报" in spoken[0]["transcript"]["text"]
    items = {i["id"]: i for i in row.result["items"]}
    assert items["no-opening"]["verdict"] in ("pass", "review"), "heard 没有报工号 despite recognition errors"
    assert items["right-help"]["verdict"] == "fail", "nothing said about helping: not credited from noise"
    assert (Path(row.call_dir) / "answer.wav").is_file()


def test_bad_audio_keeps_the_text_and_the_task_open(tasks):
    call_id, token, _page = start(tasks, "test-review-opening")
    resp = tasks.post(f"/practical/tasks/{call_id}/submit", headers={"X-CSRFToken": token},
                      data={"text": "坐席没有报工号", "audio": (io.BytesIO(b"not audio at all" * 50), "answer.webm")},
                      content_type="multipart/form-data")
    assert resp.status_code == 422 and "文字答案不会丢失" in resp.get_json()["error"]
    assert db.session.get(PracticalCall, call_id).status == "live"
    assert "坐席没有报工号" in tasks.get(f"/practical/tasks/{call_id}").get_data(as_text=True)


def test_typing_task_scores_speed_and_accuracy(tasks):
    call_id, token, page = start(tasks, "test-typing-workorder")
    assert "客户王先生来电反映" in page and "不能粘贴" in page
    row = db.session.get(PracticalCall, call_id)
    from datetime import timedelta
    row.started_at = row.started_at - timedelta(seconds=120)        # two minutes of typing, without waiting
    db.session.commit()
    text = LOAD("typing-fixture")["typing"]["text"]
    resp = tasks.post(f"/practical/tasks/{call_id}/submit", data={"typed": text[:40]}, headers={"X-CSRFToken": token})
    assert resp.status_code == 200
    result = db.session.get(PracticalCall, call_id).result
    items = {i["id"]: i for i in result["items"]}
    assert items["accuracy"]["points_earned"] == 50
    assert items["speed"]["points_earned"] == pytest.approx(50 * 20 / 30, abs=1.5), \
        "40 characters in 2 minutes: 20 of 30 字/分"
    assert "字/分" in items["speed"]["note"]


def test_case_task_by_text(tasks):
    call_id, token, page = start(tasks, "test-case-repeat-complaint")
    assert "第三次来电投诉" in page
    resp = tasks.post(f"/practical/tasks/{call_id}/submit", data={"text": "让客户再等等。"},
                      headers={"X-CSRFToken": token})
    assert resp.status_code == 200
    row = db.session.get(PracticalCall, call_id)
    assert row.score == 0 and not row.passed
