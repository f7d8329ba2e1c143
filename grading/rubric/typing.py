"""Typing / work-order entry (录入) items: speed in 字/分 and accuracy against the reference text.

Provincial practice sets the speed reference (30 字/分 for 四级, 40 for 三级). Only correctly typed
characters count towards speed; accuracy is correct / (correct + errors), where a wrong, extra or
skipped character is an error, found by aligning the typed text with the reference (edit operations,
so one skipped character does not make everything after it wrong). The record carries
``typing: {reference, typed, duration_s}``.
"""
from __future__ import annotations

from typing import Any, Mapping

from rapidfuzz.distance import Levenshtein

from .results import Evidence, ItemResult

IGNORED = set(" \t\r\n\u3000")


def _clean(text: str) -> str:
    return "".join(ch for ch in str(text or "") if ch not in IGNORED)


def measure(reference: str, typed: str, duration_s: float) -> dict:
    """Correct characters, errors, accuracy and speed of one typing answer."""
    ref, got = _clean(reference), _clean(typed)
    if not got:
        return {"typed": 0, "correct": 0, "errors": 0, "accuracy": 0.0, "cpm": 0.0, "complete": 0.0}
    # Compare with the part of the reference the typist reached (the best-aligned prefix).
    best = min(range(max(1, len(got) - 20), min(len(ref), len(got) + 20) + 1),
               key=lambda n: Levenshtein.distance(got, ref[:n]), default=len(got))
    ops = Levenshtein.opcodes(got, ref[:best])
    correct = sum(op.src_end - op.src_start for op in ops if op.tag == "equal")
    errors = len(got) - correct + sum(op.dest_end - op.dest_start for op in ops if op.tag == "insert")
    minutes = max(duration_s, 1.0) / 60
    return {"typed": len(got), "correct": correct, "errors": errors,
            "accuracy": round(correct / max(correct + errors, 1), 4), "cpm": round(correct / minutes, 1),
            "complete": round(best / max(len(ref), 1), 4)}


def _typing(record: Mapping) -> Mapping | None:
    data = record.get("typing")
    return data if isinstance(data, Mapping) else None


def grade_typing_speed(ctx: Any, item: Mapping) -> ItemResult:
    points = float(item.get("points") or 0)
    target = float(item.get("target_cpm") or 30)
    data = _typing(ctx.call.record)
    if data is None:
        return ItemResult(str(item.get("id")), "typing_speed", str(item.get("label")), points, 0.0, "fail",
                          note="没有录入内容。")
    m = measure(data.get("reference", ""), data.get("typed", ""), float(data.get("duration_s") or 0))
    share = min(1.0, m["cpm"] / target) if target > 0 else 1.0
    verdict = "pass" if share >= 1 else ("partial" if share > 0 else "fail")
    note = (f"正确录入 {m['correct']} 字，用时 {float(data.get('duration_s') or 0):.0f} 秒，"
            f"速度 {m['cpm']:g} 字/分（要求 {target:g} 字/分）。")
    return ItemResult(str(item.get("id")), "typing_speed", str(item.get("label")), points, points * share, verdict,
                      evidence=[Evidence(note, method="typing", confidence=1.0)], note=note)


def grade_typing_accuracy(ctx: Any, item: Mapping) -> ItemResult:
    points = float(item.get("points") or 0)
    floor = float(item.get("min_accuracy", 0.9))
    data = _typing(ctx.call.record)
    if data is None:
        return ItemResult(str(item.get("id")), "typing_accuracy", str(item.get("label")), points, 0.0, "fail",
                          note="没有录入内容。")
    m = measure(data.get("reference", ""), data.get("typed", ""), float(data.get("duration_s") or 0))
    share = 0.0 if m["typed"] == 0 else max(0.0, min(1.0, (m["accuracy"] - floor) / max(1e-9, 1 - floor)))
    verdict = "pass" if share >= 0.999 else ("partial" if share > 0 else "fail")
    note = (f"录入 {m['typed']} 字，错 {m['errors']} 处，正确率 {m['accuracy'] * 100:.1f}%"
            f"（低于 {floor * 100:.0f}% 不得分）。")
    return ItemResult(str(item.get("id")), "typing_accuracy", str(item.get("label")), points, points * share,
                      verdict, evidence=[Evidence(note, method="typing", confidence=1.0)], note=note)
