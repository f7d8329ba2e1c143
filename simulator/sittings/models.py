"""Certification sittings (鉴定批次): who sits which level when, each candidate's theory paper and
practical tasks, assessors' overrides, the audit log, published results and certificates."""
from __future__ import annotations

from datetime import datetime, timezone

from simulator.extensions import db


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Sitting(db.Model):
    __tablename__ = "sittings"

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(120), nullable=False)
    level = db.Column(db.Integer, nullable=False)
    opens_at = db.Column(db.DateTime, nullable=False)            # UTC
    closes_at = db.Column(db.DateTime, nullable=False)
    access_code_hash = db.Column(db.String(256))                 # optional: candidates type it to start
    assessor_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False, index=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    published_at = db.Column(db.DateTime)

    assessor = db.relationship("User")
    candidates = db.relationship("SittingCandidate", back_populates="sitting", cascade="all, delete-orphan",
                                 order_by="SittingCandidate.id")

    def is_open(self, now: datetime | None = None) -> bool:
        now = now or utcnow()
        return self.published_at is None and self.opens_at <= now <= self.closes_at


class SittingCandidate(db.Model):
    __tablename__ = "sitting_candidates"
    __table_args__ = (db.UniqueConstraint("sitting_id", "user_id", name="uq_sitting_candidate"),)

    id = db.Column(db.Integer, primary_key=True)
    sitting_id = db.Column(db.Integer, db.ForeignKey("sittings.id", ondelete="CASCADE"), nullable=False, index=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False, index=True)
    theory_attempt_id = db.Column(db.Integer, db.ForeignKey("exam_attempts.id"))
    # [{"type", "scenario_id", "version_id", "weight", "call_id"}] drawn at enrolment
    practical_plan = db.Column(db.JSON, nullable=False, default=list)
    extra_minutes = db.Column(db.Integer, nullable=False, default=0)
    theory_score = db.Column(db.Float)
    practical_score = db.Column(db.Float)
    certified = db.Column(db.Boolean)
    certificate_number = db.Column(db.String(32), unique=True)
    report = db.Column(db.JSON)                                    # frozen at publishing

    sitting = db.relationship("Sitting", back_populates="candidates")
    user = db.relationship("User")


class AuditEntry(db.Model):
    """Every change an assessor makes to a candidate's record: who, when, before, after, why."""
    __tablename__ = "audit_log"

    id = db.Column(db.Integer, primary_key=True)
    at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True)
    actor_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False)
    sitting_id = db.Column(db.Integer, db.ForeignKey("sittings.id"), index=True)
    candidate_user_id = db.Column(db.Integer, db.ForeignKey("users.id"), index=True)
    action = db.Column(db.String(32), nullable=False)      # override | extend_time | reopen | publish | enrol ...
    target = db.Column(db.String(120), nullable=False, default="")   # e.g. "call:<id>/item:opening"
    before = db.Column(db.JSON)
    after = db.Column(db.JSON)
    reason = db.Column(db.Text, nullable=False, default="")

    actor = db.relationship("User", foreign_keys=[actor_id])


class AppealState:
    """An appeal's life: a candidate opens it; the assessor upholds it (with a new score) or rejects it.
    Both answers are final; nothing else moves an appeal."""
    OPEN = "open"
    UPHELD = "upheld"
    REJECTED = "rejected"
    TRANSITIONS = {OPEN: (UPHELD, REJECTED), UPHELD: (), REJECTED: ()}
    LABELS = {OPEN: "待处理", UPHELD: "申诉成立", REJECTED: "申诉驳回"}


class Appeal(db.Model):
    """A candidate's appeal (申诉) against one graded item of a published practical task."""
    __tablename__ = "appeals"
    __table_args__ = (db.UniqueConstraint("call_id", "item_id", name="uq_appeal_call_item"),
                      db.CheckConstraint("state IN ('open', 'upheld', 'rejected')", name="state"))

    id = db.Column(db.Integer, primary_key=True)
    candidate_id = db.Column(db.Integer, db.ForeignKey("sitting_candidates.id", ondelete="CASCADE"), nullable=False,
                             index=True)
    call_id = db.Column(db.String(36), db.ForeignKey("practical_calls.id"), nullable=False)
    item_id = db.Column(db.String(80), nullable=False)
    item_label = db.Column(db.String(200), nullable=False, default="")
    points_before = db.Column(db.Float, nullable=False)
    statement = db.Column(db.Text, nullable=False)                     # the candidate's reasons
    state = db.Column(db.String(16), nullable=False, default=AppealState.OPEN, index=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    answered_at = db.Column(db.DateTime)
    answered_by_id = db.Column(db.Integer, db.ForeignKey("users.id"))
    answer = db.Column(db.Text)                                        # the assessor's reasons
    points_after = db.Column(db.Float)

    candidate = db.relationship("SittingCandidate")
    answered_by = db.relationship("User")

    @property
    def state_label(self) -> str:
        return AppealState.LABELS[self.state]
