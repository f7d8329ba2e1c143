"""Starting, running and finishing practical calls for the web layer: the database rows, the call
folders and the live calls of this process. Views stay thin by calling only these functions."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

from flask import current_app

from ..extensions import db
from .models import PracticalCall, ScenarioVersion, utcnow
from .registry import CallRegistry
from .runtime import CallError, LiveCall


def registry() -> CallRegistry:
    ext = current_app.extensions
    if "practical_calls" not in ext:
        ext["practical_calls"] = CallRegistry()
    return ext["practical_calls"]


def start_call(user, version: ScenarioVersion, *, mode: str = "practice") -> PracticalCall:
    from grading.asr import get_recognizer
    from scenarios import Conversation

    data = version.data
    if data.get("task", "live_call") != "live_call":
        raise CallError("该题目不是通话任务")
    call_id = str(uuid.uuid4())
    call_dir = Path(current_app.config["CALLS_DIR"]) / call_id
    live = LiveCall(data, call_dir=call_dir, recognizer=get_recognizer(current_app.config["ASR_ENGINE"]),
                    conversation=Conversation(data), scenario_version=version.version, call_id=call_id,
                    agent={"user_id": user.id, "agent_number": str(data.get("agent_number", ""))}, mode=mode,
                    tts_cache=current_app.config["TTS_CACHE_DIR"])
    row = PracticalCall(id=call_id, user_id=user.id, scenario_version_id=version.id, mode=mode, status="live",
                        call_dir=str(call_dir))
    db.session.add(row)
    db.session.commit()
    registry().add(live, user.id)
    return row


def live_call(row: PracticalCall) -> LiveCall | None:
    """The running call of ``row``; a call this server process no longer holds (restart) is marked
    interrupted, keeping everything its record saved."""
    live = registry().get(row.id)
    if live is None and row.status == "live":
        row.status = "interrupted"
        db.session.commit()
    return live


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
