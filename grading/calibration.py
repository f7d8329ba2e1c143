"""Calibration from real use: how often the machine's item scores stand after an assessor's review.

Every item of a call an assessor has reviewed is a labelled data point: an item the assessor overrode
carries the assessor's points, an item left alone was accepted as graded. The machine and the assessor
*agree* on an item when both credit it or both do not (credited = at least half its points, the rule
of the validity suite), so a small correction of a credited item is not a disagreement. An attitude flag
the assessor settled is a data point too, scored by the decision rather than by points: confirmed (or a
deduction set anew) is agreement, overruled is disagreement — the machine was too harsh. Figures per
rubric kind, per scenario and per ISO week, as QA teams compare scorers in calibration sessions.

Plain rows in, plain dicts out: the web layer gathers the rows from the database.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from grading.rubric import totals


@dataclass(frozen=True)
class Row:
    """One graded item of one reviewed call."""
    call_id: str
    scenario_id: str
    scenario: str             # the scenario's title
    item_id: str
    kind: str
    label: str
    possible: float
    machine: float            # the engine's points
    assessor: float           # the points that stand: the override, or the machine's when accepted
    overridden: bool
    when: date                # the override's date, else the call's
    reason: str = ""
    flag_upheld: bool | None = None   # an attitude flag the assessor settled: confirmed (True) or overruled

    @property
    def machine_credited(self) -> bool:
        if self.flag_upheld is not None:
            return False              # the machine flagged the item
        return self.machine >= self.possible / 2 - 1e-9

    @property
    def assessor_credited(self) -> bool:
        if self.flag_upheld is not None:
            return not self.flag_upheld
        return self.assessor >= self.possible / 2 - 1e-9

    @property
    def agrees(self) -> bool:
        return self.machine_credited == self.assessor_credited


KIND_LABELS = {"phrase": "话术要点", "forbidden": "服务忌语", "order": "开头结束顺序", "rings": "振铃接听",
               "hangup": "挂机", "transfer": "转接", "hold": "保持礼仪", "work_order": "工单",
               "reply_latency": "应答及时",
               "call_length": "通话时长", "speech_rate": "语速", "fillers": "口头语", "attitude": "服务态度",
               "typing_speed": "录入速度", "typing_accuracy": "录入正确率"}


def week_of(day: date | datetime) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def rows_from_call(call_id: str, scenario_id: str, scenario: str, items: Iterable[dict], overrides: dict | None,
                   finished: date | datetime | None) -> list[Row]:
    """The rows of one reviewed call from its stored result items (``grade-result/1``) and overrides
    ({item id: {"points", "at", "reason"}, with "decision" on a flag}). An attitude item the engine flagged
    (待复核 or 致命), or a doubtful auto_fail item, that an assessor settled is one row scored by the decision;
    other items worth no points (an attitude item with nothing flagged) are left out."""
    out = []
    day = (finished.date() if isinstance(finished, datetime) else finished) or date.today()
    for item in items:
        change = (overrides or {}).get(item.get("id"))
        possible = float(item.get("points_possible") or 0)
        flagged = ((item.get("kind") == "attitude" and item.get("verdict") in ("review", "fail"))
                   or totals.fatal_if_confirmed(item))      # a doubtful 严禁用语 (auto_fail) hit, settled alike
        upheld = None
        if flagged and change is not None:
            upheld = _flag_upheld(item, change)
        elif possible <= 0:
            continue
        machine = float(item.get("points_earned") or 0)
        when = day
        if change is not None and change.get("at"):
            try:
                when = datetime.fromisoformat(str(change["at"])).date()
            except ValueError:
                pass
        out.append(Row(call_id, scenario_id, scenario, str(item.get("id")), str(item.get("kind")),
                       str(item.get("label") or item.get("id")), possible, machine,
                       float(change["points"]) if change is not None else machine, change is not None, when,
                       str((change or {}).get("reason") or ""), upheld))
    return out


def _flag_upheld(item: dict, change: dict) -> bool:
    """Did the assessor uphold the machine's attitude flag? Confirmed, or a deduction set anew: yes;
    overruled (and an override from before decisions were recorded, which meant overruled): no."""
    stands = totals.standing(item, change)
    return stands.decision == totals.CONFIRM or (stands.decision == totals.ADJUST and stands.deduction > 0)


def _block(rows: list[Row]) -> dict:
    n = len(rows)
    agree = sum(r.agrees for r in rows)
    return {"items": n, "agree": agree, "agreement": round(agree / n, 4) if n else None,
            "overridden": sum(r.overridden for r in rows),
            "calls": len({r.call_id for r in rows}),
            "mean_abs_diff": round(sum(abs(r.assessor - r.machine) for r in rows) / n, 2) if n else None,
            "machine_higher": sum(r.machine_credited and not r.assessor_credited for r in rows),
            "machine_lower": sum(r.assessor_credited and not r.machine_credited for r in rows)}


def summarise(rows: Iterable[Row]) -> dict:
    """Overall figures and one list per grouping (kind, scenario, week), each entry ``key``, ``label``
    and the block of figures; weeks in time order, the others worst agreement first."""
    rows = list(rows)
    groups: dict[str, defaultdict[str, list[Row]]] = {
        "kind": defaultdict(list), "scenario": defaultdict(list), "week": defaultdict(list)}
    labels = {"kind": KIND_LABELS, "scenario": {}, "week": {}}
    for r in rows:
        groups["kind"][r.kind].append(r)
        groups["scenario"][r.scenario_id].append(r)
        labels["scenario"][r.scenario_id] = r.scenario
        groups["week"][week_of(r.when)].append(r)
    out: dict[str, Any] = {"overall": _block(rows)}
    for name, grouped in groups.items():
        entries = [{"key": k, "label": labels[name].get(k, k), **_block(v)} for k, v in grouped.items()]
        if name == "week":
            entries.sort(key=lambda e: e["key"])
        else:
            entries.sort(key=lambda e: (e["agreement"], e["key"]))
        out[f"by_{name}"] = entries
    out["overrides"] = [r for r in sorted(rows, key=lambda r: (r.when, r.call_id, r.item_id)) if r.overridden]
    return out


TABLE_HEADERS = ["分组", "键", "名称", "评分项数", "一致", "一致率", "修改次数", "通话数", "平均分差",
                 "机器偏高", "机器偏低"]
OVERRIDE_HEADERS = ["日期", "通话", "场景", "评分项", "类型", "满分", "机器得分", "考评员得分", "理由"]
GROUP_NAMES = {"overall": "总体", "kind": "评分项类型", "scenario": "场景", "week": "周"}


def table(summary: dict) -> tuple[list[list], list[list]]:
    """The summary as two tables (figures, overrides) for CSV and Excel exports: plain values, user text
    unescaped (the writer escapes)."""
    def line(group, key, label, b):
        return [GROUP_NAMES[group], key, label, b["items"], b["agree"], b["agreement"], b["overridden"], b["calls"],
                b["mean_abs_diff"], b["machine_higher"], b["machine_lower"]]

    figures = [line("overall", "", "", summary["overall"])]
    for group in ("kind", "scenario", "week"):
        figures.extend(line(group, e["key"], e["label"], e) for e in summary[f"by_{group}"])
    overrides = [[r.when.isoformat(), r.call_id, r.scenario, r.label, r.kind, r.possible, r.machine, r.assessor,
                  r.reason] for r in summary["overrides"]]
    return figures, overrides
