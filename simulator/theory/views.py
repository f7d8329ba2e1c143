from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from exams import LEVEL_NAMES, PaperError, load_blueprints
from exams import attempts as exam
from exams.models import Attempt

from ..auth.access import roles_required
from ..auth.models import Role
from ..extensions import db
from ..jsonio import InvalidInput, int_field, json_object
from .forms import MockStartForm, PracticeStartForm, SubmitPaperForm

bp = Blueprint("theory", __name__, url_prefix="/theory")
MODE_LABELS = {"practice": "练习", "mock": "模拟考试", "certification": "正式鉴定"}


def _locked_out() -> str | None:
    """Closed book: while the trainee has an open certification, the message refusing practice."""
    from ..sittings import service as sittings
    sitting = sittings.open_certification_for(current_user)
    return sittings.lockdown_message(sitting) if sitting is not None else None


_API = {"theory.answer", "theory.check", "theory.state"}


def _refuse(message: str):
    if request.is_json or request.accept_mimetypes.best == "application/json" or request.endpoint in _API:
        abort(make_response(jsonify({"ok": False, "error": message, "lockdown": True}), 403))
    abort(make_response(render_template("error.html", code=403, title="正式鉴定进行中", message=message), 403))


def _own_attempt(attempt_id: int) -> Attempt:
    """The signed-in trainee's attempt; anyone else's is 'not found' rather than 'forbidden'.
    Practice and mock papers (their pages, answers, feedback and results) are closed while the trainee
    sits a certification: the same bank would give the live paper's keys away."""
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None or attempt.user_id != current_user.id:
        abort(404)
    if attempt.mode != "certification":
        message = _locked_out()
        if message:
            _refuse(message)
    return attempt


@bp.app_context_processor
def _labels():
    return {"MODE_LABELS": MODE_LABELS, "LEVEL_NAMES": LEVEL_NAMES}


@bp.route("/")
@roles_required(Role.TRAINEE)
def home():
    history = (db.session.query(Attempt).filter_by(user_id=current_user.id)
               .order_by(Attempt.started_at.desc()).limit(100).all())
    for attempt in history:
        exam.finalize_if_due(attempt)
    practice_form = PracticeStartForm(area=request.args.get("area", ""))
    return render_template("theory/home.html", mock_form=MockStartForm(), practice_form=practice_form,
                           history=history, areas=load_blueprints().areas, lockdown=_locked_out())


@bp.route("/start/mock", methods=["POST"])
@roles_required(Role.TRAINEE)
def start_mock():
    form = MockStartForm()
    if not form.validate_on_submit():
        flash("请选择鉴定等级。", "error")
        return redirect(url_for(".home"))
    return _start(mode="mock", level=int(form.level.data))


@bp.route("/start/practice", methods=["POST"])
@roles_required(Role.TRAINEE)
def start_practice():
    form = PracticeStartForm()
    if not form.validate_on_submit():
        flash("；".join(e for errors in form.errors.values() for e in errors), "error")
        return redirect(url_for(".home"))
    return _start(mode="practice", level=int(form.level.data), area=form.area.data or None,
                  count=form.count.data, timed=form.timed.data, feedback=form.feedback.data)


def _start(**choice):
    message = _locked_out()
    if message:
        _refuse(message)
    try:
        attempt = exam.start_attempt(db.session, current_user.id, **choice)
    except PaperError as exc:
        flash(f"题库暂时无法组卷：{exc}", "error")
        return redirect(url_for(".home"))
    return redirect(url_for(".take", attempt_id=attempt.id))


@bp.route("/attempts/<int:attempt_id>")
@roles_required(Role.TRAINEE)
def take(attempt_id: int):
    attempt = _own_attempt(attempt_id)
    exam.finalize_if_due(attempt)
    if not attempt.is_open:
        return redirect(url_for(".result", attempt_id=attempt.id))
    return render_template("theory/attempt.html", attempt=attempt, paper=exam.paper_for_candidate(attempt),
                           progress=exam.progress(attempt), submit_form=SubmitPaperForm(),
                           areas=load_blueprints().areas, types=load_blueprints().types)


def _json_error(exc: exam.ExamError, status: int):
    return jsonify({"ok": False, "error": exc.message, "closed": isinstance(exc, exam.AttemptClosed)}), status


def _optional(data: dict, key: str, kind, message: str):
    value = data.get(key)
    if value is not None and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
        raise exam.InvalidAnswer(message)
    return value


@bp.route("/attempts/<int:attempt_id>/answer", methods=["POST"])
@roles_required(Role.TRAINEE)
def answer(attempt_id: int):
    """Autosave one answer. The page sends ``base``, the revision of this answer it last saw; an answer
    changed elsewhere since is refused with 409 and the stored answer, for the page to show."""
    attempt = _own_attempt(attempt_id)
    data = json_object()
    position = int_field(data, "position", required=True, maximum=max(0, len(attempt.paper) - 1))
    response = data.get("response")
    if response is not None and not (isinstance(response, list) and len(response) <= 10
                                     and all(isinstance(x, str) and len(x) <= 8 for x in response)):
        raise InvalidInput("答案格式不正确。")
    try:
        flagged = _optional(data, "flagged", bool, "标记格式不正确。")
        base = int_field(data, "base")
        int_field(data, "seq")        # an older page's counter: no longer used, but must be a number
        saved = exam.save_answer(attempt, position, response, flagged=flagged, base=base)
    except exam.StaleAnswer as exc:
        return jsonify({"ok": False, "stale": True, "closed": False, "error": exc.message,
                        "current": exc.current}), 409
    except exam.AttemptClosed as exc:
        return _json_error(exc, 409)
    except exam.ExamError as exc:
        return _json_error(exc, 400)
    return jsonify({"ok": True, "answer": saved, **exam.progress(attempt)})


@bp.route("/attempts/<int:attempt_id>/check", methods=["POST"])
@roles_required(Role.TRAINEE)
def check(attempt_id: int):
    attempt = _own_attempt(attempt_id)
    position = int_field(json_object(), "position", required=True, maximum=max(0, len(attempt.paper) - 1))
    try:
        feedback = exam.check_item(attempt, position)
    except exam.AttemptClosed as exc:
        return _json_error(exc, 409)
    except exam.ExamError as exc:
        return _json_error(exc, 400)
    return jsonify({"ok": True, "feedback": feedback})


@bp.route("/attempts/<int:attempt_id>/state")
@roles_required(Role.TRAINEE)
def state(attempt_id: int):
    attempt = _own_attempt(attempt_id)
    exam.finalize_if_due(attempt)
    return jsonify({"ok": True, **exam.progress(attempt)})


@bp.route("/attempts/<int:attempt_id>/submit", methods=["POST"])
@roles_required(Role.TRAINEE)
def submit(attempt_id: int):
    attempt = _own_attempt(attempt_id)
    if SubmitPaperForm().validate_on_submit():
        if not exam.finalize_if_due(attempt):
            exam.submit(attempt, reason="candidate")
    else:
        abort(400)
    return redirect(url_for(".result", attempt_id=attempt.id))


@bp.route("/attempts/<int:attempt_id>/result")
@roles_required(Role.TRAINEE)
def result(attempt_id: int):
    attempt = _own_attempt(attempt_id)
    exam.finalize_if_due(attempt)
    if attempt.is_open:
        return redirect(url_for(".take", attempt_id=attempt.id))
    review = exam.review(attempt) if attempt.released else None
    return render_template("theory/result.html", attempt=attempt, review=review,
                           areas=load_blueprints().areas, types=load_blueprints().types)
