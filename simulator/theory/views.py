from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
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


def _own_attempt(attempt_id: int) -> Attempt:
    """The signed-in trainee's attempt; anyone else's is 'not found' rather than 'forbidden'."""
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None or attempt.user_id != current_user.id:
        abort(404)
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
    return render_template("theory/home.html", mock_form=MockStartForm(), practice_form=PracticeStartForm(area=request.args.get("area", "")),
                           history=history, areas=load_blueprints().areas)


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
    try:
        attempt = exam.start_attempt(current_user.id, **choice)
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


@bp.route("/attempts/<int:attempt_id>/answer", methods=["POST"])
@roles_required(Role.TRAINEE)
def answer(attempt_id: int):
    attempt = _own_attempt(attempt_id)
    data = json_object()
    position = int_field(data, "position", required=True, maximum=max(0, len(attempt.paper) - 1))
    response = data.get("response")
    if response is not None and not (isinstance(response, list) and len(response) <= 10
                                     and all(isinstance(x, str) and len(x) <= 8 for x in response)):
        raise InvalidInput("答案格式不正确。")
    try:
        exam.save_answer(attempt, position, response, flagged=data.get("flagged"),
                         seq=int_field(data, "seq", default=0))
    except exam.AttemptClosed as exc:
        return _json_error(exc, 409)
    except exam.ExamError as exc:
        return _json_error(exc, 400)
    return jsonify({"ok": True, **exam.progress(attempt)})


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
