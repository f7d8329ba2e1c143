from __future__ import annotations

import hashlib
import io
import json

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import or_

from exams import LEVEL_NAMES, analysis, bank_io, load_blueprints
from exams.models import BankQuestion
from exams.question_bank import Problem, parse_question

from ..auth.access import roles_required
from ..auth.models import Role
from ..extensions import db
from ..forms import ConfirmForm
from ..sittings.models import AuditEntry
from .forms import BankImportForm, QuestionForm, RelabelDifficultyForm

bp = Blueprint("bank", __name__, url_prefix="/bank")
AUTHORS = (Role.TRAINER, Role.ADMIN)
PAGE_SIZE = 50
RELABEL_ACTION = "relabel_difficulty"


@bp.route("/")
@roles_required(*AUTHORS)
def questions():
    query = db.select(BankQuestion).order_by(BankQuestion.area, BankQuestion.level.desc(), BankQuestion.id)
    filters = {k: request.args.get(k, "") for k in ("q", "area", "level", "type", "status")}
    if filters["q"]:
        like = f"%{filters['q']}%"
        query = query.where(or_(BankQuestion.stem.ilike(like), BankQuestion.id.ilike(like),
                                BankQuestion.explanation.ilike(like)))
    if filters["area"]:
        query = query.where(BankQuestion.area == filters["area"])
    if filters["level"].isdigit():
        query = query.where(BankQuestion.level == int(filters["level"]))
    if filters["type"]:
        query = query.where(BankQuestion.qtype == filters["type"])
    if filters["status"] == "retired":
        query = query.where(BankQuestion.retired.is_(True))
    elif filters["status"] != "all":
        query = query.where(BankQuestion.retired.is_(False))
    page = db.paginate(query, per_page=PAGE_SIZE, error_out=False)
    blueprints = load_blueprints()
    return render_template("bank/questions.html", page=page, filters=filters, areas=blueprints.areas,
                           types=blueprints.types, levels=LEVEL_NAMES, action_form=ConfirmForm())


def _answer_from_text(qtype: str, text: str):
    text = text.strip().upper().replace(",", "").replace("，", "").replace(" ", "")
    if qtype == "judge":
        if text in {"正确", "对", "T", "TRUE", "√"}:
            return True
        return False if text in {"错误", "错", "F", "FALSE", "×"} else text
    return list(text) if qtype == "multiple" else text


def _form_to_question(form: QuestionForm, qid: str):
    level, qtype = int(form.level.data), form.qtype.data
    raw = {"id": qid, "level": level, "type": qtype, "difficulty": int(form.difficulty.data),
           "stem": form.stem.data, "answer": _answer_from_text(qtype, form.answer.data),
           "explanation": form.explanation.data, "source": form.source.data}
    if qtype != "judge":
        raw["options"] = form.options()
    problems: list[Problem] = []
    question = parse_question(raw, form.area.data, qid, problems)
    return question, problems


def _next_id(area: str, level: int) -> str:
    used = [r[0] for r in db.session.query(BankQuestion.id).filter(BankQuestion.id.like(f"{area}-{level}-%"))]
    number = max([int(u.rsplit("-", 1)[1]) for u in used if u.rsplit("-", 1)[1].isdigit()] + [0]) + 1
    return f"{area}-{level}-{number:03d}"


def _save(form: QuestionForm, qid: str, done: str):
    """Validate and store the form's question; a redirect when saved, None (errors on the form) if not."""
    question, problems = _form_to_question(form, qid)
    if question is not None and not problems:
        try:
            bank_io.import_questions(db.session, [question], editor_id=current_user.id)
        except bank_io.ImportRejected as exc:
            problems = exc.problems
        else:
            flash(f"{done} {qid}。", "success")
            return redirect(url_for(".questions", q=qid))
    for p in problems:
        form.stem.errors.append(p.message)
    return None


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*AUTHORS)
def new():
    form = QuestionForm()
    if form.validate_on_submit():
        saved = _save(form, _next_id(form.area.data, int(form.level.data)), "已新增试题")
        if saved:
            return saved
    return render_template("bank/edit.html", form=form, question=None)


@bp.route("/<qid>/edit", methods=["GET", "POST"])
@roles_required(*AUTHORS)
def edit(qid: str):
    row = db.session.get(BankQuestion, qid) or abort(404)
    form = QuestionForm()
    if request.method == "GET":
        form.area.data, form.level.data, form.qtype.data = row.area, str(row.level), row.qtype
        form.difficulty.data, form.stem.data = str(row.difficulty), row.stem
        for letter in "ABCDE":
            getattr(form, f"option_{letter.lower()}").data = (row.options or {}).get(letter, "")
        form.answer.data = ({"T": "正确", "F": "错误"}[row.answer[0]] if row.qtype == "judge" else "".join(row.answer))
        form.explanation.data, form.source.data = row.explanation, row.source
    elif form.validate_on_submit():
        if form.area.data != row.area or int(form.level.data) != row.level:
            form.area.errors.append("已有试题不能更改知识领域或等级（编号由它们组成）；请新增试题并停用本题。")
        else:
            saved = _save(form, qid, "已保存试题")
            if saved:
                return saved
    siblings = [r[0] for r in db.session.query(BankQuestion.id).filter(
        BankQuestion.enemy_group == row.enemy_group, BankQuestion.id != row.id).order_by(BankQuestion.id)
        ] if row.enemy_group else []
    return render_template("bank/edit.html", form=form, question=row, siblings=siblings)


@bp.route("/<qid>/retire", methods=["POST"])
@roles_required(*AUTHORS)
def retire(qid: str):
    return _set_retired(qid, True)


@bp.route("/<qid>/restore", methods=["POST"])
@roles_required(*AUTHORS)
def restore(qid: str):
    return _set_retired(qid, False)


def _set_retired(qid: str, retired: bool):
    row = db.session.get(BankQuestion, qid) or abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    row.retired = retired
    row.edited_by_id = current_user.id
    db.session.commit()
    flash(f"试题 {qid} 已{'停用（不再组卷，历史答卷不受影响）' if retired else '恢复使用'}。", "success")
    return redirect(request.referrer or url_for(".questions"))


@bp.route("/import", methods=["GET", "POST"])
@roles_required(*AUTHORS)
def import_file():
    form = BankImportForm()
    problems, report = [], None
    if form.validate_on_submit():
        upload = form.file.data
        try:
            questions = bank_io.read_upload(upload.filename, upload.read(), db.session)
            report = bank_io.import_questions(db.session, questions, editor_id=current_user.id).as_dict()
        except bank_io.ImportRejected as exc:
            problems = exc.problems
    return render_template("bank/import.html", form=form, problems=problems, report=report)


@bp.route("/template.xlsx")
@roles_required(*AUTHORS)
def template_xlsx():
    return send_file(io.BytesIO(bank_io.xlsx_template()), as_attachment=True, download_name="题库导入模板.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.route("/export.<fmt>")
@roles_required(*AUTHORS)
def export(fmt: str):
    questions = bank_io.all_questions(db.session)
    if fmt == "xlsx":
        return send_file(io.BytesIO(bank_io.write_xlsx(questions)), as_attachment=True, download_name="题库.xlsx",
                         mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    if fmt == "yaml":
        return send_file(io.BytesIO(bank_io.export_yaml(questions).encode("utf-8")), as_attachment=True,
                         download_name="题库.yaml", mimetype="application/x-yaml")
    abort(404)


@bp.route("/analysis")
@roles_required(*AUTHORS, Role.ASSESSOR)
def item_analysis():
    stats = analysis.bank_item_stats(db.session)
    rows = {r.id: r for r in db.session.query(BankQuestion).filter(BankQuestion.id.in_(list(stats))).all()}
    items = sorted(stats.values(), key=lambda s: (not s.flags, s.discrimination if s.discrimination is not None else 9))
    return render_template("bank/analysis.html", items=items, rows=rows, areas=load_blueprints().areas,
                           min_responses=analysis.MIN_RESPONSES, last_relabel=_last_relabel(),
                           can_relabel=current_user.role_enum in AUTHORS)


def _last_relabel() -> AuditEntry | None:
    return (db.session.query(AuditEntry).filter_by(action=RELABEL_ACTION)
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).first())


@bp.route("/analysis/difficulty")
@roles_required(*AUTHORS)
def difficulty_preview():
    needed = current_app.config["DIFFICULTY_MIN_RESPONSES"]
    proposals = analysis.relabel(db.session, min_responses=needed)
    stems = {r.id: r for r in db.session.query(BankQuestion).filter(
        BankQuestion.id.in_([p.question_id for p in proposals])).all()} if proposals else {}
    return render_template("bank/difficulty.html", proposals=proposals, stems=stems, needed=needed,
                           too_few=analysis.too_few_responses(db.session, min_responses=needed),
                           changes=sum(p.measured != (p.before or p.labelled) for p in proposals),
                           form=RelabelDifficultyForm(basis=_basis(proposals)), last_relabel=_last_relabel())


def _basis(proposals: list[analysis.Relabel]) -> str:
    """A short fingerprint of a preview: each item's responses, facility and labels."""
    text = json.dumps([[p.question_id, p.responses, round(p.facility, 6), p.labelled, p.measured, p.before]
                       for p in proposals])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@bp.route("/analysis/difficulty", methods=["POST"])
@roles_required(*AUTHORS)
def difficulty_apply():
    form = RelabelDifficultyForm()
    if not form.validate_on_submit():
        abort(400)
    needed = current_app.config["DIFFICULTY_MIN_RESPONSES"]
    if not analysis.relabel(db.session, min_responses=needed):
        flash(f"没有作答达到 {needed} 人的试题，难度未改变。", "error")
        return redirect(url_for(".difficulty_preview"))
    applied = analysis.relabel(db.session, min_responses=needed, apply=True, commit=False)
    if _basis(applied) != form.basis.data:
        db.session.rollback()
        flash("预览之后又有答卷提交，标定结果已变化，难度未改变。请核对新的预览后再确认。", "error")
        return redirect(url_for(".difficulty_preview"))
    # The bank rows' own edited_by_id is not used: on a bank-file row it would stop the files from
    # updating the question. The audit log keeps who re-labelled what, from which label to which.
    db.session.add(AuditEntry(actor_id=current_user.id, action=RELABEL_ACTION, target="bank:difficulty",
                              before={r.question_id: r.before or r.labelled for r in applied},
                              after={r.question_id: r.measured for r in applied},
                              reason=f"依据作答数据（每题至少 {needed} 人作答）"))
    db.session.commit()
    changed = sum(r.measured != (r.before or r.labelled) for r in applied)
    flash(f"已按作答数据标定 {len(applied)} 道题的难度，其中 {changed} 道题难度改变；已记入审计日志。", "success")
    return redirect(url_for(".difficulty_preview"))
