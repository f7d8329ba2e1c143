"""Paper assembly: draw a candidate's paper from the bank by blueprint, reproducibly from a seed.

Pure functions over plain question descriptions, so the same code assembles from the YAML files
(``python -m exams paper``) and from the database (a real attempt).

Two constraints shape each cell's draw (the weighted random order of the cell is kept otherwise):
- enemy groups: an item whose group is already on the paper is skipped (items on one fact would give
  each other away); a cell that cannot be filled then is a ``PaperError``, never a short paper;
- the blueprint's ``difficulty_mix`` (optional): each cell's count is split over difficulties 1-3 by
  those shares, filled from the cell in draw order; when a difficulty runs short the cell is filled
  from the others, so the mix is a target, never a reason to fail.
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
    group: str | None = None     # enemy group (at most one item of a group per paper)
    difficulty: int = 2


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


def _weighted_order(rng: random.Random, items: list[Candidate], weights: dict[int, int]) -> list[Candidate]:
    """All items in a random order in which taking the first k is a draw without replacement, each item
    with probability proportional to its level's weight (Efraimidis-Spirakis keys)."""
    keyed = [(rng.random() ** (1.0 / weights[c.level]), c) for c in items]
    keyed.sort(key=lambda pair: pair[0], reverse=True)
    return [c for _, c in keyed]


def difficulty_quotas(count: int, mix: dict[int, float]) -> dict[int, int]:
    """``count`` split over difficulties by the shares of ``mix`` (largest remainder, ties to the
    easier level), e.g. 9 by {1: 0.3, 2: 0.5, 3: 0.2} -> {1: 3, 2: 4, 3: 2}."""
    total = sum(mix.values())
    exact = {d: count * share / total for d, share in mix.items()}
    quotas = {d: int(x) for d, x in exact.items()}
    for d in sorted(exact, key=lambda d: (-(exact[d] - quotas[d]), d))[:count - sum(quotas.values())]:
        quotas[d] += 1
    return quotas


def _take(ordered: list[Candidate], count: int, used_groups: set[str],
          mix: dict[int, float] | None = None) -> list[Candidate]:
    """The first ``count`` of ``ordered`` whose group is not on the paper yet, meeting the difficulty
    quotas of ``mix`` as far as the cell allows."""
    chosen: list[Candidate] = []
    quotas = difficulty_quotas(count, mix) if mix else None
    for honour_quotas in ((True, False) if quotas else (False,)):
        for c in ordered:
            if len(chosen) == count:
                return chosen
            if c in chosen or (c.group is not None and c.group in used_groups):
                continue
            if honour_quotas and quotas is not None:
                if quotas.get(c.difficulty, 0) <= 0:
                    continue
                quotas[c.difficulty] -= 1
            chosen.append(c)
            if c.group is not None:
                used_groups.add(c.group)
    return chosen


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


# Drawing cell after cell, earlier cells can take the groups a later cell needs; a fresh draw (still
# determined by the seed) usually gets through. Only then is the bank too tightly grouped.
PAPER_TRIES = 20


def assemble(pool: Iterable[Candidate], blueprint: Blueprint, seed: int) -> list[PaperItem]:
    """The paper for ``blueprint``: every cell filled, no question twice, no two items of an enemy
    group, same seed -> same paper."""
    by_cell: dict[tuple[str, str], list[Candidate]] = {}
    for c in sorted(pool, key=lambda c: c.id):   # sorted: the draw must not depend on query order
        if c.level in blueprint.level_weights:
            by_cell.setdefault((c.area, c.qtype), []).append(c)
    for attempt in range(PAPER_TRIES):
        try:
            return _assemble_once(by_cell, blueprint, random.Random(seed if attempt == 0 else f"{seed}/{attempt}"))
        except _GroupsInTheWay as exc:
            last = exc
    raise PaperError(f"{last} (tried {PAPER_TRIES} draws)")


class _GroupsInTheWay(PaperError):
    pass


def _assemble_once(by_cell: dict[tuple[str, str], list[Candidate]], blueprint: Blueprint,
                   rng: random.Random) -> list[PaperItem]:
    items = []
    used_groups: set[str] = set()
    for area, qtype, count in blueprint.cells():
        candidates = by_cell.get((area, qtype), [])
        if len(candidates) < count:
            raise PaperError(f"level {blueprint.level}: {area}/{qtype} needs {count} questions, "
                             f"the bank has {len(candidates)} active")
        chosen = _take(_weighted_order(rng, candidates, blueprint.level_weights), count, used_groups,
                       blueprint.difficulty_mix)
        if len(chosen) < count:
            raise _GroupsInTheWay(f"level {blueprint.level}: {area}/{qtype} needs {count} questions, only "
                             f"{len(chosen)} can be drawn without two of one enemy group on the paper")
        for c in chosen:
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
    chosen = _take(_weighted_order(rng, candidates, blueprint.level_weights), count, set())
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
