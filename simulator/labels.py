"""The one source of the words users see for the domain's codes: levels, task types, call states,
work-order fields and call-record events. Templates get them from a context processor, scripts from
a JSON blob in the page (``labels_json``), so "五级" reads the same everywhere."""
from __future__ import annotations

from exams import LEVEL_NAMES as _THEORY_LEVELS
from scenarios.labels import SITUATION_LABELS, TASK_LABELS
from softphone_sim.call import STATE_LABELS
from softphone_sim.workorder import FIELDS as _WORK_ORDER_FIELDS
from softphone_sim.workorder import WRAPUP_CODES

LEVEL_NAMES: dict[int, str] = dict(_THEORY_LEVELS)
LEVEL_CHOICES = [(str(k), v) for k, v in LEVEL_NAMES.items()]
TASK_NAMES = dict(TASK_LABELS)
SITUATION_NAMES = dict(SITUATION_LABELS)
CALL_STATES = {state.value: label for state, label in STATE_LABELS.items()}
WORK_ORDER_FIELDS = dict(_WORK_ORDER_FIELDS)
WRAPUP_NAMES = dict(WRAPUP_CODES)
OCCUPATION = "呼叫服务员"
CALL_STATUS = {"live": "进行中", "finished": "已完成", "interrupted": "已中断", "abandoned": "已关闭（长时间无操作）"}

_HANGUP = {"caller": "客户挂机", "agent": "坐席挂机", "system": "未接通", "line": "线路中断"}
_TRANSFER = {"success": "成功", "busy": "忙线", "no_answer": "无人接听"}


def level_name(level) -> str:
    try:
        return LEVEL_NAMES[int(level)]
    except (KeyError, TypeError, ValueError):
        return str(level)


def _seconds(event: dict) -> str:
    t = event.get("t")
    return f"（{t:.1f} 秒）" if isinstance(t, (int, float)) else ""


def event_label(event: dict) -> str | None:
    """A call-record event in words (「客户挂机（58.1 秒）」), or None for events a reviewer need not
    read (rings, CTI look-ups) and for utterances, which the transcript shows as text."""
    kind = event.get("type")
    if kind == "hangup":
        if event.get("reason") == "transferred":
            return f"转接后挂断{_seconds(event)}"
        return f"{_HANGUP.get(event.get('by'), '通话结束')}{_seconds(event)}"
    if kind == "hold":
        return f"{'保持通话' if event.get('on') else '取消保持'}{_seconds(event)}"
    if kind == "mute":
        return f"{'静音' if event.get('on') else '取消静音'}{_seconds(event)}"
    if kind == "transfer":
        how = "咨询转接" if event.get("kind") == "consult" else "直接转接"
        target = event.get("target") or ""
        outcome = _TRANSFER.get(event.get("outcome"), "")
        return f"{how}至 {target}{('：' + outcome) if outcome else ''}{_seconds(event)}"
    if kind == "transfer_completed":
        return f"完成转接{_seconds(event)}"
    if kind == "transfer_cancelled":
        return f"取消转接{_seconds(event)}"
    if kind == "dropped":
        return f"线路中断{_seconds(event)}"
    if kind == "answered":
        return f"接听（响铃 {event.get('rings', 0)} 声）{_seconds(event)}"
    if kind == "abandoned":
        return f"客户在接听前放弃{_seconds(event)}"
    if kind == "work_order":
        return f"保存工单（{'有效' if event.get('valid') else '有缺项'}）{_seconds(event)}"
    if kind == "overtalk":
        return f"抢话：坐席在客户说话时开口{_seconds(event)}"
    if kind == "no_reply":
        return f"坐席未回应{_seconds(event)}"
    return None


def for_scripts() -> dict:
    """What page scripts may show (the same words as the templates)."""
    return {"levels": {str(k): v for k, v in LEVEL_NAMES.items()}, "tasks": TASK_NAMES, "call_states": CALL_STATES,
            "work_order_fields": WORK_ORDER_FIELDS, "wrapup": WRAPUP_NAMES}


def context() -> dict:
    return {"LEVEL_NAMES": LEVEL_NAMES, "TASK_NAMES": TASK_NAMES, "TASK_LABELS": TASK_NAMES, "CALL_STATES": CALL_STATES,
            "WORK_ORDER_FIELDS": WORK_ORDER_FIELDS, "CALL_STATUS": CALL_STATUS, "OCCUPATION": OCCUPATION,
            "event_label": event_label, "level_name": level_name, "labels_json": for_scripts()}
