"""The theory-exam domain package runs without the web app: it imports without Flask and takes a plain
SQLAlchemy session (on SQLite and on PostgreSQL)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, insert, select
from sqlalchemy.orm import Session, configure_mappers

from dbmodel import Base
from exams import attempts, bank_io
from exams.analysis import bank_item_stats
from exams.models import Attempt, AttemptAnswer, BankQuestion
from tests.bank_factory import write_bank

ROOT = Path(__file__).resolve().parent.parent


def test_domain_modules_import_without_flask_or_the_web_package():
    code = ("import json, sys\n"
            "import exams.attempts, exams.models, exams.bank_io, exams.analysis\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('flask', 'flask_sqlalchemy', 'flask_login', 'werkzeug', 'simulator'))))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_exam_tables_and_web_tables_share_one_metadata():
    import simulator.sittings.models  # noqa: F401  (refers to exam_attempts)
    from simulator.extensions import db

    assert db.metadata is Base.metadata
    configure_mappers()     # relationships by class name resolve across db.Model and Base
    assert {"exam_questions", "exam_attempts", "exam_answers", "users", "sittings"} <= set(Base.metadata.tables)


def _engine(database: str, tmp_path: Path):
    if database == "postgresql":     # a fresh clone of the migrated template (conftest)
        return create_engine(os.environ["TEST_DATABASE_URL"])
    engine = create_engine(f"sqlite:///{tmp_path / 'plain.sqlite3'}")
    # The exam tables refer to users.id: the accounts table must be in the metadata to create them.
    import simulator.auth.models  # noqa: F401

    Base.metadata.create_all(engine)
    return engine


def test_a_paper_taken_and_scored_with_a_plain_session(database, tmp_path):
    engine = _engine(database, tmp_path)
    users = Base.metadata.tables["users"]
    with Session(engine) as session:
        user_id = session.execute(insert(users).values(
            username="plain", display_name="plain", role="trainee", organisation="", password_hash="x",
            active=True, must_change_password=False, session_version=1).returning(users.c.id)).scalar_one()
        session.commit()
        report = bank_io.sync_from_files(session, write_bank(tmp_path / "bank"))
        assert report.added and not report.updated
        attempt = attempts.start_attempt(session, user_id, mode="mock", level=5, seed=3)
        keys = {q.id: q.answer for q in session.scalars(select(BankQuestion))}
        paper = attempts.items(attempt)
        # Answer all but the first item correctly, in the displayed letters a browser would send.
        for position, item in enumerate(paper[1:], start=1):
            shown = keys[item.question_id] if item.qtype == "judge" else sorted(
                chr(ord("A") + item.order.index(letter)) for letter in keys[item.question_id])
            attempts.save_answer(attempt, position, shown)
        assert attempts.start_attempt(session, user_id, mode="mock", level=5) is attempt   # resumed
        attempts.submit(attempt)
        expected = 100 - paper[0].points
        assert attempt.score == expected and attempt.status == "submitted"

    with Session(engine) as fresh:    # durable: a new session reads what the first committed
        stored = fresh.get(Attempt, attempt.id)
        assert stored.score == expected
        assert fresh.scalar(select(AttemptAnswer.correct).filter_by(attempt_id=stored.id, position=0)) is False
        stats = bank_item_stats(fresh)
        assert stats[paper[0].question_id].facility == 0.0
        assert stats[paper[1].question_id].facility == 1.0
    engine.dispose()
