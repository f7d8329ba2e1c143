"""The scenario library in the database: every scenario file becomes a version row, and a changed file
a new version, so calls keep the exact script and rubric they were taken with."""
from __future__ import annotations

from pathlib import Path

from ..extensions import db
from .models import ScenarioVersion


def add_version(scenario, *, origin: str = "library", user_id: int | None = None) -> tuple[ScenarioVersion, bool]:
    """The row for ``scenario``'s content: the latest version when unchanged, else a new version."""
    latest = ScenarioVersion.latest(scenario.id)
    if latest is not None and latest.fingerprint == scenario.fingerprint:
        return latest, False
    data = dict(scenario.data)
    row = ScenarioVersion(scenario_id=scenario.id, version=(latest.version + 1) if latest else 1,
                          fingerprint=scenario.fingerprint, level=int(data.get("level", 5)),
                          title=str(data.get("title", scenario.id)), situation=str(data.get("situation", "")),
                          task=str(data.get("task", "live_call")), data=data, origin=origin,
                          created_by_id=user_id)
    db.session.add(row)
    return row, True


def sync_library(root: Path | str | None = None) -> dict:
    """Bring the database up to date with the library files. Invalid files are skipped and reported;
    their earlier valid version (if any) stays in use."""
    from scenarios import LIBRARY_DIR, ScenarioError, load_scenario

    folder = Path(root or LIBRARY_DIR)
    report = {"created": 0, "unchanged": 0, "rejected": 0, "problems": []}
    seen: set[str] = set()
    for path in sorted(folder.rglob("*.yaml")):
        if path.name == "common.yaml":
            continue
        try:
            scenario = load_scenario(path)
        except ScenarioError as exc:
            report["rejected"] += 1
            report["problems"].extend(str(p) for p in getattr(exc, "problems", [exc]))
            continue
        if scenario.id in seen:
            report["rejected"] += 1
            report["problems"].append(f"{path.name}: id {scenario.id} 与其他场景重复")
            continue
        seen.add(scenario.id)
        _row, created = add_version(scenario)
        report["created" if created else "unchanged"] += 1
    db.session.commit()
    return report
