"""Scenario files in and out: YAML text, single files and zip bundles (pure, no database)."""
from __future__ import annotations

import io
import zipfile

import yaml

from .loader import Scenario, ScenarioError, from_data

MAX_BUNDLE_FILES = 500
MAX_FILE_BYTES = 2 * 1024 * 1024


def parse_text(text: str, name: str = "场景") -> Scenario:
    """A scenario from YAML text; ScenarioError lists every problem (syntax or content)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行" if mark else "文件"
        raise ScenarioError([f"{name}: {where}: 不是有效的 YAML（{getattr(exc, 'problem', exc)}）"]) from None
    return from_data(data, name=name)


def dump_text(data: dict) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=120)


def read_upload(filename: str, content: bytes) -> list[Scenario]:
    """Every scenario of an uploaded .yaml/.yml or .zip; all of them or a ScenarioError with every
    problem of every file (nothing is half-imported)."""
    files: list[tuple[str, bytes]] = []
    if filename.lower().endswith(".zip"):
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as zf:
                members = [m for m in zf.infolist() if not m.is_dir() and m.filename.lower().endswith((".yaml", ".yml"))
                           and not m.filename.rsplit("/", 1)[-1].startswith(".")]
                if len(members) > MAX_BUNDLE_FILES:
                    raise ScenarioError([f"{filename}: 文件过多（最多 {MAX_BUNDLE_FILES} 个）"])
                for m in members:
                    if m.file_size > MAX_FILE_BYTES:
                        raise ScenarioError([f"{m.filename}: 文件过大"])
                    files.append((m.filename, zf.read(m)))
        except zipfile.BadZipFile:
            raise ScenarioError([f"{filename}: 不是有效的 zip 文件"]) from None
        if not files:
            raise ScenarioError([f"{filename}: 压缩包中没有 .yaml 场景文件"])
    else:
        files.append((filename, content))
    scenarios: list = []
    problems: list[str] = []
    ids: dict[str, str] = {}
    for name, raw in files:
        if name.rsplit("/", 1)[-1] == "common.yaml":
            continue
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            problems.append(f"{name}: 文件不是 UTF-8 编码")
            continue
        try:
            scenario = parse_text(text, name)
        except ScenarioError as exc:
            problems.extend(exc.problems)
            continue
        if scenario.id in ids:
            problems.append(f"{name}: id: {scenario.id} 与 {ids[scenario.id]} 重复")
            continue
        ids[scenario.id] = name
        scenarios.append(scenario)
    if problems:
        raise ScenarioError(problems)
    return scenarios


def write_zip(items: list[dict]) -> bytes:
    """A zip with one YAML file per scenario, in level folders as in the library."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for data in items:
            zf.writestr(f"level{data.get('level')}/{data['id']}.yaml", dump_text(data))
    return buf.getvalue()
