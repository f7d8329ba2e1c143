"""Live calls keep in step with a person who answers naturally.

A real server process (run.py, library scenarios seeded) and a responsive simulated trainee
(tests/simulated_trainee.py) that joins through the browser's HTTP API, waits for each caller line to
finish, pauses like a person and streams its answers (the product voice) in real time; the real
recogniser transcribes. Each call checks, from the record the server wrote: no "no reply" while or
after the trainee spoke, no caller line started while the trainee was speaking, no line repeated
after a reply, every reply attached to the caller line it answered, and the same grade as the text
simulation of the same words (the words the recogniser heard, so only turn-taking can differ).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import requests

from benchmarks.theory_load import PASSWORD, create_candidates, start_server
from grading.rubric import grade
from scenarios import load_scenario
from scenarios.simulate import perfect_transcript, simulate_call
from tests.simulated_trainee import (
    SimulatedTrainee,
    answers_from_reference,
    record_events,
    turn_taking_errors,
    utterances_of,
)

# Each call runs in real time (a minute or two); a loaded machine only makes the caller slower.
pytestmark = pytest.mark.timeout(900)
ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ROOT / "scenarios" / "library"
TIMING_KINDS = {"speech_rate"}       # depend on the voice's pace, which the text walk sets by itself


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("live-server")
    db_url = f"sqlite:///{tmp / 'live.sqlite3'}"
    os.environ["CALLS_DIR"] = str(tmp / "calls")
    try:
        proc, base = start_server(db_url, 8, tmp / "server.log")
    finally:
        os.environ.pop("CALLS_DIR")
    names = create_candidates(db_url, 6)
    yield {"base": base, "names": names, "calls": tmp / "calls", "log": tmp / "server.log"}
    proc.terminate()
    proc.wait(timeout=30)


def scenario_data(scenario_id: str) -> dict:
    level = scenario_id[1]
    return load_scenario(LIBRARY / f"level{level}" / f"{scenario_id}.yaml").data


def excellent(data: dict) -> dict:
    return next(a for a in data["reference_answers"] if a["band"] == "excellent")


def take(server, index: int, scenario_id: str, styles: dict[int, str]):
    data = scenario_data(scenario_id)
    reference = excellent(data)
    trainee = SimulatedTrainee(server["base"], server["names"][index], PASSWORD, seed=index)
    trainee.login()
    call_id = trainee.start(scenario_id)
    answers = answers_from_reference(reference, styles)
    finished = trainee.take_call(answers, rings=int(reference.get("rings", 2)),
                                 after_call_work_order=reference.get("work_order"))
    assert finished["finished"], finished
    record = json.loads((server["calls"] / call_id / "record.json").read_text("utf-8"))
    result = json.loads((server["calls"] / call_id / "grade.json").read_text("utf-8"))
    return data, reference, trainee, record, result


def of(record: dict, kind: str) -> list[dict]:
    return record_events(record, kind)


def check_turn_taking(record: dict, trainee: SimulatedTrainee) -> None:
    assert turn_taking_errors(record, trainee) == []


def text_walk_grade(data: dict, reference: dict, record: dict, trainee: SimulatedTrainee) -> tuple[dict, dict]:
    """The text simulation of the same answer, with each turn's words as the recogniser heard them."""
    heard = {s.answer.text: "，".join(u["transcript"]["text"] for u in utterances_of(record, s))
             for s in trainee.spoken if s.answer.style != "silent"}

    def transcribe(text: str, start: float):
        return perfect_transcript(heard.get(text, text), start)

    walked = simulate_call(data, reference, transcribe=transcribe)
    return walked, grade(walked, data).to_dict()


def check_same_grade(data, reference, record, result, trainee) -> None:
    walked, expected = text_walk_grade(data, reference, record, trainee)
    assert [c["turn"] for c in of(record, "caller_utterance")] == [c["turn"] for c in of(walked, "caller_utterance")], \
        "the live call took the text simulation's branch path"
    live_items = {i["id"]: i for i in result["items"]}
    for item in expected["items"]:
        if item["kind"] in TIMING_KINDS:
            continue
        got = live_items[item["id"]]
        assert (got["verdict"], got["points_earned"]) == (item["verdict"], item["points_earned"]), \
            (item["id"], got, item)


def test_natural_answers_with_long_pauses_keep_in_step(server):
    data, reference, trainee, record, result = take(server, 0, "l5-consult-billing", {2: "pauses"})
    check_turn_taking(record, trainee)
    long_answer = next(s for s in trainee.spoken if s.answer.style == "pauses")
    assert long_answer.end_audio_s - long_answer.start_audio_s >= 7.0, "a long answer with pauses inside"
    assert len({u["reply_to"] for u in utterances_of(record, long_answer)}) == 1, "it stayed one turn"
    check_same_grade(data, reference, record, result, trainee)


def test_a_call_with_hold_and_a_long_answer_after_it(server):
    data, reference, trainee, record, result = take(server, 1, "l4-lookup-hold", {3: "pauses"})
    check_turn_taking(record, trainee)
    assert [h["on"] for h in of(record, "hold")] == [True, False]
    check_same_grade(data, reference, record, result, trainee)


@pytest.mark.parametrize("index, scenario_id, caller",
                         [(2, "l4-angry-caller", "finished"), (3, "l5-praise", "stopped")],
                         ids=["angry-caller-finishes", "caller-stops"])
def test_talking_over_the_caller(server, index, scenario_id, caller):
    """An angry caller finishes the sentence; a calm one breaks off where the trainee cut in."""
    data, reference, trainee, record, result = take(server, index, scenario_id, {1: "overtalk"})
    check_turn_taking(record, trainee)
    overtalk = of(record, "overtalk")
    assert overtalk and overtalk[0]["turn"] == "t1" and overtalk[0]["caller"] == caller
    first = of(record, "caller_utterance")[0]
    if caller == "stopped":
        assert first.get("cut_short") and first["end"] == pytest.approx(overtalk[0]["t"], abs=0.01)
    else:
        assert not first.get("cut_short")
    check_same_grade(data, reference, record, result, trainee)


def test_a_silent_trainee_hears_the_line_again_and_then_answers(server):
    data, reference, trainee, record, result = take(server, 4, "l5-out-of-scope", {1: "silent"})
    check_turn_taking(record, trainee)
    turns = [c["turn"] for c in of(record, "caller_utterance")]
    assert turns[:2] == ["t1", "t1"], "the caller repeated the line the trainee did not answer"
    assert turns[-1] == "t3" and record["ended_by"] == "caller", "then the call went on to its end"


def test_the_server_log_shows_no_errors(server):
    requests.get(server["base"] + "/healthz", timeout=10).raise_for_status()
    log = server["log"].read_text("utf-8", errors="replace")
    assert "Traceback" not in log, log[-3000:]
