"""Difficulty from data: facility of each item from submitted papers, ``python -m exams difficulty``
relabels items with enough responses, and new papers balance on the measured difficulty."""
from __future__ import annotations

import os

from exams import attempts as exam
from exams import bank_io
from exams.__main__ import main
from exams.analysis import difficulty_of
from exams.models import AttemptAnswer, BankQuestion
from simulator.auth.models import Role
from simulator.extensions import db
from tests.bank_factory import write_bank


def _database_url(app) -> str:
    return os.environ.get("TEST_DATABASE_URL") or app.config["SQLALCHEMY_DATABASE_URI"]


def _wrong(question: BankQuestion) -> list[str]:
    if question.qtype == "judge":
        return ["F"] if list(question.answer) == ["T"] else ["T"]
    return [next(letter for letter in sorted(question.options) if letter not in question.answer)]


def test_facility_thresholds():
    assert [difficulty_of(p) for p in (1.0, 0.8, 0.79, 0.5, 0.49, 0.0)] == [1, 1, 2, 2, 3, 3]


def test_difficulty_command_relabels_only_items_with_enough_responses(app, make_user, tmp_path, capsys):
    bank_io.sync_from_files(db.session, write_bank(tmp_path / "bank"))
    keys = dict(db.session.query(BankQuestion.id, BankQuestion.answer))
    hard = {qid for qid in keys if int(qid.rsplit("-", 1)[1]) % 2}     # odd numbers: always answered wrong
    for n in range(4):
        trainee = make_user(f"d{n}", Role.TRAINEE)
        attempt = exam.start_attempt(db.session, trainee.id, mode="mock", level=5, seed=n)
        for row in attempt.answers:
            row.response = list(keys[row.question_id]) if row.question_id not in hard else _wrong(row.question)
        db.session.commit()
        exam.submit(attempt)
    seen: dict[str, int] = {}
    for (qid,) in db.session.query(AttemptAnswer.question_id):
        seen[qid] = seen.get(qid, 0) + 1
    enough = {qid for qid, n in seen.items() if n >= 2}
    assert enough and set(seen) - enough         # both kinds exist, so the threshold is tested

    assert main(["difficulty", "--database", _database_url(app), "--min-responses", "2"]) == 0
    out = capsys.readouterr().out
    assert f"{len(enough)} item(s) with >= 2 responses" in out and "dry run" in out
    db.session.expire_all()
    assert db.session.query(BankQuestion).filter(BankQuestion.measured_difficulty.isnot(None)).count() == 0

    assert main(["difficulty", "--database", _database_url(app), "--min-responses", "2", "--apply"]) == 0
    db.session.expire_all()
    rows = {r.id: r for r in db.session.query(BankQuestion)}
    for qid, row in rows.items():
        if qid in enough:
            assert (row.facility, row.measured_difficulty) == ((0.0, 3) if qid in hard else (1.0, 1)), qid
        else:
            assert row.measured_difficulty is None and row.facility is None
    # Assembly sees the measured difficulty; a re-import of the bank files keeps it.
    pool = {c.id: c for c in exam.active_pool(db.session)}
    assert all(pool[qid].difficulty == rows[qid].measured_difficulty for qid in enough)
    bank_io.sync_from_files(db.session, tmp_path / "bank")
    assert all(db.session.get(BankQuestion, qid).measured_difficulty is not None for qid in enough)
