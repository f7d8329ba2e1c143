"""Starting, running and finishing practical calls for the web layer: the database rows, the call
folders and the live calls of this process. Views stay thin by calling only these functions."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

from flask import current_app

from softphone_sim.live import CallError, CallRegistry, LiveCall, Timing, TooManyCalls
from softphone_sim.live.runtime import _write_json

from ..extensions import db
from .models import PracticalCall, ScenarioVersion, utcnow


def registry() -> CallRegistry:
    ext = current_app.extensions
    if "practical_calls" not in ext:
        app = current_app._get_current_object()

        def abandoned(live: LiveCall) -> None:
            # the sweeper's thread: its own app context and session
            with app.app_context():
                row = db.session.get(PracticalCall, live.call_id)
                if row is not None and row.status == "live":
                    row.status = "abandoned"
                    row.finished_at = utcnow()
                    db.session.commit()
                db.session.remove()

        ext["practical_calls"] = CallRegistry(idle_timeout_s=float(current_app.config.get("CALL_IDLE_TIMEOUT_S", 600)),
                                              max_calls_per_user=1, on_abandoned=abandoned)
    return ext["practical_calls"]


def timing() -> Timing:
    return Timing(end_of_turn_pause_s=float(current_app.config.get("END_OF_TURN_PAUSE_S", 1.6)))


def _make_room(user) -> None:
    """A trainee has one live call at a time: starting another closes a practice call left open
    (marked abandoned, record kept); a certification call in progress must be finished first."""
    reg = registry()
    for call_id in reg.calls_of(user.id):
        row = db.session.get(PracticalCall, call_id)
        if row is not None and row.mode == "certification" and row.status == "live":
            raise CallError("您有一通鉴定通话尚未完成，请先完成该通话。")
        live = reg.get(call_id)
        if live is not None:
            live.abandon("replaced")
        if row is not None and row.status == "live":
            row.status, row.finished_at = "abandoned", utcnow()
        reg.remove(call_id)
    db.session.commit()


def start_call(user, version: ScenarioVersion, *, mode: str = "practice") -> PracticalCall:
    from grading.asr import get_recognizer
    from scenarios import Conversation

    data = version.data
    if data.get("task", "live_call") != "live_call":
        raise CallError("该题目不是通话任务")
    _make_room(user)
    call_id = str(uuid.uuid4())
    call_dir = Path(current_app.config["CALLS_DIR"]) / call_id
    live = LiveCall(data, call_dir=call_dir, recognizer=get_recognizer(current_app.config["ASR_ENGINE"]),
                    conversation=Conversation(data), scenario_version=version.version, call_id=call_id,
                    agent={"user_id": user.id, "agent_number": str(data.get("agent_number", ""))}, mode=mode,
                    tts_cache=current_app.config["TTS_CACHE_DIR"], started=False, timing=timing())
    row = PracticalCall(id=call_id, user_id=user.id, scenario_version_id=version.id, mode=mode, status="live",
                        call_dir=str(call_dir))
    db.session.add(row)
    db.session.commit()
    try:
        registry().add(live, user.id)
    except TooManyCalls:       # a second request of the same trainee raced this one
        live.abandon("replaced")
        row.status = "abandoned"
        db.session.commit()
        raise CallError("您已有一通正在进行的通话。") from None
    return row


def live_call(row: PracticalCall) -> LiveCall | None:
    """The running call of ``row``; a live call this server process no longer holds (the server was
    restarted) is closed and graded on what was recorded."""
    live = registry().get(row.id)
    if live is None and row.status == "live":
        recover_call(row)
    return live


def recover_call(row: PracticalCall) -> None:
    """Close a call lost with its server process: the record is completed from the durable audio,
    graded, and marked interrupted and provisional, so an assessor sees it and may reopen the task."""
    from grading.asr import get_recognizer
    from grading.rubric import grade
    from softphone_sim.live.recovery import recover_record

    if row.scenario.task != "live_call":
        return
    record = recover_record(row.call_dir, get_recognizer(current_app.config["ASR_ENGINE"]))
    result: dict = {}
    if record is not None:
        result = grade(record, row.scenario.data).to_dict()
        result["interrupted"] = True
        result["provisional"] = True
        _write_json(Path(row.call_dir) / "grade.json", result)
    row.status = "interrupted"
    row.finished_at = utcnow()
    row.result = result or None
    row.score = result.get("total") if result else None
    row.passed = result.get("passed") if result else None
    row.provisional = True
    db.session.commit()


def recover_interrupted() -> int:
    """At start-up: every call left live by a previous server process is closed on its record."""
    rows = db.session.query(PracticalCall).filter_by(status="live").all()
    for row in rows:
        if registry().get(row.id) is None:
            recover_call(row)
    return len(rows)


def finish_call(row: PracticalCall) -> dict:
    """Grade the finished call and store the result; safe to call twice."""
    from grading.rubric import grade

    reg = registry()
    live = reg.get(row.id)
    if live is None:
        if row.status == "finished":
            return row.result or {}
        raise CallError("通话已中断，无法提交")
    reg.drain(row.id)
    result = live.finish(lambda record, scenario: grade(record, scenario).to_dict())
    row.status = "finished"
    row.finished_at = utcnow()
    row.result = result
    row.score = result.get("total")
    row.passed = result.get("passed")
    row.provisional = bool(result.get("provisional"))
    db.session.commit()
    reg.remove(row.id)
    return result


def load_record(row: PracticalCall) -> dict | None:
    path = Path(row.call_dir) / "record.json"
    if not path.exists():
        return None
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def start_task(user, version: ScenarioVersion, *, mode: str = "practice") -> PracticalCall:
    """A non-call task (recording review, typing, case): the row and its folder; the clock starts now."""
    from scenarios.tasks import render_recording

    call_id = str(uuid.uuid4())
    call_dir = Path(current_app.config["CALLS_DIR"]) / call_id
    call_dir.mkdir(parents=True, exist_ok=True)
    if version.task == "recording_review":
        path, _seconds = render_recording(version.data, cache_dir=current_app.config["TTS_CACHE_DIR"])
        import shutil
        shutil.copyfile(path, call_dir / "review.wav")
    row = PracticalCall(id=call_id, user_id=user.id, scenario_version_id=version.id, mode=mode, status="live",
                        call_dir=str(call_dir))
    db.session.add(row)
    db.session.commit()
    return row


def save_draft(row: PracticalCall, draft: dict) -> None:
    _write_json(Path(row.call_dir) / "draft.json", {k: str(draft.get(k) or "")[:20000] for k in ("text", "typed")})


def load_draft(row: PracticalCall) -> dict:
    path = Path(row.call_dir) / "draft.json"
    if not path.exists():
        return {"text": "", "typed": ""}
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def submit_task(row: PracticalCall, *, text: str = "", typed: str = "", audio: bytes | None = None) -> dict:
    """Grade a task answer (typed text, typing, and/or a spoken answer) and finish the row. A spoken
    answer that cannot be read raises ``grading.audio.AudioError`` and nothing is finished."""
    from grading.asr import get_recognizer
    from grading.audio import load_audio
    from grading.rubric import grade
    from scenarios.tasks import answer_record

    if row.status == "finished":
        return row.result or {}
    transcript = None
    if audio:
        clip = load_audio(audio)
        heard = get_recognizer(current_app.config["ASR_ENGINE"]).transcribe(clip)
        transcript = heard.to_dict()
        import wave
        with wave.open(str(Path(row.call_dir) / "answer.wav"), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(16000)
            w.writeframes(clip.pcm16())
    elapsed = (utcnow() - row.started_at).total_seconds()
    data = row.scenario.data
    record = answer_record(data, text=text, transcript=transcript, typed=typed, duration_s=elapsed, call_id=row.id,
                           version=row.scenario.version, agent={"user_id": row.user_id})
    result = grade(record, data).to_dict()
    _write_json(Path(row.call_dir) / "record.json", record)
    _write_json(Path(row.call_dir) / "grade.json", result)
    row.status, row.finished_at, row.result = "finished", utcnow(), result
    row.score, row.passed, row.provisional = result["total"], result["passed"], bool(result["provisional"])
    db.session.commit()
    return result
