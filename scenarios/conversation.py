"""Walking a scenario's script: which caller line comes next, given what the trainee said.

Pure Python, no I/O: the live-call runtime and the text simulation both drive a ``Conversation``.
Branches are tried in order; a branch matches when the trainee's words contain one of its intent's
phrasings (ASR-tolerant matching from ``grading.rubric``); ``otherwise`` catches the rest.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Turn:
    id: str
    say: str
    line: str | None
    silence_s: float | None
    reply_within_s: float | None
    end: str | None
    branches: tuple
    on_no_reply: str | None
    on_overtalk: str | None = None     # "stop" | "finish": what the caller does when talked over

    @property
    def spoken(self) -> str:
        from softphone_sim import speakable
        return speakable(self.say)

    @classmethod
    def from_dict(cls, d: dict) -> "Turn":
        return cls(id=d["id"], say=d["say"], line=d.get("line"), silence_s=d.get("silence_s"),
                   reply_within_s=d.get("reply_within_s"), end=d.get("end"),
                   branches=tuple(d.get("branches") or ()), on_no_reply=d.get("on_no_reply"),
                   on_overtalk=d.get("on_overtalk"))


class Conversation:
    """``start()`` gives the first caller turn; ``reply(text)`` / ``no_reply()`` the next one, or None
    when the caller has nothing more to say (the call ends as the last turn's ``end`` says)."""

    def __init__(self, scenario: dict):
        data = getattr(scenario, "data", scenario)
        script = data.get("script") or {}
        self.turns = {t["id"]: Turn.from_dict(t) for t in script.get("turns") or []}
        self.start_id = script.get("start")
        self.intents = data.get("intents") or {}
        self.values = {"agent_number": str(data["agent_number"])} if data.get("agent_number") else {}
        self.current: Turn | None = None
        self.history: list[tuple[str, str | None, str]] = []   # (turn id, trainee text, what happened)
        self._repeated = False

    @property
    def ended(self) -> bool:
        return self.current is not None and self.current.end is not None

    @property
    def end_kind(self) -> str | None:
        return self.current.end if self.current is not None else None

    def start(self) -> Turn | None:
        self.current = self.turns.get(self.start_id)
        self._repeated = False
        return self.current

    def _go(self, turn_id: str | None) -> Turn | None:
        self.current = self.turns.get(turn_id) if turn_id else None
        self._repeated = False
        return self.current

    def choose(self, text: str) -> dict | None:
        """The branch ``text`` takes from the current turn (without moving)."""
        from grading.rubric import match_intent

        if self.current is None:
            return None
        for branch in self.current.branches:
            if branch.get("otherwise"):
                return branch
            if text and match_intent(text, self.intents.get(branch.get("if"), []), values=self.values):
                return branch
        return None

    def reply(self, text: str, confidence: float | None = None) -> Turn | None:
        if self.current is None or self.current.end is not None:
            return None
        branch = self.choose(text)
        self.history.append((self.current.id, text, branch.get("if", "otherwise") if branch else "none"))
        return self._go(branch.get("next") if branch else None)

    def no_reply(self) -> Turn | None:
        """The trainee said nothing in time: the turn's ``on_no_reply``, else the caller repeats the
        line once and then gives up."""
        if self.current is None:
            return None
        self.history.append((self.current.id, None, "no_reply"))
        if self.current.on_no_reply:
            return self._go(self.current.on_no_reply)
        if self._repeated or self.current.end is not None:
            self.current = None
            return None
        self._repeated = True
        return self.current
