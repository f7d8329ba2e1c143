"""The live practical call: drives a scenario's virtual caller through a softphone_sim call while the
trainee speaks.

``LiveCall`` is synchronous and clock-driven so tests run a whole call without waiting: the web layer
(``registry``) feeds it microphone audio from a worker thread and calls ``tick()`` on every request.
Turn-taking: the caller's line plays; the trainee's speech is transcribed as it streams in; the turn
ends when the recogniser reports the end of an utterance and the trainee stays quiet for
``turn_gap_s`` more (or presses "说完了"); the caller's next line is chosen from the scenario's
branches by what was said. A trainee who says nothing within the turn's ``reply_within_s`` gets the
scenario's no-reply path. Everything that happens goes into the ``call-record/1`` document
(docs/call-record.md), written to the call's folder as the call goes, so a dropped connection or a
closed browser loses nothing already said.
"""
from __future__ import annotations

import json
import os
import shutil
import threading
import time
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from softphone_sim import AcdQueue, Call, CallState, InvalidAction, render_line
from softphone_sim import cti as cti_mod
from softphone_sim import workorder

SAMPLE_RATE = 16000
BYTES_PER_SECOND = SAMPLE_RATE * 2
AUDIO_SLACK_S = 1.0      # how far the recognised audio may trail the clock before silence is doubted


class CallError(Exception):
    """An action the trainee cannot take now; the message is for the trainee (Chinese)."""


@dataclass
class Timing:
    turn_gap_s: float = 0.4          # quiet after an utterance's end before the turn counts as over
    opening_wait_s: float = 6.0      # the caller starts talking if the agent says nothing after answering
    reply_within_s: float = 10.0     # default wait for the agent's reply to a caller line
    closing_patience_s: float = 20.0  # a caller who waits for the agent to close hangs up after this
    farewell_s: float = 4.0          # a caller who says goodbye waits this long for the agent's farewell
    outbound_rings: int = 2          # rings before an outbound call's scripted outcome
    no_answer_rings: int = 6


class LiveCall:
    def __init__(self, scenario: dict, *, call_dir: Path | str, recognizer, conversation,
                 scenario_version: int | str | None = None, clock: Callable[[], float] = time.monotonic,
                 agent: dict | None = None, mode: str = "practice", call_id: str | None = None,
                 timing: Timing | None = None, tts_cache: Path | str | None = None,
                 renderer: Callable[..., Any] = render_line, started: bool = True):
        self.scenario = scenario
        self.dir = Path(call_dir)
        (self.dir / "caller").mkdir(parents=True, exist_ok=True)
        (self.dir / "agent").mkdir(parents=True, exist_ok=True)
        self.recognizer = recognizer
        self.conversation = conversation
        self.clock = clock
        self.timing = timing or Timing()
        self.tts_cache = tts_cache
        self.renderer = renderer
        self.direction = scenario.get("direction", "inbound")
        agent = dict(agent or {})
        agent.setdefault("agent_number", str(scenario.get("agent_number", "")))
        self.call = Call(direction=self.direction, call_id=call_id, clock=clock, agent=agent, mode=mode,
                         scenario={"id": scenario.get("id"), "version": scenario_version})
        self.call_id = self.call.call_id
        self._lock = threading.RLock()
        self._feed_lock = threading.Lock()
        self.client_events: list[dict] = []
        self.grade_result: dict | None = None
        self.finished = False
        # dialog state
        self.turn = None                  # the caller turn being answered
        self.line_end: float | None = None
        self.awaiting = False             # listening for the agent's reply (or opening)
        self.reply_deadline: float | None = None
        self.pending: list[dict] = []     # agent utterances of the current turn
        self.last_final_audio_end = 0.0
        self.caller_lines = 0
        self.closing = False              # the last caller line waits for the agent to close
        self.farewell = False             # ... and hangs up after the agent's farewell
        self.ended_turn = None
        # agent audio: one continuous stream from the first chunk
        self.stream = None
        self.stream_t0: float | None = None
        self.audio_bytes = 0
        self._audio_file = open(self.dir / "agent" / "stream.pcm", "ab")
        self.states: list[tuple[float, CallState]] = [(0.0, self.call.state)]
        self.work_order_skipped = False
        # The phone rings only once the trainee's microphone is live (``begin``), so a trainee who
        # first allows the microphone does not lose the three-ring item.
        self.started = False
        self.acd = None
        if started:
            self._setup_line()
            self.started = True
        self.save()

    def begin(self) -> None:
        """The trainee's microphone is live: the inbound call queues and rings, an outbound call may
        be dialled. Idempotent."""
        with self._lock:
            if not self.started:
                self._setup_line()
                self.started = True
                self._emit("started")
                self.save()

    # ---- set-up -------------------------------------------------------------------------------

    def _setup_line(self) -> None:
        queue = self.scenario.get("queue") or {}
        if self.direction == "inbound":
            choices = [{"key": str(step.get("key", "")), "label": str(step.get("label", ""))}
                       for step in (self.scenario.get("ivr") or []) if isinstance(step, dict)]
            if choices:
                self.call._log("ivr", choices=choices)
                self._emit("ivr", choices=choices)
            self.acd = AcdQueue()
            self.acd.enqueue(self.call, self.call.now(), wait_s=float(queue.get("wait_s", 2.0)),
                             ring_interval_s=float(queue.get("ring_interval_s", 3.0)),
                             abandon_after_rings=int(queue.get("abandon_after_rings", 8)))
        else:
            self.acd = None
            self.ring_interval = float(queue.get("ring_interval_s", 3.0))
            self.dial_started: float | None = None

    # ---- the client's view ---------------------------------------------------------------------

    def _emit(self, type_: str, **data) -> dict:
        event = {"id": len(self.client_events) + 1, "type": type_, "t": self.call.now(), **data}
        self.client_events.append(event)
        return event

    def events_since(self, since: int) -> list[dict]:
        with self._lock:
            return self.client_events[since:]

    def view(self) -> dict:
        """What the trainee's browser may know: never the script, intents or rubric."""
        with self._lock:
            wo = self.call.work_order
            return {"call_id": self.call_id, "state": self.call.state.value, "state_label": self.call.state.label,
                    "direction": self.direction, "rings": self.call.rings, "t": self.call.now(),
                    "ended_by": self.call.ended_by, "finished": self.finished, "work_order": wo,
                    "last_event": len(self.client_events),
                    "listening": self.awaiting and not self._caller_speaking(), "started": self.started,
                    "agent_speaking": bool(self.stream is not None and self.stream.speaking),
                    "audio_received_s": round(self.audio_bytes / BYTES_PER_SECOND, 3)}

    # ---- clock-driven behaviour ------------------------------------------------------------------

    def tick(self) -> None:
        with self._lock:
            self._tick()

    def _tick(self) -> None:
        now = self.call.now()
        state = self.call.state
        if state in (CallState.QUEUED, CallState.RINGING) and self.acd is not None:
            n = self.call.rings
            for what, _call in self.acd.tick(now):
                if what == "ring":
                    n += 1
                    self._emit("ring", n=n)
                else:
                    self._emit("abandoned")
                    self._state_changed()
            return
        if state in (CallState.DIALING, CallState.RINGING) and self.direction == "outbound":
            self._tick_outbound(now)
            return
        if state not in (CallState.TALKING, CallState.MUTED):
            return
        if self.line_end is not None and now >= self.line_end:
            self._emit("caller_line_end", n=self.caller_lines, cut_short=False)
            self._line_finished()
        if self.call.state not in (CallState.TALKING, CallState.MUTED) or not self.awaiting:
            return
        if self._caller_speaking() or self.pending or (self.stream is not None and self.stream.speaking):
            return
        # Judge silence on the audio actually recognised: on a busy server the trainee's words may
        # still be queued, and the caller must not talk over an answer it has not heard yet.
        heard_until = self._audio_now() if self.stream_t0 is not None else now
        if self.reply_deadline is not None and min(now, heard_until + AUDIO_SLACK_S) >= self.reply_deadline:
            self._no_reply()

    def _caller_speaking(self) -> bool:
        return self.line_end is not None and self.call.now() < self.line_end

    def _tick_outbound(self, now: float) -> None:
        if self.dial_started is None:
            return
        outcome = (self.scenario.get("outbound") or {}).get("outcome", "answered")
        due = int((now - self.dial_started) // self.ring_interval)
        if outcome == "busy":
            if self.call.state == CallState.DIALING:
                self.call.ring()
            self.call.outbound_result("busy")
            self._emit("outbound_result", outcome="busy")
            self._state_changed()
            return
        rings_needed = self.timing.no_answer_rings if outcome == "no_answer" else self.timing.outbound_rings
        while self.call.rings < min(due + 1, rings_needed):
            self.call.ring()
            self._emit("ring", n=self.call.rings)
        if due >= rings_needed:
            self.call.outbound_result(outcome)
            self._emit("outbound_result", outcome=outcome)
            self._state_changed()
            if outcome in ("answered", "not_customer"):
                self._cti_pop()
                self._start_script()

    def _state_changed(self) -> None:
        if self.call.state != self.states[-1][1]:
            self.states.append((self.call.now(), self.call.state))
        self._emit("state", state=self.call.state.value, label=self.call.state.label, ended_by=self.call.ended_by)
        self.save()

    def _state_at(self, t: float) -> CallState:
        current = self.states[0][1]
        for when, state in self.states:
            if when > t:
                break
            current = state
        return current

    # ---- the caller -----------------------------------------------------------------------------

    def _start_script(self) -> None:
        turn = self.conversation.start()
        self._play(turn)

    def _play(self, turn) -> None:
        """The caller says ``turn``; afterwards the agent is expected to reply."""
        self.turn = turn
        self.pending = []
        self.caller_lines += 1
        persona = (self.scenario.get("persona") or {}).get("voice", "calm")
        condition = getattr(turn, "line", None) or self.scenario.get("line") or "none"
        rendered = self.renderer(turn.say, persona=persona, condition=condition, cache_dir=self.tts_cache,
                                 seed=self.caller_lines, silence_s=getattr(turn, "silence_s", None))
        name = f"caller/{self.caller_lines:02d}-{turn.id}.wav"
        shutil.copyfile(rendered.path, self.dir / name)
        start = self.call.now()
        self.line_end = round(start + rendered.duration_s, 3)
        self.call.caller_utterance(turn=turn.id, text=turn.say, spoken=rendered.spoken_text, audio=name,
                                   start=start, end=self.line_end, condition=rendered.condition)
        # The caller's words as text only in practice (the trainee may show them); certification
        # candidates hear the caller, as on a real line.
        extra = {"text": turn.say} if self.call.mode == "practice" else {}
        self._emit("caller_line", audio=name, duration_s=rendered.duration_s, n=self.caller_lines, **extra)
        self.awaiting = True
        wait = getattr(turn, "reply_within_s", None) or self.timing.reply_within_s
        self.reply_deadline = self.line_end + float(wait)
        self.save()

    def _line_finished(self) -> None:
        self.line_end = None
        end = getattr(self.turn, "end", None) if self.turn is not None else None
        if not end:
            return
        if end == "caller_hangs_up":
            # The caller said goodbye: they hang up after the agent's farewell, or shortly anyway.
            self.closing = self.farewell = True
            self.awaiting = True
            self.reply_deadline = self.call.now() + self.timing.farewell_s
        elif end == "line_drops":
            self.awaiting, self.pending = False, []
            self.call.drop()
            self._emit("hangup", by="line")
            self._state_changed()
        else:   # waits_for_agent: the agent closes and hangs up; a caller left waiting gives up
            self.closing = True
            self.reply_deadline = self.call.now() + self.timing.closing_patience_s

    def _no_reply(self) -> None:
        self.awaiting = False
        if self.closing:
            self._caller_hangs_up()
            return
        self._emit("no_reply")
        self._continue(self.conversation.no_reply() if self.turn is not None else self.conversation.start())

    def _caller_hangs_up(self) -> None:
        self.call.hangup("caller")
        self._emit("hangup", by="caller")
        self._state_changed()

    def _continue(self, nxt) -> None:
        """The caller's next line, or the caller hangs up when the script has nothing more."""
        if nxt is None:
            self._caller_hangs_up()
        else:
            self._play(nxt)

    def _end_agent_turn(self) -> None:
        """The agent finished speaking: the caller answers what was said."""
        texts = [u["transcript"]["text"] for u in self.pending]
        confidences = [u["transcript"].get("confidence") for u in self.pending if u["transcript"].get("confidence") is not None]
        self.pending = []
        if not self.awaiting:
            return
        self.awaiting = False
        text = "，".join(t for t in texts if t)
        if self.closing:
            if self.farewell:
                self._caller_hangs_up()
                return
            self.awaiting = True      # still waiting for the agent to hang up
            self.reply_deadline = self.call.now() + self.timing.closing_patience_s
            return
        if self.turn is None:         # the opening: now the caller speaks
            self._start_script()
            return
        confidence = min(confidences) if confidences else None
        nxt = self.conversation.reply(text, confidence=confidence)
        self._emit("agent_turn", text=text)
        self._continue(nxt)

    # ---- the agent's audio ------------------------------------------------------------------------

    def feed_audio(self, pcm: bytes) -> None:
        """The next chunk of the agent's microphone (16 kHz mono 16-bit PCM), in order."""
        if len(pcm) % 2:
            raise CallError("音频数据不完整（字节数应为偶数）")
        with self._feed_lock:
            if self.finished:
                return
            if self.stream is None:
                self.stream = self.recognizer.stream()
                if self.stream_t0 is None:
                    self.stream_t0 = max(0.0, self.call.now() - len(pcm) / BYTES_PER_SECOND)
            self._audio_file.write(pcm)
            self._audio_file.flush()
            self.audio_bytes += len(pcm)
            events = self.stream.feed(pcm) if pcm else []
            with self._lock:
                self._apply_asr(events)
                self._maybe_end_turn()
                self._tick()

    def end_turn(self) -> None:
        """The trainee pressed "说完了": the current utterance ends now."""
        with self._feed_lock:
            events = self.stream.flush() if self.stream is not None else []
            with self._lock:
                self._apply_asr(events)
                if self.pending and not self._caller_speaking():
                    self._end_agent_turn()
                self._tick()

    def _audio_now(self) -> float:
        return (self.stream_t0 or 0.0) + self.audio_bytes / BYTES_PER_SECOND

    def _apply_asr(self, events: list) -> None:
        from grading.asr import Final, Partial
        finals = [e.segment for e in events if isinstance(e, Final)]
        for e in events:
            if isinstance(e, Partial) and e.text:
                self._emit("caption", text=e.text, final=False)
        if not finals:
            return
        t0 = self.stream_t0 or 0.0
        start, end = round(t0 + finals[0].start, 3), round(t0 + finals[-1].end, 3)
        text = "".join(s.text for s in finals).strip()
        words = [{"text": w.text, "start": round(t0 + w.start, 3), "end": round(t0 + w.end, 3),
                  "confidence": w.confidence} for s in finals for w in s.words]
        scores = [w["confidence"] for w in words if w["confidence"] is not None]
        transcript = {"text": text, "engine": self.recognizer.engine, "model": self.recognizer.model_name,
                      "confidence": round(sum(scores) / len(scores), 3) if scores else None, "words": words}
        self.last_final_audio_end = self._audio_now()
        # Word times are approximate (padding, ASR timing), so whether the caller heard an utterance
        # is decided at its middle: "请稍等" just before pressing hold counts, a remark on hold does not.
        middle = (start + end) / 2
        heard = self._state_at(middle) == CallState.TALKING and self.call.can("agent_utterance")
        if heard:     # nothing before the line opened (answer, unhold) reached the caller
            opened = max((t for t, _state in self.states if t <= middle), default=0.0)
            start = max(start, opened)
            words = [w for w in words if w["end"] > opened]
        if not heard or not text:
            self._emit("caption", text=text, final=True, heard=heard)
            return
        name = f"agent/{self.call._agent_index:03d}.wav"
        self._write_slice(name, finals[0].start, finals[-1].end)
        utterance = self.call.agent_utterance(start=start, end=end, audio=name, transcript=transcript)
        self._emit("caption", text=text, final=True, heard=True)
        if self.awaiting:
            self.pending.append(utterance)
        self.save()

    def _maybe_end_turn(self) -> None:
        if not self.pending or self._caller_speaking() or self.stream.speaking:
            return
        if self._audio_now() - self.last_final_audio_end >= self.timing.turn_gap_s:
            self._end_agent_turn()

    def _write_slice(self, name: str, start_s: float, end_s: float) -> None:
        pad = 0.15
        a = max(0, int((start_s - pad) * SAMPLE_RATE)) * 2
        b = min(self.audio_bytes, int((end_s + pad) * SAMPLE_RATE) * 2)
        with open(self.dir / "agent" / "stream.pcm", "rb") as fh:
            fh.seek(a)
            pcm = fh.read(max(0, b - a))
        with wave.open(str(self.dir / name), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(SAMPLE_RATE)
            w.writeframes(pcm)

    # ---- the agent's controls -----------------------------------------------------------------------

    def _act(self, fn: Callable[[], Any]) -> Any:
        with self._lock:
            self._tick()
            try:
                result = fn()
            except InvalidAction as exc:
                raise CallError(str(exc)) from None
            self._state_changed()
            return result

    def dial(self) -> None:
        if self.direction != "outbound":
            raise CallError("呼入电话无需拨号")
        if not self.started:
            raise CallError("请先打开麦克风")

        def go():
            if self.dial_started is not None:
                raise CallError("已经在拨号")
            self.dial_started = self.call.now()
            number = (self.scenario.get("outbound") or {}).get("number", "")
            self._emit("dialing", number=number)
        self._act(go)
        self.tick()

    def answer(self) -> None:
        def go():
            if self.direction != "inbound":
                raise CallError("外呼电话无需接听")
            try:
                self.acd.answer(self.call.now())
            except LookupError as exc:
                raise CallError(str(exc)) from None
            self._emit("answered", rings=self.call.rings)
            self._cti_pop()
            self.awaiting = True      # the agent's opening comes first
            self.reply_deadline = self.call.now() + self.timing.opening_wait_s
        self._act(go)

    def _cti_pop(self) -> None:
        cti = self.scenario.get("cti") or {}
        phone = (cti.get("customer") or {}).get("phone") or (self.scenario.get("outbound") or {}).get("number", "")
        result = cti_mod.lookup(phone, cti)
        self.call.cti("pop", result.outcome, result.delay_s)
        self._emit("cti", outcome=result.outcome, delay_s=result.delay_s, customer=result.customer,
                   message=result.message)

    def cti_lookup(self) -> dict:
        def go():
            cti = self.scenario.get("cti") or {}
            result = cti_mod.lookup((cti.get("customer") or {}).get("phone", ""), cti)
            self.call.cti("lookup", result.outcome, result.delay_s)
            self._emit("cti", outcome=result.outcome, delay_s=result.delay_s, customer=result.customer,
                       message=result.message)
            return {"outcome": result.outcome, "message": result.message}
        return self._act(go)

    def hold(self) -> None:
        self._act(self.call.hold)

    def unhold(self) -> None:
        def go():
            seconds = self.call.unhold()
            self._emit("hold_ended", held_s=seconds)
            if self.awaiting:
                wait = getattr(self.turn, "reply_within_s", None) or self.timing.reply_within_s
                self.reply_deadline = self.call.now() + float(wait)
        self._act(go)

    def mute(self) -> None:
        self._act(self.call.mute)

    def unmute(self) -> None:
        self._act(self.call.unmute)

    def transfer(self, target: str, kind: str = "blind") -> str:
        targets = self.scenario.get("transfer_targets") or {}
        if target not in targets:
            raise CallError("没有这个转接部门")
        outcome = (targets[target] or {}).get("outcome", "success")

        def go():
            if kind == "consult":
                self.call.consult(target, outcome)
            else:
                self.call.blind_transfer(target, outcome)
            self._emit("transfer", target=target, label=targets[target].get("label", target), kind=kind,
                       outcome=outcome)
            if outcome == "success" and kind == "blind":
                self.awaiting = False
            return outcome
        return self._act(go)

    def complete_transfer(self) -> None:
        def go():
            self.call.complete_transfer()
            self.awaiting = False
        self._act(go)

    def cancel_consult(self) -> None:
        self._act(self.call.cancel_consult)

    def hangup(self) -> None:
        def go():
            self.call.hangup("agent")
            self.awaiting = False
            self._emit("hangup", by="agent")
        self._act(go)

    def save_work_order(self, fields: dict) -> dict[str, str]:
        """Field -> problem (empty when valid). Saved either way, so nothing typed is lost."""
        fields = {k: str(fields.get(k) or "").strip() for k in workorder.FIELDS}
        errors = workorder.validate(fields)
        with self._lock:
            try:
                self.call.save_work_order(fields, valid=not errors)
            except InvalidAction as exc:
                raise CallError(str(exc)) from None
            self._emit("work_order", valid=not errors)
            self.save()
        return errors

    def finish(self, grade: Callable[[dict, dict], Any] | None = None, *, work_order_skipped: bool = False) -> dict:
        """End wrap-up: close the audio stream, write the final record and the stereo recording,
        grade. Idempotent: a second call returns the same result."""
        with self._feed_lock:
            with self._lock:
                if self.finished:
                    return self.grade_result or {}
                if self.call.state not in (CallState.WRAP_UP, CallState.ENDED):
                    raise CallError("请先结束通话，再提交话后处理")
            if self.stream is not None:
                self.stream.finish()
            with self._lock:
                if self.call.state == CallState.WRAP_UP:
                    self.call.finish_wrap_up()
                self.finished = True
                self.work_order_skipped = work_order_skipped
                self._audio_file.close()
                self._emit("finished")
                record = self.record()
                self.save()
        try:
            from softphone_sim.recording import mix
            mix(record, self.dir, self.dir / "recording.wav")
        except Exception as exc:   # a missing clip must not lose the graded call
            record.setdefault("warnings", []).append(f"recording mix failed: {exc}")
        if grade is not None:
            self.grade_result = grade(record, self.scenario)
            _write_json(self.dir / "grade.json", self.grade_result)
        return self.grade_result or {}

    # ---- persistence -------------------------------------------------------------------------------

    def record(self) -> dict:
        with self._lock:
            record = self.call.to_record()
            record["agent_audio"] = "agent/stream.pcm"
            if self.work_order_skipped:
                record["work_order_skipped"] = True
            return record

    def save(self) -> None:
        _write_json(self.dir / "record.json", self.record())

    def close(self) -> None:
        if not self._audio_file.closed:
            self._audio_file.close()


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=1)
    os.replace(tmp, path)
