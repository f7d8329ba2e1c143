"""A responsive simulated trainee: takes a live practical call through the same HTTP API as the browser,
reacting to the caller in real time.

It streams its microphone continuously in 250 ms chunks of 16 kHz PCM (silence between answers, as
a live microphone does), reads the caller's lines from the call's events, waits for each line to
finish playing, pauses a human-like 0.5–1.5 s and speaks its answer, synthesised with the product's
voice. Per answer it can also talk over the caller (start while the line is still playing), speak a
long answer with pauses inside, or stay silent. Used by the live-call tests and by
benchmarks/live_calls.py.
"""
from __future__ import annotations

import random
import re
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path

import requests

CHUNK_S = 0.25
RATE = 16000
CHUNK_BYTES = int(RATE * CHUNK_S) * 2
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
CSRF_FORM = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def voice_pcm(text: str, cache_dir: Path | None = None) -> bytes:
    """``text`` spoken by the product voice, as 16 kHz mono 16-bit PCM."""
    from softphone_sim import render_line
    line = render_line(text, persona="calm", cache_dir=cache_dir)
    with wave.open(str(line.path)) as w:
        return w.readframes(w.getnframes())


def silence(seconds: float) -> bytes:
    return bytes(int(RATE * seconds) * 2)


def clauses(text: str) -> list[str]:
    """``text`` cut at clause punctuation (the places a person pauses)."""
    parts = [p for p in re.split(r"(?<=[，。！？；])", text) if p.strip()]
    return parts or [text]


@dataclass
class Answer:
    """One turn of the trainee. ``style``: normal | pauses (clauses with pauses inside) | overtalk
    (start while the caller is still speaking) | silent (say nothing: the caller should notice)."""
    text: str
    actions: list = field(default_factory=list)
    style: str = "normal"


@dataclass
class Spoken:
    """What the trainee did for one answer, on its own clock and on the call's clock."""
    answer: Answer
    after_line: int                  # the caller line (n) it answered; 0 = the opening
    start_audio_s: float = 0.0       # seconds into the microphone stream
    end_audio_s: float = 0.0
    end_wall: float = 0.0            # this client's clock when the speech ended


class SimulatedTrainee:
    def __init__(self, base: str, username: str, password: str, *, seed: int = 0, voice_cache: Path | None = None,
                 timeout_s: float = 180.0):
        self.base, self.username, self.password = base.rstrip("/"), username, password
        self.s = requests.Session()
        self.rng = random.Random(seed)
        self.voice_cache = voice_cache
        self.timeout_s = timeout_s
        self.seq = 0
        self.since = 0
        self.events: list[tuple[float, dict]] = []     # (receive time, event)
        self.view: dict = {}
        self.spoken: list[Spoken] = []
        self.max_backlog = 0.0
        self.turn_delays: list[dict] = []              # per answer: end of speech -> final, -> next line
        self.audio_sent_s = 0.0
        self._clock0: float | None = None              # wall time of the microphone's first sample

    # ---- HTTP ---------------------------------------------------------------------------------

    def login(self) -> None:
        page = self.s.get(self.base + "/login", timeout=60).text
        r = self.s.post(self.base + "/login", data={"username": self.username, "password": self.password,
                                                    "csrf_token": CSRF_FORM.search(page).group(1)}, timeout=60)
        r.raise_for_status()

    def check_microphone(self) -> None:
        """The device page's test, as the browser does it: a short sentence recorded and uploaded."""
        import io
        page = self.s.get(self.base + "/practical/device", timeout=60).text
        clip = io.BytesIO()
        with wave.open(clip, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(RATE)
            w.writeframes(silence(0.3) + voice_pcm("您好，很高兴为您服务。", self.voice_cache) + silence(0.3))
        r = self.s.post(self.base + "/practical/device/test",
                        files={"audio": ("test.wav", clip.getvalue(), "audio/wav")},
                        headers={"X-CSRFToken": CSRF_META.search(page).group(1)}, timeout=120)
        r.raise_for_status()
        if not r.json().get("passed"):
            raise RuntimeError(f"microphone check failed: {r.text}")

    def start(self, scenario_id: str) -> str:
        self.check_microphone()
        home = self.s.get(self.base + "/practical/", timeout=60).text
        r = self.s.post(f"{self.base}/practical/start/{scenario_id}",
                        data={"csrf_token": CSRF_FORM.search(home).group(1)}, timeout=120)
        r.raise_for_status()
        self.url = re.sub(r"\?.*$", "", r.url)
        if "/calls/" not in self.url:
            raise RuntimeError(f"no call page after starting {scenario_id}: {r.url}")
        self.token = CSRF_META.search(r.text).group(1)
        self.call_id = self.url.rstrip("/").rsplit("/", 1)[-1]
        return self.call_id

    def _apply(self, payload: dict) -> None:
        now = time.perf_counter()
        self.view = payload.get("view") or self.view
        self.max_backlog = max(self.max_backlog, float(self.view.get("backlog_s") or 0.0))
        for e in payload.get("events") or []:
            if e["id"] > self.since:
                self.since = e["id"]
                self.events.append((now, e))

    def poll(self) -> None:
        r = self.s.get(f"{self.url}/state?since={self.since}", timeout=60)
        r.raise_for_status()
        self._apply(r.json())

    def action(self, name: str, **extra) -> requests.Response:
        r = self.s.post(self.url + "/action", json={"action": name, "since": self.since, **extra},
                        headers={"X-CSRFToken": self.token}, timeout=60)
        if r.ok:
            self._apply(r.json())
        return r

    def work_order(self, fields: dict) -> dict:
        r = self.s.post(self.url + "/work-order", json=fields, headers={"X-CSRFToken": self.token}, timeout=60)
        r.raise_for_status()
        return r.json()

    def finish(self) -> dict:
        r = self.s.post(self.url + "/finish", json={"skip_work_order": True}, headers={"X-CSRFToken": self.token},
                        timeout=600)
        r.raise_for_status()
        return r.json()

    def send(self, chunk: bytes) -> None:
        r = self.s.post(f"{self.url}/audio?seq={self.seq}&since={self.since}", data=chunk, timeout=120,
                        headers={"X-CSRFToken": self.token, "Content-Type": "application/octet-stream"})
        r.raise_for_status()
        self.seq += 1
        self.audio_sent_s += len(chunk) / (RATE * 2)
        self._apply(r.json())

    # ---- the microphone in real time ------------------------------------------------------------

    def _stream(self, pcm: bytes, until=None) -> None:
        """Send ``pcm`` at real-time pace, then silence while ``until()`` is false. A microphone delivers
        whole chunks: the last one is filled with the silence recorded after ``pcm`` (sending it short
        put the rest of the call's audio behind the microphone's clock, a little more after each answer)."""
        if len(pcm) % CHUNK_BYTES:
            pcm += bytes(CHUNK_BYTES - len(pcm) % CHUNK_BYTES)
        chunks = [pcm[i:i + CHUNK_BYTES] for i in range(0, len(pcm), CHUNK_BYTES)]
        k = 0
        while k < len(chunks) or (until is not None and not until()):
            # One microphone clock for the whole call: a chunk every 250 ms, never faster; behind it
            # (a slow request) the chunks recorded meanwhile go at once, as the browser's outbox does.
            if self._clock0 is None:
                self._clock0 = time.perf_counter()
            delay = self._clock0 + self.seq * CHUNK_S - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            self.send(chunks[k] if k < len(chunks) else bytes(CHUNK_BYTES))
            k += 1
            last = self.events[-1][0] if self.events else self._t0
            if until is not None and time.perf_counter() - last > self.timeout_s:
                raise TimeoutError(f"{self.username}: nothing happened on the call for {self.timeout_s:g} s; "
                                   f"last events {[e['type'] for _t, e in self.events[-8:]]}")

    def _catch_up(self) -> None:
        """A microphone keeps recording while uploads are slow: the audio the browser's outbox still holds
        is the silence recorded meanwhile, so speech starting now lies at the microphone's position now,
        not where the uploads have got to. Without this, on a slow server the simulated trainee's words
        were placed seconds earlier on the call's audio timeline than they were said."""
        if self._clock0 is None:
            return
        behind = int((time.perf_counter() - self._clock0) / CHUNK_S) - self.seq
        if behind > 0:
            self._stream(silence(behind * CHUNK_S))

    def _lines(self) -> list[tuple[float, dict]]:
        return [(t, e) for t, e in self.events if e["type"] == "caller_line"]

    def _ended(self) -> bool:
        return self.view.get("state") in ("wrap_up", "ended")

    def _line_done(self, n: int):
        """True once caller line ``n`` has started and finished playing here (or the call ended)."""
        def check() -> bool:
            if self._ended():
                return True
            lines = self._lines()
            if len(lines) < n:
                return False
            t, e = lines[n - 1]
            cut = any(x["type"] == "caller_line_end" and x.get("n") == n and x.get("cut_short")
                      for _t, x in self.events)
            return cut or time.perf_counter() >= t + float(e["duration_s"])
        return check

    def _line_started(self, n: int):
        return lambda: self._ended() or len(self._lines()) >= n

    def take_call(self, answers: list[Answer], *, rings: int = 2, after_call_work_order: dict | None = None) -> dict:
        """Answer when the phone has rung ``rings`` times (or dial, for an outbound call), then say
        ``answers`` one after the other, each after the caller's line. Returns the finish response."""
        # Synthesise everything first: a microphone never stops sending while its owner thinks.
        self._speech = {id(a): self._prepare(a) for a in answers}
        self._t0 = time.perf_counter()
        self.action("begin").raise_for_status()
        outbound = self.view.get("direction") == "outbound"
        if outbound:
            self.action("dial").raise_for_status()
            while self.view.get("state") in ("dialing", "ringing"):
                if time.perf_counter() - self._t0 > 60:
                    raise TimeoutError("the outbound call was never answered")
                time.sleep(0.3)
                self.poll()
        else:
            while sum(1 for _t, e in self.events if e["type"] == "ring") < rings:
                if self._ended():
                    raise RuntimeError("the call ended before it was answered")
                if time.perf_counter() - self._t0 > 60:
                    raise TimeoutError("the phone never rang")
                time.sleep(0.3)
                self.poll()
            self.action("answer").raise_for_status()
            self._stream(silence(self.rng.uniform(0.5, 1.0)))
        line = 0                               # the caller line being answered (0: the opening)
        for i, answer in enumerate(answers):
            if self._ended():
                break
            if i > 0 or outbound:
                line = self._wait_for_next_line(line, answer)
            if self._ended():
                break
            line = self._say(answer, line)
            self._act(answer.actions)
        if not self._ended():
            # stay on the line until the caller hangs up (or gives up waiting for the farewell)
            self._stream(b"", until=self._ended)
        if self.view.get("state") == "wrap_up" and after_call_work_order:
            self.work_order(after_call_work_order)
        return self.finish()

    def _wait_for_next_line(self, line: int, answer: Answer) -> int:
        n = line + 1
        if answer.style == "overtalk":
            # start talking once the caller is well into the line, before it ends
            self._stream(b"", until=self._line_started(n))
            if not self._ended():
                t, e = self._lines()[n - 1]
                target = t + 0.45 * float(e["duration_s"])
                self._stream(b"", until=lambda: time.perf_counter() >= target or self._ended())
            return n
        self._stream(b"", until=self._line_done(n))
        self._stream(silence(self.rng.uniform(0.5, 1.5)))
        return n

    def _say(self, answer: Answer, line: int) -> int:
        """Speak ``answer`` to caller line ``line``; returns the line finally answered."""
        if answer.style == "silent":
            # Say nothing until the caller speaks again (the caller repeats the line), then answer that.
            heard = len(self._lines())
            self._stream(b"", until=lambda: self._ended() or len(self._lines()) > heard)
            self.spoken.append(Spoken(answer, line, self.audio_sent_s, self.audio_sent_s))
            if self._ended():
                return line
            pcm = self._speech[id(answer)]
            answer = Answer(answer.text, answer.actions)
            self._speech[id(answer)] = pcm
            line = self._wait_for_next_line(line, answer)
        pcm = self._speech.get(id(answer)) or self._prepare(answer)
        self._catch_up()
        start = self.audio_sent_s
        self._stream(pcm)
        end = start + len(pcm) / (RATE * 2)
        # when the speech ended, on the microphone's clock (later uploads do not move it); a browser sends a
        # chunk once it is recorded, so the first chunk, sent at clock0, was recorded in the 250 ms before
        assert self._clock0 is not None
        self.spoken.append(Spoken(answer, line, start, end, self._clock0 - CHUNK_S + end))
        return line

    def _prepare(self, answer: Answer) -> bytes:
        if answer.style == "pauses":
            parts = [voice_pcm(c, self.voice_cache) for c in clauses(answer.text)]
            gaps = [silence(self.rng.uniform(0.6, 1.2)) for _ in parts[1:]]
            return b"".join(p + g for p, g in zip(parts, gaps + [b""], strict=True))
        return voice_pcm(answer.text, self.voice_cache)

    def _act(self, actions: list) -> None:
        for action in actions:
            name, value = (action, None) if isinstance(action, str) else next(iter(action.items()))
            if name == "hold":
                self._stream(silence(0.3))
                self.action("hold").raise_for_status()
                self._stream(silence(float(value or 10)))
                self.action("unhold").raise_for_status()
            elif name in ("transfer", "consult"):
                self._stream(silence(0.3))
                self.action(name, target=value).raise_for_status()
                if name == "consult" and self.view.get("state") == "consulting":
                    self._stream(silence(5.0))
                    self.action("complete_transfer").raise_for_status()
            elif name == "work_order":
                self.work_order({k: str(v) for k, v in (value or {}).items()})
            elif name == "hangup":
                self._stream(silence(0.5))
                self.action("hangup").raise_for_status()

    def delays(self) -> dict:
        """For each spoken answer, from the end of its speech (this client's clock): the delay to
        its last final transcript (before the trainee spoke again: a line that does not depend on the
        words goes on without them, so finals may come after it) and to the caller's next line."""
        out: dict[str, list[float]] = {"final": [], "reply": []}
        spoken = [s for s in self.spoken if s.answer.style != "silent"]
        for k, s in enumerate(spoken):
            nxt = next((t for t, e in self._lines() if t > s.end_wall), None)
            following = spoken[k + 1] if k + 1 < len(spoken) else None
            spoke_again = (following.end_wall - (following.end_audio_s - following.start_audio_s)
                           if following is not None else None)
            finals = [t for t, e in self.events
                      if e["type"] == "caption" and e.get("final") and t > s.end_wall - 0.3
                      and (spoke_again is None or t <= spoke_again)]
            if finals:
                out["final"].append(max(0.0, finals[-1] - s.end_wall))
            if nxt is not None:
                out["reply"].append(nxt - s.end_wall)
        return out


def answers_from_reference(reference: dict, styles: dict[int, str] | None = None) -> list[Answer]:
    """A scenario's reference answer as the trainee's turns; ``styles`` maps turn index -> style."""
    styles = styles or {}
    out = []
    for i, turn in enumerate(reference.get("turns") or []):
        if isinstance(turn, str):
            out.append(Answer(turn, [], styles.get(i, "normal")))
        else:
            out.append(Answer(str(turn.get("say", "")), list(turn.get("then") or []), styles.get(i, "normal")))
    return out


# ---- judging a call taken by the simulated trainee -----------------------------------------------

UTTERANCE_TOLERANCE_S = 0.3          # recogniser word times against voice activity


def record_events(record: dict, kind: str) -> list[dict]:
    return [e for e in record["events"] if e["type"] == kind]


def utterances_of(record: dict, spoken: Spoken) -> list[dict]:
    """The recorded utterances that came from one spoken answer (by where they lie in the stream)."""
    t0 = record.get("agent_audio_t0") or 0.0
    lo = t0 + spoken.start_audio_s - UTTERANCE_TOLERANCE_S
    hi = t0 + spoken.end_audio_s + UTTERANCE_TOLERANCE_S
    return [u for u in record_events(record, "agent_utterance") if lo <= (u["start"] + u["end"]) / 2 <= hi]


def turn_taking_errors(record: dict, trainee: SimulatedTrainee) -> list[str]:
    """Every way the call fell out of step with the trainee, in words (empty: none)."""
    errors = []
    tol = UTTERANCE_TOLERANCE_S
    callers = record_events(record, "caller_utterance")
    agent = record_events(record, "agent_utterance")
    silent_after = {s.after_line for s in trainee.spoken if s.answer.style == "silent"}
    no_replies = [e["turn"] for e in record_events(record, "no_reply")]
    expected = [callers[n - 1]["turn"] for n in sorted(silent_after) if 0 < n <= len(callers)]
    if no_replies != expected:
        errors.append(f"no-reply on {no_replies}, the trainee was silent on {expected}")
    for c in callers:
        inside = [u for u in agent if u["start"] + tol < c["start"] < u["end"] - tol]
        if inside:
            errors.append(f"caller line {c['turn']} started at {c['start']} while the trainee spoke "
                          f"({inside[0]['start']}–{inside[0]['end']})")
    turns = [c["turn"] for c in callers]
    for n in range(1, len(turns)):
        if turns[n] == turns[n - 1] and n not in silent_after:
            errors.append(f"line {turns[n]} repeated although the trainee replied")
    for s in trainee.spoken:
        if s.answer.style == "silent":
            continue
        mine = utterances_of(record, s)
        if not mine:
            errors.append(f"nothing recorded for the answer {s.answer.text!r}")
            continue
        wanted = callers[s.after_line - 1]["turn"] if 0 < s.after_line <= len(callers) else None
        got = sorted({str(u.get("reply_to")) for u in mine})
        if got != [str(wanted)]:
            errors.append(f"answer {s.answer.text[:12]!r} attached to {got}, it answered {wanted}")
    return errors
