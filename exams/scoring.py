"""Scoring a theory paper: per item, total out of 100, pass at the pass mark, breakdown by area."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ItemScore:
    correct: bool
    earned: float


def score_item(qtype: str, key: tuple[str, ...] | list[str], response: list[str] | tuple[str, ...],
               points: float, multiple_scoring: str = "all_or_nothing") -> ItemScore:
    key_set, given = set(key), set(response or ())
    if not given:
        return ItemScore(False, 0.0)
    if given == key_set:
        return ItemScore(True, float(points))
    if qtype == "multiple" and multiple_scoring == "partial" and given < key_set:
        # Some right and none wrong: half the points, as some provincial papers allow.
        return ItemScore(False, float(points) / 2)
    return ItemScore(False, 0.0)


def summarize(items: list[tuple[str, float, ItemScore]], pass_mark: float) -> dict:
    """``items``: (area, points possible, score). Returns total, passed and the per-area breakdown."""
    breakdown: dict[str, dict] = {}
    for area, possible, result in items:
        cell = breakdown.setdefault(area, {"earned": 0.0, "possible": 0.0, "correct": 0, "total": 0})
        cell["earned"] += result.earned
        cell["possible"] += possible
        cell["correct"] += int(result.correct)
        cell["total"] += 1
    for cell in breakdown.values():
        cell["earned"] = round(cell["earned"], 2)
        cell["possible"] = round(cell["possible"], 2)
    total = round(sum(r.earned for _, _, r in items), 2)
    possible = sum(p for _, p, _ in items)
    if possible and abs(possible - 100) > 0.01:   # practice sets of any size still score out of 100
        total = round(total * 100 / possible, 2)
    return {"score": total, "passed": total >= pass_mark, "breakdown": breakdown}
