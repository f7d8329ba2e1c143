"""The simulated call-center system: call states, queue and rings, IVR, CTI, work orders, recording."""
from __future__ import annotations

import json
import wave

import numpy as np
import pytest

from softphone_sim import cti, ivr, workorder
from softphone_sim.acd import AcdQueue
from softphone_sim.call import Call, CallState, InvalidAction
from softphone_sim.recording import RecordingError, mix


class FakeClock:
    """Tests move time by hand; nothing sleeps."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


@pytest.fixture
def clock():
    return FakeClock()


def talking_call(clock) -> Call:
    call = Call(clock=clock)
    call.ring()
    call.answer()
    return call


def test_inbound_life_cycle_and_record(clock):
    call = Call(clock=clock, scenario={"id": "s1", "version": 2}, agent={"user_id": 1, "agent_number": "1035"})
    assert call.state == CallState.QUEUED
    clock.advance(2); call.ring()
    clock.advance(3); call.ring()
    clock.advance(1); call.answer()
    assert call.state == CallState.TALKING and call.rings == 2
    clock.advance(5); call.hold()
    clock.advance(12)
    assert call.unhold() == 12
    call.mute(); call.unmute()
    clock.advance(20); call.hangup("caller")
    assert call.state == CallState.WRAP_UP and call.ended_by == "caller"
    clock.advance(10); call.finish_wrap_up()
    record = call.to_record()
    assert record["format"] == "call-record/1" and record["scenario"] == {"id": "s1", "version": 2}
    assert [e["type"] for e in record["events"]] == [
        "queued", "ring", "ring", "answered", "hold", "hold", "mute", "mute", "hangup", "wrapup_end"]
    assert record["events"][3] == {"t": 6.0, "type": "answered", "rings": 2}
    assert record["duration_s"] == 53.0 and record["ended_by"] == "caller"
    json.dumps(record, ensure_ascii=False)        # JSON-serialisable


@pytest.mark.parametrize("setup, action", [
    (lambda c: None, lambda c: c.hold()),                         # hold a queued call
    (lambda c: (c.ring(), c.answer()), lambda c: c.answer()),      # answer twice
    (lambda c: (c.ring(), c.answer(), c.hangup("agent")), lambda c: c.hold()),
    (lambda c: (c.ring(), c.answer(), c.hold()), lambda c: c.mute()),
    (lambda c: (c.ring(), c.answer()), lambda c: c.unhold()),
    (lambda c: (c.ring(), c.answer(), c.hangup("agent"), c.finish_wrap_up()), lambda c: c.hangup("caller")),
    (lambda c: (c.ring(),), lambda c: c.blind_transfer("billing", "success")),
    (lambda c: (c.ring(), c.answer()), lambda c: c.complete_transfer()),
    (lambda c: (c.ring(), c.answer()), lambda c: c.finish_wrap_up()),
])
def test_invalid_actions_are_rejected_with_a_clear_error(clock, setup, action):
    call = Call(clock=clock)
    setup(call)
    before = (call.state, len(call.events))
    with pytest.raises(InvalidAction) as err:
        action(call)
    assert "不能" in str(err.value) and err.value.state.label in str(err.value)
    assert (call.state, len(call.events)) == before               # nothing changed


def test_hangup_while_on_hold_closes_the_hold(clock):
    call = talking_call(clock)
    call.hold()
    clock.advance(4)
    call.hangup("agent")
    assert [e["type"] for e in call.events][-2:] == ["hold", "hangup"] and call.events[-2]["on"] is False


@pytest.mark.parametrize("outcome, state", [("success", CallState.WRAP_UP), ("busy", CallState.TALKING),
                                            ("no_answer", CallState.TALKING)])
def test_blind_transfer_outcomes(clock, outcome, state):
    call = talking_call(clock)
    call.blind_transfer("billing", outcome)
    assert call.state == state
    assert call.events[-1 if outcome != "success" else -2] == {
        "t": 0.0, "type": "transfer", "kind": "blind", "target": "billing", "outcome": outcome}


def test_consult_transfer_then_complete_or_cancel(clock):
    call = talking_call(clock)
    call.consult("tech", "success")
    assert call.state == CallState.CONSULTING
    call.cancel_consult()
    assert call.state == CallState.TALKING
    call.consult("tech", "no_answer")
    assert call.state == CallState.TALKING
    call.consult("tech", "success")
    call.complete_transfer()
    assert call.state == CallState.WRAP_UP and call.ended_by == "agent"


@pytest.mark.parametrize("outcome, state", [("answered", CallState.TALKING), ("not_customer", CallState.TALKING),
                                            ("no_answer", CallState.WRAP_UP), ("busy", CallState.WRAP_UP)])
def test_outbound_outcomes(clock, outcome, state):
    call = Call(direction="outbound", clock=clock)
    assert call.state == CallState.DIALING
    call.ring(); call.ring()
    call.outbound_result(outcome)
    assert call.state == state
    with pytest.raises(InvalidAction):
        call.answer()


def test_queue_counts_rings_and_answers(clock):
    queue = AcdQueue()
    call = Call(clock=clock)
    queue.enqueue(call, clock.now, wait_s=4, ring_interval_s=3, abandon_after_rings=8)
    assert queue.tick(clock.now + 3) == []                        # still queued
    events = queue.tick(clock.now + 4)
    assert [e for e, _ in events] == ["ring"] and call.rings == 1
    clock.advance(4 + 7)                                          # 7 s of ringing: rings at 0, 3, 6
    answered = queue.answer(clock.now)
    assert answered is call and call.rings == 3 and call.state == CallState.TALKING


def test_caller_abandons_after_the_scenarios_rings(clock):
    queue = AcdQueue()
    call = Call(clock=clock)
    queue.enqueue(call, clock.now, ring_interval_s=3, abandon_after_rings=4)
    events = queue.tick(clock.now + 30)
    assert [e for e, _ in events] == ["ring"] * 4 + ["abandoned"]
    assert call.state == CallState.ENDED and call.ended_by == "caller"
    with pytest.raises(LookupError):
        queue.answer(clock.now + 31)


def test_ivr_walk_and_bad_key():
    assert ivr.walk(["2", "1"]) == [{"key": "2", "label": "账单查询"}, {"key": "1", "label": "话费余额"}]
    with pytest.raises(ivr.IvrError, match="第2步按键 9"):
        ivr.walk(["1", "9"])


def test_cti_lookup_ok_failed_not_found():
    data = {"lookup_delay_s": 2, "customer": {"name": "王建国", "phone": "138-1234-5678"}}
    ok = cti.lookup("13812345678", data)
    assert ok.outcome == "ok" and ok.customer["name"] == "王建国" and ok.delay_s == 2
    assert cti.lookup("13900000000", data).outcome == "not_found"
    failed = cti.lookup("13812345678", {**data, "fails": True})
    assert failed.outcome == "failed" and failed.customer is None and "无法" in failed.message


def test_work_order_validation():
    good = {"type": "投诉", "summary": "客户反映宽带多次断线", "contact": "138 1234 5678", "callback_time": "",
            "wrapup_code": "resolved"}
    assert workorder.validate(good) == {}
    errors = workorder.validate({**good, "type": "", "summary": "断线", "contact": "12ab", "wrapup_code": "callback"})
    assert set(errors) == {"type", "summary", "contact", "callback_time"}
    assert workorder.validate({**good, "evil": 1}) == {"_": "未知字段：evil"}


def _tone(path, seconds, freq, rate=16000):
    t = np.arange(int(seconds * rate)) / rate
    data = (0.3 * np.sin(2 * np.pi * freq * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(rate); w.writeframes(data.tobytes())


def test_recording_mixes_both_sides_on_the_record_clock(tmp_path, clock):
    _tone(tmp_path / "caller.wav", 1.0, 440)
    _tone(tmp_path / "agent.wav", 1.0, 880)
    call = talking_call(clock)
    call.caller_utterance(turn="t1", text="你好", spoken="你好", audio="caller.wav", start=0.5, end=1.5)
    call.agent_utterance(start=2.0, end=3.0, audio="agent.wav", transcript={"text": ""})
    out = mix(call.to_record(), tmp_path, tmp_path / "mix.wav")
    with wave.open(str(out)) as w:
        assert w.getnchannels() == 2 and w.getframerate() == 16000
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    left, right = np.abs(frames[:, 0]).astype(float), np.abs(frames[:, 1]).astype(float)
    sec = lambda a, b, ch: ch[int(a * 16000):int(b * 16000)].mean()  # noqa: E731
    assert sec(0.6, 1.4, left) > 1000 and sec(0.6, 1.4, right) < 10      # caller on the left only
    assert sec(2.1, 2.9, right) > 1000 and sec(2.1, 2.9, left) < 10      # agent on the right only


def test_a_missing_or_unreadable_clip_is_named_in_words(tmp_path, clock):
    _tone(tmp_path / "caller1.wav", 1.0, 440)
    (tmp_path / "agent.wav").write_bytes(b"not audio at all")
    call = talking_call(clock)
    call.caller_utterance(turn="t1", text="你好", spoken="你好", audio="caller1.wav", start=0.5, end=1.5)
    call.caller_utterance(turn="t2", text="查话费", spoken="查话费", audio="caller2.wav", start=4.0, end=5.0)
    with pytest.raises(RecordingError, match=r"^缺少客户第 2 句的音频$"):
        mix(call.to_record(), tmp_path, tmp_path / "mix.wav")
    _tone(tmp_path / "caller2.wav", 1.0, 440)
    call.agent_utterance(start=6.0, end=7.0, audio="agent.wav", transcript={"text": ""})
    with pytest.raises(RecordingError, match=r"^考生第 1 句的音频无法读取$"):
        mix(call.to_record(), tmp_path, tmp_path / "mix.wav")
