"""Database records of the theory exam: questions, attempts (one paper each) and the answers given."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import relationship

from dbmodel import Base


def utcnow() -> datetime:
    """Naive UTC, as stored; tests move the clock by monkeypatching this function."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class BankQuestion(Base):
    __tablename__ = "exam_questions"

    id = Column(String(40), primary_key=True)          # stable, e.g. etiquette-5-001
    area = Column(String(32), nullable=False, index=True)
    level = Column(Integer, nullable=False, index=True)
    qtype = Column(String(16), nullable=False)
    difficulty = Column(Integer, nullable=False, default=2)          # the author's label (bank file)
    # From item analysis (exams.analysis.relabel): share correct, and the difficulty it shows; when
    # set, assembly balances on it instead of the label.
    facility = Column(Float)
    measured_difficulty = Column(Integer)
    stem = Column(Text, nullable=False)
    options = Column(JSON, nullable=False, default=dict)   # {"A": "...", ...}; {} for judge
    answer = Column(JSON, nullable=False)                  # ["B"], ["A", "C"], ["T"] / ["F"]
    explanation = Column(Text, nullable=False)
    source = Column(String(64), nullable=False)
    retired = Column(Boolean, nullable=False, default=False, index=True)
    # Enemy group from exams/bank/enemies.yaml (items on one fact): never two of a group on one paper.
    enemy_group = Column(String(64), index=True)
    # "bank" rows come from exams/bank/*.yaml and follow the files until a trainer edits them.
    origin = Column(String(16), nullable=False, default="bank")
    edited_by_id = Column(Integer, ForeignKey("users.id"))
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)
    version = Column(Integer, nullable=False, default=1)

    @property
    def effective_difficulty(self) -> int:
        return self.measured_difficulty or self.difficulty

    @property
    def answer_letters(self) -> tuple[str, ...]:
        return tuple(self.answer)


class Attempt(Base):
    """One candidate's paper: the questions and option orders drawn for them, and the outcome."""
    __tablename__ = "exam_attempts"

    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("users.id"), nullable=False, index=True)
    mode = Column(String(16), nullable=False)              # practice | mock | certification
    level = Column(Integer, nullable=False)
    area = Column(String(32))                             # practice on one area
    sitting_id = Column(Integer, index=True)              # certification sittings
    seed = Column(BigInteger, nullable=False)
    paper = Column(JSON, nullable=False)                   # [{"q": id, "order": [...], "points": n}]
    feedback = Column(String(16), nullable=False, default="end")   # immediate | end
    time_limit_minutes = Column(Integer)                  # None: untimed
    extra_minutes = Column(Integer, nullable=False, default=0)
    pass_mark = Column(Integer, nullable=False, default=60)
    multiple_scoring = Column(String(24), nullable=False, default="all_or_nothing")
    started_at = Column(DateTime, nullable=False, default=utcnow)
    submitted_at = Column(DateTime)
    submit_reason = Column(String(16))                     # candidate | deadline | assessor
    status = Column(String(16), nullable=False, default="in_progress", index=True)
    score = Column(Float)
    passed = Column(Boolean)
    breakdown = Column(JSON)                               # area -> {earned, possible, correct, total}
    released = Column(Boolean, nullable=False, default=True)  # certification: after publishing
    # Unique while in progress, NULL afterwards: at most one active attempt per candidate and
    # sitting (or mode), even when two "start" requests race.
    active_key = Column(String(64), unique=True)

    answers = relationship("AttemptAnswer", back_populates="attempt", cascade="all, delete-orphan",
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


class AttemptAnswer(Base):
    __tablename__ = "exam_answers"
    __table_args__ = (UniqueConstraint("attempt_id", "position"),)

    id = Column(Integer, primary_key=True)
    attempt_id = Column(Integer, ForeignKey("exam_attempts.id", ondelete="CASCADE"), nullable=False,
                           index=True)
    position = Column(Integer, nullable=False)             # 0-based index in the paper
    question_id = Column(String(40), ForeignKey("exam_questions.id"), nullable=False, index=True)
    response = Column(JSON, nullable=False, default=list)  # original option letters / ["T"] / ["F"]
    flagged = Column(Boolean, nullable=False, default=False)
    checked = Column(Boolean, nullable=False, default=False)  # practice: feedback shown, answer locked
    # Bumped by the server on every change of the response: a page sends the revision it last saw, so
    # an answer from a stale tab (or a PC with a wrong clock) is refused instead of silently winning or
    # losing. The server orders answers; client clocks and counters are never stored.
    revision = Column(Integer, nullable=False, default=0, server_default="0")
    answered_at = Column(DateTime)
    correct = Column(Boolean)
    points = Column(Float)

    attempt = relationship("Attempt", back_populates="answers")
    question = relationship("BankQuestion")
