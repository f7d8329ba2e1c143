"""Database records of the theory exam: questions, attempts (one paper each) and the answers given."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dbmodel import Base


def utcnow() -> datetime:
    """Naive UTC, as stored; tests move the clock by monkeypatching this function."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class BankQuestion(Base):
    __tablename__ = "exam_questions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # stable, e.g. etiquette-5-001
    area: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    level: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    qtype: Mapped[str] = mapped_column(String(16), nullable=False)
    difficulty: Mapped[int] = mapped_column(Integer, nullable=False, default=2)  # the author's label (bank file)
    # From item analysis (exams.analysis.relabel): share correct, and the difficulty it shows; when
    # set, assembly balances on it instead of the label.
    facility: Mapped[float | None] = mapped_column(Float)
    measured_difficulty: Mapped[int | None] = mapped_column(Integer)
    stem: Mapped[str] = mapped_column(Text, nullable=False)
    # {"A": "...", ...}; {} for judge
    options: Mapped[dict[str, str]] = mapped_column(JSON, nullable=False, default=dict)
    answer: Mapped[list[str]] = mapped_column(JSON, nullable=False)  # ["B"], ["A", "C"], ["T"] / ["F"]
    explanation: Mapped[str] = mapped_column(Text, nullable=False)
    source: Mapped[str] = mapped_column(String(64), nullable=False)
    retired: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, index=True)
    # Enemy group from exams/bank/enemies.yaml (items on one fact): never two of a group on one paper.
    enemy_group: Mapped[str | None] = mapped_column(String(64), index=True)
    # "bank" rows come from exams/bank/*.yaml and follow the files until a trainer edits them.
    origin: Mapped[str] = mapped_column(String(16), nullable=False, default="bank")
    edited_by_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    @property
    def effective_difficulty(self) -> int:
        return self.measured_difficulty or self.difficulty

    @property
    def answer_letters(self) -> tuple[str, ...]:
        return tuple(self.answer)


class Attempt(Base):
    """One candidate's paper: the questions and option orders drawn for them, and the outcome."""
    __tablename__ = "exam_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("users.id"), nullable=False, index=True)
    mode: Mapped[str] = mapped_column(String(16), nullable=False)  # practice | mock | certification
    level: Mapped[int] = mapped_column(Integer, nullable=False)
    area: Mapped[str | None] = mapped_column(String(32))  # practice on one area
    sitting_id: Mapped[int | None] = mapped_column(Integer, index=True)  # certification sittings
    seed: Mapped[int] = mapped_column(BigInteger, nullable=False)
    # [{"q": id, "order": [...], "points": n}]
    paper: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    feedback: Mapped[str] = mapped_column(String(16), nullable=False, default="end")  # immediate | end
    time_limit_minutes: Mapped[int | None] = mapped_column(Integer)  # None: untimed
    extra_minutes: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    pass_mark: Mapped[int] = mapped_column(Integer, nullable=False, default=60)
    multiple_scoring: Mapped[str] = mapped_column(String(24), nullable=False, default="all_or_nothing")
    started_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime)
    submit_reason: Mapped[str | None] = mapped_column(String(16))  # candidate | deadline | assessor
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="in_progress", index=True)
    score: Mapped[float | None] = mapped_column(Float)
    passed: Mapped[bool | None] = mapped_column(Boolean)
    breakdown: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # area -> {earned, possible, correct, total}
    released: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)  # certification: after publishing
    # Unique while in progress, NULL afterwards: at most one active attempt per candidate and
    # sitting (or mode), even when two "start" requests race.
    active_key: Mapped[str | None] = mapped_column(String(64), unique=True)

    answers: Mapped[list[AttemptAnswer]] = relationship(
        "AttemptAnswer", back_populates="attempt", cascade="all, delete-orphan", order_by="AttemptAnswer.position")

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

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(Integer, ForeignKey("exam_attempts.id", ondelete="CASCADE"),
                                            nullable=False, index=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)  # 0-based index in the paper
    question_id: Mapped[str] = mapped_column(String(40), ForeignKey("exam_questions.id"), nullable=False, index=True)
    # original option letters / ["T"] / ["F"]
    response: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    flagged: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # practice: feedback shown, answer locked
    checked: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # Bumped by the server on every change of the response: a page sends the revision it last saw, so
    # an answer from a stale tab (or a PC with a wrong clock) is refused instead of silently winning or
    # losing. The server orders answers; client clocks and counters are never stored.
    revision: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    answered_at: Mapped[datetime | None] = mapped_column(DateTime)
    correct: Mapped[bool | None] = mapped_column(Boolean)
    points: Mapped[float | None] = mapped_column(Float)

    attempt: Mapped[Attempt] = relationship("Attempt", back_populates="answers")
    question: Mapped[BankQuestion] = relationship("BankQuestion")
