"""Scenario authoring for trainers: list, read, edit (form or YAML), validate with the CLI's messages,
hear every caller line, try a scenario as a trainee, import and export. Saving creates a new version;
calls keep the version they were taken with."""
from __future__ import annotations

import io

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from scenarios import ScenarioError
from scenarios.bundle import dump_text, parse_text, read_upload, write_zip
from scenarios.labels import LEVEL_LABELS, SITUATION_LABELS, TASK_LABELS

from ..auth.access import roles_required
from ..auth.models import Role
from ..extensions import db
from ..forms import ConfirmForm
from ..practical import service
from ..practical.library import add_version
from ..practical.models import PracticalCall, ScenarioVersion
from .forms import NewScenarioForm, ScenarioFieldsForm, ScenarioImportForm, ScenarioYamlForm, line_choices, line_label

bp = Blueprint("authoring", __name__, url_prefix="/scenarios")
AUTHORS = (Role.TRAINER, Role.ADMIN)
NEW_TEMPLATE = """id: l5-new-scenario
title: 新场景
level: 5
situation: consultation
task: live_call
direction: inbound
difficulty: 1
brief: 你是客服热线坐席，工号 1001。请接听来电并按服务规范处理。
agent_number: "1001"
persona: {voice: calm, gender: 女, age: 中年, emotion: 平静}
line: none
sources: [001_ab75b4677eacef2d.txt]
intents:
  confirms: [请问您是, 您是要, 确认一下]
script:
  start: t1
  turns:
    - id: t1
      say: 你好，我想咨询一下业务。
      branches:
        - {if: confirms, next: t2}
        - {otherwise: true, next: t2}
    - id: t2
      say: 好的，谢谢，再见。
      end: caller_hangs_up
rubric:
  items:
    - {id: opening, kind: phrase, label: 规范开头语, points: 40, scope: first,
       all_of: [[您好, 你好], ["工号{agent_number}", "{agent_number}号"]]}
    - {id: taboo, kind: forbidden, label: 服务忌语, points: 30, use: common_taboos, mode: deduct, per_hit: 10}
    - {id: hangup, kind: hangup, label: 让客户先挂机, points: 30, by: caller}
reference_answers:
  - band: excellent
    turns: [您好，工号1001，很高兴为您服务。, 请问您是要咨询哪项业务？]
  - band: borderline
    turns: [你好。, 什么业务？]
  - band: failing
    turns: [喂。, {say: 不知道。, then: [hangup]}]
"""


@bp.app_context_processor
def _labels():
    from softphone_sim import PERSONAS
    return {"SITUATION_LABELS": SITUATION_LABELS, "TASK_LABELS": TASK_LABELS, "LEVEL_LABELS": LEVEL_LABELS,
            "THEN_LABELS": THEN_LABELS, "VOICE_LABELS": {k: p.label for k, p in PERSONAS.items()},
            "line_label": line_label}


THEN_LABELS = {"hold": "保持通话", "transfer": "转接", "consult": "咨询转接", "work_order": "填写工单",
               "hangup": "挂机"}


def _latest(scenario_id: str) -> ScenarioVersion:
    row = ScenarioVersion.latest(scenario_id)
    if row is None:
        abort(404)
    return row


@bp.route("/")
@roles_required(*AUTHORS)
def index():
    level = request.args.get("level", "")
    situation = request.args.get("situation", "")
    rows = ScenarioVersion.current(include_retired=True)
    if level.isdigit():
        rows = [r for r in rows if r.level == int(level)]
    if situation:
        rows = [r for r in rows if r.situation == situation]
    return render_template("authoring/index.html", rows=rows, level=level, situation=situation,
                           action_form=ConfirmForm())


@bp.route("/<scenario_id>")
@roles_required(*AUTHORS)
def detail(scenario_id: str):
    row = _latest(scenario_id)
    versions = (db.session.query(ScenarioVersion).filter_by(scenario_id=scenario_id)
                .order_by(ScenarioVersion.version.desc()).all())
    calls = {v.id: db.session.query(PracticalCall).filter_by(scenario_version_id=v.id).count() for v in versions}
    return render_template("authoring/detail.html", row=row, data=row.data, versions=versions, calls=calls,
                           action_form=ConfirmForm())


def _save(data: dict, *, name: str, expected_id: str | None) -> ScenarioVersion | None:
    """Validate ``data`` (as YAML text round trip, so messages match the CLI) and store a new version."""
    try:
        scenario = parse_text(dump_text(data), name)
    except ScenarioError as exc:
        for problem in exc.problems:
            flash(problem, "error")
        return None
    if expected_id is not None and scenario.id != expected_id:
        flash(f"{name}: id: 编辑时不能修改 id（{expected_id} → {scenario.id}）；请新建场景", "error")
        return None
    if expected_id is None and ScenarioVersion.latest(scenario.id) is not None:
        flash(f"{name}: id: {scenario.id} 已存在，请换一个 id", "error")
        return None
    row, created = add_version(scenario, origin="trainer", user_id=current_user.id)
    db.session.commit()
    flash(f"已保存为第 {row.version} 版。" if created else "内容没有变化，未生成新版本。", "success")
    return row


def _fill_fields(fields: ScenarioFieldsForm, data: dict) -> None:
    fields.title.data, fields.level.data = data.get("title"), str(data.get("level"))
    fields.situation.data, fields.difficulty.data = data.get("situation"), str(data.get("difficulty", 1))
    fields.brief.data, fields.agent_number.data = data.get("brief"), str(data.get("agent_number", ""))
    fields.voice.data = (data.get("persona") or {}).get("voice", "calm")
    fields.line.data = str(data.get("line") or "none")
    fields.line.choices = line_choices(fields.line.data)


def _apply_fields(fields: ScenarioFieldsForm, data: dict) -> dict:
    data = dict(data)
    data.update(title=fields.title.data.strip(), level=int(fields.level.data), situation=fields.situation.data,
                difficulty=int(fields.difficulty.data), brief=fields.brief.data.strip(),
                line=fields.line.data or "none", persona={**(data.get("persona") or {}), "voice": fields.voice.data})
    if fields.agent_number.data.strip():
        data["agent_number"] = fields.agent_number.data.strip()
    else:
        data.pop("agent_number", None)
    return data


def _typed_mapping(text: str) -> dict | None:
    """The submitted YAML as a mapping if it parses at all (even if the scenario is invalid), so the form
    beside it keeps showing what the trainer wrote."""
    import yaml
    try:
        value = yaml.safe_load(text or "")
    except yaml.YAMLError:
        return None
    return value if isinstance(value, dict) else None


def _check(text_value: str, name: str) -> bool:
    """Validate without saving: the same checks as saving, and say so."""
    try:
        parse_text(text_value, name)
    except ScenarioError as exc:
        for problem in exc.problems:
            flash(problem, "error")
        return False
    flash("检查通过：场景格式正确，尚未保存。", "success")
    return True


@bp.route("/<scenario_id>/edit", methods=["GET", "POST"])
@roles_required(*AUTHORS)
def edit(scenario_id: str):
    row = _latest(scenario_id)
    data = dict(row.data)
    current_line = str(data.get("line") or "none")
    fields = ScenarioFieldsForm(prefix="f", current_line=request.form.get("f-line") or current_line)
    text = ScenarioYamlForm(prefix="y")
    if request.method == "GET":
        _fill_fields(fields, data)
        text.yaml_text.data = dump_text(data)
    elif text.check_yaml.data and text.validate_on_submit():
        _check(text.yaml_text.data, f"{scenario_id}.yaml")
        _fill_fields(fields, _typed_mapping(text.yaml_text.data) or data)
        return render_template("authoring/edit.html", row=row, fields=fields, text=text)
    elif fields.save_fields.data and fields.validate_on_submit():
        data = _apply_fields(fields, data)
        if _save(data, name=f"{scenario_id}.yaml", expected_id=scenario_id):
            return redirect(url_for(".detail", scenario_id=scenario_id))
        text.yaml_text.data = dump_text(data)
    elif text.save_yaml.data and text.validate_on_submit():
        try:
            parsed = parse_text(text.yaml_text.data, f"{scenario_id}.yaml").data
        except ScenarioError as exc:
            for problem in exc.problems:
                flash(problem, "error")
        else:
            if _save(parsed, name=f"{scenario_id}.yaml", expected_id=scenario_id):
                return redirect(url_for(".detail", scenario_id=scenario_id))
        # the form beside the YAML shows what was typed there, not empty fields
        _fill_fields(fields, _typed_mapping(text.yaml_text.data) or data)
    return render_template("authoring/edit.html", row=row, fields=fields, text=text), \
        (200 if request.method == "GET" else 422)


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*AUTHORS)
def new():
    import yaml
    text = ScenarioYamlForm(prefix="y")
    fields = NewScenarioForm(prefix="f", current_line=request.form.get("f-line") or "none")
    if request.method == "GET":
        source = request.args.get("copy")
        text.yaml_text.data = dump_text(_latest(source).data) if source else NEW_TEMPLATE
        start = yaml.safe_load(text.yaml_text.data)
        _fill_fields(fields, start)
        fields.scenario_id.data = f"{start.get('id')}-copy" if source else ""
    elif fields.save_fields.data and fields.validate_on_submit():
        data = _apply_fields(fields, yaml.safe_load(NEW_TEMPLATE))
        data["id"] = fields.scenario_id.data.strip()
        agent = data.get("agent_number") or "1001"
        data["brief"] = fields.brief.data.strip()
        # the template's opening item and reference answers name the template's agent number
        data["reference_answers"][0]["turns"][0] = f"您好，工号{agent}，很高兴为您服务。"
        row = _save(data, name="新场景", expected_id=None)
        if row:
            return redirect(url_for(".edit", scenario_id=row.scenario_id))
        text.yaml_text.data = dump_text(data)
    elif text.check_yaml.data and text.validate_on_submit():
        _check(text.yaml_text.data, "新场景")
        _fill_fields(fields, _typed_mapping(text.yaml_text.data) or {})
        return render_template("authoring/new.html", text=text, fields=fields)
    elif text.save_yaml.data and text.validate_on_submit():
        try:
            parsed = parse_text(text.yaml_text.data, "新场景").data
        except ScenarioError as exc:
            for problem in exc.problems:
                flash(problem, "error")
        else:
            row = _save(parsed, name="新场景", expected_id=None)
            if row:
                return redirect(url_for(".detail", scenario_id=row.scenario_id))
        _fill_fields(fields, _typed_mapping(text.yaml_text.data) or {})
    return render_template("authoring/new.html", text=text, fields=fields), (200 if request.method == "GET" else 422)


@bp.route("/help")
@roles_required(*AUTHORS)
def help_page():
    """The scenario format, from docs/scenarios.md, inside the app (the same text as the repository's)."""
    import markdown
    from pathlib import Path
    source = Path(__file__).resolve().parents[2] / "docs" / "scenarios.md"
    html = markdown.markdown(source.read_text("utf-8"), extensions=["tables", "fenced_code", "toc"])
    return render_template("authoring/help.html", body=html)


@bp.route("/<scenario_id>/lines/<int:version>/<turn_id>.wav")
@roles_required(*AUTHORS)
def line_audio(scenario_id: str, version: int, turn_id: str):
    """A caller line as the trainee will hear it (persona and line condition applied)."""
    from flask import current_app

    from softphone_sim import render_line

    row = db.session.query(ScenarioVersion).filter_by(scenario_id=scenario_id, version=version).first()
    if row is None:
        abort(404)
    turn = next((t for t in (row.data.get("script") or {}).get("turns", []) if t.get("id") == turn_id), None)
    if turn is None:
        abort(404)
    rendered = render_line(turn["say"], persona=(row.data.get("persona") or {}).get("voice", "calm"),
                           condition=turn.get("line") or row.data.get("line") or "none",
                           silence_s=turn.get("silence_s"), cache_dir=current_app.config["TTS_CACHE_DIR"])
    return send_file(rendered.path, mimetype="audio/wav", max_age=3600)


@bp.route("/<scenario_id>/try", methods=["POST"])
@roles_required(*AUTHORS)
def try_it(scenario_id: str):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    row = _latest(scenario_id)
    if row.task != "live_call":
        flash("只有模拟通话类场景可以试打。", "error")
        return redirect(url_for(".detail", scenario_id=scenario_id))
    call = service.start_call(current_user, row, mode="practice")
    return redirect(url_for("practical.call_page", call_id=call.id))


@bp.route("/<scenario_id>/retire", methods=["POST"])
@roles_required(*AUTHORS)
def retire(scenario_id: str):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    row = _latest(scenario_id)
    row.retired = not row.retired
    db.session.commit()
    flash("场景已停用，学员不再看到它。" if row.retired else "场景已恢复使用。", "success")
    return redirect(url_for(".detail", scenario_id=scenario_id))


@bp.route("/<scenario_id>/export.yaml")
@roles_required(*AUTHORS)
def export_one(scenario_id: str):
    row = _latest(scenario_id)
    return send_file(io.BytesIO(dump_text(row.data).encode("utf-8")), mimetype="application/x-yaml",
                     as_attachment=True, download_name=f"{scenario_id}.yaml")


@bp.route("/export.zip")
@roles_required(*AUTHORS)
def export_all():
    rows = ScenarioVersion.current()
    return send_file(io.BytesIO(write_zip([r.data for r in rows])), mimetype="application/zip",
                     as_attachment=True, download_name="scenarios.zip")


@bp.route("/import", methods=["GET", "POST"])
@roles_required(*AUTHORS)
def import_files():
    form = ScenarioImportForm()
    problems: list[str] = []
    if form.validate_on_submit():
        upload = form.file.data
        try:
            scenarios = read_upload(upload.filename or "upload.yaml", upload.read())
        except ScenarioError as exc:
            problems = exc.problems
        else:
            created = sum(add_version(s, origin="trainer", user_id=current_user.id)[1] for s in scenarios)
            db.session.commit()
            flash(f"已导入 {len(scenarios)} 个场景（新版本 {created} 个，其余内容未变）。", "success")
            return redirect(url_for(".index"))
    return render_template("authoring/import.html", form=form, problems=problems), (422 if problems else 200)
