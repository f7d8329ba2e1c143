"""Item analysis from real attempts: facility (difficulty) index, discrimination index, dubious items.

Classical test theory as used for vocational papers: facility p = share of candidates answering
correctly; discrimination D = p(upper 27% by total score) - p(lower 27%). Items with negative D (strong
candidates get them wrong more often than weak ones) usually have a wrong key or an ambiguous stem.

Difficulty from data: an item answered in at least ``DIFFICULTY_MIN_RESPONSES`` submitted papers gets
the difficulty its facility shows (``difficulty_of``); ``relabel(..., apply=True)`` stores it as the
row's ``measured_difficulty``, which assembly uses instead of the author's label (the label itself,
and the bank file, stay as written).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy.orm import Session

from .models import Attempt, AttemptAnswer, BankQuestion

MIN_RESPONSES = 10        # below this D is too noisy to report
GROUP_SHARE = 0.27
DIFFICULTY_MIN_RESPONSES = 30   # default; below this a facility is too noisy to relabel an item
EASY_FACILITY, HARD_FACILITY = 0.8, 0.5   # p >= 0.8: difficulty 1; 0.5 <= p < 0.8: 2; p < 0.5: 3


@dataclass(frozen=True)
class ItemStats:
    question_id: str
    responses: int
    facility: float          # every item in the stats has at least one response
    discrimination: float | None
    flags: tuple[str, ...]


def analyse(responses: list[tuple[int, float, str, bool]]) -> dict[str, ItemStats]:
    """``responses``: (attempt id, attempt total score, question id, correct)."""
    totals: dict[int, float] = {}
    by_question: dict[str, list[tuple[int, bool]]] = defaultdict(list)
    for attempt_id, total, qid, correct in responses:
        totals[attempt_id] = total
        by_question[qid].append((attempt_id, bool(correct)))
    stats = {}
    for qid, answers in by_question.items():
        n = len(answers)
        facility = sum(c for _, c in answers) / n
        discrimination = None
        if n >= MIN_RESPONSES:
            ranked = sorted(answers, key=lambda a: totals[a[0]])
            k = max(1, round(n * GROUP_SHARE))
            lower, upper = ranked[:k], ranked[-k:]
            discrimination = sum(c for _, c in upper) / k - sum(c for _, c in lower) / k
        stats[qid] = ItemStats(qid, n, facility, discrimination, _flags(n, facility, discrimination))
    return stats


def _flags(n: int, facility: float, discrimination: float | None) -> tuple[str, ...]:
    flags = []
    if n >= MIN_RESPONSES:
        if discrimination is not None and discrimination < 0:
            flags.append("负区分度：请检查答案或题干")
        elif discrimination is not None and discrimination < 0.2:
            flags.append("区分度偏低")
        if facility < 0.2:
            flags.append("过难")
        elif facility > 0.95:
            flags.append("过易")
    return tuple(flags)


def bank_item_stats(session: Session, modes=("mock", "certification")) -> dict[str, ItemStats]:
    rows = (session.query(Attempt.id, Attempt.score, AttemptAnswer.question_id, AttemptAnswer.correct)
            .join(AttemptAnswer, AttemptAnswer.attempt_id == Attempt.id)
            .filter(Attempt.status == "submitted", Attempt.mode.in_(modes)).all())
    return analyse([(r[0], r[1] or 0.0, r[2], bool(r[3])) for r in rows])


def difficulty_of(facility: float) -> int:
    return 1 if facility >= EASY_FACILITY else 2 if facility >= HARD_FACILITY else 3


@dataclass(frozen=True)
class Relabel:
    question_id: str
    responses: int
    facility: float
    labelled: int           # the author's difficulty
    measured: int           # what the facility shows
    before: int | None      # the measured difficulty stored before this run


def relabel(session: Session, *, min_responses: int = DIFFICULTY_MIN_RESPONSES, apply: bool = False,
            modes=("mock", "certification"), commit: bool = True) -> list[Relabel]:
    """Every item with at least ``min_responses`` responses, with its measured difficulty; with
    ``apply`` the facility and measured difficulty are stored (and committed unless ``commit`` is
    false, so that a caller can record who did it in the same transaction)."""
    stats = bank_item_stats(session, modes)
    wanted = {qid: s for qid, s in stats.items() if s.responses >= min_responses}
    rows = session.query(BankQuestion).filter(BankQuestion.id.in_(list(wanted))).all() if wanted else []
    result = []
    for row in sorted(rows, key=lambda r: r.id):
        s = wanted[row.id]
        result.append(Relabel(row.id, s.responses, s.facility, row.difficulty, difficulty_of(s.facility),
                              row.measured_difficulty))
        if apply:
            row.facility, row.measured_difficulty = s.facility, difficulty_of(s.facility)
    if apply and commit:
        session.commit()
    return result


def too_few_responses(session: Session, *, min_responses: int = DIFFICULTY_MIN_RESPONSES,
                      modes=("mock", "certification")) -> list[ItemStats]:
    """The answered items ``relabel`` leaves alone because their facility rests on too few responses."""
    return sorted((s for s in bank_item_stats(session, modes).values() if s.responses < min_responses),
                  key=lambda s: s.question_id)
