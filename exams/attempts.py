"""Taking a theory paper: start (or resume), autosave each answer, deadline, submit, score, review.

Everything the candidate's browser may see before the result is released comes from
``paper_for_candidate``, which never includes keys, explanations or scores.

No Flask here: functions that find or create attempts take the caller's SQLAlchemy ``Session`` (the web
app passes ``db.session``); functions given an attempt work in the session that attempt belongs to.
"""
from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session

from . import models
from .assembly import Candidate, PaperItem, assemble, assemble_practice
from .blueprint import BlueprintSet, load_blueprints
from .models import Attempt, AttemptAnswer, BankQuestion
from .question_bank import source_title
from .scoring import score_item, summarize

MODES = ("practice", "mock", "certification")
# Answers that left the browser just before the deadline still count.
GRACE = timedelta(seconds=15)
JUDGE_LETTERS = {"T": "正确", "F": "错误"}


class ExamError(Exception):
    """A refused exam action, with a message for the candidate."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class AttemptClosed(ExamError):
    pass


class InvalidAnswer(ExamError):
    pass


class StaleAnswer(ExamError):
    """The answer was changed elsewhere (another tab or device) since this page last saw it.
    ``current`` is the answer as stored, for the page to show."""

    def __init__(self, message: str, current: dict):
        super().__init__(message)
        self.current = current


_blueprints: BlueprintSet | None = None


def blueprints() -> BlueprintSet:
    global _blueprints
    if _blueprints is None:
        _blueprints = load_blueprints()
    return _blueprints


def session_of(row) -> Session:
    """The session a loaded record belongs to: every change to an attempt happens in it."""
    session = object_session(row)
    if session is None:
        raise ValueError(f"{row!r} is not attached to a session")
    return session


def active_pool(session: Session) -> list[Candidate]:
    rows = session.query(BankQuestion.id, BankQuestion.area, BankQuestion.level, BankQuestion.qtype,
                         BankQuestion.options, BankQuestion.enemy_group, BankQuestion.difficulty,
                         BankQuestion.measured_difficulty).filter(BankQuestion.retired.is_(False)).all()
    return [Candidate(r.id, r.area, r.level, r.qtype, tuple(sorted(r.options or {})), group=r.enemy_group,
                      difficulty=r.measured_difficulty or r.difficulty) for r in rows]


def _active_key(user_id: int, mode: str, sitting_id: int | None) -> str:
    return f"{user_id}:sitting:{sitting_id}" if sitting_id is not None else f"{user_id}:{mode}"


def active_attempt(session: Session, user_id: int, mode: str, sitting_id: int | None = None) -> Attempt | None:
    attempt = session.query(Attempt).filter_by(active_key=_active_key(user_id, mode, sitting_id)).first()
    if attempt is not None and finalize_if_due(attempt):
        return None
    return attempt


def start_attempt(session: Session, user_id: int, *, mode: str, level: int, area: str | None = None, count: int = 20,
                  timed: bool = True, feedback: str = "end", sitting_id: int | None = None,
                  time_limit_minutes: int | None = None, seed: int | None = None) -> Attempt:
    """A new paper, or the candidate's attempt already in progress for the same mode or sitting."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    existing = active_attempt(session, user_id, mode, sitting_id)
    if existing is not None:
        return existing
    blueprint = blueprints()[level]
    seed = seed if seed is not None else random.SystemRandom().randrange(2**62)
    if mode == "practice":
        paper = assemble_practice(active_pool(session), blueprint, seed, count=count, area=area)
        limit = (max(1, round(len(paper) * blueprint.time_limit_minutes / blueprint.total_questions))
                 if timed else None)
    else:
        paper = assemble(active_pool(session), blueprint, seed)
        limit = time_limit_minutes or blueprint.time_limit_minutes
        feedback, area = "end", None
    attempt = Attempt(user_id=user_id, mode=mode, level=level, area=area, sitting_id=sitting_id, seed=seed,
                      paper=[item.to_json() for item in paper], feedback=feedback if mode == "practice" else "end",
                      time_limit_minutes=limit, pass_mark=blueprint.pass_mark,
                      multiple_scoring=blueprint.multiple_scoring, started_at=models.utcnow(),
                      released=mode != "certification", active_key=_active_key(user_id, mode, sitting_id))
    attempt.answers = [AttemptAnswer(position=i, question_id=item.question_id, response=[])
                       for i, item in enumerate(paper)]
    session.add(attempt)
    try:
        session.commit()
    except IntegrityError:   # a second "start" won the race: resume that one
        session.rollback()
        existing = active_attempt(session, user_id, mode, sitting_id)
        if existing is None:
            raise
        return existing
    return attempt


def items(attempt: Attempt) -> list[PaperItem]:
    return [PaperItem.from_json(d) for d in attempt.paper]


def lock_row(row) -> None:
    """Take ``row``'s lock for the rest of the transaction and reload it.

    PostgreSQL: SELECT ... FOR UPDATE. SQLite has no row locks: a no-op UPDATE makes this transaction
    the database's single writer before anything is read (pysqlite only opens a transaction at the
    first write, so reads before it would see a state another writer could change under us)."""
    session = session_of(row)
    model = type(row)
    table = model.__table__
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(table).where(table.c.id == row.id).values(id=table.c.id))
        session.query(model).filter_by(id=row.id).populate_existing().one()
    else:
        session.query(model).filter_by(id=row.id).with_for_update().populate_existing().one()


def lock(attempt: Attempt) -> Attempt:
    """Take the attempt's row lock (``lock_row``), so autosave, submit, the deadline sweeper and
    publishing run one after another on the same paper, never interleaved."""
    lock_row(attempt)
    return attempt


def finalize_if_due(attempt: Attempt, now=None) -> bool:
    """Submit an attempt whose time is up (the browser may be long gone). True if it was submitted."""
    if not attempt.is_open or attempt.deadline is None:
        return False
    now = now or models.utcnow()
    if now <= attempt.deadline + GRACE:
        return False
    lock(attempt)        # then look again: a submit or an extension of time may have come first
    if not attempt.is_open or now <= attempt.deadline + GRACE:
        return False
    submit(attempt, reason="deadline", at=attempt.deadline)
    return True


def finalize_overdue(session: Session, now=None) -> int:
    """Submit every overdue attempt; the server's sweeper calls this periodically."""
    done = 0
    for attempt in session.query(Attempt).filter(Attempt.status == "in_progress",
                                                    Attempt.time_limit_minutes.isnot(None)).all():
        done += finalize_if_due(attempt, now)
        session.commit()         # one paper at a time: never hold one paper's lock while closing the next
    return done


def _ensure_open(attempt: Attempt, now=None) -> None:
    if finalize_if_due(attempt, now):
        raise AttemptClosed("考试时间已到，试卷已自动交卷。")
    if not attempt.is_open:
        raise AttemptClosed("试卷已经交卷，不能再修改答案。")


def _to_bank_letters(item: PaperItem, displayed: list[str]) -> list[str]:
    if item.qtype == "judge":
        if len(displayed) != 1 or not isinstance(displayed[0], str) or displayed[0] not in JUDGE_LETTERS:
            raise InvalidAnswer("判断题请选择“正确”或“错误”。")
        return list(displayed)
    letters = []
    for letter in displayed:
        index = ord(letter) - ord("A") if isinstance(letter, str) and len(letter) == 1 else -1
        if not 0 <= index < len(item.order):
            raise InvalidAnswer(f"选项 {letter!r} 不存在。")
        letters.append(item.order[index])
    if item.qtype == "single" and len(letters) > 1:
        raise InvalidAnswer("单选题只能选择一个选项。")
    return sorted(set(letters))


def _to_displayed(item: PaperItem, bank_letters) -> list[str]:
    if item.qtype == "judge":
        return list(bank_letters)
    return sorted(chr(ord("A") + item.order.index(letter)) for letter in bank_letters if letter in item.order)


def _answer_row(attempt: Attempt, position: int) -> AttemptAnswer:
    # populate_existing: after the lock, the stored row, not what this session loaded earlier.
    row = (session_of(attempt).query(AttemptAnswer).filter_by(attempt_id=attempt.id, position=position)
           .populate_existing().first())
    if row is None:
        raise InvalidAnswer("题号不存在。")
    return row


def answer_state(item: PaperItem, row: AttemptAnswer) -> dict:
    """One answer as the page shows it: displayed letters, flag, and the revision to send back."""
    return {"position": row.position, "response": _to_displayed(item, row.response), "flagged": row.flagged,
            "revision": row.revision}


def save_answer(attempt: Attempt, position: int, displayed: list[str] | None = None, *,
                flagged: bool | None = None, base: int | None = None, now=None) -> dict:
    """Store one answer as it is given, and return its stored state.

    ``base`` is the revision of this answer the page last saw. The server bumps the revision on every
    change of the response, so an answer written from an older view (a second tab, a page with a stale
    copy) is refused with ``StaleAnswer`` instead of overwriting an answer its author never saw; a
    resend of exactly what is stored (a retry whose first reply was lost) is simply acknowledged.
    ``base=None`` (trusted callers: scripts, tests of scoring) writes unconditionally. The flag is the
    candidate's own marker and follows the latest request."""
    if not isinstance(position, int) or isinstance(position, bool) or not 0 <= position < len(attempt.paper):
        raise InvalidAnswer("题号不存在。")
    if displayed is not None and not isinstance(displayed, list):
        raise InvalidAnswer("答案格式不正确。")
    if base is not None and (not isinstance(base, int) or isinstance(base, bool) or base < 0):
        raise InvalidAnswer("答案版本号不正确。")
    lock(attempt)
    try:
        return _save_locked(attempt, position, displayed, flagged, base, now)
    except ExamError:
        session_of(attempt).rollback()       # release the lock now, not at the end of the request
        raise


def _save_locked(attempt: Attempt, position: int, displayed, flagged, base, now) -> dict:
    _ensure_open(attempt, now)
    item = PaperItem.from_json(attempt.paper[position])
    row = _answer_row(attempt, position)
    if displayed is not None:
        wanted = _to_bank_letters(item, displayed) if displayed else []
        if row.checked and wanted != row.response:
            raise InvalidAnswer("这道题已经查看过解析，答案不能再改。")
        if base is not None and base < row.revision and wanted != row.response:
            current = answer_state(item, row)
            raise StaleAnswer(_stale_message(item, current), current)
        if wanted != row.response:
            row.response = wanted
            row.revision += 1
            row.answered_at = now or models.utcnow()
    if flagged is not None:
        row.flagged = bool(flagged)
    state = answer_state(item, row)
    session_of(attempt).commit()
    return state


def _stale_message(item: PaperItem, current: dict) -> str:
    letters = current["response"]
    shown = ("、".join(JUDGE_LETTERS[x] for x in letters) if item.qtype == "judge" else "".join(letters)) or "未作答"
    return f"此题已在另一窗口修改为“{shown}”，已按最新答案显示。如需更改，请重新作答。"


def check_item(attempt: Attempt, position: int) -> dict:
    """Practice with immediate feedback: lock the answer and reveal this question's key and why."""
    if attempt.mode != "practice" or attempt.feedback != "immediate":
        raise ExamError("本次练习不提供逐题解析。")
    lock(attempt)
    _ensure_open(attempt)
    row = _answer_row(attempt, position)
    if not row.response:
        raise InvalidAnswer("请先作答再查看解析。")
    item = PaperItem.from_json(attempt.paper[position])
    session = session_of(attempt)
    question = session.get(BankQuestion, item.question_id)
    # A paper's questions are bank rows: its answers hold a foreign key to them.
    assert question is not None, f"question {item.question_id} of the paper is not in the bank"
    result = score_item(item.qtype, question.answer, row.response, item.points, attempt.multiple_scoring)
    row.checked, row.correct, row.points = True, result.correct, result.earned
    session.commit()
    return _feedback(item, question, row)


def _feedback(item: PaperItem, question: BankQuestion, row: AttemptAnswer) -> dict:
    key_text = _display_answer(item, question.answer)
    chosen = _display_answer(item, row.response) or "未作答"
    # Spelled out as choice, key and mark: for 判断 a bare "正确/错误" verdict reads like the key.
    summary = f"你选：{chosen} · 答案：{key_text} · {'✓' if row.correct else '✗'}"
    return {"position": row.position, "correct": bool(row.correct),
            "key": _to_displayed(item, question.answer), "key_text": key_text, "summary": summary,
            "explanation": question.explanation, "source": source_title(question.source)}


def _display_answer(item: PaperItem, bank_letters) -> str:
    if item.qtype == "judge":
        return "、".join(JUDGE_LETTERS[x] for x in bank_letters)
    return "".join(_to_displayed(item, bank_letters))


def submit(attempt: Attempt, *, reason: str = "candidate", at=None, commit: bool = True) -> Attempt:
    """Score and close the attempt. Submitting twice is harmless: the first submission stands.

    Under the attempt's lock: every answer acknowledged before is scored, and no answer is
    acknowledged after (autosave takes the same lock and then finds the paper closed). ``commit=False``
    lets publishing close many papers in its own single transaction."""
    lock(attempt)
    if not attempt.is_open:
        return attempt
    session = session_of(attempt)
    questions = _questions(attempt)
    rows = {r.position: r for r in session.query(AttemptAnswer).filter_by(attempt_id=attempt.id)
            .populate_existing()}
    scored = []
    for position, item in enumerate(items(attempt)):
        row = rows[position]
        result = score_item(item.qtype, questions[item.question_id].answer, row.response, item.points,
                            attempt.multiple_scoring)
        row.correct, row.points = result.correct, result.earned
        scored.append((item.area, item.points, result))
    outcome = summarize(scored, attempt.pass_mark)
    attempt.score, attempt.passed, attempt.breakdown = outcome["score"], outcome["passed"], outcome["breakdown"]
    attempt.status, attempt.submit_reason = "submitted", reason
    attempt.submitted_at = at or models.utcnow()
    attempt.active_key = None
    if commit:
        session.commit()
    return attempt


def reopen(attempt: Attempt, *, extra_minutes: int) -> Attempt:
    """An assessor lets a candidate continue a submitted certification paper (answers kept), giving
    ``extra_minutes`` from now on top of the original limit."""
    lock(attempt)
    if attempt.is_open:
        return attempt
    elapsed = (models.utcnow() - attempt.started_at).total_seconds() / 60
    attempt.extra_minutes = max(attempt.extra_minutes,
                                int(elapsed - (attempt.time_limit_minutes or 0)) + 1 + extra_minutes)
    attempt.status, attempt.submitted_at, attempt.submit_reason = "in_progress", None, None
    attempt.score = attempt.passed = attempt.breakdown = None
    attempt.active_key = _active_key(attempt.user_id, attempt.mode, attempt.sitting_id)
    session_of(attempt).commit()
    return attempt


def _questions(attempt: Attempt) -> dict[str, BankQuestion]:
    return {q.id: q for q in session_of(attempt).query(BankQuestion).filter(
        BankQuestion.id.in_([d["q"] for d in attempt.paper])).all()}


def paper_for_candidate(attempt: Attempt) -> list[dict]:
    """The paper as the candidate sees it: stems, options in their shuffled order, the answers given.
    No keys, explanations or scores, except the feedback of practice items already checked."""
    questions = _questions(attempt)
    rows = {r.position: r for r in attempt.answers}
    view = []
    for position, item in enumerate(items(attempt)):
        question, row = questions[item.question_id], rows[position]
        options = ([(letter, JUDGE_LETTERS[letter]) for letter in ("T", "F")] if item.qtype == "judge" else
                   [(chr(ord("A") + i), question.options[letter]) for i, letter in enumerate(item.order)])
        entry = {"position": position, "number": position + 1, "type": item.qtype, "area": item.area,
                 "points": item.points, "stem": question.stem, "options": options,
                 "response": _to_displayed(item, row.response), "flagged": row.flagged, "checked": row.checked,
                 "revision": row.revision}
        if row.checked:
            entry["feedback"] = _feedback(item, question, row)
        view.append(entry)
    return view


def review(attempt: Attempt) -> list[dict]:
    """After submission (and release): each question with the key, the candidate's answer and why."""
    if attempt.is_open or not attempt.released:
        raise ExamError("成绩尚未发布。")
    entries = paper_for_candidate(attempt)
    questions = _questions(attempt)
    rows = {r.position: r for r in attempt.answers}
    for entry, item in zip(entries, items(attempt), strict=True):
        entry["feedback"] = _feedback(item, questions[item.question_id], rows[entry["position"]])
    return entries


def progress(attempt: Attempt) -> dict:
    answered = sum(1 for r in attempt.answers if r.response)
    return {"answered": answered, "total": len(attempt.paper),
            "flagged": sum(1 for r in attempt.answers if r.flagged),
            "seconds_left": attempt.seconds_left(), "status": attempt.status}
