"""Database records of the practical exam: scenario versions and the calls taken on them.

A scenario's data is stored per version: the library files (and, later, trainers' edits) create a new
version whenever the content changes, and every call keeps the version it was taken and graded with,
so a call can be re-graded against exactly the script the trainee heard.
"""
from __future__ import annotations

from datetime import datetime, timezone

from grading.rubric import totals
from grading.rubric.results import PASS_MARK
from simulator.extensions import db


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class ScenarioVersion(db.Model):
    __tablename__ = "scenario_versions"
    __table_args__ = (db.UniqueConstraint("scenario_id", "version", name="uq_scenario_version"),)

    id = db.Column(db.Integer, primary_key=True)
    scenario_id = db.Column(db.String(80), nullable=False, index=True)
    version = db.Column(db.Integer, nullable=False)
    fingerprint = db.Column(db.String(64), nullable=False)
    level = db.Column(db.Integer, nullable=False, index=True)
    title = db.Column(db.String(200), nullable=False)
    situation = db.Column(db.String(40), nullable=False)
    task = db.Column(db.String(32), nullable=False, default="live_call")
    data = db.Column(db.JSON, nullable=False)
    origin = db.Column(db.String(16), nullable=False, default="library")   # library | trainer
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    created_by_id = db.Column(db.Integer, db.ForeignKey("users.id"))
    retired = db.Column(db.Boolean, nullable=False, default=False)

    @classmethod
    def latest(cls, scenario_id: str) -> "ScenarioVersion | None":
        return (db.session.query(cls).filter_by(scenario_id=scenario_id)
                .order_by(cls.version.desc()).first())

    @classmethod
    def current(cls, *, include_retired: bool = False) -> list["ScenarioVersion"]:
        """The newest version of every scenario (retired ones only when asked), by level then id."""
        newest = (db.session.query(cls.scenario_id, db.func.max(cls.version).label("v"))
                  .group_by(cls.scenario_id).subquery())
        rows = (db.session.query(cls).join(newest, db.and_(cls.scenario_id == newest.c.scenario_id,
                                                            cls.version == newest.c.v)))
        rows = rows.all() if include_retired else rows.filter(cls.retired.is_(False)).all()
        return sorted(rows, key=lambda r: (-r.level, r.scenario_id))


class PracticalCall(db.Model):
    __tablename__ = "practical_calls"

    id = db.Column(db.String(36), primary_key=True)           # the call record's call_id
    user_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False, index=True)
    scenario_version_id = db.Column(db.Integer, db.ForeignKey("scenario_versions.id"), nullable=False)
    mode = db.Column(db.String(16), nullable=False, default="practice")   # practice | certification
    status = db.Column(db.String(16), nullable=False, default="live")     # live | finished | interrupted
    started_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    finished_at = db.Column(db.DateTime)
    score = db.Column(db.Float)
    passed = db.Column(db.Boolean)
    # as graded (or interrupted); what is shown and used is ``is_provisional``, derived from what is unsettled
    provisional = db.Column(db.Boolean, nullable=False, default=False)
    result = db.Column(db.JSON)
    # assessor overrides {item_id: {"points": x, "by": user id, "at": iso time, "reason": text}}, on an
    # attitude or fatal item with "decision" (confirm | overrule | adjust) and an adjusted "deduction"
    # (grading/rubric/totals.py; an override without "decision" is the old meaning: overruled);
    # the engine's result stays as graded, so a re-grade never silently drops an assessor's decision
    overrides = db.Column(db.JSON)
    sitting_candidate_id = db.Column(db.Integer, db.ForeignKey("sitting_candidates.id"), index=True)
    call_dir = db.Column(db.String(300), nullable=False)

    user = db.relationship("User")
    scenario = db.relationship("ScenarioVersion")

    def effective_items(self) -> list[dict]:
        """The graded items with any assessor override applied (``overridden`` marks them; ``deduction`` and
        ``fatal`` are the ones that stand, ``decision_words`` the assessor's decision in words;
        ``takes_decision``: the item is settled by a decision, not by points)."""
        items = [dict(i) for i in (self.result or {}).get("items", [])]
        for item in items:
            # before any change: a flag the assessor settles with 确认 / 不成立 rather than with points
            item["takes_decision"] = totals.takes_decision(item)
            change = (self.overrides or {}).get(item["id"])
            if change is not None:
                stands = totals.standing(item, change)
                item.update(graded_points=item["points_earned"], points_earned=stands.points,
                            graded_deduction=item.get("deduction") or 0.0, deduction=stands.deduction,
                            graded_fatal=bool(item.get("fatal")), fatal=stands.fatal,
                            decision=stands.decision, decision_words=totals.describe(item, change),
                            overridden=change)
                if item.get("verdict") == "review":
                    item["verdict_label"] = "已复核"      # no longer 待复核: the assessor has decided it
        return items

    @property
    def awaiting_review(self) -> list[dict]:
        """The grade's attitude flags (``needs_review``) no assessor has settled yet: an override of the
        flagged item, with its reason, settles it. Until then a certification call is not passed
        automatically."""
        return [n for n in (self.result or {}).get("needs_review") or []
                if n.get("item") not in (self.overrides or {})]

    @property
    def is_provisional(self) -> bool:
        """Is the call's result still 暂定? Derived from what no assessor has settled yet (review items and
        attitude flags without a decision, by the grader's own rule in grading/rubric/totals.py), never from
        the flag stored when it was graded — once every flag is settled the result stands. A call closed by
        a server restart stays provisional: only reopening the task settles that."""
        if self.status == "interrupted" or (self.result or {}).get("interrupted"):
            return True
        if self.result is None:
            return bool(self.provisional)
        return totals.provisional(self.result.get("items", []), self.overrides,
                                  self.result.get("needs_review") or [])

    def effective_result(self) -> dict:
        """The stored grade as it stands after the assessors' decisions: their items, total, verdict and
        whether it is still provisional."""
        result = dict(self.result or {})
        scored = totals.call_total(result.get("items", []), self.overrides)
        result.update(items=self.effective_items(), total=scored.total, auto_failed=scored.auto_failed,
                      passed=scored.total >= result.get("pass_mark", PASS_MARK), provisional=self.is_provisional)
        return result

    def effective_score(self) -> float | None:
        """The call's total as it stands: the grader's rule (fatal cap, auto-fail) over the graded items with
        the assessors' decisions applied — with none, exactly the grader's total."""
        if self.result is None:
            return None
        return totals.call_total((self.result or {}).get("items", []), self.overrides).total
