"""CTI screen pop: the customer record for the calling number, with a lookup delay and, when a
scenario asks for it, a system failure."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CtiResult:
    outcome: str              # ok | failed | not_found
    delay_s: float
    customer: dict | None
    message: str


def _digits(phone: str) -> str:
    return "".join(ch for ch in str(phone) if ch.isdigit())


def lookup(phone: str, scenario_cti: dict | None) -> CtiResult:
    cti = scenario_cti or {}
    delay = float(cti.get("lookup_delay_s", 1.0))
    if cti.get("fails"):
        return CtiResult("failed", delay, None, "系统繁忙，客户资料暂时无法调取")
    customer = cti.get("customer")
    if not customer or _digits(customer.get("phone", "")) != _digits(phone):
        return CtiResult("not_found", delay, None, "未找到该号码的客户资料")
    return CtiResult("ok", delay, dict(customer), "")
