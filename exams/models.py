"""Database records of the theory exam: questions, attempts (one paper each) and the answers given."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from simulator.extensions import db


def utcnow() -> datetime:
    """Naive UTC, as stored; tests move the clock by monkeypatching this function."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class BankQuestion(db.Model):
    __tablename__ = "exam_questions"

    id = db.Column(db.String(40), primary_key=True)          # stable, e.g. etiquette-5-001
    area = db.Column(db.String(32), nullable=False, index=True)
    level = db.Column(db.Integer, nullable=False, index=True)
    qtype = db.Column(db.String(16), nullable=False)
    difficulty = db.Column(db.Integer, nullable=False, default=2)
    stem = db.Column(db.Text, nullable=False)
    options = db.Column(db.JSON, nullable=False, default=dict)   # {"A": "...", ...}; {} for judge
    answer = db.Column(db.JSON, nullable=False)                  # ["B"], ["A", "C"], ["T"] / ["F"]
    explanation = db.Column(db.Text, nullable=False)
    source = db.Column(db.String(64), nullable=False)
    retired = db.Column(db.Boolean, nullable=False, default=False, index=True)
    # "bank" rows come from exams/bank/*.yaml and follow the files until a trainer edits them.
    origin = db.Column(db.String(16), nullable=False, default="bank")
    edited_by_id = db.Column(db.Integer, db.ForeignKey("users.id"))
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow, onupdate=utcnow)
    version = db.Column(db.Integer, nullable=False, default=1)

    @property
    def answer_letters(self) -> tuple[str, ...]:
        return tuple(self.answer)


class Attempt(db.Model):
    """One candidate's paper: the questions and option orders drawn for them, and the outcome."""
    __tablename__ = "exam_attempts"

    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False, index=True)
    mode = db.Column(db.String(16), nullable=False)              # practice | mock | certification
    level = db.Column(db.Integer, nullable=False)
    area = db.Column(db.String(32))                             # practice on one area
    sitting_id = db.Column(db.Integer, index=True)              # certification sittings
    seed = db.Column(db.BigInteger, nullable=False)
    paper = db.Column(db.JSON, nullable=False)                   # [{"q": id, "order": [...], "points": n}]
    feedback = db.Column(db.String(16), nullable=False, default="end")   # immediate | end
    time_limit_minutes = db.Column(db.Integer)                  # None: untimed
    extra_minutes = db.Column(db.Integer, nullable=False, default=0)
    pass_mark = db.Column(db.Integer, nullable=False, default=60)
    multiple_scoring = db.Column(db.String(24), nullable=False, default="all_or_nothing")
    started_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    submitted_at = db.Column(db.DateTime)
    submit_reason = db.Column(db.String(16))                     # candidate | deadline | assessor
    status = db.Column(db.String(16), nullable=False, default="in_progress", index=True)
    score = db.Column(db.Float)
    passed = db.Column(db.Boolean)
    breakdown = db.Column(db.JSON)                               # area -> {earned, possible, correct, total}
    released = db.Column(db.Boolean, nullable=False, default=True)  # certification: after publishing
    # Unique while in progress, NULL afterwards: at most one active attempt per candidate and
    # sitting (or mode), even when two "start" requests race.
    active_key = db.Column(db.String(64), unique=True)

    user = db.relationship("User")
    answers = db.relationship("AttemptAnswer", back_populates="attempt", cascade="all, delete-orphan",
                              order_by="AttemptAnswer.position")

    @property
    def deadline(self) -> datetime | None:
        if self.time_limit_minutes is None:
            return None
        return self.started_at + timedelta(minutes=self.time_limit_minutes + (self.extra_minutes or 0))

    @property
    def is_open(self) -> bool:
        return self.status == "in_progress"

    def seconds_left(self, now: datetime | None = None) -> int | None:
        if self.deadline is None:
            return None
        now = now or utcnow()
        return max(0, int((self.deadline - now).total_seconds()))


class AttemptAnswer(db.Model):
    __tablename__ = "exam_answers"
    __table_args__ = (db.UniqueConstraint("attempt_id", "position"),)

    id = db.Column(db.Integer, primary_key=True)
    attempt_id = db.Column(db.Integer, db.ForeignKey("exam_attempts.id", ondelete="CASCADE"), nullable=False,
                           index=True)
    position = db.Column(db.Integer, nullable=False)             # 0-based index in the paper
    question_id = db.Column(db.String(40), db.ForeignKey("exam_questions.id"), nullable=False, index=True)
    response = db.Column(db.JSON, nullable=False, default=list)  # original option letters / ["T"] / ["F"]
    flagged = db.Column(db.Boolean, nullable=False, default=False)
    checked = db.Column(db.Boolean, nullable=False, default=False)  # practice: feedback shown, answer locked
    # Bumped by the server on every change of the response: a page sends the revision it last saw, so
    # an answer from a stale tab (or a PC with a wrong clock) is refused instead of silently winning or
    # losing. The server orders answers; client clocks and counters are never stored.
    revision = db.Column(db.Integer, nullable=False, default=0, server_default="0")
    answered_at = db.Column(db.DateTime)
    correct = db.Column(db.Boolean)
    points = db.Column(db.Float)

    attempt = db.relationship("Attempt", back_populates="answers")
    question = db.relationship("BankQuestion")
