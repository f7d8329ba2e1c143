"""A reference answer played as a whole call, without audio: the same script walk and call system as the
live runtime (``Conversation`` over ``softphone_sim.Call``), with the trainee's turns as perfect
transcripts (or as real ASR transcripts, for the audio self-check). Used by the self-check and to show
what an answer would score."""
from __future__ import annotations

from typing import Callable

from softphone_sim import Call, speakable
from softphone_sim.workorder import validate as validate_work_order

from .conversation import Conversation

CHARS_PER_MINUTE = 110.0      # within the norm's 100–120 字/分钟
CALLER_CHARS_PER_S = 4.5
GAP_S = 0.6                   # pause before each side speaks


class _Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _turn_text(turn) -> tuple[str, list]:
    if isinstance(turn, str):
        return turn, []
    return str(turn.get("say", "")), list(turn.get("then") or [])


def perfect_transcript(text: str, start: float, chars_per_minute: float = CHARS_PER_MINUTE) -> tuple[dict, float]:
    """The transcript a flawless recogniser would give, with even word timings."""
    chars = [c for c in text if not c.isspace()]
    per = 60.0 / chars_per_minute
    words = [{"text": c, "start": round(start + i * per, 3), "end": round(start + (i + 1) * per, 3), "confidence": 0.95}
             for i, c in enumerate(chars)]
    return {"text": text, "engine": "text", "model": "reference", "confidence": 0.95, "words": words}, len(chars) * per


def simulate_call(scenario: dict, answer: dict, *, chars_per_minute: float = CHARS_PER_MINUTE,
                  transcribe: Callable[[str, float], tuple[dict, float]] | None = None) -> dict:
    """The call-record/1 of ``answer`` (a reference answer: ``turns``, optional ``rings``) on ``scenario``.
    ``transcribe(text, start)`` may replace the perfect transcript (it returns the transcript and the
    utterance's duration)."""
    data = getattr(scenario, "data", scenario)
    speak = transcribe or (lambda text, start: perfect_transcript(text, start, chars_per_minute))
    clock = _Clock()
    direction = data.get("direction", "inbound")
    call = Call(direction=direction, clock=clock, scenario={"id": data.get("id"), "version": None},
                agent={"agent_number": str(data.get("agent_number", ""))})
    conv = Conversation(data)
    targets = data.get("transfer_targets") or {}
    queue = data.get("queue") or {}
    interval = float(queue.get("ring_interval_s", 3.0))
    rings = int(answer.get("rings", 2))

    if direction == "inbound":
        if data.get("ivr"):
            call.ivr_menu([{"key": str(s.get("key")), "label": s.get("label", "")} for s in data["ivr"]])
        clock.t += float(queue.get("wait_s", 1.0))
        for n in range(rings):
            call.ring()
            if n < rings - 1:
                clock.t += interval
        clock.t += 1.0
        call.answer()
    else:
        outcome = (data.get("outbound") or {}).get("outcome", "answered")
        for _ in range(1 if outcome == "busy" else 2):
            clock.t += interval
            call.ring()
        call.outbound_result(outcome)
        if outcome in ("no_answer", "busy"):
            _after_hangup(call, clock, answer)
            return call.to_record()
    cti = data.get("cti") or {}
    call.cti("pop", "failed" if cti.get("fails") else "ok", float(cti.get("lookup_delay_s", 1.0)))

    def caller_says(turn) -> None:
        spoken = speakable(turn.say)
        if turn.silence_s:
            seconds = float(turn.silence_s)
        else:
            seconds = max(1.0, len(spoken) / CALLER_CHARS_PER_S) if spoken else 3.0
        clock.t += GAP_S
        start = clock.t
        clock.t += seconds
        call.caller_utterance(turn=turn.id, text=turn.say, spoken=spoken, audio=None, start=start, end=clock.t,
                              condition=str(turn.line or data.get("line") or "none"))

    turns = list(answer.get("turns") or [])
    current = None if direction == "inbound" else conv.start()
    if current is not None:
        caller_says(current)
    farewell_pending = False
    for turn in turns:
        text, actions = _turn_text(turn)
        if not call.can("agent_utterance") or call.state.value == "wrap_up":
            break
        if text:
            clock.t += GAP_S
            transcript, seconds = speak(text, clock.t)
            call.agent_utterance(start=clock.t, end=clock.t + seconds, audio=None, transcript=transcript)
            clock.t += seconds
        ended_by_action = _perform(call, clock, actions, targets)
        if ended_by_action:
            break
        if farewell_pending:
            break
        if current is None and direction == "inbound":
            current = conv.start()
        elif current is not None and current.end is None:
            current = conv.reply(text)
        elif current is not None and current.end == "waits_for_agent":
            continue
        if current is None:
            break
        caller_says(current)
        if current.end == "line_drops":
            call.drop()
            break
        if current.end == "caller_hangs_up":
            farewell_pending = True
    if call.can("hangup"):
        clock.t += 1.0
        # The caller who said goodbye hangs up; otherwise the trainee ended the call.
        call.hangup("caller" if farewell_pending else "agent")
    _after_hangup(call, clock, answer)
    return call.to_record()


def _perform(call: Call, clock: _Clock, actions: list, targets: dict) -> bool:
    """Carry out a turn's actions; True when the call left the agent (hung up or transferred)."""
    for action in actions:
        name, value = (action, None) if isinstance(action, str) else next(iter(action.items()))
        if name == "hold":
            call.hold()
            clock.t += float(value or 10)
            call.unhold()
        elif name in ("transfer", "consult"):
            outcome = (targets.get(value) or {}).get("outcome", "success")
            if name == "transfer":
                call.blind_transfer(str(value), outcome)
            else:
                call.consult(str(value), outcome)
                if outcome == "success":
                    clock.t += 5.0
                    call.complete_transfer()
            if outcome == "success":
                return True
        elif name == "work_order":
            fields = {k: str(v) for k, v in (value or {}).items()}
            call.save_work_order(fields, valid=not validate_work_order(fields))
        elif name == "hangup":
            clock.t += 0.5
            call.hangup("agent")
            return True
    return False


def _after_hangup(call: Call, clock: _Clock, answer: dict) -> None:
    """Wrap-up: a work order given at answer level is saved after the call, then wrap-up ends."""
    if answer.get("work_order") and call.can("work_order"):
        fields = {k: str(v) for k, v in answer["work_order"].items()}
        clock.t += 20.0
        call.save_work_order(fields, valid=not validate_work_order(fields))
    if call.can("finish_wrap_up"):
        clock.t += 1.0
        call.finish_wrap_up()
