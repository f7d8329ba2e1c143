"""Starting, running and finishing practical calls for the web layer: the database rows, the call
folders and the live calls of this process. Views stay thin by calling only these functions."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

from flask import current_app

from softphone_sim.live import CallError, CallRegistry, LiveCall, Timing, TooManyCalls
from softphone_sim.live.runtime import write_json_atomic

from ..extensions import db
from .models import PracticalCall, ScenarioVersion, utcnow

DEFAULT_TIME_LIMIT_S = 600
TASK_GRACE_S = 30          # network and clock slack after a task's time limit (PRACTICAL_TASK_GRACE_S)
MAX_ANSWER_S = 180         # longest spoken task answer accepted (PRACTICAL_MAX_ANSWER_S)


class TaskClosed(Exception):
    """A task whose time is up: nothing new is accepted. The message is for the trainee (Chinese)."""


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


def warm_up(engine: str) -> None:
    """Load what the first live call would otherwise load inside a request, under its lock: the speech
    model, the voice-activity detector and the pinyin dictionaries the caller's branch matching reads
    (about 1 s in all; measured on the live-call benchmark as the first call's one slow chunk)."""
    from grading.asr import get_recognizer
    from grading.asr.vad import silero_session
    from grading.rubric.matching import readings

    readings("您好请问")
    silero_session()
    get_recognizer(engine)


def start_call(user, version: ScenarioVersion, *, mode: str = "practice") -> PracticalCall:
    from grading.asr import get_recognizer
    from scenarios import Conversation

    data = version.data
    if data.get("task", "live_call") != "live_call":
        raise CallError("该题目不是通话任务")
    _make_room(user)
    call_id = node_call_id(current_app.config.get("WEB_NODE"))
    call_dir = Path(current_app.config["CALLS_DIR"]) / call_id
    live = LiveCall(data, call_dir=call_dir, recognizer=get_recognizer(current_app.config["ASR_ENGINE"]),
                    conversation=Conversation(data), scenario_version=version.version, call_id=call_id,
                    agent={"user_id": user.id, "agent_number": str(data.get("agent_number", ""))}, mode=mode,
                    tts_cache=current_app.config["TTS_CACHE_DIR"], started=False, timing=timing(),
                    tts_engine=current_app.config.get("TTS_ENGINE", "auto"))
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


def node_call_id(node: int | None) -> str:
    """A new call id. With several web processes (``WEB_NODE`` set) its first two hex digits name the
    process that holds the live call, and a reverse proxy routes ``/practical/calls/<id>/...`` there by
    them (docs/deployment.md); still 36 characters, as the column expects."""
    plain = str(uuid.uuid4())
    return plain if node is None else f"{int(node) % 256:02x}{plain[2:]}"


def is_mine(call_id: str) -> bool:
    """Whether this web process is the one that holds ``call_id`` while it is live: always with one web
    process; with several, by the call id's node digits."""
    node = current_app.config.get("WEB_NODE")
    if node is None:
        return True
    try:
        return int(call_id[:2], 16) == int(node) % 256
    except ValueError:
        return False


def live_call(row: PracticalCall) -> LiveCall | None:
    """The running call of ``row``; a live call this server process no longer holds (the server was
    restarted) is closed and graded on what was recorded. A call of another web process (a request
    the proxy misrouted) is left alone."""
    live = registry().get(row.id)
    if live is None and row.status == "live" and is_mine(row.id):
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
        write_json_atomic(Path(row.call_dir) / "grade.json", result)
    row.status = "interrupted"
    row.finished_at = utcnow()
    row.result = result or None
    row.score = result.get("total") if result else None
    row.passed = result.get("passed") if result else None
    row.provisional = True
    db.session.commit()


def recover_interrupted() -> int:
    """At start-up: every call left live by a previous server process is closed on its record."""
    rows = [r for r in db.session.query(PracticalCall).filter_by(status="live").all() if is_mine(r.id)]
    for row in rows:
        if registry().get(row.id) is None:
            recover_call(row)
    return len(rows)


def finish_call(row: PracticalCall, *, work_order_skipped: bool = False) -> dict:
    """Grade the finished call and store the result; safe to call twice. ``work_order_skipped``: the
    trainee confirmed submitting without the work order the scenario requires (the record says so)."""
    from grading.rubric import grade

    reg = registry()
    live = reg.get(row.id)
    if live is None:
        if row.status == "finished":
            return row.result or {}
        raise CallError("通话已中断，无法提交")
    reg.drain(row.id)
    result = live.finish(lambda record, scenario: grade(record, scenario).to_dict(),
                         work_order_skipped=work_order_skipped)
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


def score_visible(row: PracticalCall) -> bool:
    """May the trainee see this call's or task's score? Practice: always. Certification: only once its
    sitting is published (the assessor may still review and override until then)."""
    if row.mode != "certification":
        return True
    from ..sittings.models import SittingCandidate
    candidate = db.session.get(SittingCandidate, row.sitting_candidate_id) if row.sitting_candidate_id else None
    return candidate is not None and candidate.sitting.published_at is not None


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


# ---- task time limits ------------------------------------------------------------------------------
# The limit is the scenario's (``time_limit_s``, or ``typing.time_limit_s``), plus any extra minutes the
# proctor granted the candidate of a certification sitting. The server accepts drafts and the submit up
# to ``PRACTICAL_TASK_GRACE_S`` after it (the page submits by itself when its countdown ends, and the
# request needs a moment). After that nothing new is accepted, and the task is graded on the last draft
# saved in time: what the trainee had written by the deadline counts, as on a paper collected when time
# is called. A spoken answer is never part of a draft, so one sent too late is not graded.

def task_time_limit_s(data: dict) -> float:
    return float(data.get("time_limit_s") or (data.get("typing") or {}).get("time_limit_s") or DEFAULT_TIME_LIMIT_S)


def task_allowed_s(row: PracticalCall) -> float:
    """The task's limit for this trainee: the scenario's, plus a certification candidate's extra time."""
    allowed = task_time_limit_s(row.scenario.data)
    if row.mode == "certification" and row.sitting_candidate_id:
        from ..sittings.models import SittingCandidate
        candidate = db.session.get(SittingCandidate, row.sitting_candidate_id)
        if candidate is not None:
            allowed += 60 * (candidate.extra_minutes or 0)
    return allowed


def task_elapsed_s(row: PracticalCall) -> float:
    return (utcnow() - row.started_at).total_seconds()


def task_remaining_s(row: PracticalCall) -> float:
    return max(0.0, task_allowed_s(row) - task_elapsed_s(row))


def task_time_up(row: PracticalCall) -> bool:
    grace = float(current_app.config.get("PRACTICAL_TASK_GRACE_S", TASK_GRACE_S))
    return row.status == "live" and task_elapsed_s(row) > task_allowed_s(row) + grace


def time_up_message(row: PracticalCall) -> str:
    minutes = task_allowed_s(row) / 60
    return (f"作答时间已到（限时 {minutes:g} 分钟），不能再修改或提交。"
            "已按时间截止前自动保存的答案评分。")


def close_if_time_up(row: PracticalCall) -> bool:
    """Grade a task whose time is up on the draft saved in time; True when the task is (now) closed."""
    if row.status == "finished":
        return True
    if not task_time_up(row):
        return False
    draft = load_draft(row)
    elapsed = min(float(draft.get("elapsed_s") or task_allowed_s(row)), task_allowed_s(row))
    _grade_task(row, text=draft.get("text", ""), typed=draft.get("typed", ""), elapsed_s=elapsed,
                time_up={"allowed_s": task_allowed_s(row), "graded_on": "saved_draft",
                         "draft_saved_at_s": draft.get("elapsed_s")})
    return True


def close_overdue_tasks() -> int:
    """Grade every open task (not a live call: those have their idle sweep) whose time is up, so a
    result never waits for the trainee to come back. Returns how many were closed."""
    open_tasks = (db.session.query(PracticalCall).join(ScenarioVersion, PracticalCall.scenario_version_id ==
                                                       ScenarioVersion.id)
                  .filter(PracticalCall.status == "live", ScenarioVersion.task != "live_call").all())
    closed = 0
    for row in open_tasks:
        if task_time_up(row):
            close_if_time_up(row)
            closed += 1
    return closed


def save_draft(row: PracticalCall, draft: dict) -> None:
    """Keep the trainee's text so far (and when it was saved, for grading at the deadline)."""
    if task_time_up(row):
        raise TaskClosed(time_up_message(row))
    write_json_atomic(Path(row.call_dir) / "draft.json",
                      {**{k: str(draft.get(k) or "")[:20000] for k in ("text", "typed")},
                       "elapsed_s": round(task_elapsed_s(row), 3)})


def load_draft(row: PracticalCall) -> dict:
    path = Path(row.call_dir) / "draft.json"
    if not path.exists():
        return {"text": "", "typed": ""}
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def max_answer_s() -> float:
    return float(current_app.config.get("PRACTICAL_MAX_ANSWER_S", MAX_ANSWER_S))


def submit_task(row: PracticalCall, *, text: str = "", typed: str = "", audio: bytes | None = None) -> dict:
    """Grade a task answer (typed text, typing, and/or a spoken answer) and finish the row. A spoken
    answer that cannot be read, or is longer than ``PRACTICAL_MAX_ANSWER_S``, raises
    ``grading.audio.AudioError`` before any recognition and nothing is finished. A task whose time is
    up raises ``TaskClosed`` (after grading the draft saved in time)."""
    from grading.asr import get_recognizer
    from grading.audio import load_audio

    if row.status == "finished":
        return row.result or {}
    if close_if_time_up(row):
        raise TaskClosed(time_up_message(row))
    transcript = clip = None
    if audio:
        # The duration probe refuses an over-long answer before it is decoded or recognised: a
        # recognition holds a worker for about as long as the answer lasts.
        clip = load_audio(audio, max_seconds=max_answer_s(),
                          max_bytes=current_app.config.get("MAX_CONTENT_LENGTH") or 50 * 1024 * 1024)
        transcript = get_recognizer(current_app.config["ASR_ENGINE"]).transcribe(clip).to_dict()
    return _grade_task(row, text=text, typed=typed, transcript=transcript, clip=clip,
                       elapsed_s=task_elapsed_s(row))


def _grade_task(row: PracticalCall, *, text: str, typed: str, elapsed_s: float, transcript: dict | None = None,
                clip=None, time_up: dict | None = None) -> dict:
    from grading.audio import write_wav
    from grading.rubric import grade
    from scenarios.tasks import answer_record

    data = row.scenario.data
    record = answer_record(data, text=text, transcript=transcript, typed=typed, duration_s=elapsed_s, call_id=row.id,
                           version=row.scenario.version, agent={"user_id": row.user_id}, mode=row.mode)
    if time_up:
        record["time_up"] = time_up
    result = grade(record, data).to_dict()
    if time_up:
        result["time_up"] = time_up       # a later submit is told why its answer was not taken
    # One submit wins: the row is finished only if it is still live, in one UPDATE, so two submits at
    # once (double click, two tabs) cannot both grade and overwrite each other's files.
    won = (db.session.query(PracticalCall).filter_by(id=row.id, status="live")
           .update({"status": "finished", "finished_at": utcnow(), "result": result, "score": result["total"],
                    "passed": result["passed"], "provisional": bool(result["provisional"])},
                   synchronize_session=False))
    db.session.commit()
    db.session.refresh(row)
    if not won:
        return row.result or {}
    folder = Path(row.call_dir)
    if clip is not None:
        write_wav(folder / "answer.wav", clip.samples)
    write_json_atomic(folder / "record.json", record)
    write_json_atomic(folder / "grade.json", result)
    return result
