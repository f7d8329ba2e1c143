"""Level blueprints for theory papers, read from ``exams/blueprints.yaml``.

A blueprint says how many questions of each knowledge area and type one paper draws, their points
(summing to exactly 100), the time limit and pass mark, and how strongly each level's items weigh in
the draw (levels are cumulative: a level-3 paper also draws level-4 and level-5 items).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

BLUEPRINTS_FILE = Path(__file__).resolve().parent / "blueprints.yaml"
LEVELS = (5, 4, 3)
LEVEL_NAMES = {5: "五级", 4: "四级", 3: "三级"}


class BlueprintError(ValueError):
    pass


@dataclass(frozen=True)
class Blueprint:
    level: int
    name: str
    time_limit_minutes: int
    pass_mark: int
    points: dict[str, int]
    level_weights: dict[int, int]
    counts: dict[str, dict[str, int]]  # area -> type -> number of questions
    multiple_scoring: str = "all_or_nothing"
    # Target shares of difficulty 1/2/3 within each cell, e.g. {1: 0.3, 2: 0.5, 3: 0.2}; None: no target.
    difficulty_mix: dict[int, float] | None = None

    @property
    def total_questions(self) -> int:
        return sum(sum(per_type.values()) for per_type in self.counts.values())

    @property
    def total_points(self) -> int:
        return sum(n * self.points[qtype] for per_type in self.counts.values() for qtype, n in per_type.items())

    def cells(self):
        """(area, type, count) for every non-empty cell, in file order."""
        for area, per_type in self.counts.items():
            for qtype, n in per_type.items():
                if n:
                    yield area, qtype, n


@dataclass(frozen=True)
class BlueprintSet:
    areas: dict[str, str]   # key -> Chinese name, in display order
    types: dict[str, str]
    levels: dict[int, Blueprint] = field(default_factory=dict)

    def __getitem__(self, level: int) -> Blueprint:
        try:
            return self.levels[int(level)]
        except (KeyError, ValueError):
            raise BlueprintError(f"no blueprint for level {level!r}") from None


def parse_blueprints(data: dict) -> BlueprintSet:
    try:
        areas = dict(data["areas"])
        types = dict(data["types"])
        raw_levels = data["levels"]
    except (KeyError, TypeError) as exc:
        raise BlueprintError(f"blueprints need 'areas', 'types' and 'levels' ({exc})") from None
    levels = {}
    for level, raw in raw_levels.items():
        level = int(level)
        if level not in LEVELS:
            raise BlueprintError(f"unknown level {level}")
        counts = {area: {t: int(n) for t, n in per_type.items()} for area, per_type in raw["counts"].items()}
        for area, per_type in counts.items():
            if area not in areas:
                raise BlueprintError(f"level {level}: unknown area {area!r}")
            for qtype in per_type:
                if qtype not in types:
                    raise BlueprintError(f"level {level}, {area}: unknown type {qtype!r}")
        weights = {int(k): int(v) for k, v in raw["level_weights"].items()}
        mix = raw.get("difficulty_mix")
        if mix is not None:
            try:
                mix = {int(k): float(v) for k, v in dict(mix).items()}
            except (TypeError, ValueError):
                raise BlueprintError(f"level {level}: difficulty_mix must map 1, 2, 3 to shares") from None
            if not set(mix) <= {1, 2, 3} or any(v < 0 for v in mix.values()) or abs(sum(mix.values()) - 1) > 0.01:
                raise BlueprintError(f"level {level}: difficulty_mix needs shares of difficulty 1-3 summing to 1")
        if any(k < level for k in weights) or level not in weights:
            raise BlueprintError(f"level {level}: weights may name only this level and lower ones")
        bp = Blueprint(level=level, name=raw.get("name", LEVEL_NAMES[level]),
                       time_limit_minutes=int(raw["time_limit_minutes"]), pass_mark=int(raw["pass_mark"]),
                       points={t: int(p) for t, p in raw["points"].items()}, level_weights=weights,
                       counts=counts, multiple_scoring=raw.get("multiple_scoring", "all_or_nothing"),
                       difficulty_mix=mix)
        if bp.total_points != 100:
            raise BlueprintError(f"level {level}: points total {bp.total_points}, must be exactly 100")
        levels[level] = bp
    missing = set(LEVELS) - set(levels)
    if missing:
        raise BlueprintError(f"no blueprint for level(s) {sorted(missing)}")
    return BlueprintSet(areas=areas, types=types, levels=levels)


def load_blueprints(path: Path | str = BLUEPRINTS_FILE) -> BlueprintSet:
    with open(path, encoding="utf-8") as fh:
        return parse_blueprints(yaml.safe_load(fh))


def required_pool(blueprints: BlueprintSet, factor: int = 3) -> dict[tuple[str, str, int], int]:
    """For every (area, type, level) the number of items the bank must hold so that each level's
    cumulative pool is at least ``factor`` times what one paper draws, and each level has items of
    its own in every cell it draws (at least twice the draw for levels above the entry level).
    """
    need: dict[tuple[str, str, int], int] = {}
    for area in blueprints.areas:
        for qtype in blueprints.types:
            below = 0
            for level in LEVELS:  # 5, 4, 3: lower levels first
                count = blueprints[level].counts.get(area, {}).get(qtype, 0)
                own = factor * count if level == 5 else max(2 * count, factor * count - below)
                need[(area, qtype, level)] = own
                below += own
    return need
