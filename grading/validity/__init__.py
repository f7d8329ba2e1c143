"""The validity runner: labelled practical calls (grading/validity/calls/*.yaml, format in
docs/scenarios.md) played through the scenario walk and graded, compared with a fair assessor's labels.

``python -m grading validity [--audio] [--json] [PATH]`` prints pass/fail agreement, false passes and
false fails (overall and per call kind), rude calls passed automatically, and behaviour detection per
rubric kind (an item counts as credited when it earned at least half its points).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

CALLS_DIR = Path(__file__).resolve().parent / "calls"
KINDS = ("natural_correct", "rude_keywords", "borderline", "bad", "asr_hard")


class SuiteError(ValueError):
    pass


@dataclass
class Outcome:
    id: str
    scenario: str
    kind: str
    verdict: str
    rude: bool
    total: float
    passed: bool
    provisional: bool
    auto_failed: bool
    behaviours: list = field(default_factory=list)   # (item id, rubric kind, label credited, engine credited)
    unknown_items: list = field(default_factory=list)

    @property
    def agrees(self) -> bool:
        return self.passed == (self.verdict == "pass")

    @property
    def auto_pass(self) -> bool:
        return self.passed and not self.provisional


def suite_files(path: str | Path | None = None) -> list[Path]:
    p = Path(path) if path else CALLS_DIR
    if p.is_file():
        return [p]
    if not p.is_dir():
        raise SuiteError(f"找不到验证集 {p}")
    return sorted(p.glob("*.y*ml"))


def load_suite(files: list[Path]) -> list[tuple[str, dict]]:
    import yaml

    out, seen = [], set()
    for f in files:
        try:
            data = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise SuiteError(f"{f}: 不是有效的 YAML：{exc}") from None
        if not isinstance(data, dict) or not data.get("scenario") or not isinstance(data.get("calls"), list):
            raise SuiteError(f"{f}: 需要 scenario 和 calls")
        for k, call in enumerate(data["calls"]):
            where = f"{f.name}: calls[{k}]"
            if not isinstance(call, dict) or not call.get("id") or not isinstance(call.get("answer"), dict):
                raise SuiteError(f"{where}: 需要 id 和 answer")
            if call["id"] in seen:
                raise SuiteError(f"{where}: id {call['id']} 重复")
            if call.get("verdict") not in ("pass", "fail"):
                raise SuiteError(f"{where}: verdict 必须是 pass 或 fail")
            seen.add(call["id"])
            out.append((str(data["scenario"]), call))
    return out


def play(scenario: dict, answer: dict, transcribe=None) -> dict:
    """The call record of one labelled answer: the live-call walk, or the task answer path."""
    from scenarios.simulate import simulate_call
    from scenarios.tasks import reference_record

    if scenario.get("task", "live_call") == "live_call":
        return simulate_call(scenario, answer, transcribe=transcribe)
    return reference_record(scenario, answer)


def run_suite(path: str | Path | None = None, *, audio: bool = False, cache_dir=None,
              transcript_cache=None) -> list[Outcome]:
    from grading.rubric import grade
    from scenarios import LIBRARY_DIR, load_library

    library = {k: s.data for k, s in load_library(LIBRARY_DIR).items()}
    transcribe = None
    if audio:
        from scenarios.selfcheck import _audio_transcriber
        transcribe, _ = _audio_transcriber(cache_dir, transcript_cache)
    outcomes = []
    for scn_id, call in load_suite(suite_files(path)):
        scn = library.get(scn_id)
        if scn is None:
            raise SuiteError(f"{call['id']}: 场景库中没有 {scn_id}")
        try:
            result = grade(play(scn, call["answer"], transcribe), scn)
        except Exception as exc:     # one unplayable call is reported, not the end of the run
            raise SuiteError(f"{call['id']}: 无法播放或评分：{type(exc).__name__}: {exc}") from exc
        items = {i.id: i for i in result.items}
        behaviours, unknown = [], []
        for label, ids in ((True, call.get("credited") or []), (False, call.get("not_credited") or [])):
            for iid in ids:
                item = items.get(str(iid))
                if item is None or item.points_possible <= 0:
                    unknown.append(str(iid))
                    continue
                behaviours.append((item.id, item.kind, label, item.points_earned >= item.points_possible / 2 - 1e-9))
        outcomes.append(Outcome(str(call["id"]), scn_id, str(call.get("kind") or "unlabelled"), call["verdict"],
                                bool(call.get("rude")), result.total, result.passed, result.provisional,
                                result.auto_failed, behaviours, unknown))
    return outcomes


def summarise(outcomes: list[Outcome]) -> dict:
    def block(os: list[Outcome]) -> dict:
        n = len(os)
        return {"calls": n, "agree": sum(o.agrees for o in os),
                "agreement": round(sum(o.agrees for o in os) / n, 4) if n else None,
                "false_pass": sum(o.passed and o.verdict == "fail" for o in os),
                "false_pass_auto": sum(o.auto_pass and o.verdict == "fail" for o in os),
                "false_fail": sum(not o.passed and o.verdict == "pass" for o in os),
                "provisional": sum(o.provisional for o in os)}

    by_kind = defaultdict(list)
    for o in outcomes:
        by_kind[o.kind].append(o)
    beh: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0])
    for o in outcomes:
        for _, kind, label, got in o.behaviours:
            beh[kind][0] += label == got
            beh[kind][1] += 1
    total_ok = sum(v[0] for v in beh.values())
    total_n = sum(v[1] for v in beh.values())
    rude = [o for o in outcomes if o.rude]
    return {"overall": block(outcomes), "by_kind": {k: block(v) for k, v in sorted(by_kind.items())},
            "rude": {"calls": len(rude), "passed_automatically": sum(o.auto_pass for o in rude),
                     "passed_provisionally": sum(o.passed and o.provisional for o in rude)},
            "behaviour": {"labels": total_n, "agree": total_ok,
                          "detection": round(total_ok / total_n, 4) if total_n else None,
                          "by_rubric_kind": {k: {"labels": v[1], "agree": v[0], "detection": round(v[0] / v[1], 4)}
                                             for k, v in sorted(beh.items())}},
            "unknown_items": sorted({f"{o.id}:{i}" for o in outcomes for i in o.unknown_items})}


def render(outcomes: list[Outcome], summary: dict, *, audio: bool = False, verbose: bool = False) -> str:
    def pct(x):
        return "-" if x is None else f"{x:.1%}"

    lines = []
    if verbose:
        for o in outcomes:
            mark = "OK " if o.agrees else "XX "
            flags = ("P" if o.provisional else "-") + ("F" if o.auto_failed else "-")
            misses = [f"{i}{'+' if lab else '-'}" for i, _, lab, got in o.behaviours if lab != got]
            lines.append(f"{mark}{o.id:48s} {o.kind:16s} label={o.verdict:4s} total={o.total:5.1f} {flags}"
                         + (f"  behaviour misses: {' '.join(misses)}" if misses else ""))
        lines.append("")
    ov = summary["overall"]
    mode = "audio: product voice -> ASR -> rubric" if audio else "text"
    lines.append(f"validity suite [{mode}]: {ov['calls']} calls")
    lines.append(f"pass/fail agreement {ov['agree']}/{ov['calls']} = {pct(ov['agreement'])}; false passes "
                 f"{ov['false_pass']} (automatic {ov['false_pass_auto']}), false fails {ov['false_fail']}, "
                 f"provisional {ov['provisional']}")
    for k, b in summary["by_kind"].items():
        lines.append(f"  {k:16s} {b['agree']:3d}/{b['calls']:<3d} {pct(b['agreement']):>7s}"
                     f"  false pass {b['false_pass']} (auto {b['false_pass_auto']})"
                     f"  false fail {b['false_fail']}  provisional {b['provisional']}")
    r = summary["rude"]
    lines.append(f"rude calls: {r['calls']}; passed automatically {r['passed_automatically']}, "
                 f"passed provisionally (waiting for the assessor) {r['passed_provisionally']}")
    b = summary["behaviour"]
    lines.append(f"behaviour detection {b['agree']}/{b['labels']} = {pct(b['detection'])}")
    for k, v in b["by_rubric_kind"].items():
        lines.append(f"  {k:16s} {v['agree']:4d}/{v['labels']:<4d} {pct(v['detection']):>7s}")
    if summary["unknown_items"]:
        lines.append(f"labels naming no scored item of the scenario ({len(summary['unknown_items'])}): "
                     + ", ".join(summary["unknown_items"][:20]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse
    import json
    import sys

    parser = argparse.ArgumentParser(prog="python -m grading validity",
                                     description="play the labelled validity suite and compare with the labels")
    parser.add_argument("path", nargs="?", help=f"a suite file or folder (default {CALLS_DIR})")
    parser.add_argument("--audio", action="store_true",
                        help="speak the turns with the product voice and recognise them")
    parser.add_argument("--transcript-cache", metavar="DIR",
                        help="with --audio: keep what the recogniser heard in DIR and reuse it for the same sound, "
                             "model and settings (default: TRANSCRIPT_CACHE_DIR, else off)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per call")
    args = parser.parse_args(argv)
    from scenarios.selfcheck import transcript_cache_dir
    try:
        outcomes = run_suite(args.path, audio=args.audio, transcript_cache=transcript_cache_dir(args.transcript_cache))
    except SuiteError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    summary = summarise(outcomes)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        print(render(outcomes, summary, audio=args.audio, verbose=args.verbose))
    return 0
