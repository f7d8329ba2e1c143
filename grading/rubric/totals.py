"""A call's total from its item results, as graded or with an assessor's decisions applied.

The engine (``grade``) and the web side (a stored call's effective score) both total a call here, so the
two can never disagree: the items' points less their deductions, clamped to 0–100, then a confirmed fatal
attitude item caps the call at ``FATAL_CAP`` and any other fatal item (a ``forbidden`` item in mode
``auto_fail``) makes it 0.

An assessor's decision on an item (``decisions[item_id]``, the stored override) always carries the points
that stand (``points``). On an attitude item, a fatal item or one that would be fatal if confirmed it also
says what the assessor decided (``decision``):

- ``confirm`` 确认: the flag holds. The item keeps its deduction and its fatal cap — and where the engine was
  unsure of a finding (low recognition confidence), the deduction and cap it would carry if true
  (``if_confirmed`` of the item). The same holds for a ``forbidden`` item in mode ``auto_fail`` the engine
  only flagged for review (weak evidence): its ``if_confirmed`` says the item becomes fatal, so 确认 makes the
  call 0 and 不成立 leaves it as graded.
- ``overrule`` 不成立（撤销）: the flag does not hold. The item's deduction and fatal cap go.
- ``adjust`` 另定扣分 (attitude only): the expression was impolite but not a 一票否决; ``deduction`` is what it
  costs instead.

An override without ``decision`` — every override of an ordinary item, an upheld appeal, and every override
stored before assessors' decisions were recorded — means the item is re-scored to ``points`` and whatever
it flagged was overruled: no deduction and no cap of its own. That was the meaning of all overrides before.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .results import PASS_MARK, round_half_up

FATAL_CAP = PASS_MARK - 1
"""A confirmed fatal attitude item caps the call here: below the pass mark whatever else was said."""

CONFIRM, OVERRULE, ADJUST = "confirm", "overrule", "adjust"
DECISIONS = (CONFIRM, OVERRULE, ADJUST)
DECISION_LABELS = {CONFIRM: "确认（扣分/一票否决成立）", OVERRULE: "不成立（撤销）",
                   ADJUST: "另定扣分（不构成一票否决）"}
MAX_DEDUCTION = 100.0


class DecisionError(ValueError):
    """An assessor's decision that does not fit the item (the message is for the assessor)."""


def _get(item: Any, key: str, default: Any = None) -> Any:
    """A field of an ``ItemResult`` or of its stored ``to_dict`` form."""
    if isinstance(item, Mapping):
        value = item.get(key, default)
    else:
        value = getattr(item, key, default)
    return default if value is None else value


def fatal_if_confirmed(item: Any) -> bool:
    """Would the assessor's 确认 make this item fatal? (A ``forbidden`` item in mode ``auto_fail`` the engine
    only flagged for review records so in ``if_confirmed``; results stored before that record nothing, and
    their item stays an ordinary one re-scored by points.)"""
    return bool((_get(item, "if_confirmed", {}) or {}).get("fatal", False))


def takes_decision(item: Any) -> bool:
    """Is this item a flag the assessor settles with a decision (confirm / overrule) rather than points?"""
    return _get(item, "kind") == "attitude" or bool(_get(item, "fatal", False)) or fatal_if_confirmed(item)


@dataclass(frozen=True)
class Standing:
    """What one item contributes to the call once any assessor decision is applied."""
    points: float
    deduction: float
    fatal: bool
    decision: str | None = None       # confirm | overrule | adjust, None when not decided (or points only)


def standing(item: Any, decision: Mapping | None = None) -> Standing:
    graded = Standing(float(_get(item, "points_earned", 0.0)), float(_get(item, "deduction", 0.0)),
                      bool(_get(item, "fatal", False)))
    if decision is None:
        return graded
    points = float(decision.get("points", graded.points))
    kind = decision.get("decision")
    if kind == CONFIRM:
        sure = _get(item, "if_confirmed", {}) or {}
        return Standing(points, float(sure.get("deduction", graded.deduction)), bool(sure.get("fatal", graded.fatal)),
                        CONFIRM)
    if kind == ADJUST:
        return Standing(points, float(decision.get("deduction") or 0.0), False, ADJUST)
    # overrule, and an override without a decision (see the module's docstring: the old meaning of overrides)
    return Standing(points, 0.0, False, OVERRULE if kind == OVERRULE else None)


@dataclass(frozen=True)
class CallTotal:
    total: float
    auto_failed: bool      # a fatal item still stands (capped at FATAL_CAP, or 0)
    raw: float             # before any fatal cap


def call_total(items: Iterable[Any], decisions: Mapping[str, Mapping] | None = None) -> CallTotal:
    """The call's total from its item results (``ItemResult`` or stored dicts), with ``decisions`` (item id →
    stored override) applied."""
    decisions = decisions or {}
    rows = [(item, standing(item, decisions.get(str(_get(item, "id"))))) for item in items]
    raw = round_half_up(min(100.0, max(0.0, sum(s.points - s.deduction for _, s in rows))), 1)
    caps = [FATAL_CAP if _get(item, "kind") == "attitude" else 0.0 for item, s in rows if s.fatal]
    return CallTotal(total=min([raw, *caps]), auto_failed=bool(caps), raw=raw)


def unsettled(items: Iterable[Any], decisions: Mapping[str, Mapping] | None = None) -> list[Any]:
    """The items the engine left for review (``review``) that no assessor has decided yet."""
    decisions = decisions or {}
    return [i for i in items if _get(i, "verdict") == "review" and str(_get(i, "id")) not in decisions]


def provisional(items: Iterable[Any], decisions: Mapping[str, Mapping] | None = None,
                flags: Iterable[Any] = ()) -> bool:
    """Does the call's pass or fail still rest on something no assessor has settled? The engine's rule, over
    what is still open once the ``decisions`` are applied: never on a call a fatal item fails for good;
    always while an attitude flag (``flags``, the grade's ``needs_review``) waits; otherwise when the points
    still at stake in unsettled items could move the total across the pass mark. An unsettled item whose
    确认 would be fatal puts the whole total at stake."""
    items, decisions = list(items), decisions or {}
    scored = call_total(items, decisions)
    if scored.auto_failed:
        return False
    if any(str(_get(f, "item")) not in decisions for f in flags):
        return True
    open_items = unsettled(items, decisions)
    gain = sum(float(_get(i, "pending_gain", 0.0)) for i in open_items)
    loss = sum(scored.total if fatal_if_confirmed(i) else float(_get(i, "pending_loss", 0.0)) for i in open_items)
    if scored.total >= PASS_MARK:
        return scored.total - loss < PASS_MARK - 1e-9
    return scored.total + gain >= PASS_MARK - 1e-9


def decide(item: Any, decision: str | None, *, points: float | None = None,
           deduction: float | None = None) -> dict:
    """The override an assessor's decision stores (without who, when and why): ``points`` that stand and, on
    a flag, the ``decision`` (and an adjusted ``deduction``). Raises ``DecisionError`` with a message for
    the assessor when the decision does not fit the item."""
    possible = float(_get(item, "points_possible", 0.0))
    if not takes_decision(item):
        if decision:
            raise DecisionError("这一项不是服务态度或一票否决项，请直接填写分数")
        if points is None:
            raise DecisionError("请填写分数")
        if not 0 <= points <= possible:
            raise DecisionError(f"分数应在 0 到 {possible:g} 之间")
        return {"points": float(points)}
    if decision not in DECISIONS:
        raise DecisionError("请选择复核结论：确认、不成立或另定扣分")
    graded = float(_get(item, "points_earned", 0.0))
    if decision == CONFIRM:
        sure = _get(item, "if_confirmed", {}) or {}
        return {"points": float(sure.get("points", graded)), "decision": CONFIRM}
    if decision == OVERRULE:
        # the flag did not hold: the item is credited as if nothing impolite had been heard
        return {"points": possible, "decision": OVERRULE}
    if _get(item, "kind") != "attitude":
        raise DecisionError("只有服务态度项可以另定扣分")
    if deduction is None or not 0 <= deduction <= MAX_DEDUCTION:
        raise DecisionError(f"另定扣分时请填写扣分（0 到 {MAX_DEDUCTION:g} 分）")
    return {"points": graded, "decision": ADJUST, "deduction": float(deduction)}


def _fmt(x: float) -> str:
    return f"{round_half_up(x, 1):g}"


def describe(item: Any, decision: Mapping | None) -> str:
    """An assessor's decision in words, for the review page, the candidate's result and the audit log."""
    if decision is None:
        return ""
    s = standing(item, decision)
    cap = ("，本次通话最高记" + _fmt(FATAL_CAP) + "分" if _get(item, "kind") == "attitude" else "，本次通话记0分") \
        if s.fatal else ""
    if s.decision == CONFIRM:
        cost = f"从总分中扣{_fmt(s.deduction)}分" if s.deduction else "不另扣分"
        return f"考评员复核：确认（扣分/一票否决成立），{cost}{cap}。"
    if s.decision == ADJUST:
        return f"考评员复核：另定扣分，从总分中扣{_fmt(s.deduction)}分（不构成一票否决）。"
    if s.decision == OVERRULE or takes_decision(item):      # a flag re-scored without a decision: overruled
        return "考评员复核：不成立（撤销），不扣分" + ("，解除一票否决" if _get(item, "fatal", False) else "") + "。"
    return f"考评员改为{_fmt(s.points)}分。"
