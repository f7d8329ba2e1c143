"""Command line of the theory-exam package: ``python -m exams --help``."""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter

from . import rules, testwise
from .assembly import Candidate, PaperError, assemble, composition
from .blueprint import LEVELS, load_blueprints, required_pool
from .question_bank import BANK_DIR, load_bank, pool_counts


def _cmd_validate(args) -> int:
    blueprints = load_blueprints()
    bank = load_bank(args.path, blueprints, check_pool=not args.no_pool)
    bank.problems.extend(rules.bank_rules(bank.questions))
    if not args.no_testwise:
        bank.problems.extend(rules.testwise_gate(bank.questions, blueprints))
    for problem in bank.problems:
        if problem.severity == "error" or args.warnings:
            print(problem)
    errors, warnings = len(bank.errors), len(bank.problems) - len(bank.errors)
    print(f"{len(bank.questions)} questions checked: {errors} error(s), {warnings} warning(s)")
    return 1 if errors else 0


def _cmd_stats(args) -> int:
    blueprints = load_blueprints()
    bank = load_bank(args.path, blueprints, check_pool=False)
    have = pool_counts(bank.questions)
    need = required_pool(blueprints)
    print(f"{'area':<14}{'type':<10}" + "".join(f"L{lv} have/need  " for lv in LEVELS))
    for area in blueprints.areas:
        for qtype in blueprints.types:
            cells = "".join(f"{have.get((area, qtype, lv), 0):>4}/{need[(area, qtype, lv)]:<9}" for lv in LEVELS)
            print(f"{area:<14}{qtype:<10}{cells}")
    per_level = Counter(q.level for q in bank.questions)
    print("total:", len(bank.questions), " ".join(f"L{lv}={per_level[lv]}" for lv in LEVELS))
    return 0


def _cmd_paper(args) -> int:
    blueprints = load_blueprints()
    blueprint = blueprints[args.level]
    bank = load_bank(args.bank, blueprints, check_pool=False)
    pool = [Candidate(q.id, q.area, q.level, q.type, tuple(q.options), group=q.group, difficulty=q.difficulty)
            for q in bank.questions]
    try:
        paper = assemble(pool, blueprint, args.seed)
    except PaperError as exc:
        print(f"cannot assemble the paper: {exc}", file=sys.stderr)
        return 1
    summary = {"level": blueprint.level, "level_name": blueprint.name, "seed": args.seed,
               "time_limit_minutes": blueprint.time_limit_minutes, "pass_mark": blueprint.pass_mark,
               **composition(paper), "question_ids": [item.question_id for item in paper]}
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        print(f"{blueprint.name} paper, seed {args.seed}: {summary['questions']} questions, "
              f"{summary['total_points']:g} points, {blueprint.time_limit_minutes} min")
        for area, per_type in summary["per_area"].items():
            counts = ", ".join(f"{blueprints.types[t]} {n}" for t, n in per_type.items())
            print(f"  {blueprints.areas[area]}: {counts}")
    return 0


def _cmd_testwise(args) -> int:
    blueprints = load_blueprints()
    bank = load_bank(args.path, blueprints, check_pool=False)
    reports = testwise.report(bank.questions, blueprints)
    if args.json:
        print(json.dumps([r.to_dict() for r in reports], ensure_ascii=False, indent=2))
    else:
        labels = {s.name: s for s in testwise.STRATEGIES}
        for rep in reports:
            print(f"{rep.name}: blind guessing {rep.blind:.1f}, classic cues {rep.classic:.1f}, "
                  f"best cue per type {rep.best:.1f} (limit {testwise.MAX_TESTWISE_SCORE:g})")
            for qtype in ("judge", "single", "multiple"):
                row = [f"{labels[n].label} {v:.1f}" for n, v in rep.per_strategy.items() if labels[n].qtype == qtype]
                print(f"  {blueprints.types[qtype]}: " + "; ".join(row))
        shares = testwise.strictly_longest_key_share(bank.questions)
        print("key is strictly the longest option (level, type: items/total):")
        for (level, qtype), (hits, total) in sorted(shares.items(), key=lambda kv: (-kv[0][0], kv[0][1])):
            print(f"  L{level} {qtype}: {hits}/{total} = {hits / total:.0%}")
        if args.items:
            for q, name in testwise.cue_items(bank.questions):
                print(f"CUE {q.id} ({labels[name].label}): {q.stem}")
    worst = max(r.best for r in reports)
    return 1 if args.strict and worst > testwise.MAX_TESTWISE_SCORE else 0


def _default_database() -> str:
    # The app's default (simulator/config.py): instance/simulator.sqlite3 in the project folder.
    return os.environ.get("DATABASE_URL") or f"sqlite:///{BANK_DIR.parent.parent / 'instance' / 'simulator.sqlite3'}"


def _cmd_difficulty(args) -> int:
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from . import analysis

    url = args.database.replace("postgres://", "postgresql://", 1)
    engine = create_engine(url)
    try:
        with Session(engine) as session:
            rows = analysis.relabel(session, min_responses=args.min_responses, apply=args.apply)
    finally:
        engine.dispose()
    changed = [r for r in rows if r.measured != (r.before or r.labelled)]
    for r in changed:
        print(f"{r.question_id}: {r.responses} 人作答，难度系数 P={r.facility:.2f}，"
              f"标注难度 {r.labelled} → 实测难度 {r.measured}")
    shares = Counter((r.labelled, r.measured) for r in rows)
    print(f"{len(rows)} item(s) with >= {args.min_responses} responses, {len(changed)} relabelled"
          + ("" if args.apply else " (dry run: --apply stores them)")
          + ("; labelled->measured: " + ", ".join(f"{a}->{b} {n}" for (a, b), n in sorted(shares.items()))
             if rows else ""))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m exams", description="Theory question bank and papers.")
    sub = parser.add_subparsers(dest="command", required=True)
    validate = sub.add_parser("validate", help="check bank files (a file or a folder)")
    validate.add_argument("path", nargs="?", default=str(BANK_DIR))
    validate.add_argument("--no-pool", action="store_true", help="skip the pool-size check (for one file)")
    validate.add_argument("--warnings", action="store_true", help="also print warnings")
    validate.add_argument("--no-testwise", action="store_true",
                          help=f"skip the cue-strategy gate (best <= {testwise.MAX_TESTWISE_SCORE:g}; for one file)")
    validate.set_defaults(func=_cmd_validate)
    stats = sub.add_parser("stats", help="items per area, type and level against the blueprints' needs")
    stats.add_argument("path", nargs="?", default=str(BANK_DIR))
    stats.set_defaults(func=_cmd_stats)
    paper = sub.add_parser("paper", help="assemble a paper from the bank files and show its composition")
    paper.add_argument("--level", type=int, required=True, choices=LEVELS)
    paper.add_argument("--seed", type=int, default=1)
    paper.add_argument("--bank", default=str(BANK_DIR))
    paper.add_argument("--json", action="store_true")
    paper.set_defaults(func=_cmd_paper)
    wise = sub.add_parser("testwise", help="expected score of a no-knowledge candidate answering by cues")
    wise.add_argument("path", nargs="?", default=str(BANK_DIR))
    wise.add_argument("--json", action="store_true")
    wise.add_argument("--items", action="store_true", help="list the items a cue answers with certainty")
    wise.add_argument("--strict", action="store_true", help=f"exit 1 above {testwise.MAX_TESTWISE_SCORE:g}")
    wise.set_defaults(func=_cmd_testwise)
    diff = sub.add_parser("difficulty", help="difficulty from item analysis (facility) of submitted papers")
    diff.add_argument("--database", default=_default_database(),
                      help="SQLAlchemy URL (default: $DATABASE_URL or the app's instance/simulator.sqlite3)")
    diff.add_argument("--min-responses", type=int,
                      default=int(os.environ.get("DIFFICULTY_MIN_RESPONSES", analysis_min_responses())),
                      help="items answered fewer times keep their label (default $DIFFICULTY_MIN_RESPONSES or 30)")
    diff.add_argument("--apply", action="store_true", help="store the measured difficulty (assembly uses it)")
    diff.set_defaults(func=_cmd_difficulty)
    return parser


def analysis_min_responses() -> int:
    from .analysis import DIFFICULTY_MIN_RESPONSES

    return DIFFICULTY_MIN_RESPONSES


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
