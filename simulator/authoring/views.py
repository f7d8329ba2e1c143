"""Scenario authoring for trainers: list, read, edit (form or YAML), validate with the CLI's messages,
hear every caller line, try a scenario as a trainee, import and export. Saving creates a new version;
calls keep the version they were taken with."""
from __future__ import annotations

import io

import yaml
from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from scenarios import ScenarioError
from scenarios.bundle import dump_text, parse_text, read_upload, write_zip
from scenarios.labels import LEVEL_LABELS, SITUATION_LABELS, TASK_LABELS
from softphone_sim.line import parse_condition

from ..auth.access import roles_required
from ..auth.models import Role
from ..extensions import db
from ..forms import ConfirmForm
from ..practical import service
from ..practical.library import add_version
from ..practical.models import PracticalCall, ScenarioVersion
from .forms import NewScenarioForm, ScenarioFieldsForm, ScenarioImportForm, ScenarioYamlForm
from .wording import (
    ACTION_WORDS,
    DIRECTION_WORDS,
    KIND_WORDS,
    actions_words,
    intent_words,
    kind_label,
    line_label,
    sources_words,
    voice_choices,
    voice_label,
)

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
    return {"SITUATION_LABELS": SITUATION_LABELS, "TASK_LABELS": TASK_LABELS, "LEVEL_LABELS": LEVEL_LABELS,
            "DIRECTION_WORDS": DIRECTION_WORDS, "actions_words": actions_words, "kind_label": kind_label,
            "intent_words": intent_words,
            "line_label": line_label, "voice_label": voice_label, "sources_words": sources_words}


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


def _check(data, *, name: str, expected_id: str | None):
    """Validate ``data`` (as YAML text round trip, so messages match the CLI); flash every problem.
    Returns the scenario, or None when it has problems."""
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
    return scenario


def _check_or_save(data, *, name: str, expected_id: str | None, save: bool) -> tuple[bool, ScenarioVersion | None]:
    """The same checks for 「保存」 and 「只检查不保存」; only saving stores a new version.
    Returns (passed the checks, the saved version)."""
    scenario = _check(data, name=name, expected_id=expected_id)
    if scenario is None:
        return False, None
    if not save:
        flash("检查通过，没有发现问题（尚未保存）。", "success")
        return True, None
    row, created = add_version(scenario, origin="trainer", user_id=current_user.id)
    db.session.commit()
    flash(f"已保存为第 {row.version} 版。" if created else "内容没有变化，未生成新版本。", "success")
    return True, row


def _line_text(spec) -> str:
    """A line condition as the one-line text the select offers ('telephone+noisy:snr=5')."""
    if isinstance(spec, str) or spec is None:
        return spec or "none"
    try:
        steps = parse_condition(spec)
    except ValueError:
        return str(spec)
    return "+".join(n + (":" + ",".join(f"{k}={v:g}" for k, v in p.items() if v is not None) if p else "")
                    for n, p in steps) or "none"


def _persona(data: dict) -> dict:
    """The persona mapping, or an empty one when a trainer's YAML has something else there (the
    checker then says what is wrong)."""
    persona = data.get("persona")
    return persona if isinstance(persona, dict) else {}


def _fill_fields(form: ScenarioFieldsForm, data: dict) -> None:
    form.title.data, form.level.data = data.get("title"), str(data.get("level"))
    form.situation.data, form.difficulty.data = data.get("situation"), str(data.get("difficulty", 1))
    form.brief.data, form.agent_number.data = data.get("brief"), str(data.get("agent_number", ""))
    form.voice.data = _persona(data).get("voice", "calm")
    form.line.data = _line_text(data.get("line"))
    if isinstance(form, NewScenarioForm):
        form.id.data, form.task.data = data.get("id"), data.get("task", "live_call")
        form.direction.data = data.get("direction", "inbound")


def _apply_fields(form: ScenarioFieldsForm, data: dict) -> dict:
    """``data`` with the form's common fields written over it."""
    data = dict(data)
    data.update(title=form.title.data.strip(), level=int(form.level.data), situation=form.situation.data,
                difficulty=int(form.difficulty.data), brief=form.brief.data.strip(), line=form.line.data or "none",
                persona={**_persona(data), "voice": form.voice.data})
    if isinstance(form, NewScenarioForm):
        data.update(id=form.id.data.strip(), task=form.task.data, direction=form.direction.data)
    if form.agent_number.data.strip():
        data["agent_number"] = form.agent_number.data.strip()
    else:
        data.pop("agent_number", None)
    if isinstance(form, NewScenarioForm):   # the stored YAML reads in the usual order: common fields first
        data = {**{k: data[k] for k in (*COMMON_KEYS, "persona") if k in data}, **data}
    return data


def _loose_yaml(text: str | None) -> dict | None:
    """What a trainer's (possibly invalid) YAML says, when it is a mapping at all."""
    try:
        loaded = yaml.safe_load(text or "")
    except yaml.YAMLError:
        return None
    return loaded if isinstance(loaded, dict) else None


@bp.route("/<scenario_id>/edit", methods=["GET", "POST"])
@roles_required(*AUTHORS)
def edit(scenario_id: str):
    row = _latest(scenario_id)
    data = dict(row.data)
    fields = ScenarioFieldsForm(prefix="f", line=_line_text(data.get("line")))
    text = ScenarioYamlForm(prefix="y")
    passed = False
    if request.method == "GET":
        _fill_fields(fields, data)
        text.yaml_text.data = dump_text(data)
    elif fields.save_fields.data or fields.check_fields.data:
        text.yaml_text.data = dump_text(data)
        if fields.validate_on_submit():
            changed = _apply_fields(fields, data)
            passed, saved = _check_or_save(changed, name=f"{scenario_id}.yaml", expected_id=scenario_id,
                                           save=bool(fields.save_fields.data))
            if saved:
                return redirect(url_for(".detail", scenario_id=scenario_id))
            text.yaml_text.data = dump_text(changed)
    elif text.save_yaml.data or text.check_yaml.data:
        # The form beside the YAML shows what the posted YAML says (or the stored version), never blanks.
        _fill_fields(fields, {**data, **(_loose_yaml(text.yaml_text.data) or {})})
        if text.validate_on_submit():
            try:
                parsed = parse_text(text.yaml_text.data, f"{scenario_id}.yaml").data
            except ScenarioError as exc:
                for problem in exc.problems:
                    flash(problem, "error")
            else:
                passed, saved = _check_or_save(parsed, name=f"{scenario_id}.yaml", expected_id=scenario_id,
                                               save=bool(text.save_yaml.data))
                if saved:
                    return redirect(url_for(".detail", scenario_id=scenario_id))
    else:
        abort(400)
    return render_template("authoring/edit.html", row=row, fields=fields, text=text), \
        (200 if request.method == "GET" or passed else 422)  # a clean check is a 200, any problem a 422


COMMON_KEYS = ("id", "title", "level", "situation", "task", "direction", "difficulty", "brief", "agent_number",
               "line")


def _rest(data: dict) -> dict:
    """A scenario without its common fields (the form shows those); the persona keeps all but its voice."""
    rest = {k: v for k, v in data.items() if k not in COMMON_KEYS}
    persona = {k: v for k, v in _persona(data).items() if k != "voice"}
    if persona:
        rest["persona"] = persona
    else:
        rest.pop("persona", None)
    return rest


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*AUTHORS)
def new():
    if request.method == "GET":
        source = request.args.get("copy")
        data = dict(_latest(source).data) if source else yaml.safe_load(NEW_TEMPLATE)
        if source:
            data["id"] = f"{source}-copy"
        form = NewScenarioForm(prefix="n", line=_line_text(data.get("line")))
        _fill_fields(form, data)
        form.yaml_text.data = dump_text(_rest(data))
        return render_template("authoring/new.html", form=form)
    form = NewScenarioForm(prefix="n", line=request.form.get("n-line"))
    passed = False
    if form.validate_on_submit():
        rest = _loose_yaml(form.yaml_text.data)
        if rest is None:
            try:        # the checker's own message for broken YAML, with its line number
                parse_text(form.yaml_text.data, "其余内容")
            except ScenarioError as exc:
                for problem in exc.problems:
                    flash(problem, "error")
            else:
                flash("其余内容: 应为“名称: 内容”形式的 YAML", "error")
        else:
            passed, row = _check_or_save(_apply_fields(form, rest), name="新场景", expected_id=None,
                                         save=bool(form.save_fields.data))
            if row:
                return redirect(url_for(".detail", scenario_id=row.scenario_id))
    return render_template("authoring/new.html", form=form), (200 if passed else 422)


@bp.route("/help")
@roles_required(*AUTHORS)
def help_page():
    from softphone_sim.line import CONDITIONS

    return render_template("authoring/help.html", conditions=CONDITIONS, kinds=KIND_WORDS, actions=ACTION_WORDS,
                           voices=voice_choices(), example=NEW_TEMPLATE)


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
    if row.task != "live_call":       # a recording review, typing task or case is tried on its task page
        task = service.start_task(current_user, row, mode="practice")
        return redirect(url_for("practical.task_page", call_id=task.id))
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
