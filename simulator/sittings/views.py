"""Certification sittings in the browser: assessors create, enrol, proctor, review, override, publish
and export; candidates take their sitting and see published results; anyone verifies a certificate."""
from __future__ import annotations

import io
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from grading.rubric.totals import DECISION_LABELS

from ..auth.access import public, roles_required
from ..auth.models import Role, User
from ..extensions import db
from ..forms import ConfirmForm
from ..labels import LEVEL_NAMES
from ..localtime import localtime, zone_label
from ..practical.models import PracticalCall
from . import admission, pdf, service
from . import audit as audit_log
from .forms import (
    AccessForm,
    AppealAnswerForm,
    AppealForm,
    EnrolForm,
    OverrideForm,
    ReasonForm,
    RosterForm,
    SittingForm,
    TimeForm,
)
from .models import Appeal, AppealState, AuditEntry, Sitting, SittingCandidate, utcnow

bp = Blueprint("sittings", __name__)
bp.before_app_request(admission.enforce_access_code)
ASSESSING = (Role.ASSESSOR, Role.ADMIN)

def _sitting(sitting_id: int) -> Sitting:
    """A sitting the signed-in assessor runs (admins: any); others get 404."""
    sitting = db.session.get(Sitting, sitting_id)
    if sitting is None or (current_user.role != Role.ADMIN.value and sitting.assessor_id != current_user.id):
        abort(404)
    return sitting


def _candidate(sitting: Sitting, candidate_id: int) -> SittingCandidate:
    candidate = db.session.get(SittingCandidate, candidate_id)
    if candidate is None or candidate.sitting_id != sitting.id:
        abort(404)
    return candidate


# ---- assessors ---------------------------------------------------------------------------------------

@bp.route("/sittings/")
@roles_required(*ASSESSING)
def index():
    return render_template("sittings/index.html", sittings=service.visible_sittings(current_user).all(),
                           LEVEL_NAMES=LEVEL_NAMES)


@bp.route("/sittings/new", methods=["GET", "POST"])
@roles_required(*ASSESSING)
def new():
    form = SittingForm()
    if request.method == "GET":
        form.opens_at.data, form.closes_at.data = service.default_window()
    if form.validate_on_submit():
        try:
            sitting = service.create_sitting(current_user, name=form.name.data, level=int(form.level.data),
                                             opens_at=form.opens_at.data, closes_at=form.closes_at.data,
                                             access_code=form.access_code.data or "")
        except service.SittingError as exc:
            flash(str(exc), "error")
        else:
            flash("批次已创建，请为考生报名。", "success")
            return redirect(url_for(".detail", sitting_id=sitting.id))
    return render_template("sittings/new.html", form=form,
                           marks={level: service.pass_marks(level) for level in LEVEL_NAMES})


def _enrol_form(sitting: Sitting) -> EnrolForm:
    form = EnrolForm()
    enrolled = {c.user_id for c in sitting.candidates}
    form.users.choices = [(u.id, f"{u.display_name}（{u.username}）") for u in
                          db.session.query(User).filter_by(role=Role.TRAINEE.value, active=True).order_by(User.username)
                          if u.id not in enrolled]
    return form


@bp.route("/sittings/<int:sitting_id>", methods=["GET", "POST"])
@roles_required(*ASSESSING)
def detail(sitting_id: int):
    sitting = _sitting(sitting_id)
    form = _enrol_form(sitting)
    if form.validate_on_submit():
        users = db.session.query(User).filter(User.id.in_(form.users.data or [])).all()
        try:
            if not users:
                raise service.SittingError("请先在列表中选择要报名的学员")
            added = service.enrol(sitting, users, current_user)
            flash(f"已报名 {len(added)} 人。", "success")
        except service.SittingError as exc:
            flash(str(exc), "error")
        return redirect(url_for(".detail", sitting_id=sitting.id))
    rows = [(c, service.scores(c)) for c in sitting.candidates]
    pending = service.pending_reviews(sitting) if sitting.published_at is None else []
    return render_template("sittings/detail.html", sitting=sitting, rows=rows, form=form, roster=RosterForm(),
                           confirm=ConfirmForm(), pending=pending, LEVEL_NAMES=LEVEL_NAMES,
                           open_appeals=sum(a.state == AppealState.OPEN for a in service.sitting_appeals(sitting)))


@bp.route("/sittings/<int:sitting_id>/roster", methods=["POST"])
@roles_required(*ASSESSING)
def roster(sitting_id: int):
    sitting = _sitting(sitting_id)
    form = RosterForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for e in errors:
                flash(e, "error")
        return redirect(url_for(".detail", sitting_id=sitting.id))
    try:
        n = service.enrol_roster(sitting, form.file.data.filename or "", form.file.data.read(), current_user)
        flash(f"已从名单报名 {n} 人。", "success")
    except service.SittingError as exc:
        flash(f"名单未导入：{exc}", "error")
    return redirect(url_for(".detail", sitting_id=sitting.id))


@bp.route("/sittings/roster-template.xlsx")
@roles_required(*ASSESSING)
def roster_template():
    return send_file(io.BytesIO(service.roster_template()), as_attachment=True, download_name="报名名单模板.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _state(candidate: SittingCandidate) -> dict:
    s = service.scores(candidate)
    attempt = service.theory_attempt(candidate)
    theory = {"status": s.theory_status, "score": s.theory}
    if attempt is not None and attempt.is_open:
        from exams import attempts as exam
        progress = exam.progress(attempt)
        theory.update(seconds_left=attempt.seconds_left(), answered=progress.get("answered"),
                      total=progress.get("total"))
    live = None
    attention = []
    from ..practical import service as practical
    for i, item in enumerate(candidate.practical_plan or []):
        call = service.practical_call(candidate, i)
        if call is not None and call.status == "live":
            running = practical.registry().get(call.id)
            live = {"index": i, "type": item["type"],
                    "state": running.call.state.label if running is not None else "作答中"}
        elif call is not None and call.status in ATTENTION:
            attention.append({"index": i, "type": item["type"], "status": call.status, "label": ATTENTION[call.status]})
    return {"id": candidate.id, "name": candidate.user.display_name, "username": candidate.user.username,
            "theory": theory, "practical": {"done": s.practical_done, "total": s.practical_total,
                                            "score": s.practical, "live": live, "attention": attention},
            "complete": s.complete, "extra_minutes": candidate.extra_minutes}


ATTENTION = {"interrupted": "服务器中断：已按已录内容评分，可复核或重新开放",
             "abandoned": "长时间无操作已关闭：可重新开放"}


@bp.route("/sittings/<int:sitting_id>/proctor")
@roles_required(*ASSESSING)
def proctor(sitting_id: int):
    sitting = _sitting(sitting_id)
    return render_template("sittings/proctor.html", sitting=sitting, LEVEL_NAMES=LEVEL_NAMES)


@bp.route("/sittings/<int:sitting_id>/proctor.json")
@roles_required(*ASSESSING)
def proctor_state(sitting_id: int):
    sitting = _sitting(sitting_id)
    # The server's clock in the sitting's zone: the proctor's browser may be set to another zone.
    return jsonify({"sitting": sitting.id, "open": sitting.is_open(), "published": sitting.published_at is not None,
                    "updated": f"{localtime(utcnow(), '%H:%M:%S')}（{zone_label()}）",
                    "candidates": [_state(c) for c in sitting.candidates]})


@bp.route("/sittings/<int:sitting_id>/candidates/<int:candidate_id>")
@roles_required(*ASSESSING)
def review(sitting_id: int, candidate_id: int):
    sitting = _sitting(sitting_id)
    candidate = _candidate(sitting, candidate_id)
    from ..practical import service as practical
    items = []
    for i, item in enumerate(candidate.practical_plan or []):
        call = service.practical_call(candidate, i)
        record = practical.load_record(call) if call is not None else None
        items.append({"index": i, "plan": item, "call": call, "record": record,
                      "effective": call.effective_items() if call is not None and call.result else []})
    audit = audit_log.lines(db.session.query(AuditEntry)
                            .filter_by(sitting_id=sitting.id, candidate_user_id=candidate.user_id)
                            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()))
    return render_template("sittings/review.html", sitting=sitting, candidate=candidate, items=items,
                           scores=service.scores(candidate), attempt=service.theory_attempt(candidate), audit=audit,
                           override=OverrideForm(), time_form=TimeForm(), reason_form=ReasonForm(),
                           LEVEL_NAMES=LEVEL_NAMES, decision_labels=DECISION_LABELS)


def _back(sitting: Sitting, candidate: SittingCandidate):
    return redirect(url_for(".review", sitting_id=sitting.id, candidate_id=candidate.id))


def _apply(form, action, done: str, sitting: Sitting, candidate: SittingCandidate):
    """An assessor's change from the review page: validate, apply, say what happened, go back."""
    if form.validate_on_submit():
        try:
            action()
            flash(done, "success")
        except service.SittingError as exc:
            flash(str(exc), "error")
    else:
        for errors in form.errors.values():
            for e in errors:
                flash(e, "error")
    return _back(sitting, candidate)


@bp.route("/sittings/<int:sitting_id>/candidates/<int:candidate_id>/calls/<call_id>/override", methods=["POST"])
@roles_required(*ASSESSING)
def override(sitting_id: int, candidate_id: int, call_id: str):
    sitting = _sitting(sitting_id)
    candidate = _candidate(sitting, candidate_id)
    call = db.session.get(PracticalCall, call_id)
    if call is None or call.sitting_candidate_id != candidate.id:
        abort(404)
    form = OverrideForm()
    if form.validate_on_submit():
        try:
            service.override_item(call, form.item_id.data, _number(form.points.data), form.reason.data, current_user,
                                  decision=form.decision.data or None, deduction=_number(form.deduction.data))
            done = "复核结论已记录，已记入审计日志。" if form.decision.data else "得分已修改，已记入审计日志。"
            flash(done, "success")
            return _back(sitting, candidate)
        except service.SittingError as exc:
            db.session.rollback()
            flash(str(exc), "error")
    else:
        for errors in form.errors.values():
            for e in errors:
                flash(e, "error")
    # bad input: the review page again, with the message, as a 400
    return review(sitting_id, candidate_id), 400


def _number(value) -> float | None:
    return None if value is None else float(value)


@bp.route("/sittings/<int:sitting_id>/candidates/<int:candidate_id>/extend", methods=["POST"])
@roles_required(*ASSESSING)
def extend(sitting_id: int, candidate_id: int):
    sitting = _sitting(sitting_id)
    candidate = _candidate(sitting, candidate_id)
    form = TimeForm()
    return _apply(form, lambda: service.extend_time(candidate, form.minutes.data, form.reason.data, current_user),
                  "已延长考试时间。", sitting, candidate)


@bp.route("/sittings/<int:sitting_id>/candidates/<int:candidate_id>/reopen/<what>", methods=["POST"])
@roles_required(*ASSESSING)
def reopen(sitting_id: int, candidate_id: int, what: str):
    sitting = _sitting(sitting_id)
    candidate = _candidate(sitting, candidate_id)
    if what != "theory" and not what.isdigit():
        abort(404)
    form = ReasonForm()
    if what == "theory":
        action = lambda: service.reopen_theory(candidate, form.reason.data, current_user)  # noqa: E731
    else:
        action = lambda: service.reopen_practical(candidate, int(what), form.reason.data, current_user)  # noqa: E731
    return _apply(form, action, "已重新开放。", sitting, candidate)


@bp.route("/sittings/<int:sitting_id>/calls/<call_id>/files/<path:name>")
@roles_required(*ASSESSING)
def call_file(sitting_id: int, call_id: str, name: str):
    """Both sides' recordings and clips of a candidate's call, for review."""
    from ..practical.views import AUDIO_NAME
    sitting = _sitting(sitting_id)
    call = db.session.get(PracticalCall, call_id)
    candidate = (db.session.get(SittingCandidate, call.sitting_candidate_id)
                 if call and call.sitting_candidate_id else None)
    if candidate is None or candidate.sitting_id != sitting.id or not AUDIO_NAME.match(name):
        abort(404)
    path = Path(call.call_dir) / name
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype="audio/wav", max_age=0)


@bp.route("/sittings/<int:sitting_id>/publish", methods=["POST"])
@roles_required(*ASSESSING)
def publish(sitting_id: int):
    sitting = _sitting(sitting_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        counts = service.publish(sitting, current_user, despite_pending=request.form.get("despite_pending") == "1")
        flash(f"成绩已发布：合格 {counts['certified']} 人，不合格 {counts['not_certified']} 人。", "success")
    except service.SittingError as exc:
        flash(str(exc), "error")
    return redirect(url_for(".detail", sitting_id=sitting.id))


@bp.route("/sittings/<int:sitting_id>/results.xlsx")
@roles_required(*ASSESSING)
def export(sitting_id: int):
    from openpyxl import Workbook

    from exams.spreadsheet import append_row
    sitting = _sitting(sitting_id)
    wb = Workbook()
    ws = wb.active
    ws.title = "鉴定结果"
    append_row(ws, ["用户名", "姓名", "单位", "理论成绩", "操作成绩", "结论", "证书编号"])
    for c in sitting.candidates:
        s = service.scores(c)
        theory_score = c.theory_score if sitting.published_at else s.theory
        practical_score = c.practical_score if sitting.published_at else s.practical
        if sitting.published_at:
            verdict = "合格" if c.certified else "不合格"
        else:
            verdict = "待发布" if s.complete else "未完成"
        append_row(ws, [c.user.username, c.user.display_name, c.user.organisation, theory_score, practical_score,
                        verdict, c.certificate_number or ""])
    buf = io.BytesIO()
    wb.save(buf)
    return send_file(io.BytesIO(buf.getvalue()), as_attachment=True, download_name=f"鉴定结果-{sitting.id}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _report_pdf(candidate: SittingCandidate):
    if candidate.sitting.published_at is None:
        abort(404)
    data = pdf.score_report(candidate.report, number=candidate.certificate_number)
    return send_file(io.BytesIO(data), mimetype="application/pdf", as_attachment=True,
                     download_name=f"成绩报告-{candidate.user.username}.pdf")


@bp.route("/sittings/<int:sitting_id>/candidates/<int:candidate_id>/report.pdf")
@roles_required(*ASSESSING)
def report_pdf(sitting_id: int, candidate_id: int):
    return _report_pdf(_candidate(_sitting(sitting_id), candidate_id))


@bp.route("/sittings/<int:sitting_id>/candidates/<int:candidate_id>/report/rebuild", methods=["POST"])
@roles_required(*ASSESSING)
def rebuild_report(sitting_id: int, candidate_id: int):
    """Rebuild a published report (and so the certificate) from the stored records."""
    sitting = _sitting(sitting_id)
    candidate = _candidate(sitting, candidate_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        service.rebuild_report(candidate, current_user)
        flash(f"已重新生成 {candidate.user.display_name} 的成绩报告和证书。", "success")
    except service.SittingError as exc:
        flash(str(exc), "error")
    return redirect(url_for(".detail", sitting_id=sitting.id))


@bp.route("/sittings/<int:sitting_id>/appeals")
@roles_required(*ASSESSING)
def appeals(sitting_id: int):
    sitting = _sitting(sitting_id)
    return render_template("sittings/appeals.html", sitting=sitting, appeals=service.sitting_appeals(sitting),
                           form=AppealAnswerForm(), OPEN=AppealState.OPEN)


@bp.route("/sittings/<int:sitting_id>/appeals/<int:appeal_id>", methods=["POST"])
@roles_required(*ASSESSING)
def answer_appeal(sitting_id: int, appeal_id: int):
    sitting = _sitting(sitting_id)
    appeal = db.session.get(Appeal, appeal_id)
    if appeal is None or appeal.candidate.sitting_id != sitting.id:
        abort(404)
    form = AppealAnswerForm()
    if form.validate_on_submit():
        try:
            points = float(form.points.data) if form.points.data is not None else None
            service.answer_appeal(appeal, upheld=form.decision.data == "upheld", reason=form.reason.data,
                                  actor=current_user, points=points)
            flash("已答复申诉，已记入审计日志。", "success")
        except service.SittingError as exc:
            flash(str(exc), "error")
    else:
        for errors in form.errors.values():
            for e in errors:
                flash(e, "error")
    return redirect(url_for(".appeals", sitting_id=sitting.id))


# ---- candidates --------------------------------------------------------------------------------------

def _own(sitting_id: int) -> SittingCandidate:
    candidate = (db.session.query(SittingCandidate)
                 .filter_by(sitting_id=sitting_id, user_id=current_user.id).first())
    if candidate is None:
        abort(404)
    return candidate


@bp.route("/my/sittings")
@roles_required(Role.TRAINEE)
def mine():
    rows = (db.session.query(SittingCandidate).filter_by(user_id=current_user.id)
            .join(Sitting).order_by(Sitting.opens_at.desc()).all())
    return render_template("sittings/mine.html", rows=rows, LEVEL_NAMES=LEVEL_NAMES)


def _admitted(candidate: SittingCandidate) -> bool:
    return admission.admitted(candidate.sitting)


@bp.route("/my/sittings/<int:sitting_id>", methods=["GET", "POST"])
@roles_required(Role.TRAINEE)
def take(sitting_id: int):
    candidate = _own(sitting_id)
    sitting = candidate.sitting
    access = AccessForm()
    if access.validate_on_submit():
        if service.check_access(sitting, access.code.data):
            admission.admit(sitting)
        else:
            flash("考场口令不正确。", "error")
        return redirect(url_for(".take", sitting_id=sitting.id))
    tasks = []
    for i, item in enumerate(candidate.practical_plan or []):
        call = service.practical_call(candidate, i)
        tasks.append({"index": i, "type": item["type"], "call": call})
    published = sitting.published_at is not None
    return render_template("sittings/take.html", candidate=candidate, sitting=sitting, access=access,
                           admitted=_admitted(candidate), tasks=tasks, attempt=service.theory_attempt(candidate),
                           confirm=ConfirmForm(), LEVEL_NAMES=LEVEL_NAMES, now_open=sitting.is_open(),
                           marks=service.pass_marks(sitting.level),
                           appealable=service.appealable_items(candidate) if published else [],
                           appeal_open=published and service.appeal_window_open(sitting),
                           appeal_deadline=service.appeal_deadline(sitting), appeal_form=AppealForm())


@bp.route("/my/sittings/<int:sitting_id>/appeals", methods=["POST"])
@roles_required(Role.TRAINEE)
def appeal(sitting_id: int):
    candidate = _own(sitting_id)
    form = AppealForm()
    if form.validate_on_submit():
        try:
            service.open_appeal(candidate, form.call_id.data, form.item_id.data, form.statement.data, current_user)
            flash("申诉已提交，考评员答复后会在此页显示。", "success")
        except service.SittingError as exc:
            flash(str(exc), "error")
    else:
        for errors in form.errors.values():
            for e in errors:
                flash(e, "error")
    return redirect(url_for(".take", sitting_id=sitting_id) + "#appeals")


@bp.route("/my/sittings/<int:sitting_id>/theory", methods=["POST"])
@roles_required(Role.TRAINEE)
def take_theory(sitting_id: int):
    candidate = _own(sitting_id)
    if not ConfirmForm().validate_on_submit() or not _admitted(candidate):
        abort(400)
    try:
        attempt = service.start_theory(candidate)
    except service.SittingError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".take", sitting_id=sitting_id))
    return redirect(url_for("theory.take", attempt_id=attempt.id))


@bp.route("/my/sittings/<int:sitting_id>/practical/<int:index>", methods=["POST"])
@roles_required(Role.TRAINEE)
def take_practical(sitting_id: int, index: int):
    candidate = _own(sitting_id)
    if not ConfirmForm().validate_on_submit() or not _admitted(candidate):
        abort(400)
    from ..practical.service import CallError
    try:
        call = service.start_practical(candidate, index, current_user)
    except (service.SittingError, CallError) as exc:    # e.g. another call of the candidate is still live
        flash(str(exc), "error")
        return redirect(url_for(".take", sitting_id=sitting_id))
    if call.status == "finished":
        flash("这道题已经提交。", "info")
        return redirect(url_for(".take", sitting_id=sitting_id))
    endpoint = "practical.call_page" if call.scenario.task == "live_call" else "practical.task_page"
    return redirect(url_for(endpoint, call_id=call.id))


@bp.route("/my/sittings/<int:sitting_id>/report.pdf")
@roles_required(Role.TRAINEE)
def my_report(sitting_id: int):
    return _report_pdf(_own(sitting_id))


def verification_url(number: str) -> str:
    """The public address a certificate's QR code and text name: ``PUBLIC_BASE_URL`` (the address the
    public reaches), else this request's host (development only; create_app warns in production)."""
    base = current_app.config.get("PUBLIC_BASE_URL") or request.host_url.rstrip("/")
    return f"{base}{url_for('sittings.verify', number=number)}"


def issuer() -> pdf.Issuer:
    config = current_app.config
    return pdf.Issuer(organisation=config["CERT_ORGANISATION"], occupation_code=config["OCCUPATION_CODE"],
                      seal_image=config.get("CERT_SEAL_IMAGE", ""),
                      signature_image=config.get("CERT_SIGNATURE_IMAGE", ""))


def _certificate_pdf(candidate: SittingCandidate):
    if candidate.sitting.published_at is None or not candidate.certificate_number:
        abort(404)
    number = candidate.certificate_number
    data = pdf.certificate(candidate.report, number, verification_url(number), issuer())
    return send_file(io.BytesIO(data), mimetype="application/pdf", as_attachment=True,
                     download_name=f"证书-{number}.pdf")


@bp.route("/sittings/<int:sitting_id>/candidates/<int:candidate_id>/certificate.pdf")
@roles_required(*ASSESSING)
def certificate_pdf(sitting_id: int, candidate_id: int):
    return _certificate_pdf(_candidate(_sitting(sitting_id), candidate_id))


@bp.route("/my/sittings/<int:sitting_id>/certificate.pdf")
@roles_required(Role.TRAINEE)
def my_certificate(sitting_id: int):
    return _certificate_pdf(_own(sitting_id))


# ---- anyone -------------------------------------------------------------------------------------------

def _verify_allowed() -> bool:
    from datetime import timedelta

    from ..auth import throttle
    return throttle.hit(f"verify:{(request.remote_addr or 'unknown')[:64]}",
                        current_app.config["VERIFY_PER_MINUTE"], timedelta(minutes=1))


@bp.route("/verify")
@public
def verify_form():
    """A public form to type a certificate number."""
    number = (request.args.get("number") or "").strip()
    if number:
        if len(number) > 32 or not number.isalnum():
            return render_template("sittings/verify.html", candidate=None, number=number, searched=True,
                                   LEVEL_NAMES=LEVEL_NAMES), 404
        return redirect(url_for(".verify", number=number.upper()))
    return render_template("sittings/verify.html", candidate=None, number="", searched=False, LEVEL_NAMES=LEVEL_NAMES)


@bp.route("/verify/<number>")
@public
def verify(number: str):
    """Only what verifies a certificate: holder's name, level, date, status — no scores."""
    if not _verify_allowed():
        return render_template("sittings/verify.html", candidate=None, number=number, searched=False,
                               limited=True, LEVEL_NAMES=LEVEL_NAMES), 429
    candidate = service.verify(number)
    return render_template("sittings/verify.html", candidate=candidate, number=number, searched=True,
                           LEVEL_NAMES=LEVEL_NAMES), (200 if candidate else 404)
