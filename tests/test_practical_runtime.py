"""The live-call runtime end to end, on a manual clock: trainee answers are synthesised with the
product's Mandarin voice, streamed in 250 ms chunks through the real ASR, and the caller follows the
scenario's script. Nothing here waits for wall-clock time."""
from __future__ import annotations

import json
import wave
from pathlib import Path

import pytest

from grading.asr import get_recognizer
from grading.rubric import grade
from scenarios import Conversation, load_scenario
from softphone_sim import render_line
from softphone_sim.live import CallError, CallRegistry, ChunkOutOfOrder, LiveCall

FIXTURE = Path(__file__).resolve().parent / "data" / "scenarios" / "runtime-lookup.yaml"
CHUNK_S = 0.25
SILENCE = bytes(int(16000 * CHUNK_S) * 2)


class ManualClock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def speech(text: str, tmp_path: Path) -> bytes:
    line = render_line(text, persona="calm", cache_dir=tmp_path / "voice")
    with wave.open(str(line.path)) as w:
        assert w.getframerate() == 16000 and w.getnchannels() == 1
        return w.readframes(w.getnframes())


class Driver:
    """Plays the trainee: feeds audio in real-time-sized chunks and moves the clock with it."""

    def __init__(self, live: LiveCall, clock: ManualClock):
        self.live, self.clock = live, clock

    def feed(self, pcm: bytes) -> None:
        step = int(16000 * CHUNK_S) * 2
        for i in range(0, len(pcm), step):
            chunk = pcm[i:i + step]
            self.clock.t += len(chunk) / 32000
            self.live.feed_audio(chunk)

    def silence(self, seconds: float) -> None:
        self.feed(bytes(int(16000 * seconds) * 2))

    def silence_until(self, predicate, max_s: float = 30.0) -> None:
        waited = 0.0
        while not predicate():
            assert waited < max_s, (f"nothing happened in {max_s} s; events: {self.types()} "
                                    f"{self.live.client_events[-6:]}")
            self.live.feed_audio(SILENCE)
            self.clock.t += CHUNK_S
            self.live.tick()
            waited += CHUNK_S

    def events(self, type_: str) -> list[dict]:
        return [e for e in self.live.call.events if e["type"] == type_]

    def types(self) -> list[str]:
        return [e["type"] for e in self.live.record()["events"]]

    def caller_lines(self) -> list[str]:
        return [e["turn"] for e in self.events("caller_utterance")]

    def caller_said(self, n: int):
        """The caller has started line ``n`` and finished speaking it."""
        return lambda: (len(self.events("caller_utterance")) >= n
                        and not self.live.turns.caller_speaking(self.live.call.now()))


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(FIXTURE).data


@pytest.fixture(scope="module")
def recognizer():
    return get_recognizer("auto")


def new_call(scenario, recognizer, tmp_path, clock=None, mode="practice"):
    clock = clock or ManualClock()
    live = LiveCall(scenario, call_dir=tmp_path / "call", recognizer=recognizer, conversation=Conversation(scenario),
                    scenario_version=1, clock=clock, agent={"user_id": 1}, tts_cache=tmp_path / "tts", mode=mode)
    return live, Driver(live, clock)


def ring_and_answer(live: LiveCall, clock: ManualClock) -> None:
    clock.t += 2.0                       # wait_s 1, first ring at once, second after 3 s
    live.tick()
    assert live.call.state.value == "ringing" and live.call.rings == 1
    clock.t += 3.0
    live.tick()
    assert live.call.rings == 2
    live.answer()


def test_a_whole_call_through_the_runtime(scenario, recognizer, tmp_path):
    live, drive = new_call(scenario, recognizer, tmp_path)
    clock = drive.clock
    ring_and_answer(live, clock)
    drive.feed(speech("您好，工号1035，很高兴为您服务。", tmp_path))
    drive.silence_until(drive.caller_said(1))
    assert drive.caller_lines() == ["t1"]
    drive.feed(speech("请您稍等，我帮您查询一下。", tmp_path))
    drive.silence_until(drive.caller_said(2))
    assert drive.caller_lines() == ["t1", "t2"], "asking the caller to wait takes the asks_to_wait branch"
    live.hold()
    drive.silence(8.0)
    live.unhold()
    drive.feed(speech("感谢您的耐心等待，您本月的话费是八十八元。", tmp_path))
    drive.silence_until(lambda: live.call.state.value == "wrap_up")
    assert live.call.ended_by == "caller"
    errors = live.save_work_order({"type": "查询", "summary": "客户查询本月话费，已告知", "contact": "13812345678",
                                   "wrapup_code": "resolved"})
    assert errors == {}
    result = live.finish(lambda record, sc: grade(record, sc).to_dict())

    record = json.loads((tmp_path / "call" / "record.json").read_text("utf-8"))
    types = [e["type"] for e in record["events"]]
    order = ["queued", "ivr", "ring", "answered", "cti_pop", "agent_utterance", "caller_utterance", "hold",
             "hangup", "work_order", "wrapup_end"]
    positions = [types.index(t) for t in order]
    assert positions == sorted(positions), types
    assert [e["t"] for e in record["events"]] == sorted(e["t"] for e in record["events"])
    agent = [e for e in record["events"] if e["type"] == "agent_utterance"]
    assert len(agent) == 3
    assert "1035" in agent[0]["transcript"]["text"] or "工号" in agent[0]["transcript"]["text"]
    assert all(e["transcript"]["text"] and e["transcript"]["words"] for e in agent)
    assert all((tmp_path / "call" / e["audio"]).is_file() for e in agent)
    callers = [e for e in record["events"] if e["type"] == "caller_utterance"]
    assert [e["turn"] for e in callers] == ["t1", "t2", "t3"]
    assert all((tmp_path / "call" / e["audio"]).is_file() for e in callers)
    holds = [e for e in record["events"] if e["type"] == "hold"]
    assert [h["on"] for h in holds] == [True, False] and holds[1]["t"] - holds[0]["t"] == pytest.approx(8.0, abs=0.3)
    assert record["rings"] == 2 and record["ended_by"] == "caller"
    assert record["work_order"]["contact"] == "13812345678"
    with wave.open(str(tmp_path / "call" / "recording.wav")) as w:
        assert w.getnchannels() == 2
    items = {i["id"]: i for i in result["items"]}
    # Recognition may blur 工号 (then the item waits for an assessor), but the opening was heard.
    assert items["opening"]["verdict"] in ("pass", "review") and "您好" in items["opening"]["note"]
    assert items["hold"]["points_earned"] > 0, "thanks after the hold were credited"
    assert items["hangup"]["points_earned"] == 20
    assert (tmp_path / "call" / "grade.json").is_file()
    assert live.finish() == result, "finishing twice returns the same result"


def test_a_silent_trainee_gets_the_no_reply_path(scenario, recognizer, tmp_path):
    live, drive = new_call(scenario, recognizer, tmp_path)
    ring_and_answer(live, drive.clock)
    # No opening: the caller starts after opening_wait_s, then repeats once, then gives up.
    drive.silence_until(lambda: live.call.state.value == "wrap_up", max_s=60)
    assert drive.caller_lines() == ["t1", "t1"]
    assert live.call.ended_by == "caller"
    assert not drive.events("agent_utterance")
    assert any(e["type"] == "no_reply" for e in live.client_events)


def test_the_done_button_ends_the_turn_at_once(scenario, recognizer, tmp_path):
    live, drive = new_call(scenario, recognizer, tmp_path)
    live.timing.end_of_turn_pause_s = 30.0          # without the button the turn would not end for a long time
    ring_and_answer(live, drive.clock)
    drive.feed(speech("您好，工号1035。", tmp_path) + bytes(32000 // 4 * 3))
    assert drive.caller_lines() == []
    live.end_turn()
    assert drive.caller_lines() == ["t1"]


def test_speech_on_hold_is_recorded_but_not_heard(scenario, recognizer, tmp_path):
    live, drive = new_call(scenario, recognizer, tmp_path)
    ring_and_answer(live, drive.clock)
    drive.feed(speech("您好，工号1035，很高兴为您服务。", tmp_path))
    drive.silence_until(drive.caller_said(1))
    live.hold()
    drive.feed(speech("这个客户真麻烦。", tmp_path))
    drive.silence(2.0)
    heard = [e["transcript"]["text"] for e in drive.events("agent_utterance")]
    assert len(heard) == 1, "what the agent says on hold is not part of the conversation"
    assert any(e["type"] == "caption" and e.get("heard") is False for e in live.client_events)
    assert drive.caller_lines() == ["t1"]


def test_invalid_actions_are_refused_with_a_message(scenario, recognizer, tmp_path):
    live, drive = new_call(scenario, recognizer, tmp_path)
    with pytest.raises(CallError, match="没有正在振铃的来电"):
        live.answer()
    ring_and_answer(live, drive.clock)
    with pytest.raises(CallError, match="没有正在振铃的来电"):
        live.answer()                      # answering twice
    with pytest.raises(CallError, match="当前通话中，不能取消保持"):
        live.unhold()
    with pytest.raises(CallError, match="请先结束通话"):
        live.finish()
    with pytest.raises(CallError, match="转接部门"):
        live.transfer("nowhere")
    with pytest.raises(CallError):
        live.feed_audio(b"\x00\x01\x02")


@pytest.mark.parametrize("mode", ["practice", "certification"])
def test_the_client_view_never_carries_the_script_or_rubric(scenario, recognizer, tmp_path, mode):
    live, drive = new_call(scenario, recognizer, tmp_path, mode=mode)
    ring_and_answer(live, drive.clock)
    drive.feed(speech("您好，工号1035。", tmp_path))
    drive.silence_until(drive.caller_said(1))
    dumped = json.dumps([live.view(), live.events_since(0)], ensure_ascii=False)
    for secret in ("请稍等", "规范开头语", "asks_to_wait", "excellent", "不知道"):
        assert secret not in dumped
    # The line the caller has spoken may be shown as text in practice, never in certification.
    assert ("我想查一下我这个月的话费" in dumped) == (mode == "practice")


def test_registry_acknowledges_retries_and_refuses_gaps(scenario, recognizer, tmp_path):
    clock = ManualClock()
    live, _drive = new_call(scenario, recognizer, tmp_path, clock)
    registry = CallRegistry()
    registry.add(live, user_id=1)
    try:
        assert registry.receive(live.call_id, 0, SILENCE) == 1
        assert registry.receive(live.call_id, 0, SILENCE) == 1, "a retried chunk is acknowledged, not doubled"
        with pytest.raises(ChunkOutOfOrder) as missing:
            registry.receive(live.call_id, 5, SILENCE)
        assert missing.value.expected == 1
        clock.t += 3.0                     # a slow network: the next chunks arrive late, in a burst
        for seq in (1, 2, 3):
            registry.receive(live.call_id, seq, SILENCE)
        assert live.audio.seconds == pytest.approx(1.0), "chunks held back are contiguous audio: no fill"
        clock.t += 10.0                    # the page was reloaded ten seconds later: a new recording
        registry.receive(live.call_id, 4, SILENCE, resync=True)
        registry.drain(live.call_id)
        assert live.audio.seconds == pytest.approx(13.25, abs=0.3), "the time away is filled with silence"
    finally:
        registry.remove(live.call_id)


def test_outbound_call_dials_rings_and_the_customer_speaks_first(recognizer, tmp_path):
    data = load_scenario(FIXTURE).data
    data = {**data, "direction": "outbound", "outbound": {"number": "13812345678", "outcome": "answered"},
            "ivr": [], "queue": {"ring_interval_s": 3}}
    clock = ManualClock()
    live = LiveCall(data, call_dir=tmp_path / "out", recognizer=recognizer, conversation=Conversation(data),
                    clock=clock, tts_cache=tmp_path / "tts")
    with pytest.raises(CallError):
        live.answer()
    live.dial()
    clock.t += 3.5
    live.tick()
    assert live.call.state.value == "ringing" and live.call.rings == 2
    clock.t += 3.0
    live.tick()
    assert live.call.state.value == "talking"
    assert [e["turn"] for e in live.call.events if e["type"] == "caller_utterance"] == ["t1"]


def outbound_call(tmp_path, outcome: str, recognizer, **extra):
    """The fixture scenario as an outbound call whose callee ``outcome``s, on a manual clock."""
    data = load_scenario(FIXTURE).data
    data = {**data, "direction": "outbound", "outbound": {"number": "13812345678", "outcome": outcome}, "ivr": [],
            **extra}
    clock = ManualClock()
    live = LiveCall(data, call_dir=tmp_path / "out", recognizer=recognizer, conversation=Conversation(data),
                    clock=clock, tts_cache=tmp_path / "tts")
    return live, clock


@pytest.mark.parametrize("outcome", ["busy", "no_answer"])
def test_outbound_call_that_nobody_answers_goes_to_wrap_up(recognizer, tmp_path, outcome):
    live, clock = outbound_call(tmp_path, outcome, recognizer)
    live.dial()
    for _ in range(10):
        clock.t += 3.0
        live.tick()
    assert live.call.state.value == "wrap_up"
    result = [e for e in live.call.events if e["type"] == "outbound_result"]
    assert result[0]["outcome"] == outcome
    assert not [e for e in live.call.events if e["type"] == "caller_utterance"]


def test_a_call_lost_with_its_process_is_completed_from_its_audio(scenario, recognizer, tmp_path):
    """Audio acknowledged but not yet recognised when the process died is recognised on recovery and
    attached to the caller line it followed; the call is closed as the system's doing."""
    from softphone_sim.live.recovery import recover_record

    live, drive = new_call(scenario, recognizer, tmp_path)
    ring_and_answer(live, drive.clock)
    drive.feed(speech("您好，工号1035，很高兴为您服务。", tmp_path))
    drive.silence_until(drive.caller_said(1))
    step = int(16000 * CHUNK_S) * 2
    answer = speech("请您稍等，我帮您查询一下。", tmp_path) + bytes(32000)
    for i in range(0, len(answer), step):           # received (on disk) but never recognised
        drive.clock.t += CHUNK_S
        live.receive_audio(answer[i:i + step])
    live.close()                                    # the process dies here
    before = json.loads((tmp_path / "call" / "record.json").read_text("utf-8"))
    assert len([e for e in before["events"] if e["type"] == "agent_utterance"]) == 1

    record = recover_record(tmp_path / "call", recognizer)
    agent = [e for e in record["events"] if e["type"] == "agent_utterance"]
    assert len(agent) == 2 and agent[1]["recovered"] and "查询" in agent[1]["transcript"]["text"]
    assert agent[1]["reply_to"] == "t1" and (tmp_path / "call" / agent[1]["audio"]).is_file()
    assert record["status"] == "interrupted" and record["ended_by"] == "system"
    assert any(e["type"] == "closed" and e["reason"] == "server_restart" for e in record["events"])
    assert grade(record, scenario).to_dict()["total"] > 0
    assert recover_record(tmp_path / "call", recognizer) == record, "recovering twice changes nothing"


def test_a_recording_that_cannot_be_mixed_is_noted_in_the_saved_record(tmp_path):
    """The graded call is kept and the saved record.json (what the review page reads) says, in words,
    which clip is missing; a later save keeps the note."""
    live, clock = outbound_call(tmp_path, "answered", None, queue={"ring_interval_s": 3})
    live.dial()
    for _ in range(3):
        clock.t += 3.5
        live.tick()
    said = [e for e in live.call.events if e["type"] == "caller_utterance"]
    assert live.call.state.value == "talking" and said
    live.hangup()
    (tmp_path / "out" / said[0]["audio"]).unlink()     # the caller's first clip is lost before the mix
    live.finish()
    saved = json.loads((tmp_path / "out" / "record.json").read_text("utf-8"))
    assert saved["warnings"] == ["录音合成失败：缺少客户第 1 句的音频"]
    assert not (tmp_path / "out" / "recording.wav").exists()
    live.save()
    assert json.loads((tmp_path / "out" / "record.json").read_text("utf-8"))["warnings"] == saved["warnings"]
