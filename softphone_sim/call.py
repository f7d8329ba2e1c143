"""The call state machine and the call record it writes.

Inbound:  queued -> ringing -> talking <-> on_hold / muted -> (consulting) -> wrap_up -> ended
Outbound: dialing -> ringing -> talking | no_answer | busy -> wrap_up -> ended

Every transition is checked against the table below; anything else raises ``InvalidAction`` with a
message for the trainee. Times come from an injectable clock, so tests never wait.
"""
from __future__ import annotations

import enum
import time
import uuid
from datetime import datetime, timezone
from typing import Callable

RECORD_FORMAT = "call-record/1"


class CallState(str, enum.Enum):
    QUEUED = "queued"
    DIALING = "dialing"
    RINGING = "ringing"
    TALKING = "talking"
    ON_HOLD = "on_hold"
    MUTED = "muted"
    CONSULTING = "consulting"
    WRAP_UP = "wrap_up"
    ENDED = "ended"

    @property
    def label(self) -> str:
        return STATE_LABELS[self]


STATE_LABELS = {
    CallState.QUEUED: "排队中", CallState.DIALING: "拨号中", CallState.RINGING: "振铃中", CallState.TALKING: "通话中",
    CallState.ON_HOLD: "保持中", CallState.MUTED: "静音中", CallState.CONSULTING: "咨询转接中",
    CallState.WRAP_UP: "话后处理", CallState.ENDED: "已结束",
}
TRANSFER_OUTCOMES = ("success", "busy", "no_answer")
OUTBOUND_OUTCOMES = ("answered", "not_customer", "no_answer", "busy")
LIVE = (CallState.TALKING, CallState.ON_HOLD, CallState.MUTED, CallState.CONSULTING)

# action -> states it is allowed in
ALLOWED = {
    "ring": (CallState.QUEUED, CallState.DIALING, CallState.RINGING),
    "answer": (CallState.RINGING,),
    "abandon": (CallState.QUEUED, CallState.RINGING),
    "outbound_result": (CallState.RINGING,),
    "hold": (CallState.TALKING,),
    "unhold": (CallState.ON_HOLD,),
    "mute": (CallState.TALKING,),
    "unmute": (CallState.MUTED,),
    "blind_transfer": (CallState.TALKING,),
    "consult": (CallState.TALKING,),
    "complete_transfer": (CallState.CONSULTING,),
    "cancel_consult": (CallState.CONSULTING,),
    "hangup": LIVE,
    "drop": LIVE,
    "finish_wrap_up": (CallState.WRAP_UP,),
    # An utterance is logged when its transcript is ready, which can be just after the agent pressed
    # hold or hang up; the runtime decides by the utterance's start whether the caller heard it.
    "agent_utterance": LIVE + (CallState.WRAP_UP,),
    "caller_utterance": (CallState.TALKING, CallState.ON_HOLD, CallState.MUTED, CallState.CONSULTING),
    "work_order": (CallState.TALKING, CallState.ON_HOLD, CallState.MUTED, CallState.CONSULTING, CallState.WRAP_UP),
    "cti": (CallState.RINGING, CallState.TALKING, CallState.ON_HOLD, CallState.MUTED, CallState.CONSULTING,
            CallState.WRAP_UP),
}
ACTION_LABELS = {
    "ring": "振铃", "answer": "接听", "abandon": "放弃", "outbound_result": "外呼结果", "hold": "保持",
    "unhold": "取消保持",
    "mute": "静音", "unmute": "取消静音", "blind_transfer": "直接转接", "consult": "咨询转接",
    "complete_transfer": "完成转接", "cancel_consult": "取消转接", "hangup": "挂机", "drop": "断线",
    "finish_wrap_up": "结束话后处理", "agent_utterance": "坐席说话", "caller_utterance": "来电者说话",
    "work_order": "保存工单", "cti": "查询客户资料",
}


class InvalidAction(Exception):
    """An action the call's current state does not allow (hold an ended call, answer twice ...)."""

    def __init__(self, action: str, state: CallState):
        self.action, self.state = action, state
        super().__init__(f"当前{state.label}，不能{ACTION_LABELS.get(action, action)}")


class Call:
    def __init__(self, *, direction: str = "inbound", call_id: str | None = None,
                 clock: Callable[[], float] = time.monotonic, scenario: dict | None = None,
                 agent: dict | None = None, mode: str = "practice"):
        if direction not in ("inbound", "outbound"):
            raise ValueError("direction must be inbound or outbound")
        self.direction = direction
        self.call_id = call_id or str(uuid.uuid4())
        self.clock = clock
        self.t0 = clock()
        self.started_at = datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        self.scenario = scenario or {}
        self.agent = agent or {}
        self.mode = mode
        self.events: list[dict] = []
        self.rings = 0
        self.ended_by: str | None = None
        self.work_order: dict | None = None
        self._agent_index = 0
        self.state = CallState.QUEUED if direction == "inbound" else CallState.DIALING
        self._log("queued" if direction == "inbound" else "dialing")

    # ---- bookkeeping ------------------------------------------------------------------------

    def now(self) -> float:
        return round(self.clock() - self.t0, 3)

    def _log(self, type_: str, **fields) -> dict:
        event = {"t": fields.pop("t", None) if "t" in fields else self.now(), "type": type_, **fields}
        self.events.append(event)
        return event

    def _check(self, action: str) -> None:
        if self.state not in ALLOWED[action]:
            raise InvalidAction(action, self.state)

    def can(self, action: str) -> bool:
        return self.state in ALLOWED[action]

    # ---- ringing and answering --------------------------------------------------------------

    def ring(self) -> int:
        self._check("ring")
        self.state = CallState.RINGING
        self.rings += 1
        self._log("ring", n=self.rings)
        return self.rings

    def answer(self) -> None:
        self._check("answer")
        if self.direction != "inbound":
            raise InvalidAction("answer", self.state)
        self.state = CallState.TALKING
        self._log("answered", rings=self.rings)

    def abandon(self) -> None:
        """The caller gave up waiting before anyone answered."""
        self._check("abandon")
        self.state = CallState.ENDED
        self.ended_by = "caller"
        self._log("abandoned", rings=self.rings)

    def outbound_result(self, outcome: str) -> None:
        self._check("outbound_result")
        if self.direction != "outbound":
            raise InvalidAction("outbound_result", self.state)
        if outcome not in OUTBOUND_OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTBOUND_OUTCOMES}")
        self._log("outbound_result", outcome=outcome, rings=self.rings)
        if outcome in ("answered", "not_customer"):
            self.state = CallState.TALKING
        else:
            self.state = CallState.WRAP_UP
            self.ended_by = "system"
            self._log("hangup", by="system")

    # ---- in the call ------------------------------------------------------------------------

    def hold(self) -> None:
        self._check("hold")
        self.state = CallState.ON_HOLD
        self._log("hold", on=True)

    def unhold(self) -> float:
        """Returns how long the caller was on hold."""
        self._check("unhold")
        self.state = CallState.TALKING
        started = next(e["t"] for e in reversed(self.events) if e["type"] == "hold" and e["on"])
        event = self._log("hold", on=False)
        return round(event["t"] - started, 3)

    def mute(self) -> None:
        self._check("mute")
        self.state = CallState.MUTED
        self._log("mute", on=True)

    def unmute(self) -> None:
        self._check("unmute")
        self.state = CallState.TALKING
        self._log("mute", on=False)

    def blind_transfer(self, target: str, outcome: str) -> None:
        """Success hands the caller over and ends the agent's part; busy or no answer keeps the
        caller with the agent, who must tell them."""
        self._check("blind_transfer")
        if outcome not in TRANSFER_OUTCOMES:
            raise ValueError(f"outcome must be one of {TRANSFER_OUTCOMES}")
        self._log("transfer", kind="blind", target=target, outcome=outcome)
        if outcome == "success":
            self.state = CallState.WRAP_UP
            self.ended_by = "agent"
            self._log("hangup", by="agent", reason="transferred")

    def consult(self, target: str, outcome: str) -> None:
        """The caller waits on hold while the agent speaks to the department first."""
        self._check("consult")
        if outcome not in TRANSFER_OUTCOMES:
            raise ValueError(f"outcome must be one of {TRANSFER_OUTCOMES}")
        self._log("transfer", kind="consult", target=target, outcome=outcome)
        self.state = CallState.CONSULTING if outcome == "success" else CallState.TALKING
        self._consult_target = target

    def complete_transfer(self) -> None:
        self._check("complete_transfer")
        self.state = CallState.WRAP_UP
        self.ended_by = "agent"
        self._log("transfer_completed", target=self._consult_target)
        self._log("hangup", by="agent", reason="transferred")

    def cancel_consult(self) -> None:
        self._check("cancel_consult")
        self.state = CallState.TALKING
        self._log("transfer_cancelled", target=self._consult_target)

    def hangup(self, by: str) -> None:
        if by not in ("agent", "caller"):
            raise ValueError("by must be agent or caller")
        self._check("hangup")
        if self.state == CallState.ON_HOLD:
            self._log("hold", on=False)
        if self.state == CallState.MUTED:
            self._log("mute", on=False)
        self.state = CallState.WRAP_UP
        self.ended_by = by
        self._log("hangup", by=by)

    def drop(self) -> None:
        """The line drops (a scenario can ask for it)."""
        self._check("drop")
        self.state = CallState.WRAP_UP
        self.ended_by = "line"
        self._log("dropped")
        self._log("hangup", by="line")

    def finish_wrap_up(self) -> None:
        self._check("finish_wrap_up")
        self.state = CallState.ENDED
        self._log("wrapup_end")

    # ---- what was said and done -------------------------------------------------------------

    def caller_utterance(self, *, turn: str, text: str, spoken: str, audio: str | None, start: float,
                         end: float, condition: str = "none", voice: str | None = None) -> dict:
        """``voice``: the speech engine that rendered the line (neural, pyttsx3, silence)."""
        self._check("caller_utterance")
        extra = {"voice": voice} if voice else {}
        return self._log("caller_utterance", t=start, turn=turn, text=text, spoken=spoken, audio=audio,
                         start=start, end=end, condition=condition, **extra)

    def agent_utterance(self, *, start: float, end: float, audio: str | None, transcript: dict,
                        reply_to: str | None = None) -> dict:
        """``reply_to``: the caller's scenario turn this utterance answers, when the runtime knows it."""
        self._check("agent_utterance")
        extra = {"reply_to": reply_to} if reply_to else {}
        event = self._log("agent_utterance", t=start, index=self._agent_index, start=start, end=end, audio=audio,
                          transcript=transcript, **extra)
        self._agent_index += 1
        return event

    def cti(self, kind: str, outcome: str, delay_s: float, **fields) -> dict:
        self._check("cti")
        return self._log("cti_pop" if kind == "pop" else "cti_lookup", outcome=outcome, delay_s=delay_s, **fields)

    def save_work_order(self, fields: dict, valid: bool) -> dict:
        self._check("work_order")
        self.work_order = dict(fields)
        return self._log("work_order", fields=dict(fields), valid=valid)

    def ivr_menu(self, choices: list[dict]) -> dict:
        """The IVR menu the caller went through before queueing."""
        return self._log("ivr", choices=list(choices))

    def overtalk(self, *, turn: str, at: float, caller_stops: bool) -> dict:
        """The agent started speaking while the caller was saying ``turn`` (抢话)."""
        return self._log("overtalk", t=at, turn=turn, caller="stopped" if caller_stops else "finished")

    def cut_caller_utterance(self, utterance: dict, at: float) -> None:
        """The caller broke off ``utterance`` (one returned by ``caller_utterance``) at ``at``."""
        if utterance in self.events and utterance["start"] <= at < utterance["end"]:
            utterance["end"] = round(at, 3)
            utterance["cut_short"] = True

    def no_reply(self, *, turn: str | None) -> dict:
        """The agent did not answer the caller's line ``turn`` in time (None: no opening)."""
        return self._log("no_reply", turn=turn)

    def close_abandoned(self, reason: str) -> None:
        """The system closes a call nobody is attending to (the trainee left): whatever its state."""
        if self.state in (CallState.QUEUED, CallState.RINGING) and self.direction == "inbound":
            self.abandon()
        elif self.state in LIVE or self.state in (CallState.DIALING, CallState.RINGING):
            if self.state == CallState.ON_HOLD:
                self._log("hold", on=False)
            self.state = CallState.WRAP_UP
            self.ended_by = "system"
            self._log("hangup", by="system", reason=reason)
        if self.state == CallState.WRAP_UP:
            self.finish_wrap_up()
        self._log("closed", reason=reason)

    @property
    def agent_utterances(self) -> int:
        return self._agent_index

    # ---- the record -------------------------------------------------------------------------

    def to_record(self) -> dict:
        events = sorted(self.events, key=lambda e: e["t"])   # utterances carry their own start times
        return {
            "format": RECORD_FORMAT,
            "call_id": self.call_id,
            "scenario": {"id": self.scenario.get("id"), "version": self.scenario.get("version")},
            "mode": self.mode,
            "agent": dict(self.agent),
            "direction": self.direction,
            "started_at": self.started_at,
            "duration_s": events[-1]["t"] if events else 0.0,
            "ended_by": self.ended_by,
            "state": self.state.value,
            "rings": self.rings,
            "events": events,
            "work_order": self.work_order,
        }
