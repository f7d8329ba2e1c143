"""Loading scenario files: parse, check, fingerprint. The app refuses a scenario with any problem."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

LIBRARY_DIR = Path(__file__).resolve().parent / "library"
COMMON_FILE = LIBRARY_DIR / "common.yaml"


class ScenarioError(Exception):
    """A scenario that cannot be used; ``problems`` lists every problem as ``file: place: message``."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        more = f" 等 {len(self.problems)} 处问题" if len(self.problems) > 5 else ""
        super().__init__("；".join(self.problems[:5]) + more)


@dataclass(frozen=True)
class Scenario:
    id: str
    level: int
    title: str
    situation: str
    task: str
    data: dict
    path: Path | None
    fingerprint: str


def fingerprint(data: dict) -> str:
    """SHA-256 of the scenario's canonical JSON: equal content, equal fingerprint (used for versions)."""
    canonical = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def read_yaml(path: Path | str) -> object:
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except OSError as exc:
        raise ScenarioError([f"{path.name}: 无法读取：{exc.strerror or exc}"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行" if mark else "文件"
        raise ScenarioError([f"{path.name}: {where}: 不是有效的 YAML（{getattr(exc, 'problem', exc)}）"]) from None


def from_data(data: Any, *, name: str = "<scenario>", path: Path | None = None) -> Scenario:
    from .schema import check

    problems = [f"{name}: {p}" for p in check(data)]
    if problems:
        raise ScenarioError(problems)
    return Scenario(id=data["id"], level=int(data["level"]), title=str(data["title"]),
                    situation=str(data["situation"]), task=str(data.get("task", "live_call")), data=data, path=path,
                    fingerprint=fingerprint(data))


def load_scenario(path: Path | str) -> Scenario:
    path = Path(path)
    return from_data(read_yaml(path), name=path.name, path=path)


def scenario_files(root: Path | str = LIBRARY_DIR) -> list[Path]:
    root = Path(root)
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*.y*ml") if p.name != COMMON_FILE.name)


def load_library(root: Path | str = LIBRARY_DIR) -> dict[str, Scenario]:
    """Every scenario under ``root`` by id; raises ScenarioError listing all problems of all files."""
    found: dict[str, Scenario] = {}
    problems: list[str] = []
    for path in scenario_files(root):
        try:
            scenario = load_scenario(path)
        except ScenarioError as exc:
            problems.extend(exc.problems)
            continue
        if scenario.id in found:
            other = found[scenario.id].path
            problems.append(f"{path.name}: id: {scenario.id} 与 {other.name if other else '另一场景'} 重复")
            continue
        found[scenario.id] = scenario
    if problems:
        raise ScenarioError(problems)
    return found
