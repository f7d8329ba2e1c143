"""``python -m scenarios validate PATH [PATH ...]`` — check scenario files or folders;
``python -m scenarios selfcheck [--audio] [PATH ...]`` — reference answers against their bands.

Prints every problem as ``file: place: message``; exit 0 when all are valid, 1 when any has a
problem, 2 when a path does not exist.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .loader import LIBRARY_DIR, ScenarioError, load_scenario, scenario_files


def validate(paths: list[str]) -> int:
    files: list[Path] = []
    for raw in paths or [str(LIBRARY_DIR)]:
        path = Path(raw)
        if not path.exists():
            print(f"{raw}: 路径不存在", file=sys.stderr)
            return 2
        files.extend(scenario_files(path))
    seen: dict[str, Path] = {}
    bad = 0
    for path in files:
        try:
            scenario = load_scenario(path)
        except ScenarioError as exc:
            bad += 1
            for problem in exc.problems:
                print(problem)
            continue
        if scenario.id in seen:
            bad += 1
            print(f"{path.name}: id: {scenario.id} 与 {seen[scenario.id].name} 重复")
        seen[scenario.id] = path
    print(f"{len(files)} 个场景文件，{bad} 个有问题", file=sys.stderr)
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scenarios", description="Practical-exam scenarios.")
    sub = parser.add_subparsers(dest="command", required=True)
    v = sub.add_parser("validate", help="check scenario files or folders (default: the library)")
    v.add_argument("paths", nargs="*")
    c = sub.add_parser("selfcheck", help="every reference answer must land in its band")
    c.add_argument("paths", nargs="*")
    c.add_argument("--audio", action="store_true", help="speak the answers with the product voice and recognise them")
    c.add_argument("--transcript-cache", metavar="DIR",
                   help="keep what the recogniser heard in DIR and reuse it for the same sound, model and settings "
                        "(default: TRANSCRIPT_CACHE_DIR, else off)")
    args = parser.parse_args(argv)
    if args.command == "validate":
        return validate(args.paths)
    from .selfcheck import run, transcript_cache_dir
    return run(args.paths, audio=args.audio, transcript_cache=transcript_cache_dir(args.transcript_cache))


if __name__ == "__main__":
    sys.exit(main())
