"""``python -m grading.rubric score --scenario ID_OR_FILE --record CALL.json [--json]``.

A scenario id is looked up in ``scenarios/library/**/*.yaml`` by its ``id`` field; a path is loaded
directly. Exit status: 0 graded, 2 bad input (missing file, unreadable JSON/YAML, unknown scenario,
a rubric the engine cannot apply).
"""
from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from pathlib import Path

from .engine import COMMON_FILE, RubricError, grade, load_common
from .results import VERDICT_LABELS, GradeResult

LIBRARY = COMMON_FILE.parent


class InputError(Exception):
    pass


def _load_yaml(path: Path):
    import yaml
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except OSError as exc:
        raise InputError(f"无法读取 {path}：{exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path} 不是有效的 YAML：{exc}") from None


def find_scenario(ref: str, library: Path = LIBRARY) -> dict:
    """A scenario file path, or an id looked up in the library."""
    path = Path(ref)
    if path.suffix in (".yaml", ".yml") or path.is_file():
        if not path.is_file():
            raise InputError(f"场景文件不存在：{ref}")
        data = _load_yaml(path)
        if not isinstance(data, dict):
            raise InputError(f"{ref}: 场景文件顶层应为映射")
        return data
    if not library.is_dir():
        raise InputError(f"场景库 {library} 不存在，找不到场景 {ref}")
    for candidate in sorted(library.rglob("*.y*ml")):
        if candidate.name == COMMON_FILE.name:
            continue
        try:
            data = _load_yaml(candidate)
        except InputError:
            continue
        if isinstance(data, dict) and data.get("id") == ref:
            return data
    raise InputError(f"场景库中没有 id 为 {ref} 的场景")


def _load_record(ref: str) -> dict:
    try:
        with open(ref, encoding="utf-8") as fh:
            record = json.load(fh)
    except OSError as exc:
        raise InputError(f"无法读取通话记录 {ref}：{exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"通话记录 {ref} 不是有效的 JSON：{exc}") from None
    if not isinstance(record, dict):
        raise InputError(f"通话记录 {ref} 顶层应为对象")
    return record


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def render_table(result: GradeResult) -> str:
    status = "通过" if result.passed else "未通过"
    if result.auto_failed:
        status += "（触发一票否决）"
    if result.provisional:
        status += "（待考评员复核后确定）"
    lines = [f"场景：{result.scenario_id or '-'}    通话：{result.call_id or '-'}",
             f"总分：{result.total:g} / 100（及格线 {result.pass_mark:g}）  {status}", ""]
    label_w = max([_width("评分项")] + [_width(i.label or i.id) for i in result.items]) + 2
    lines.append(_pad("评分项", label_w) + _pad("得分", 12) + _pad("结论", 8) + "说明")
    lines.append("-" * (label_w + 28))
    for i in result.items:
        score = f"{i.points_earned:g}/{i.points_possible:g}"
        lines.append(_pad(i.label or i.id, label_w) + _pad(score, 12) + _pad(VERDICT_LABELS[i.verdict], 8) + i.note)
        for e in i.evidence[:3]:
            where = f"第{e.utterance + 1}句 " if e.utterance is not None else ""
            when = f"{e.t:.1f}秒 " if e.t is not None else ""
            how = f" [{e.method} {e.similarity:.2f}]" if e.similarity is not None else ""
            lines.append(" " * label_w + f"  · {where}{when}{e.text}{how}")
    if result.review_items:
        lines += ["", "待复核：" + "、".join(i.label or i.id for i in result.review_items)]
    for w in result.warnings:
        lines.append(f"注意：{w}")
    return "\n".join(lines)


def _cmd_score(args) -> int:
    try:
        scenario = find_scenario(args.scenario, Path(args.library) if args.library else LIBRARY)
        record = _load_record(args.record)
        taboos = load_common(args.common) if args.common else None
        result = grade(record, scenario, taboos=taboos)
    except (InputError, RubricError) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(render_table(result))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m grading.rubric", description="按场景评分标准给通话记录评分")
    sub = parser.add_subparsers(dest="command", required=True)
    score = sub.add_parser("score", help="给一份通话记录评分")
    score.add_argument("--scenario", required=True, help="场景 id（在场景库中查找）或场景 YAML 文件")
    score.add_argument("--record", required=True, help="通话记录 JSON（call-record/1）")
    score.add_argument("--json", action="store_true", help="输出 JSON")
    score.add_argument("--library", help=f"场景库目录（默认 {LIBRARY}）")
    score.add_argument("--common", help="共享忌语表 YAML（默认场景库中的 common.yaml）")
    score.set_defaults(func=_cmd_score)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:          # output piped into head & co.
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
