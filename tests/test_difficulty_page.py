"""Difficulty re-labelled from the item-analysis page: a preview of what the facility shows, a confirm
POST (CSRF, trainer/admin only) that stores it and writes who did it to the audit log, and the items
left alone because too few candidates answered them."""
from __future__ import annotations

import re

from exams import attempts as exam
from exams import bank_io
from exams.models import AttemptAnswer, BankQuestion
from simulator.auth.models import Role
from simulator.extensions import db
from simulator.sittings.models import AuditEntry
from tests.bank_factory import write_bank
from tests.conftest import PASSWORD
from tests.helpers import login, submit

PREVIEW = "/bank/analysis/difficulty"


def _wrong(question: BankQuestion) -> list[str]:
    if question.qtype == "judge":
        return ["F"] if list(question.answer) == ["T"] else ["T"]
    return [next(letter for letter in sorted(question.options) if letter not in question.answer)]


def _submit_papers(make_user, numbers, hard: set[str], *, all_wrong: bool = False) -> None:
    keys = dict(db.session.query(BankQuestion.id, BankQuestion.answer))
    for n in numbers:
        trainee = make_user(f"d{n}", Role.TRAINEE)
        attempt = exam.start_attempt(db.session, trainee.id, mode="mock", level=5, seed=n)
        for row in attempt.answers:
            right = row.question_id not in hard and not all_wrong
            row.response = list(keys[row.question_id]) if right else _wrong(row.question)
        db.session.commit()
        exam.submit(attempt)


def _answered_papers(make_user, tmp_path) -> tuple[set[str], set[str]]:
    """Four submitted mock papers: odd-numbered items always wrong, the rest always right. Returns the
    items answered at least twice and the hard (odd) ones."""
    bank_io.sync_from_files(db.session, write_bank(tmp_path / "bank"))
    hard = {qid for (qid,) in db.session.query(BankQuestion.id) if int(qid.rsplit("-", 1)[1]) % 2}
    _submit_papers(make_user, range(4), hard)
    seen: dict[str, int] = {}
    for (qid,) in db.session.query(AttemptAnswer.question_id):
        seen[qid] = seen.get(qid, 0) + 1
    enough = {qid for qid, n in seen.items() if n >= 2}
    assert enough and set(seen) - enough        # both kinds exist, so the threshold is tested
    return enough, hard


def _client(app, username: str):
    client = app.test_client()
    assert login(client, username, PASSWORD).status_code in (200, 302)
    return client


def _basis(client) -> str:
    """The preview's fingerprint, as the confirm form on the preview page carries it."""
    page = client.get(PREVIEW).get_data(as_text=True)
    field = re.search(r'<input[^>]*name="basis"[^>]*>', page).group(0)
    return re.search(r'value="([^"]+)"', field).group(1)


def _rows(html: str, testid: str) -> dict[str, list[str]]:
    table = re.search(rf'data-testid="{testid}".*?</table>', html, re.S).group(0)
    out = {}
    for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)[1:]:
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
        out[cells[0]] = cells
    return out


def test_preview_then_confirm_relabels_and_audits(app, users, make_user, tmp_path):
    app.config["DIFFICULTY_MIN_RESPONSES"] = 2
    enough, hard = _answered_papers(make_user, tmp_path)
    trainer = _client(app, "trainer1")
    assert 'data-testid="relabel-link"' in trainer.get("/bank/analysis").get_data(as_text=True)

    page = trainer.get(PREVIEW).get_data(as_text=True)
    preview = _rows(page, "relabel-preview")
    assert set(preview) == enough
    for qid, (_, _, current, facility, proposed, responses) in preview.items():
        label = db.session.get(BankQuestion, qid).difficulty
        assert current.startswith(str(label)) and "命题人标注" in current
        assert facility == ("0.00" if qid in hard else "1.00")
        assert proposed.startswith("3" if qid in hard else "1")
        assert int(responses) >= 2
    too_few = _rows(page, "relabel-too-few")
    assert too_few and not set(too_few) & enough
    assert all(cells[1] == "1" and "少于 2 人" in cells[3] for cells in too_few.values())
    # Looking changes nothing.
    assert db.session.query(BankQuestion).filter(BankQuestion.measured_difficulty.isnot(None)).count() == 0

    resp = submit(trainer, PREVIEW, {"basis": _basis(trainer)}, follow_redirects=True)
    assert resp.status_code == 200 and f"已按作答数据标定 {len(enough)} 道题的难度" in resp.get_data(as_text=True)
    db.session.expire_all()
    for row in db.session.query(BankQuestion):
        if row.id in enough:
            assert row.measured_difficulty == (3 if row.id in hard else 1), row.id
        else:
            assert row.measured_difficulty is None, row.id
    entry = db.session.query(AuditEntry).filter_by(action="relabel_difficulty").one()
    assert entry.actor_id == users[Role.TRAINER].id and set(entry.after) == enough
    assert all(entry.after[q] == (3 if q in hard else 1) for q in enough)
    # A bank-file question re-labelled from data still follows the files (its edited_by_id is untouched).
    assert all(db.session.get(BankQuestion, q).edited_by_id is None for q in enough)
    # The page says who re-labelled and when; a second look shows nothing left to change.
    page = trainer.get(PREVIEW).get_data(as_text=True)
    assert "trainer1" in re.search(r'data-testid="last-relabel">(.*?)</p>', page, re.S).group(1)
    assert "其中 0 道难度改变" in page


def test_relabel_needs_trainer_or_admin_and_a_csrf_token(app, users, make_user, tmp_path):
    app.config["DIFFICULTY_MIN_RESPONSES"] = 2
    _answered_papers(make_user, tmp_path)
    assessor = _client(app, "assessor1")
    assert 'data-testid="relabel-link"' not in assessor.get("/bank/analysis").get_data(as_text=True)
    assert assessor.get(PREVIEW).status_code == 403
    assert assessor.post(PREVIEW, data={}).status_code in (400, 403)
    assert _client(app, "trainee1").get(PREVIEW).status_code == 403

    trainer = _client(app, "trainer1")
    resp = trainer.post(PREVIEW, data={})              # no CSRF token
    assert resp.status_code == 400 and "<html" in resp.get_data(as_text=True).lower()
    assert re.search(r"[\u4e00-\u9fff]", resp.get_data(as_text=True))
    db.session.expire_all()
    assert db.session.query(BankQuestion).filter(BankQuestion.measured_difficulty.isnot(None)).count() == 0
    assert db.session.query(AuditEntry).filter_by(action="relabel_difficulty").count() == 0

    admin = _client(app, "admin1")
    assert submit(admin, PREVIEW, {"basis": _basis(admin)}).status_code == 302
    assert db.session.query(AuditEntry).filter_by(action="relabel_difficulty").one().actor_id == users[Role.ADMIN].id


def test_items_with_too_few_responses_are_listed_and_kept(app, users, make_user, tmp_path):
    app.config["DIFFICULTY_MIN_RESPONSES"] = 30      # the default: four papers are far too few
    _answered_papers(make_user, tmp_path)
    trainer = _client(app, "trainer1")
    page = trainer.get(PREVIEW).get_data(as_text=True)
    assert 'data-testid="relabel-none"' in page and 'data-testid="relabel-form"' not in page
    assert all("少于 30 人" in cells[3] for cells in _rows(page, "relabel-too-few").values())
    assert submit(trainer, PREVIEW, {}, form_url="/bank/analysis").status_code == 400      # no preview named
    resp = submit(trainer, PREVIEW, {"basis": "0"}, form_url="/bank/analysis", follow_redirects=True)
    assert "难度未改变" in resp.get_data(as_text=True)
    assert db.session.query(AuditEntry).filter_by(action="relabel_difficulty").count() == 0


def test_papers_submitted_after_the_preview_stop_the_confirm(app, users, make_user, tmp_path):
    app.config["DIFFICULTY_MIN_RESPONSES"] = 2
    enough, hard = _answered_papers(make_user, tmp_path)
    trainer = _client(app, "trainer1")
    seen = _basis(trainer)
    _submit_papers(make_user, range(4, 8), hard, all_wrong=True)      # the facility of every item moves
    resp = submit(trainer, PREVIEW, {"basis": seen}, follow_redirects=True)
    assert "预览之后又有答卷提交" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.query(BankQuestion).filter(BankQuestion.measured_difficulty.isnot(None)).count() == 0
    assert db.session.query(AuditEntry).filter_by(action="relabel_difficulty").count() == 0
    # Confirming the new preview applies it.
    assert submit(trainer, PREVIEW, {"basis": _basis(trainer)}).status_code == 302
    assert db.session.query(AuditEntry).filter_by(action="relabel_difficulty").count() == 1
