"""Practical-exam blueprints: which tasks a candidate's practical exam holds at each level, their
weights (exactly 100 in total) and how they are drawn from the scenario pool."""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import yaml

from .labels import LEVEL_LABELS, TASK_LABELS

BLUEPRINTS_FILE = Path(__file__).resolve().parent / "blueprints.yaml"
TASK_TYPES = ("live_call", "recording_review", "typing", "case")


class PracticalBlueprintError(ValueError):
    pass


@dataclass(frozen=True)
class TaskSpec:
    type: str
    count: int
    weight: float
    levels: tuple[int, ...]
    own_level: int


@dataclass(frozen=True)
class PracticalBlueprint:
    level: int
    name: str
    pass_mark: float
    time_limit_minutes: int
    tasks: tuple[TaskSpec, ...]


def parse(data: dict) -> dict[int, PracticalBlueprint]:
    problems, out = [], {}
    for level, raw in (data.get("levels") or {}).items():
        place = f"levels.{level}"
        if level not in (3, 4, 5):
            problems.append(f"{place}: 等级必须是 5、4 或 3")
            continue
        tasks = []
        for i, t in enumerate(raw.get("tasks") or []):
            if t.get("type") not in TASK_TYPES:
                problems.append(f"{place}.tasks[{i}].type: 未知的题型「{t.get('type')}」")
                continue
            if not isinstance(t.get("count"), int) or t["count"] < 1:
                problems.append(f"{place}.tasks[{i}].count: 必须是正整数")
                continue
            levels = tuple(t.get("levels") or (level,))
            if any(lv < level for lv in levels):
                problems.append(f"{place}.tasks[{i}].levels: 只能从本级和更低等级（数字更大）的场景中抽取")
            if not 0 <= int(t.get("own_level", 0)) <= t["count"]:
                problems.append(f"{place}.tasks[{i}].own_level: 应在 0 到 count 之间")
            tasks.append(TaskSpec(t["type"], t["count"], float(t.get("weight", 0)), levels, int(t.get("own_level", 0))))
        total = sum(t.weight for t in tasks)
        if abs(total - 100) > 1e-6:
            problems.append(f"{place}.tasks: 各题型权重之和应为 100，现为 {total:g}")
        out[level] = PracticalBlueprint(level, str(raw.get("name", level)), float(raw.get("pass_mark", 60)),
                                        int(raw.get("time_limit_minutes", 60)), tuple(tasks))
    for level in (3, 4, 5):
        if level not in out:
            problems.append(f"levels: 缺少{level}级")
    if problems:
        raise PracticalBlueprintError("；".join(problems))
    return out


def load(path: Path | str = BLUEPRINTS_FILE) -> dict[int, PracticalBlueprint]:
    with open(path, encoding="utf-8") as fh:
        return parse(yaml.safe_load(fh) or {})


@dataclass(frozen=True)
class Drawn:
    type: str
    scenario_id: str
    weight: float


def draw(blueprint: PracticalBlueprint, pool: list[tuple[str, str, int]], seed: int) -> list[Drawn]:
    """The candidate's tasks: ``pool`` is (scenario id, task type, level) of every usable scenario.
    Raises PracticalBlueprintError naming the task type and levels when the pool is too small."""
    rng = random.Random(seed)
    drawn: list[Drawn] = []
    for spec in blueprint.tasks:
        own = sorted(sid for sid, typ, lv in pool if typ == spec.type and lv == blueprint.level and lv in spec.levels)
        rest = sorted(sid for sid, typ, lv in pool if typ == spec.type and lv in spec.levels and lv != blueprint.level)
        if len(own) < spec.own_level or len(own) + len(rest) < spec.count:
            levels = "、".join(LEVEL_LABELS.get(lv, f"{lv}级") for lv in spec.levels)
            raise PracticalBlueprintError(
                f"场景库不足：{blueprint.name}需要 {spec.count} 个{TASK_LABELS.get(spec.type, spec.type)}场景"
                f"（{levels}，其中本级至少 {spec.own_level} 个），"
                f"现有本级 {len(own)} 个、其他 {len(rest)} 个")
        chosen = rng.sample(own, spec.own_level)
        remaining = [s for s in own + rest if s not in chosen]
        chosen += rng.sample(remaining, spec.count - spec.own_level)
        rng.shuffle(chosen)
        drawn += [Drawn(spec.type, sid, round(spec.weight / spec.count, 4)) for sid in chosen]
    return drawn
