"""A server killed mid-call loses nothing it acknowledged, and the call is closed and graded on what was
recorded when the server comes back.

A real server process (run.py) takes a call from the simulated trainee; right after the trainee's
greeting has been streamed (its transcript possibly still queued for recognition) the process is
killed with SIGKILL. Every acknowledged audio chunk must be on disk; after a restart on the same
database and folders the call answers 410 with the reason, and its result page shows a grade whose
record contains the greeting.
"""
from __future__ import annotations

import json
import os
import signal
import time

import pytest

from benchmarks.theory_load import PASSWORD, create_candidates, start_server
from tests.simulated_trainee import SimulatedTrainee, silence, voice_pcm


@pytest.fixture
def paths(tmp_path):
    return {"db": f"sqlite:///{tmp_path / 'live.sqlite3'}", "calls": tmp_path / "calls", "tmp": tmp_path}


def serve(paths, name):
    os.environ["CALLS_DIR"] = str(paths["calls"])
    try:
        return start_server(paths["db"], 8, paths["tmp"] / f"{name}.log")
    finally:
        os.environ.pop("CALLS_DIR")


def test_kill_9_mid_call_loses_no_acknowledged_audio_and_the_call_is_graded_after_restart(paths):
    proc, base = serve(paths, "first")
    try:
        [name] = create_candidates(paths["db"], 1)
        trainee = SimulatedTrainee(base, name, PASSWORD, seed=7)
        trainee.login()
        call_id = trainee.start("l5-consult-billing")
        greeting = voice_pcm("您好，工号1035，很高兴为您服务。")
        trainee.action("begin").raise_for_status()
        while not any(e["type"] == "ring" for _t, e in trainee.events):
            time.sleep(0.3)
            trainee.poll()
        trainee.action("answer").raise_for_status()
        trainee._t0 = time.perf_counter()
        trainee._stream(silence(0.75) + greeting)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    acknowledged = trainee.audio_sent_s
    stream = paths["calls"] / call_id / "agent" / "stream.pcm"
    assert stream.stat().st_size >= round(acknowledged * 32000), "every acknowledged chunk is on disk"

    proc, base = serve(paths, "second")
    try:
        trainee.base = base
        trainee.url = f"{base}/practical/calls/{call_id}"
        r = trainee.s.get(trainee.url + "/state", timeout=60)
        assert r.status_code == 410
        body = r.json()
        assert body["status"] == "interrupted" and "重启" in body["error"] and body["result_url"]
        page = trainee.s.get(base + body["result_url"], timeout=60)
        assert page.status_code == 200 and "因服务器重启而中断" in page.text
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    record = json.loads((paths["calls"] / call_id / "record.json").read_text("utf-8"))
    assert record["status"] == "interrupted" and record["recovered"]
    assert any(e["type"] == "closed" and e["reason"] == "server_restart" for e in record["events"])
    greeting_heard = [e for e in record["events"] if e["type"] == "agent_utterance"]
    assert greeting_heard and "1035" in greeting_heard[0]["transcript"]["text"], greeting_heard
    grade = json.loads((paths["calls"] / call_id / "grade.json").read_text("utf-8"))
    assert grade["interrupted"] and grade["provisional"]
    opening = next(i for i in grade["items"] if i["id"] == "opening")
    assert opening["points_earned"] > 0, "the greeting recorded before the kill was graded"
