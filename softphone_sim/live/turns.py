"""Turn-taking between the virtual caller and the trainee: a small, explicit state machine.

It knows nothing of audio or recognisers. It is told when a caller line plays, when the trainee's
voice starts and stops (voice activity on the audio as it arrives) and when an utterance's transcript
is ready, and it answers with what the caller does next. Times are seconds on the call's clock.

    OPENING --speech--> TALKING <--speech-- PAUSED <--speech end-- TALKING
    CALLER --line over--> AWAITING --speech--> TALKING
    PAUSED --quiet for end_of_turn_pause_s--> HEARING --all transcripts in--> (Respond) --> CALLER
    AWAITING / OPENING --deadline, nothing said--> (NoReply)
    any --hold--> HOLD --unhold--> AWAITING or HEARING

Rules a person on the line would keep:
- the no-reply timer starts when the caller's line has finished playing and stops the moment the
  trainee starts speaking; silence is judged on audio that has arrived, never on audio still on its
  way (``heard_until``);
- the caller never starts a line while the trainee is speaking, nor before the end-of-turn pause;
- pauses shorter than ``end_of_turn_pause_s`` inside an answer keep it one turn;
- a trainee who talks over the caller (抢话) is recorded as overtalk; the caller stops or finishes the
  sentence as the scenario's turn says (``on_overtalk``), and what the trainee said counts towards the
  reply to that line;
- every utterance is attached to the caller line it answers, and the reply to a line is exactly the
  utterances attached to it.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field

MIN_ANSWER_S = 0.6      # voiced time that is surely an answer, not a cough, before any word is known


class Phase(str, enum.Enum):
    IDLE = "idle"            # not connected yet
    OPENING = "opening"      # connected: the agent's opening comes first
    CALLER = "caller"        # a caller line is playing
    AWAITING = "awaiting"    # the line is over; waiting for the agent to speak
    TALKING = "talking"      # the agent is speaking
    PAUSED = "paused"        # the agent paused; more may follow within the end-of-turn pause
    HEARING = "hearing"      # the agent's turn is over; waiting for its transcripts
    HOLD = "hold"            # the caller is on hold and hears nothing
    DONE = "done"


@dataclass
class TurnSettings:
    end_of_turn_pause_s: float = 1.6   # quiet that ends the agent's turn; longer than a natural pause
    opening_wait_s: float = 6.0        # the caller starts talking if the agent says nothing after answering
    reply_within_s: float = 10.0       # default wait for the agent's reply to a caller line
    closing_patience_s: float = 20.0   # a caller who waits for the agent to close gives up after this
    farewell_s: float = 4.0            # a caller who said goodbye waits this long for the agent's farewell
    vad_latency_s: float = 0.3         # voice activity calls speech only after 0.25 s of it: the last
                                       # this-much of the audio that arrived cannot prove silence yet
    audio_stall_s: float = 4.0         # no audio for this long: the microphone is gone, judge on the clock
    empty_reply_grace_s: float = 2.0   # after speech that recognised as nothing (a cough), wait this long


@dataclass
class Utterance:
    index: int
    start: float
    end: float | None = None
    line: int | None = None             # the caller line it answers (0: the opening); None: not heard
    text: str | None = None             # None until its transcript is ready
    confidence: float | None = None
    heard: bool = True


# ---- what the machine decides ----------------------------------------------------------------

@dataclass(frozen=True)
class Respond:
    """The agent's turn is complete: the caller answers ``text`` (the reply to line ``line``)."""
    line: int
    text: str
    confidence: float | None
    utterances: tuple[int, ...]


@dataclass(frozen=True)
class NoReply:
    """The agent said nothing to line ``line`` in time (line 0: no opening)."""
    line: int


@dataclass(frozen=True)
class HangUp:
    """The closing caller hangs up (after the agent's farewell, or having waited long enough)."""
    line: int
    after_farewell: bool


@dataclass(frozen=True)
class Overtalk:
    """The agent started speaking at ``at`` while the caller was saying line ``line``."""
    line: int
    at: float
    caller_stops: bool


@dataclass
class _Line:
    n: int
    start: float
    end: float
    on_overtalk: str = "finish"          # "stop": the caller breaks off; "finish": finishes the sentence
    reply_within_s: float | None = None
    closing: str | None = None           # "farewell" (caller said goodbye) | "waits" (for the agent to close)
    needs_words: bool = True             # what the caller says next depends on what the agent said
    overtalked: bool = False


@dataclass
class TurnTaking:
    settings: TurnSettings = field(default_factory=TurnSettings)
    phase: Phase = Phase.IDLE
    line: _Line | None = None
    deadline: float | None = None
    pause_from: float | None = None      # when the agent's last utterance of this turn ended
    utterances: dict[int, Utterance] = field(default_factory=dict)
    open_utterance: int | None = None
    _held_from: Phase | None = None

    # ---- queries -----------------------------------------------------------------------------

    @property
    def agent_speaking(self) -> bool:
        return self.open_utterance is not None

    @property
    def line_number(self) -> int:
        return self.line.n if self.line is not None else 0

    @property
    def listening(self) -> bool:
        return self.phase in (Phase.OPENING, Phase.AWAITING, Phase.TALKING, Phase.PAUSED)

    def caller_speaking(self, now: float) -> bool:
        return self.phase == Phase.CALLER and self.line is not None and now < self.line.end

    def line_of(self, index: int) -> int | None:
        u = self.utterances.get(index)
        return u.line if u is not None else None

    # ---- inputs ------------------------------------------------------------------------------

    def connected(self, now: float) -> None:
        """The call was answered: the agent's opening is expected."""
        self.phase = Phase.OPENING
        self.line = None
        self.deadline = now + self.settings.opening_wait_s

    def caller_line(self, n: int, start: float, end: float, *, on_overtalk: str = "finish",
                    reply_within_s: float | None = None, closing: str | None = None,
                    needs_words: bool = True) -> None:
        """``needs_words``: the caller's next line depends on what the agent says (the script branches
        on it); otherwise the caller goes on when the agent's turn is over, without waiting for the
        recogniser."""
        self.line = _Line(n, start, end, on_overtalk if on_overtalk in ("stop", "finish") else "finish",
                          reply_within_s, closing, needs_words and closing is None)
        self.phase = Phase.CALLER
        self.deadline = None
        self.pause_from = None

    def speech_started(self, index: int, t: float) -> list:
        """Voice activity: the agent began utterance ``index`` at ``t``."""
        heard = self.phase not in (Phase.HOLD, Phase.IDLE, Phase.DONE)
        self.utterances[index] = Utterance(index, t, line=self.line_number if heard else None, heard=heard)
        self.open_utterance = index
        if not heard:
            return []
        if self.phase == Phase.CALLER and self.line is not None and t < self.line.end:
            stops = self.line.on_overtalk == "stop"
            decisions: list = []
            if not self.line.overtalked:
                self.line.overtalked = True
                decisions.append(Overtalk(self.line.n, t, stops))
            if stops:
                self.line.end = t
                self.phase = Phase.TALKING
            return decisions
        # the reply deadline stays: speech that turns out to be nothing (a cough) must not extend it
        self.phase = Phase.TALKING
        return []

    def speech_ended(self, index: int, end: float) -> None:
        u = self.utterances.get(index)
        if u is not None:
            u.end = end
        if self.open_utterance == index:
            self.open_utterance = None
        if self.phase == Phase.TALKING:
            self.phase, self.pause_from = Phase.PAUSED, end

    def transcript(self, index: int, text: str, confidence: float | None, heard: bool = True) -> None:
        u = self.utterances.get(index)
        if u is None:
            return
        u.text, u.confidence = text, confidence
        if not heard:
            u.heard, u.line = False, None

    def done_pressed(self, now: float) -> None:
        """"我说完了": the turn ends now instead of after the pause."""
        if self.phase in (Phase.TALKING, Phase.PAUSED):
            self.phase = Phase.HEARING

    def hold(self, now: float) -> None:
        if self.phase in (Phase.HOLD, Phase.DONE, Phase.IDLE):
            return
        # What the agent said before pressing hold is their turn: the caller answers it after the hold.
        self._held_from = Phase.HEARING if self.phase in (Phase.TALKING, Phase.PAUSED, Phase.HEARING) else self.phase
        self.phase = Phase.HOLD

    def unhold(self, now: float) -> None:
        if self.phase != Phase.HOLD:
            return
        before, self._held_from = self._held_from, None
        if before == Phase.HEARING:
            self.phase = Phase.HEARING
        elif before == Phase.CALLER and self.line is not None and now < self.line.end:
            self.phase = Phase.CALLER
        else:
            self._await(now)

    def ended(self) -> None:
        self.phase = Phase.DONE
        self.deadline = None

    # ---- time --------------------------------------------------------------------------------

    def tick(self, now: float, heard_until: float | None, last_arrival: float | None = None) -> list:
        """Advance on the clock; ``heard_until`` is how far the agent's audio reaches (None: no audio
        yet), ``last_arrival`` when its last chunk came in (default: judged from ``heard_until``).
        Audio that arrives late is waited for; audio that stopped arriving is not. Returns the
        decisions due now."""
        s = self.settings
        if last_arrival is None:
            last_arrival = heard_until
        if heard_until is None or last_arrival is None or now - last_arrival > s.audio_stall_s:
            audio_now = now           # no audio to wait for: the microphone is off or gone
        else:
            audio_now = min(now, heard_until - s.vad_latency_s)
        if self.phase == Phase.CALLER and self.line is not None and now >= self.line.end:
            if self.open_utterance is not None:
                self.phase = Phase.TALKING      # the agent is already answering
            else:
                self._await(self.line.end)
        if self.phase in (Phase.OPENING, Phase.AWAITING) and self.deadline is not None and audio_now >= self.deadline:
            if self._pending(self.line_number):
                self.phase = Phase.HEARING      # words said over the caller are the reply
            else:
                return self._timed_out()
        paused_for = audio_now - self.pause_from if self.pause_from is not None else 0.0
        if self.phase == Phase.PAUSED and self.pause_from is not None and paused_for >= s.end_of_turn_pause_s:
            self.phase = Phase.HEARING
        if self.phase == Phase.HEARING:
            return self._hear(now)
        return []

    # ---- internals ---------------------------------------------------------------------------

    def _pending(self, line: int) -> list[Utterance]:
        """The utterances that answer ``line``: with words, or still being recognised."""
        return [u for u in self.utterances.values() if u.line == line and u.heard and u.text != ""]

    def _await(self, since: float) -> None:
        s = self.settings
        line = self.line
        if line is None:
            wait = s.opening_wait_s
        elif line.closing == "farewell":
            wait = s.farewell_s
        elif line.closing == "waits":
            wait = s.closing_patience_s
        else:
            wait = line.reply_within_s or s.reply_within_s
        self.phase = Phase.OPENING if line is None else Phase.AWAITING
        self.deadline = since + float(wait)

    def _timed_out(self) -> list:
        line = self.line
        if line is not None and line.closing is not None:
            self.ended()
            return [HangUp(line.n, after_farewell=False)]
        self.phase = Phase.IDLE           # the runtime plays the next line (or ends the call)
        self.deadline = None
        return [NoReply(self.line_number)]

    def _hear(self, now: float) -> list:
        mine = sorted(self._pending(self.line_number), key=lambda u: u.start)
        if any(u.text is None for u in mine):
            needs_words = self.line.needs_words if self.line is not None else False
            voiced = sum((u.end or now) - u.start for u in mine)
            # Words still being recognised: wait for them when the next line depends on them, or when
            # so little was voiced that it may have been a cough rather than an answer.
            if needs_words or voiced < MIN_ANSWER_S:
                return []
        said = mine
        if not said:
            # Speech that recognised as nothing (a cough, a breath): still waiting for a reply.
            self.phase = Phase.OPENING if self.line is None else Phase.AWAITING
            self.deadline = max(self.deadline or now, now + self.settings.empty_reply_grace_s)
            return []
        text = "，".join(u.text for u in said if u.text)
        scores = [u.confidence for u in said if u.confidence is not None]
        decision = Respond(self.line_number, text, min(scores) if scores else None, tuple(u.index for u in said))
        line = self.line
        if line is not None and line.closing == "farewell":
            self.ended()
            return [decision, HangUp(line.n, after_farewell=True)]
        if line is not None and line.closing == "waits":
            # The agent spoke but has not hung up: the caller keeps waiting. Later words are a new
            # reply to the same line, so the answered ones leave the turn.
            for u in said:
                u.line = None
            self._await(now)
            return [decision]
        self.phase = Phase.IDLE
        return [decision]
