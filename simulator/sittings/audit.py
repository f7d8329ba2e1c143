"""The audit log in words: one formatter per action turns a stored entry (action, target, before/after
JSON) into who changed which candidate's which item, from what to what, why and when."""
from __future__ import annotations

from dataclasses import dataclass

from grading.rubric.totals import DECISION_LABELS

from ..auth.models import User
from ..extensions import db
from ..practical.models import PracticalCall
from .models import AuditEntry


@dataclass
class Line:
    at: object
    who: str
    candidate: str
    what: str          # the action and its object, e.g. 「修改评分：第 2 题 话费查询 · 语速」
    change: str        # 「8 分 → 10 分」
    reason: str


def _points(value) -> str:
    return "—" if value is None else f"{float(value):g} 分"


def _call_item(target: str) -> tuple[PracticalCall | None, str]:
    """``call:<id>/item:<item>`` → the call and the item's label (its id if the call has no such item)."""
    call_part, _, item_part = target.partition("/")
    call = db.session.get(PracticalCall, call_part.removeprefix("call:")) if call_part.startswith("call:") else None
    item_id = item_part.removeprefix("item:")
    items = (call.result or {}).get("items", []) if call else []
    label = next((i.get("label") for i in items if i.get("id") == item_id), None)
    return call, label or item_id


def _item_name(target: str) -> str:
    call, label = _call_item(target)
    return f"{call.scenario.title} · {label}" if call is not None else label


def _standing(points, deduction, fatal) -> str:
    """An attitude / fatal item's effect on the call: its points, deduction and cap in words."""
    parts = [_points(points)]
    if deduction:
        parts.append(f"扣 {float(deduction):g} 分")
    if fatal:
        parts.append("一票否决")
    return "，".join(parts)


def _override(e: AuditEntry) -> tuple[str, str]:
    before, after = e.before or {}, e.after or {}
    if "decision" not in after:
        return f"修改评分：{_item_name(e.target)}", f"{_points(before.get('points'))} → {_points(after.get('points'))}"
    decision = DECISION_LABELS.get(after.get("decision") or "", "不成立（撤销）")
    change = (f"{_standing(before.get('points'), before.get('deduction'), before.get('fatal'))} → "
              f"{_standing(after.get('points'), after.get('deduction'), after.get('fatal'))}")
    return f"复核结论：{_item_name(e.target)} · {decision}", change


def _extend(e: AuditEntry) -> tuple[str, str]:
    before, after = (e.before or {}).get("extra_minutes", 0), (e.after or {}).get("extra_minutes", 0)
    return "延长理论考试时间", f"共延长 {before} 分钟 → {after} 分钟"


def _reopen(e: AuditEntry) -> tuple[str, str]:
    if e.target == "theory":
        score = (e.before or {}).get("score")
        extra = (e.after or {}).get("extra_minutes", 0)
        return "重新开放理论试卷", f"已交卷（{_points(score)}）→ 继续作答，另加 {extra} 分钟"
    index = e.target.removeprefix("practical:")
    number = int(index) + 1 if index.isdigit() else index
    return f"允许重新作答：操作第 {number} 题", "原作答保留存档 → 重新作答"


def _enrol(e: AuditEntry) -> tuple[str, str]:
    ids = e.after or []
    rows = db.session.query(User).filter(User.id.in_(ids)).order_by(User.username) if ids else []
    names = [u.display_name for u in rows]
    return "报名", f"{len(ids)} 人：{'、'.join(names)}" if names else f"{len(ids)} 人"


def _publish(e: AuditEntry) -> tuple[str, str]:
    counts = e.after or {}
    return "发布成绩", f"合格 {counts.get('certified', 0)} 人，不合格 {counts.get('not_certified', 0)} 人"


def _rebuild(e: AuditEntry) -> tuple[str, str]:
    return "重新生成成绩报告和证书", ("更新了 " + "、".join(_REPORT_FIELDS.get(k, k) for k in (e.after or {}))
                                      if e.after else "内容没有变化")


def _appeal_open(e: AuditEntry) -> tuple[str, str]:
    return f"考生提出申诉：{_item_name(e.target)}", f"申诉时得分 {_points((e.before or {}).get('points'))}"


def _appeal_upheld(e: AuditEntry) -> tuple[str, str]:
    after = e.after or {}
    change = f"{_points((e.before or {}).get('points'))} → {_points(after.get('points'))}"
    if "practical_score" in after:
        change += f"；操作成绩 {_points((e.before or {}).get('practical_score'))} → {_points(after['practical_score'])}"
    return f"申诉成立：{_item_name(e.target)}", change


def _appeal_rejected(e: AuditEntry) -> tuple[str, str]:
    return f"申诉驳回：{_item_name(e.target)}", f"维持 {_points((e.before or {}).get('points'))}"


def _relabel(e: AuditEntry) -> tuple[str, str]:
    before, after = e.before or {}, e.after or {}
    changes = [f"{qid} {before.get(qid)}→{after[qid]}" for qid in sorted(after) if before.get(qid) != after[qid]]
    return "按作答数据重新标定试题难度", (f"{len(after)} 题，改变 {len(changes)} 题" +
                                          ("：" + "、".join(changes) if changes else ""))


_REPORT_FIELDS = {"name": "姓名", "username": "用户名", "organisation": "单位", "sitting": "批次名称", "level": "等级",
                  "date": "日期", "theory_breakdown": "理论分项", "practical_items": "操作题目", "complete": "完成情况",
                  "theory_pass_mark": "理论合格线", "practical_pass_mark": "操作合格线"}
FORMATTERS = {"override": _override, "extend_time": _extend, "reopen": _reopen, "enrol": _enrol, "publish": _publish,
              "rebuild_report": _rebuild, "appeal_open": _appeal_open, "appeal_upheld": _appeal_upheld,
              "appeal_rejected": _appeal_rejected, "relabel_difficulty": _relabel}


def describe(entry: AuditEntry) -> Line:
    formatter = FORMATTERS.get(entry.action)
    what, change = formatter(entry) if formatter else (entry.action, "")
    candidate = db.session.get(User, entry.candidate_user_id) if entry.candidate_user_id else None
    return Line(at=entry.at, who=entry.actor.display_name if entry.actor else "—",
                candidate=f"{candidate.display_name}（{candidate.username}）" if candidate else "—",
                what=what, change=change, reason=entry.reason or "")


def lines(entries) -> list[Line]:
    return [describe(e) for e in entries]
