"""Paper assembly: draw a candidate's paper from the bank by blueprint, reproducibly from a seed.

Pure functions over plain question descriptions, so the same code assembles from the YAML files
(``python -m exams paper``) and from the database (a real attempt).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Iterable

from .blueprint import Blueprint

SECTION_ORDER = ("judge", "single", "multiple")   # the order of sections on a national theory paper


class PaperError(ValueError):
    """The bank cannot fill the paper (too few active questions in some cell)."""


@dataclass(frozen=True)
class Candidate:
    id: str
    area: str
    level: int
    qtype: str
    letters: tuple[str, ...]     # option letters as written in the bank; () for judge


@dataclass(frozen=True)
class PaperItem:
    question_id: str
    area: str
    qtype: str
    points: float
    order: tuple[str, ...]       # bank letters in the order shown: order[0] is displayed as "A"

    def to_json(self) -> dict:
        return {"q": self.question_id, "area": self.area, "type": self.qtype, "points": self.points,
                "order": list(self.order)}

    @classmethod
    def from_json(cls, data: dict) -> "PaperItem":
        return cls(data["q"], data["area"], data["type"], data["points"], tuple(data["order"]))


def _weighted_sample(rng: random.Random, items: list[Candidate], weights: dict[int, int], k: int) -> list[Candidate]:
    """k items without replacement, each with probability proportional to its level's weight
    (Efraimidis-Spirakis keys)."""
    keyed = [(rng.random() ** (1.0 / weights[c.level]), c) for c in items]
    keyed.sort(key=lambda pair: pair[0], reverse=True)
    return [c for _, c in keyed[:k]]


def _shuffled_options(rng: random.Random, candidate: Candidate) -> tuple[str, ...]:
    order = list(candidate.letters)
    rng.shuffle(order)
    return tuple(order)


def _order_sections(rng: random.Random, items: list[PaperItem]) -> list[PaperItem]:
    ordered = []
    for qtype in SECTION_ORDER:
        section = [item for item in items if item.qtype == qtype]
        rng.shuffle(section)
        ordered.extend(section)
    return ordered


def assemble(pool: Iterable[Candidate], blueprint: Blueprint, seed: int) -> list[PaperItem]:
    """The paper for ``blueprint``: every cell filled, no question twice, same seed -> same paper."""
    rng = random.Random(seed)
    by_cell: dict[tuple[str, str], list[Candidate]] = {}
    for c in sorted(pool, key=lambda c: c.id):   # sorted: the draw must not depend on query order
        if c.level in blueprint.level_weights:
            by_cell.setdefault((c.area, c.qtype), []).append(c)
    items = []
    for area, qtype, count in blueprint.cells():
        candidates = by_cell.get((area, qtype), [])
        if len(candidates) < count:
            raise PaperError(f"level {blueprint.level}: {area}/{qtype} needs {count} questions, "
                             f"the bank has {len(candidates)} active")
        for c in _weighted_sample(rng, candidates, blueprint.level_weights, count):
            items.append(PaperItem(c.id, c.area, c.qtype, float(blueprint.points[qtype]),
                                   _shuffled_options(rng, c)))
    return _order_sections(rng, items)


def assemble_practice(pool: Iterable[Candidate], blueprint: Blueprint, seed: int, *, count: int,
                      area: str | None = None) -> list[PaperItem]:
    """A practice set: ``count`` questions of the level's pool (optionally one area), any type,
    worth 100 points in total."""
    rng = random.Random(seed)
    candidates = [c for c in sorted(pool, key=lambda c: c.id)
                  if c.level in blueprint.level_weights and (area is None or c.area == area)]
    if not candidates:
        raise PaperError("no questions for this choice")
    chosen = _weighted_sample(rng, candidates, blueprint.level_weights, min(count, len(candidates)))
    points = round(100.0 / len(chosen), 4)
    items = [PaperItem(c.id, c.area, c.qtype, points, _shuffled_options(rng, c)) for c in chosen]
    return _order_sections(rng, items)


def composition(items: list[PaperItem]) -> dict:
    """Counts per area and type and the total points (what a paper contains, never its answers)."""
    per_area: dict[str, dict[str, int]] = {}
    for item in items:
        per_area.setdefault(item.area, {}).setdefault(item.qtype, 0)
        per_area[item.area][item.qtype] += 1
    per_type: dict[str, int] = {}
    for item in items:
        per_type[item.qtype] = per_type.get(item.qtype, 0) + 1
    return {"questions": len(items), "total_points": round(sum(i.points for i in items), 4),
            "per_area": per_area, "per_type": per_type}
