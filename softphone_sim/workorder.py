"""The work order (工单) an agent fills in during or after a call, and its validation."""
from __future__ import annotations

import re

ORDER_TYPES = ("咨询", "查询", "办理", "投诉", "建议", "表扬", "故障报修", "回访", "其他")
WRAPUP_CODES = {
    "resolved": "已解决",
    "callback": "待回复（已承诺回电）",
    "transferred": "已转接",
    "escalated": "已升级处理",
    "no_action": "无需处理",
}
FIELDS = {"type": "工单类型", "summary": "问题描述", "contact": "联系电话", "callback_time": "承诺回复时间",
          "wrapup_code": "处理结果"}
PHONE = re.compile(r"^\+?[\d\- ]{7,20}$")


def validate(fields: dict) -> dict[str, str]:
    """Field -> message for every problem; empty when the order can be saved."""
    errors = {}
    values = {k: str(fields.get(k) or "").strip() for k in FIELDS}
    if values["type"] not in ORDER_TYPES:
        errors["type"] = "请选择工单类型"
    if len(values["summary"]) < 5:
        errors["summary"] = "请填写问题描述（至少 5 个字）"
    digits = re.sub(r"\D", "", values["contact"])
    if not PHONE.match(values["contact"]) or not 7 <= len(digits) <= 13:
        errors["contact"] = "请填写正确的联系电话"
    if values["wrapup_code"] not in WRAPUP_CODES:
        errors["wrapup_code"] = "请选择处理结果"
    if values["wrapup_code"] == "callback" and not values["callback_time"]:
        errors["callback_time"] = "承诺回电时必须填写回复时间"
    unknown = set(fields) - set(FIELDS)
    if unknown:
        errors["_"] = f"未知字段：{'、'.join(sorted(unknown))}"
    return errors
