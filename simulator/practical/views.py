"""The practical exam in the browser: the scenario list, the softphone page and its JSON API, and the
feedback after a practice call."""
from __future__ import annotations

import re
from pathlib import Path

from flask import Blueprint, abort, jsonify, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from softphone_sim.live import MAX_CHUNK_BYTES, AudioTooFast, CallError, ChunkOutOfOrder
from softphone_sim.workorder import FIELDS as WORK_ORDER_FIELDS
from softphone_sim.workorder import ORDER_TYPES, WRAPUP_CODES

from ..auth.access import roles_required
from ..auth.models import Role
from ..extensions import db
from ..jsonio import int_field, json_object, query_int, str_field
from ..labels import LEVEL_NAMES
from . import device, service
from .forms import StartCallForm
from .models import PracticalCall, ScenarioVersion

bp = Blueprint("practical", __name__, url_prefix="/practical")
PRACTISING = (Role.TRAINEE, Role.TRAINER, Role.ADMIN)
ACTIONS = {"begin", "answer", "dial", "hold", "unhold", "mute", "unmute", "hangup", "end_turn", "cti_lookup",
           "complete_transfer", "cancel_consult"}
AUDIO_NAME = re.compile(r"^(caller/\d{2}-[\w-]+\.wav|agent/\d{3}\.wav|recording\.wav|review\.wav|answer\.wav)$")


def _own_call(call_id: str) -> PracticalCall:
    row = db.session.get(PracticalCall, call_id)
    if row is None or row.user_id != current_user.id:
        abort(404)
    return row


def _json_error(message: str, status: int = 409, **extra):
    return jsonify({"error": message, **extra}), status


def public_brief(data: dict) -> dict:
    """What the trainee may see of a scenario before and during the call."""
    targets = data.get("transfer_targets") or {}
    return {"id": data.get("id"), "title": data.get("title"), "level": data.get("level"),
            "brief": data.get("brief", ""), "direction": data.get("direction", "inbound"),
            "agent_number": str(data.get("agent_number", "")),
            "transfer_targets": [{"key": k, "label": (v or {}).get("label", k)} for k, v in targets.items()],
            "work_order_required": bool((data.get("work_order") or {}).get("required")),
            "outbound_number": (data.get("outbound") or {}).get("number", "")}


@bp.route("/")
@roles_required(*PRACTISING)
def home():
    versions = ScenarioVersion.current()
    history = (db.session.query(PracticalCall).filter_by(user_id=current_user.id)
               .order_by(PracticalCall.started_at.desc()).limit(50).all())
    for row in history:
        if row.status == "live" and row.scenario.task != "live_call":
            service.close_if_time_up(row)          # a task left open past its limit is graded now
    visible = {row.id for row in history if service.score_visible(row)}
    best = _best_practice_scores(current_user.id)
    level = request.args.get("level", "")
    task = request.args.get("task", "")
    done = request.args.get("done", "")
    q = (request.args.get("q") or "").strip()[:40]
    shown = [v for v in versions
             if (not level or str(v.level) == level) and (not task or v.task == task)
             and (not q or q.lower() in f"{v.title} {v.data.get('brief', '')}".lower())
             and (done != "yes" or v.scenario_id in best) and (done != "no" or v.scenario_id not in best)]
    counts = {lv: sum(1 for v in versions if v.level == lv) for lv in LEVEL_NAMES}
    return render_template("practical/home.html", versions=shown, total=len(versions), counts=counts, best=best,
                           filters={"level": level, "task": task, "done": done, "q": q}, history=history,
                           form=StartCallForm(), LEVEL_NAMES=LEVEL_NAMES, score_visible=visible)


def _best_practice_scores(user_id: int) -> dict[str, float]:
    """scenario id -> the trainee's best score over finished practice calls and tasks."""
    rows = (db.session.query(PracticalCall).filter_by(user_id=user_id, status="finished", mode="practice").all())
    best: dict[str, float] = {}
    for row in rows:
        score = row.effective_score()
        if score is not None:
            sid = row.scenario.scenario_id
            best[sid] = max(best.get(sid, 0.0), score)
    return best


@bp.route("/start/<scenario_id>", methods=["POST"])
@roles_required(*PRACTISING)
def start(scenario_id: str):
    form = StartCallForm()
    if not form.validate_on_submit():
        abort(400)
    from ..sittings import service as sittings
    sitting = sittings.open_certification_for(current_user)
    if sitting is not None:          # closed book: practice would show the live scenario's references
        return render_template("error.html", code=403, title="正式鉴定进行中",
                               message=sittings.lockdown_message(sitting)), 403
    version = ScenarioVersion.latest(scenario_id)
    if version is None or version.retired:
        abort(404)
    if version.task != "live_call":
        row = service.start_task(current_user, version, mode="practice")
        return redirect(url_for(".task_page", call_id=row.id))
    row = service.start_call(current_user, version, mode="practice")
    return redirect(url_for(".call_page", call_id=row.id))


# ---- the microphone check before a call -----------------------------------------------------------
# Trainees (practice and certification alike: both use the call page) pass it once per login session;
# trainers and admins trying a scenario are not held up by it and use the call page's own switch.

SAFE_NEXT = re.compile(r"^/(practical|my)/[\w/-]*$")


def _needs_device_check() -> bool:
    return current_user.role == Role.TRAINEE.value and not device.passed(current_user.id)


@bp.route("/device")
@roles_required(*PRACTISING)
def device_page():
    target = request.args.get("next", "")
    target = target if SAFE_NEXT.match(target) else url_for(".home")
    return render_template("practical/device.html", next_url=target, passed_text=device.passed_text(current_user.id),
                           test_url=url_for(".device_test"), record_s=3)


@bp.route("/device/test", methods=["POST"])
@roles_required(*PRACTISING)
def device_test():
    from grading.audio import AudioError

    upload = request.files.get("audio")
    data = upload.read() if upload is not None else b""
    if not data:
        return _json_error("没有收到录音，请重新测试。", 400)
    try:
        result = device.check_recording(data)
    except device.DeviceCheckFailed as exc:
        return _json_error(exc.message, 422, passed=False, level_dbfs=exc.level_dbfs)
    except AudioError as exc:
        return _json_error(f"{exc.message.rstrip('。')}。请重新测试。", 422, passed=False)
    device.mark_passed(current_user.id, result)
    return jsonify({"passed": True, "text": result.text, "level_dbfs": result.level_dbfs})


@bp.route("/calls/<call_id>")
@roles_required(*PRACTISING)
def call_page(call_id: str):
    row = _own_call(call_id)
    if row.status == "live" and _needs_device_check():
        return redirect(url_for(".device_page", next=url_for(".call_page", call_id=row.id)))
    live = service.live_call(row)
    if row.status in ("finished", "interrupted") and row.result is not None:
        return redirect(url_for(".result", call_id=row.id))
    return render_template("practical/call.html", row=row, brief=public_brief(row.scenario.data),
                           live=live is not None, order_types=ORDER_TYPES, wrapup_codes=WRAPUP_CODES,
                           fields=WORK_ORDER_FIELDS, next_seq=service.registry().next_seq(row.id))


def _state_payload(row: PracticalCall, live, since: int) -> dict:
    view = live.view()
    view["next_seq"] = service.registry().next_seq(row.id)
    view["backlog_s"] = service.registry().backlog_s(row.id)
    return {"view": view, "events": live.events_since(since)}


def _live_or_gone(row: PracticalCall):
    live = service.live_call(row)
    if live is None:
        message = {"interrupted": "通话因服务器重启而结束，已按已录下的内容评分，考评员会复核。",
                   "abandoned": "通话因长时间无操作已关闭，记录已保存。"}.get(
                       row.status, "通话已结束。已保存的内容不会丢失。")
        response = jsonify({"error": message, "status": row.status,
                            "result_url": url_for(".result", call_id=row.id) if row.result is not None else None})
        response.status_code = 410
        abort(response)
    return live


@bp.route("/calls/<call_id>/state")
@roles_required(*PRACTISING)
def call_state(call_id: str):
    row = _own_call(call_id)
    live = _live_or_gone(row)
    live.tick()
    return jsonify(_state_payload(row, live, query_int("since", 0)))


@bp.route("/calls/<call_id>/audio", methods=["POST"])
@roles_required(*PRACTISING)
def call_audio(call_id: str):
    row = _own_call(call_id)
    live = _live_or_gone(row)
    seq = query_int("seq")
    pcm = request.get_data(cache=False)
    if seq is None or seq < 0:
        return _json_error("缺少音频序号", 400)
    if len(pcm) > MAX_CHUNK_BYTES or len(pcm) % 2:
        return _json_error("音频数据格式不正确（应为 16 kHz 单声道 16 位 PCM，每段不超过 5 秒）", 400)
    try:
        service.registry().receive(row.id, seq, pcm, resync=request.args.get("resync") == "1")
    except ChunkOutOfOrder as exc:
        return _json_error("音频段缺失，请从指定序号重发", 409, expected=exc.expected)
    except AudioTooFast:
        return _json_error("音频发送过快（超过实时速度），请稍后再发", 429)
    live.tick()
    return jsonify(_state_payload(row, live, query_int("since", 0)))


@bp.route("/calls/<call_id>/action", methods=["POST"])
@roles_required(*PRACTISING)
def call_action(call_id: str):
    row = _own_call(call_id)
    live = _live_or_gone(row)
    body = json_object()
    action = body.get("action")
    since = int_field(body, "since", default=0)
    try:
        if action in ("transfer", "consult"):
            live.transfer(str_field(body, "target", max_length=64), kind="consult" if action == "consult" else "blind")
        elif action in ACTIONS:
            getattr(live, action)()
        else:
            return _json_error("未知操作", 400)
    except CallError as exc:
        return _json_error(str(exc))
    return jsonify(_state_payload(row, live, since))


@bp.route("/calls/<call_id>/work-order", methods=["POST"])
@roles_required(*PRACTISING)
def call_work_order(call_id: str):
    row = _own_call(call_id)
    live = _live_or_gone(row)
    body = json_object()
    try:
        errors = live.save_work_order({k: str_field(body, k, max_length=2000) for k in WORK_ORDER_FIELDS})
    except CallError as exc:
        return _json_error(str(exc))
    return jsonify({"saved": True, "valid": not errors, "errors": errors})


@bp.route("/calls/<call_id>/finish", methods=["POST"])
@roles_required(*PRACTISING)
def call_finish(call_id: str):
    row = _own_call(call_id)
    body = json_object(allow_empty=True)
    skip = body.get("skip_work_order") is True
    if row.status != "finished":
        live = service.registry().get(row.id)
        missing = (live is not None and live.view()["state"] in ("wrap_up", "ended")
                   and public_brief(row.scenario.data)["work_order_required"]
                   and not live.work_order_valid)
        if missing and not skip:
            return _json_error("本通话要求填写工单，但还没有保存有效的工单。不填写工单提交，工单项将不得分；"
                               "确认要直接提交吗？", 409, work_order_missing=True)
        try:
            service.finish_call(row, work_order_skipped=missing)
        except CallError as exc:
            return _json_error(str(exc))
    return jsonify({"finished": True, "result_url": url_for(".result", call_id=row.id)})


@bp.route("/calls/<call_id>/result")
@roles_required(*PRACTISING)
def result(call_id: str):
    row = _own_call(call_id)
    if row.status != "finished" and not (row.status == "interrupted" and row.result is not None):
        return redirect(url_for(".call_page", call_id=row.id))
    if row.mode == "certification":
        from ..sittings.models import SittingCandidate
        candidate = db.session.get(SittingCandidate, row.sitting_candidate_id) if row.sitting_candidate_id else None
        if candidate is None or candidate.sitting.published_at is None:
            return render_template("practical/submitted.html", row=row,
                                   sitting_id=candidate.sitting_id if candidate else None)
    else:
        from ..sittings import service as sittings
        sitting = sittings.open_certification_for(current_user)
        if sitting is not None:      # a practice result shows reference answers and rubric labels
            return render_template("error.html", code=403, title="正式鉴定进行中",
                                   message=sittings.lockdown_message(sitting)), 403
    record = service.load_record(row) or {"events": []}
    data = row.scenario.data
    references = {a.get("band"): a for a in data.get("reference_answers") or []}
    # a published certification call shows the grade as the assessors left it; practice calls are not reviewed
    shown = row.effective_result() if row.mode == "certification" else row.result or {}
    return render_template("practical/result.html", row=row, result=shown, record=record,
                           reference=references.get("excellent"), LEVEL_NAMES=LEVEL_NAMES,
                           order_types=ORDER_TYPES, wrapup_codes=WRAPUP_CODES, fields=WORK_ORDER_FIELDS)


@bp.route("/calls/<call_id>/files/<path:name>")
@roles_required(*PRACTISING)
def call_file(call_id: str, name: str):
    """Caller lines as they are played, and after the call both sides and the mixed recording."""
    row = _own_call(call_id)
    if not AUDIO_NAME.match(name):
        abort(404)
    if not name.startswith("caller/") and name != "review.wav" and row.status != "finished":
        abort(404)
    path = Path(row.call_dir) / name
    if not path.is_file():
        abort(404)
    live = service.registry().get(row.id)
    if live is not None and name.startswith("caller/"):
        played = {e.get("audio") for e in live.events_since(0) if e["type"] == "caller_line"}
        if name not in played:
            abort(404)                   # lines not yet spoken stay unknown to the browser
    return send_file(path, mimetype="audio/wav", max_age=0)


# ---- the other practical tasks: recording review, typing, case ------------------------------------

def task_brief(data: dict) -> dict:
    """What the trainee sees of a non-call task: the material, never the rubric or reference answers."""
    return {"title": data.get("title"), "brief": data.get("brief", ""), "task": data.get("task"),
            "question": data.get("question") or (data.get("case") or {}).get("question", ""),
            "material": (data.get("case") or {}).get("material", ""),
            "typing_text": (data.get("typing") or {}).get("text", ""),
            "answer_mode": data.get("answer_mode",
                                    "text" if data.get("task") in ("typing", "case") else "voice_or_text"),
            "time_limit_s": service.task_time_limit_s(data)}


@bp.route("/tasks/<call_id>")
@roles_required(*PRACTISING)
def task_page(call_id: str):
    row = _own_call(call_id)
    if service.close_if_time_up(row):
        return redirect(url_for(".result", call_id=row.id))
    brief = task_brief(row.scenario.data)
    return render_template("practical/task.html", row=row, brief=brief, draft=service.load_draft(row),
                           remaining=int(service.task_remaining_s(row)), max_answer_s=int(service.max_answer_s()),
                           form=StartCallForm())


def _time_up(row: PracticalCall):
    return _json_error(service.time_up_message(row), 409, time_up=True,
                       result_url=url_for(".result", call_id=row.id))


@bp.route("/tasks/<call_id>/draft", methods=["POST"])
@roles_required(*PRACTISING)
def task_draft(call_id: str):
    row = _own_call(call_id)
    if row.status == "finished":
        return _json_error("已提交，不能再修改")
    body = json_object()
    if service.close_if_time_up(row):
        return _time_up(row)
    try:
        service.save_draft(row, {k: str_field(body, k, max_length=20_000) for k in ("text", "typed")})
    except service.TaskClosed:
        return _time_up(row)
    return jsonify({"saved": True})


@bp.route("/tasks/<call_id>/submit", methods=["POST"])
@roles_required(*PRACTISING)
def task_submit(call_id: str):
    from grading.audio import AudioError

    row = _own_call(call_id)
    if row.status == "finished" and (row.result or {}).get("time_up"):
        return _time_up(row)
    if row.status != "finished":
        if service.close_if_time_up(row):
            return _time_up(row)
        upload = request.files.get("audio")
        audio = upload.read() if upload is not None else None
        text, typed = request.form.get("text", ""), request.form.get("typed", "")
        try:
            service.save_draft(row, {"text": text, "typed": typed})
            if not (text.strip() or typed.strip() or audio):
                return _json_error("还没有作答，请输入或录制答案后再提交", 400)
            service.submit_task(row, text=text, typed=typed, audio=audio or None)
        except service.TaskClosed:
            return _time_up(row)
        except AudioError as exc:
            return _json_error(f"{exc.message.rstrip('。')}。已保存的文字答案不会丢失，请重新录音或改用文字作答。", 422)
    return jsonify({"finished": True, "result_url": url_for(".result", call_id=row.id)})
