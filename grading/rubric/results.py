"""What grading returns: one ``ItemResult`` per rubric item and the ``GradeResult`` of the call."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

PASS_MARK = 60.0
VERDICTS = ("pass", "partial", "fail", "review")
VERDICT_LABELS = {"pass": "通过", "partial": "部分", "fail": "未通过", "review": "待复核"}


def round_half_up(value: float, places: int = 1) -> float:
    q = Decimal(1).scaleb(-places)
    return float(Decimal(repr(float(value))).quantize(q, rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Evidence:
    """One piece of evidence behind an item's verdict: ``utterance`` (agent utterance index or None),
    ``t`` (seconds on the record's clock), ``text`` (a snippet of what was heard or what happened),
    ``phrase`` (the rubric phrase or attitude pattern it matched), ``similarity`` (0–1), ``method``
    (exact | fuzzy | pinyin | synonym | ngram | pattern | event | typing) and ``confidence`` (ASR, or None)."""
    text: str
    utterance: int | None = None
    t: float | None = None
    phrase: str | None = None
    similarity: float | None = None
    method: str = "event"
    confidence: float | None = None

    def to_dict(self) -> dict:
        return {"utterance": self.utterance, "t": self.t, "text": self.text, "phrase": self.phrase,
                "similarity": self.similarity, "method": self.method, "confidence": self.confidence}


@dataclass
class ItemResult:
    """The result of one rubric item.

    ``pending_gain``: points not awarded that an assessor may still award (the item rests on soft
    signals or uncertain recognition). ``pending_loss``: points awarded that an assessor may still
    take away (a forbidden phrase heard with low confidence). ``fatal``: a confirmed 致命项 — the call
    is capped below the pass mark until an assessor overrules this item with a reason. ``deduction``:
    points this item takes off the call's total (the attitude item, which has no points of its own).
    ``if_confirmed``: on an attitude item the engine was unsure of (``review``), the ``points``, ``deduction``
    and ``fatal`` it would carry were every doubtful finding true — what an assessor's 确认 makes stand; on a
    ``forbidden`` item in mode ``auto_fail`` flagged for review, ``fatal`` true: 确认 fails the call (0).
    """
    id: str
    kind: str
    label: str
    points_possible: float
    points_earned: float
    verdict: str
    evidence: list[Evidence] = field(default_factory=list)
    confidence: float = 1.0
    note: str = ""
    pending_gain: float = 0.0
    pending_loss: float = 0.0
    fatal: bool = False
    deduction: float = 0.0
    if_confirmed: dict | None = None

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}")
        self.points_earned = round_half_up(max(0.0, min(self.points_possible, self.points_earned)), 2)
        self.pending_gain = round_half_up(max(0.0, self.pending_gain), 2)
        self.pending_loss = round_half_up(max(0.0, self.pending_loss), 2)
        self.deduction = round_half_up(max(0.0, self.deduction), 2)
        self.confidence = round_half_up(max(0.0, min(1.0, self.confidence)), 3)

    @property
    def for_review(self) -> bool:
        return self.verdict == "review"

    def to_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "label": self.label,
                "points_possible": self.points_possible, "points_earned": self.points_earned,
                "verdict": self.verdict, "verdict_label": VERDICT_LABELS[self.verdict],
                "evidence": [e.to_dict() for e in self.evidence], "confidence": self.confidence, "note": self.note,
                "pending_gain": self.pending_gain, "pending_loss": self.pending_loss, "fatal": self.fatal,
                "deduction": self.deduction,
                **({"if_confirmed": dict(self.if_confirmed)} if self.if_confirmed is not None else {})}


@dataclass(frozen=True)
class NeedsReview:
    """Why a call waits for the assessor whatever its total: an attitude flag (major, or fatal not yet
    confirmed) with the evidence — the words heard and where."""
    item: str
    label: str
    note: str
    evidence: list[Evidence] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"item": self.item, "label": self.label, "note": self.note,
                "evidence": [e.to_dict() for e in self.evidence]}


@dataclass
class GradeResult:
    """``total`` is 0–100 rounded to 0.1 and ``passed`` is ``total >= pass_mark``. ``provisional`` is
    True when the pass/fail decision could change once an assessor settles the items flagged for
    review (``total + pending gain`` reaches the pass mark on a fail, or ``total - pending loss`` falls
    below it on a pass), and always when ``needs_review`` holds an attitude flag."""
    total: float
    passed: bool
    provisional: bool
    auto_failed: bool
    items: list[ItemResult]
    pass_mark: float = PASS_MARK
    scenario_id: str | None = None
    call_id: str | None = None
    warnings: list[str] = field(default_factory=list)
    needs_review: list[NeedsReview] = field(default_factory=list)

    @property
    def review_items(self) -> list[ItemResult]:
        return [i for i in self.items if i.verdict == "review"]

    def item(self, item_id: str) -> ItemResult:
        for i in self.items:
            if i.id == item_id:
                return i
        raise KeyError(item_id)

    def to_dict(self) -> dict:
        return {"format": "grade-result/1", "scenario_id": self.scenario_id, "call_id": self.call_id,
                "total": self.total, "pass_mark": self.pass_mark, "passed": self.passed,
                "provisional": self.provisional, "auto_failed": self.auto_failed,
                "review_items": [i.id for i in self.review_items],
                "items": [i.to_dict() for i in self.items], "warnings": list(self.warnings),
                "needs_review": [n.to_dict() for n in self.needs_review]}
