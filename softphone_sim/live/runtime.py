"""The live practical call: a scenario's virtual caller on a simulated call-center line, talking with a
trainee whose microphone streams in.

``LiveCall`` is synchronous and clock-driven, so tests run whole calls without waiting; the registry
feeds it from the web layer. Three parts, each with one job:
- ``softphone_sim.Call``: the call's states and its ``call-record/1`` (docs/call-record.md);
- ``turns.TurnTaking``: who speaks when, decided on voice activity, never on finished transcripts;
- ``listener.AgentAudio``: the trainee's audio, kept durably, with voice activity at once and
  recognition later (``recognition_jobs`` / ``run_recognition``).
Every change is written to the call's folder as it happens, so a dropped connection, a closed
browser or a killed server loses nothing already acknowledged.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from grading.asr.vad import SpeechEnded, SpeechStarted

from .. import cti as cti_mod
from .. import workorder
from ..acd import AcdQueue
from ..call import Call, CallState, InvalidAction
from ..render import render_line
from .listener import BYTES_PER_SECOND, AgentAudio, Caption, Recognised
from .turns import HangUp, NoReply, Overtalk, Respond, TurnSettings, TurnTaking

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
CLOSINGS = {"caller_hangs_up": "farewell", "waits_for_agent": "waits"}


class CallError(Exception):
    """An action the trainee cannot take now; the message is for the trainee (Chinese)."""


@dataclass
class Timing(TurnSettings):
    outbound_rings: int = 2          # rings before an outbound call's scripted outcome
    no_answer_rings: int = 6


class LiveCall:
    def __init__(self, scenario: dict, *, call_dir: Path | str, recognizer, conversation,
                 scenario_version: int | str | None = None, clock: Callable[[], float] = time.monotonic,
                 agent: dict | None = None, mode: str = "practice", call_id: str | None = None,
                 timing: Timing | None = None, tts_cache: Path | str | None = None,
                 renderer: Callable[..., Any] = render_line, started: bool = True, durable: bool = True,
                 tts_engine: str = "auto", asr_service=None):
        self.scenario = scenario
        self.dir = Path(call_dir)
        (self.dir / "caller").mkdir(parents=True, exist_ok=True)
        self.recognizer = recognizer
        self.conversation = conversation
        self.clock = clock
        self.timing = timing or Timing()
        self.tts_cache = tts_cache
        self.renderer = renderer
        self.tts_engine = tts_engine      # the voice /healthz reports is the voice calls use
        self.direction = scenario.get("direction", "inbound")
        agent = dict(agent or {})
        agent.setdefault("agent_number", str(scenario.get("agent_number", "")))
        self.call = Call(direction=self.direction, call_id=call_id, clock=clock, agent=agent, mode=mode,
                         scenario={"id": scenario.get("id"), "version": scenario_version})
        self.call_id = self.call.call_id
        self.mode = mode
        self._lock = threading.RLock()
        self._audio_lock = threading.Lock()
        self.client_events: list[dict] = []
        self.grade_result: dict | None = None
        self.status = "live"             # live | finished | abandoned
        self.turns = TurnTaking(self.timing)
        # asr_service None: the process's shared recognition service (grading.asr.service.service_for)
        extra = {} if asr_service is None else {"service": asr_service}
        self.audio = AgentAudio(self.dir / "agent", recognizer, durable=durable, call_id=self.call_id, **extra)
        self.caller_lines = 0
        self.turn = None                  # the scenario turn the caller said last
        self._line_event: dict | None = None   # its caller_utterance in the record
        self._line_playing = False
        self._line_turns: dict[int, str] = {}  # caller line number -> scenario turn id
        self.work_order_skipped = False
        self._recording_warnings: list[str] = []
        self._last_audio_at: float | None = None   # call time the last chunk arrived
        self.last_activity = time.monotonic()  # audio or an action (not polling): for the idle sweep
        self.states: list[tuple[float, CallState]] = [(0.0, self.call.state)]
        self.started = False
        self.acd: AcdQueue | None = None
        self.dial_started: float | None = None
        if started:
            self._setup_line()
        self.save()
        if renderer is render_line:
            # Render every caller line now, off the call's lock: a line rendered when it is due would
            # hold up the audio of a trainee who is already speaking.
            threading.Thread(target=self._prerender, name=f"prerender-{self.call_id[:8]}", daemon=True).start()

    def _line_options(self, turn) -> dict:
        ids = list(getattr(self.conversation, "turns", {}) or {})
        return {"persona": (self.scenario.get("persona") or {}).get("voice", "calm"),
                "condition": getattr(turn, "line", None) or self.scenario.get("line") or "none",
                "cache_dir": self.tts_cache, "silence_s": getattr(turn, "silence_s", None),
                "engine": self.tts_engine,
                # one seed per scripted line (noise, dropouts), so lines can be rendered ahead
                "seed": ids.index(turn.id) + 1 if turn.id in ids else 0}

    def _prerender(self) -> None:
        for turn in list((getattr(self.conversation, "turns", {}) or {}).values()):
            if self.finished:
                return
            try:
                self.renderer(turn.say, **self._line_options(turn))
            except Exception:      # rendered again when due, where a failure is reported
                return

    @property
    def finished(self) -> bool:
        return self.status != "live"

    # ---- set-up -------------------------------------------------------------------------------

    def begin(self) -> None:
        """The trainee's microphone is live: the inbound call queues and rings, an outbound call may
        be dialled. The phone never rings before, so switching the microphone on costs no rings."""
        with self._lock:
            if not self.started:
                self._setup_line()
                self._emit("started")
                self.save()

    def _setup_line(self) -> None:
        self.started = True
        queue = self.scenario.get("queue") or {}
        if self.direction == "inbound":
            choices = [{"key": str(step.get("key", "")), "label": str(step.get("label", ""))}
                       for step in (self.scenario.get("ivr") or []) if isinstance(step, dict)]
            if choices:
                self.call.ivr_menu(choices)
                self._emit("ivr", choices=choices)
            self.acd = AcdQueue()
            self.acd.enqueue(self.call, self.call.now(), wait_s=float(queue.get("wait_s", 2.0)),
                             ring_interval_s=float(queue.get("ring_interval_s", 3.0)),
                             abandon_after_rings=int(queue.get("abandon_after_rings", 8)))
        else:
            self.ring_interval = float(queue.get("ring_interval_s", 3.0))

    # ---- the client's view ---------------------------------------------------------------------

    def _emit(self, type_: str, **data) -> dict:
        event = {"id": len(self.client_events) + 1, "type": type_, "t": self.call.now(), **data}
        self.client_events.append(event)
        return event

    def events_since(self, since: int) -> list[dict]:
        with self._lock:
            return self.client_events[max(0, since):]

    def view(self) -> dict:
        """What the trainee's browser may know: never the script, intents or rubric."""
        with self._lock:
            now = self.call.now()
            return {"call_id": self.call_id, "state": self.call.state.value, "state_label": self.call.state.label,
                    "direction": self.direction, "rings": self.call.rings, "t": now,
                    "ended_by": self.call.ended_by, "finished": self.finished, "status": self.status,
                    "work_order": self.call.work_order, "last_event": len(self.client_events),
                    "started": self.started, "listening": self.turns.listening,
                    "caller_speaking": self.turns.caller_speaking(now),
                    "agent_speaking": self.turns.agent_speaking,
                    "audio_received_s": round(self.audio.seconds, 3)}

    # ---- clock-driven behaviour ------------------------------------------------------------------

    def tick(self) -> None:
        with self._lock:
            self._tick()

    def _tick(self) -> None:
        if self.finished:
            return
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
        if state not in (CallState.TALKING, CallState.MUTED, CallState.ON_HOLD):
            return
        decisions = self.turns.tick(now, self.audio.heard_until(), self._last_audio_at)
        self._line_over_check(now)
        self._apply(decisions)

    def _line_over_check(self, now: float) -> None:
        line = self.turns.line
        if not self._line_playing or line is None or now < line.end:
            return
        self._line_playing = False
        cut = bool(self._line_event and self._line_event.get("cut_short"))
        self._emit("caller_line_end", n=line.n, cut_short=cut)
        if getattr(self.turn, "end", None) == "line_drops" and self.call.can("drop"):
            self.turns.ended()
            self.call.drop()
            self._emit("hangup", by="line")
            self._state_changed()

    def _apply(self, decisions: list) -> None:
        for d in decisions:
            if isinstance(d, Overtalk):
                turn_id = self._line_turns.get(d.line, "")
                self.call.overtalk(turn=turn_id, at=d.at, caller_stops=d.caller_stops)
                self._emit("overtalk", n=d.line, caller_stops=d.caller_stops)
                if d.caller_stops and self._line_event is not None:
                    self.call.cut_caller_utterance(self._line_event, d.at)
                    self._line_over_check(self.call.now())
                self.save()
            elif isinstance(d, Respond):
                self._emit("agent_turn", n=d.line)
                if d.line == 0:
                    self._start_script()
                elif not self.turns.line or not self.turns.line.closing:
                    self._continue(self.conversation.reply(d.text, confidence=d.confidence))
                else:
                    self.save()
            elif isinstance(d, NoReply):
                if d.line == 0:             # no opening: the caller starts anyway
                    self._start_script()
                else:
                    self.call.no_reply(turn=self._line_turns.get(d.line))
                    self._emit("no_reply", n=d.line)
                    self._continue(self.conversation.no_reply())
            elif isinstance(d, HangUp):
                self._caller_hangs_up()

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
        if self.call.state in (CallState.WRAP_UP, CallState.ENDED):
            self.turns.ended()
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
        self._continue(self.conversation.start())

    def _continue(self, nxt) -> None:
        """The caller's next line, or the caller hangs up when the script has nothing more."""
        if nxt is None:
            self._caller_hangs_up()
        else:
            self._play(nxt)

    def _play(self, turn) -> None:
        """The caller says ``turn``; afterwards the agent is expected to reply."""
        self.turn = turn
        self.caller_lines += 1
        n = self.caller_lines
        rendered = self.renderer(turn.say, **self._line_options(turn))
        name = f"caller/{n:02d}-{turn.id}.wav"
        shutil.copyfile(rendered.path, self.dir / name)
        start = self.call.now()
        end = round(start + rendered.duration_s, 3)
        self._line_event = self.call.caller_utterance(turn=turn.id, text=turn.say, spoken=rendered.spoken_text,
                                                      audio=name, start=start, end=end,
                                                      condition=rendered.condition,
                                                      voice=getattr(rendered, "engine", None))
        self._line_turns[n] = turn.id
        self._line_playing = True
        self.turns.caller_line(n, start, end, on_overtalk=self._overtalk_policy(turn),
                               reply_within_s=getattr(turn, "reply_within_s", None),
                               closing=CLOSINGS.get(getattr(turn, "end", None) or ""),
                               needs_words=any(b.get("if") for b in getattr(turn, "branches", ()) or ()))
        # The caller's words as text only in practice (the trainee may show them); certification
        # candidates hear the caller, as on a real line.
        extra = {"text": turn.say} if self.mode == "practice" else {}
        self._emit("caller_line", audio=name, duration_s=rendered.duration_s, n=n, **extra)
        self.save()

    def _overtalk_policy(self, turn) -> str:
        """What the caller does when the trainee talks over them: the turn says, else the persona,
        else by temper: an angry, anxious or hurried caller finishes the sentence, others stop."""
        persona = self.scenario.get("persona") or {}
        chosen = getattr(turn, "on_overtalk", None) or persona.get("on_overtalk")
        if chosen in ("stop", "finish"):
            return chosen
        return "finish" if persona.get("voice") in ("angry", "anxious", "fast") else "stop"

    def _caller_hangs_up(self) -> None:
        self.turns.ended()
        if self.call.can("hangup"):
            self.call.hangup("caller")
            self._emit("hangup", by="caller")
            self._state_changed()

    # ---- the agent's audio ------------------------------------------------------------------------

    @property
    def stream_t0(self) -> float | None:
        return self.audio.t0

    @stream_t0.setter
    def stream_t0(self, value: float | None) -> None:
        self.audio.t0 = value

    def receive_audio(self, pcm: bytes) -> None:
        """The next chunk of the agent's microphone (16 kHz mono 16-bit PCM), in order. Durable on
        return; turn-taking sees its voice activity at once; recognition is queued."""
        if len(pcm) % 2:
            raise CallError("音频数据不完整（字节数应为偶数）")
        with self._audio_lock:
            if self.finished:
                return
            first = self.audio.seconds == 0
            if self.audio.t0 is None:
                self.audio.t0 = max(0.0, self.call.now() - len(pcm) / BYTES_PER_SECOND)
            self.last_activity = time.monotonic()
            self._last_audio_at = self.call.now()
            events = self.audio.receive(pcm)
            if first:
                self.save()         # the record says where its audio starts before anything else happens
            with self._lock:
                self._on_activity(events)
                self._tick()
            if any(isinstance(e, SpeechEnded) for e in events):
                self.audio.run_ready(apply=self._recognised)

    def _on_activity(self, events: list) -> None:
        t0 = self.audio.t0 or 0.0
        for event in events:
            if isinstance(event, SpeechStarted):
                self._apply(self.turns.speech_started(event.index, round(t0 + event.start, 3)))
            elif isinstance(event, SpeechEnded):
                self.turns.speech_ended(event.index, round(t0 + event.end, 3))

    def run_next_recognition(self, timeout: float = 0.5) -> bool:
        """Worker side: wait for one recognition job, run it, apply what it found."""
        return self.audio.run_next(timeout, apply=self._recognised)

    def recognise_pending(self) -> None:
        """Run every queued recognition job now (tests, and before finishing a call)."""
        self.audio.run_pending(apply=self._recognised)

    def _recognised(self, results: list) -> None:
        with self._lock:
            self._apply_recognition(results)
            self._tick()

    def feed_audio(self, pcm: bytes) -> None:
        """Receive a chunk and recognise at once: the whole pipeline on the caller's thread (tests)."""
        self.receive_audio(pcm)
        self.recognise_pending()

    def end_turn(self) -> None:
        """The trainee pressed "说完了": the current utterance and the turn end now."""
        with self._audio_lock:
            events = self.audio.close_utterance()
            with self._lock:
                self._on_activity(events)
                self.turns.done_pressed(self.call.now())
                self.last_activity = time.monotonic()
                self._tick()

    def _apply_recognition(self, results: list) -> None:
        for r in results:
            if isinstance(r, Caption):
                self._emit("caption", text=r.text, final=False)
            elif isinstance(r, Recognised):
                self._utterance_recognised(r.index, r.segments)

    def _utterance_recognised(self, index: int, segments: list) -> None:
        t0 = self.audio.t0 or 0.0
        text = "".join(s.text for s in segments).strip()
        words = [{"text": w.text, "start": round(t0 + w.start, 3), "end": round(t0 + w.end, 3),
                  "confidence": w.confidence} for s in segments for w in s.words]
        scores = [w["confidence"] for w in words if w["confidence"] is not None]
        if not scores:
            scores = [s.confidence for s in segments if s.confidence is not None]
        confidence = round(sum(scores) / len(scores), 3) if scores else None
        u = self.turns.utterances.get(index)
        if not segments or u is None:
            self.turns.transcript(index, "", None)
            return
        start, end = round(t0 + segments[0].start, 3), round(t0 + segments[-1].end, 3)
        transcript = {"text": text, "engine": self.recognizer.engine, "model": self.recognizer.model_name,
                      "confidence": confidence, "words": words}
        # Word times are approximate (padding, ASR timing), so whether the caller heard an utterance
        # is decided at its middle: "请稍等" just before pressing hold counts, a remark on hold does not.
        middle = (start + end) / 2
        heard = (u.heard and self._state_at(middle) == CallState.TALKING and self.call.can("agent_utterance"))
        if heard:     # nothing before the line opened (answer, unhold) reached the caller
            opened = max((t for t, _state in self.states if t <= middle), default=0.0)
            start = max(start, opened)
            transcript["words"] = [w for w in words if w["end"] > opened]
        self.turns.transcript(index, text, confidence, heard=heard and bool(text))
        if not heard or not text:
            self._emit("caption", text=text, final=True, heard=heard)
            return
        from grading.audio import write_wav
        name = f"agent/{self.call.agent_utterances:03d}.wav"
        write_wav(self.dir / name, self.audio.pcm_slice(start - t0 - 0.15, end - t0 + 0.15))
        reply_to = self._line_turns.get(u.line) if u.line else None
        self.call.agent_utterance(start=start, end=end, audio=name, transcript=transcript, reply_to=reply_to)
        self._emit("caption", text=text, final=True, heard=True)
        self.save()

    # ---- the agent's controls -----------------------------------------------------------------------

    def _act(self, fn: Callable[[], Any]) -> Any:
        with self._lock:
            self._tick()
            self.last_activity = time.monotonic()
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
            self.turns.connected(self.call.now())
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
        def go():
            self.call.hold()
            self.turns.hold(self.call.now())
        self._act(go)

    def unhold(self) -> None:
        def go():
            seconds = self.call.unhold()
            self._emit("hold_ended", held_s=seconds)
            self.turns.unhold(self.call.now())
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
                if outcome == "success":
                    self.turns.hold(self.call.now())      # the caller waits while the agent consults
            else:
                self.call.blind_transfer(target, outcome)
            self._emit("transfer", target=target, label=targets[target].get("label", target), kind=kind,
                       outcome=outcome)
            return outcome
        return self._act(go)

    def complete_transfer(self) -> None:
        self._act(self.call.complete_transfer)

    def cancel_consult(self) -> None:
        def go():
            self.call.cancel_consult()
            self.turns.unhold(self.call.now())
        self._act(go)

    def hangup(self) -> None:
        def go():
            self.call.hangup("agent")
            self._emit("hangup", by="agent")
        self._act(go)

    def save_work_order(self, fields: dict) -> dict[str, str]:
        """Field -> problem (empty when valid). Saved either way, so nothing typed is lost."""
        fields = {k: str(fields.get(k) or "").strip() for k in workorder.FIELDS}
        errors = workorder.validate(fields)
        with self._lock:
            self.last_activity = time.monotonic()
            try:
                self.call.save_work_order(fields, valid=not errors)
            except InvalidAction as exc:
                raise CallError(str(exc)) from None
            self._emit("work_order", valid=not errors)
            self.save()
        return errors

    @property
    def work_order_valid(self) -> bool:
        saved = [e for e in self.call.events if e["type"] == "work_order"]
        return bool(saved and saved[-1].get("valid"))

    def finish(self, grade: Callable[[dict, dict], Any] | None = None, *, work_order_skipped: bool = False) -> dict:
        """End wrap-up: recognise what is still queued, write the final record and the stereo
        recording, grade. Idempotent: a second call returns the same result."""
        with self._audio_lock:
            with self._lock:
                if self.status == "finished":
                    return self.grade_result or {}
                if self.status == "abandoned":
                    raise CallError("通话已因长时间无操作而关闭")
                if self.call.state not in (CallState.WRAP_UP, CallState.ENDED):
                    raise CallError("请先结束通话，再提交话后处理")
            with self._lock:
                self._on_activity(self.audio.close_utterance())
            self.recognise_pending()
            with self._lock:
                if self.call.state == CallState.WRAP_UP:
                    self.call.finish_wrap_up()
                self.status = "finished"
                self.work_order_skipped = work_order_skipped
                self.audio.close()
                self._emit("finished")
                record = self.record()
        from ..recording import RecordingError, mix
        try:
            mix(record, self.dir, self.dir / "recording.wav")
        except RecordingError as exc:   # a missing clip must not lose the graded call
            record.setdefault("warnings", []).append(f"录音合成失败：{exc}")
        except Exception:              # nor may anything else; the reviewer reads words, the log the details
            log.exception("mixing the recording of call %s failed", self.call_id)
            record.setdefault("warnings", []).append("录音合成失败：合成时出错（详情见服务器日志）")
        self._recording_warnings = record.get("warnings") or []
        write_json_atomic(self.dir / "record.json", record)
        if grade is not None:
            self.grade_result = grade(record, self.scenario)
            write_json_atomic(self.dir / "grade.json", self.grade_result)
        return self.grade_result or {}

    def abandon(self, reason: str = "idle") -> None:
        """Close a call nobody attends to: the record is kept and marked; no grade."""
        with self._audio_lock:
            with self._lock:
                if self.finished:
                    return
                self.turns.ended()
                self.call.close_abandoned(reason)
                self.status = "abandoned"
                self.audio.close()
                self._emit("abandoned_by_system", reason=reason)
                self.save()

    # ---- persistence -------------------------------------------------------------------------------

    def record(self) -> dict:
        with self._lock:
            record = self.call.to_record()
            record["agent_audio"] = "agent/stream.pcm"
            record["agent_audio_t0"] = self.audio.t0      # call time of the stream's first sample
            record["status"] = self.status
            if self.work_order_skipped:
                record["work_order_skipped"] = True
            if self._recording_warnings:
                record["warnings"] = list(self._recording_warnings)
            return record

    def save(self) -> None:
        write_json_atomic(self.dir / "record.json", self.record())

    def close(self) -> None:
        self.audio.close()


def write_json_atomic(path: Path | str, data: Any) -> None:
    """Write ``data`` as JSON so readers see the old file or the new one, never half of one. The
    temporary file has a unique name in the same folder: concurrent writers (two tabs, a double
    submit) each replace the file whole instead of renaming each other's temporary away."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
