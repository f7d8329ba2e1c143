"""The scenario format (docs/scenarios.md) as checks: ``check(data)`` lists every problem as
``place: message`` (Chinese, for trainers), e.g. ``rubric.items[2].points: 分值必须是非负数``."""
from __future__ import annotations

import re
from typing import Any

SITUATIONS = (
    "silent_caller", "low_volume", "noisy_line", "speakerphone", "dialect", "fast_speaker", "lookup_hold",
    "system_failure", "transfer_success", "transfer_failed", "manager_request", "personal_info_request",
    "complaint_about_agent", "angry_caller", "abusive_caller", "harassment", "date_invitation", "wrong_number",
    "out_of_scope", "media_inquiry", "callback_needed", "praise", "caller_apology", "suggestion",
    "long_information", "call_dropped", "caller_wont_hang_up", "outbound_callback", "customer_absent",
    "outbound_no_answer", "complaint", "consultation")
TASKS = ("live_call", "recording_review", "typing", "case")
ENDS = ("caller_hangs_up", "waits_for_agent", "line_drops")
SCOPES = ("first", "last", "any", "all", "after_hold", "before_hold")
BANDS = ("excellent", "borderline", "failing")
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,79}$")
TOP_KEYS = {"id", "title", "level", "situation", "task", "direction", "difficulty", "brief", "agent_number",
            "persona", "line", "sources", "queue", "ivr", "cti", "transfer_targets", "outbound", "work_order",
            "intents", "script", "rubric", "reference_answers", "notes",
            "recording", "typing", "case", "question", "answer_mode", "time_limit_s"}
REQUIRED = ("id", "title", "level", "situation", "brief", "sources", "rubric", "reference_answers")
# What each task type needs besides the common fields.
TASK_REQUIRED = {"live_call": ("persona", "script"), "recording_review": ("persona", "recording", "question"),
                 "typing": ("typing",), "case": ("case",)}
ANSWER_MODES = ("voice", "text", "voice_or_text")
TURN_KEYS = {"id", "say", "line", "silence_s", "reply_within_s", "branches", "on_no_reply", "end", "on_overtalk"}
OVERTALK = ("stop", "finish")   # when the trainee talks over the caller: the caller breaks off, or finishes
# The rubric kinds, their parameters and types live in grading.rubric.kinds (one registry).
WORK_ORDER_FIELDS = ("type", "summary", "contact", "callback_time", "wrapup_code")
ACTIONS = ("hold", "transfer", "consult", "work_order", "hangup")


def _q(value) -> str:
    """A value quoted for a trainer's message: 「calm」, not Python's 'calm' or ['A']."""
    if isinstance(value, (list, tuple)):
        return "「" + "、".join(str(v) for v in value) + "」"
    if isinstance(value, dict):
        return "「" + "、".join(str(k) for k in value) + "」"
    return f"「{value}」"


def _shared_intents() -> dict:
    """The intents every scenario may name (shared_intents of scenarios/library/common.yaml)."""
    from grading.rubric import load_common
    try:
        return dict(load_common().get("shared_intents") or {})
    except Exception:      # no common file: only the scenario's own intents exist
        return {}


def _seed_names() -> set[str]:
    """Scenarios cite the seed files themselves (trainers look the script up in them)."""
    from exams.question_bank import SOURCE_FILES
    return set(SOURCE_FILES.values())


def check(data: Any) -> list[str]:
    problems: list[str] = []
    add = lambda place, msg: problems.append(f"{place}: {msg}")  # noqa: E731
    if not isinstance(data, dict):
        return ["文件: 场景文件的顶层应为映射（键: 值）"]
    for key in sorted(set(data) - TOP_KEYS):
        add(key, "未知的字段（请检查拼写）")
    for key in REQUIRED:
        if key not in data or data[key] in (None, "", [], {}):
            add(key, "缺少必填字段")
    sid = data.get("id")
    if sid is not None and (not isinstance(sid, str) or not ID_RE.match(sid)):
        add("id", "只能由小写字母、数字和“-”组成")
    if data.get("level") not in (3, 4, 5):
        add("level", "等级必须是 5、4 或 3")
    if "situation" in data and data["situation"] not in SITUATIONS:
        add("situation", f"未知的情境类型 {_q(data['situation'])}")
    task = data.get("task", "live_call")
    if task not in TASKS:
        add("task", f"任务类型必须是 {'、'.join(TASKS)} 之一")
    for key in TASK_REQUIRED.get(task, ()):
        if key not in data or data[key] in (None, "", [], {}):
            add(key, "缺少必填字段")
    _check_task(data, task, add)
    if data.get("direction", "inbound") not in ("inbound", "outbound"):
        add("direction", "必须是 inbound 或 outbound")
    if data.get("difficulty", 1) not in (1, 2, 3):
        add("difficulty", "难度必须是 1、2 或 3")
    _check_persona(data.get("persona"), add)
    _check_line(data.get("line"), "line", add)
    sources = data.get("sources") or []
    if not isinstance(sources, list):
        add("sources", "应为文件名列表")
    else:
        known = _seed_names()
        for i, name in enumerate(sources):
            if name not in known:
                add(f"sources[{i}]", f"不是规范文件名：{name}")
    intents = data.get("intents") or {}
    if not isinstance(intents, dict):
        add("intents", "应为 意图名: [说法, …] 的映射")
        intents = {}
    for name, phrases in intents.items():
        if not isinstance(phrases, list) or not phrases or not all(isinstance(p, str) and p.strip() for p in phrases):
            add(f"intents.{name}", "应为非空的说法列表")
    targets = data.get("transfer_targets") or {}
    for key, target in targets.items() if isinstance(targets, dict) else []:
        if not isinstance(target, dict) or target.get("outcome", "success") not in ("success", "busy", "no_answer"):
            add(f"transfer_targets.{key}", "outcome 必须是 success、busy 或 no_answer")
    outbound = data.get("outbound")
    if data.get("direction") == "outbound":
        outcomes = ("answered", "not_customer", "no_answer", "busy")
        if not isinstance(outbound, dict) or outbound.get("outcome") not in outcomes:
            add("outbound", "外呼场景需要 outbound.outcome：answered、not_customer、no_answer 或 busy")
    turn_ids = _check_script(data, intents, add) if task == "live_call" else set()
    item_ids = _check_rubric(data, intents, targets if isinstance(targets, dict) else {}, add)
    outbound = data["outbound"] if isinstance(data.get("outbound"), dict) else {}
    unanswered = data.get("direction") == "outbound" and outbound.get("outcome") in ("no_answer", "busy")
    _check_answers(data.get("reference_answers"), targets if isinstance(targets, dict) else {}, add, task, unanswered)
    if "{agent_number}" in repr(data.get("rubric")) + repr(intents) and not data.get("agent_number"):
        add("agent_number", "评分项中使用了 {agent_number}，但没有设置工号")
    del turn_ids, item_ids
    return problems


def _check_persona(persona: Any, add) -> None:
    if persona is None:
        return
    if not isinstance(persona, dict):
        add("persona", "应为映射（voice, gender, age, emotion）")
        return
    from softphone_sim import PERSONAS
    if persona.get("voice") not in PERSONAS:
        add("persona.voice", f"未知的声音 {_q(persona.get('voice'))}（可选：{'、'.join(PERSONAS)}）")


def _check_line(spec: Any, place: str, add) -> None:
    if spec in (None, ""):
        return
    from softphone_sim import parse_condition
    try:
        parse_condition(spec)
    except (ValueError, TypeError) as exc:
        add(place, f"线路条件无效：{exc}")


def _check_script(data: dict, intents: dict, add) -> set[str]:
    script = data.get("script")
    outbound_silent = (data.get("outbound") or {}).get("outcome") in ("no_answer", "busy")
    if not isinstance(script, dict):
        if script is not None:
            add("script", "应为映射（start, turns）")
        return set()
    turns = script.get("turns") or []
    if not turns:
        if not outbound_silent:
            add("script.turns", "至少需要一个来电者话轮")
        return set()
    ids: dict[str, dict] = {}
    for i, turn in enumerate(turns):
        place = f"script.turns[{i}]"
        if not isinstance(turn, dict):
            add(place, "应为映射")
            continue
        for key in sorted(set(turn) - TURN_KEYS):
            add(f"{place}.{key}", "未知的字段")
        tid = turn.get("id")
        if not isinstance(tid, str) or not tid:
            add(f"{place}.id", "缺少话轮 id")
            continue
        if tid in ids:
            add(f"{place}.id", f"话轮 id {tid} 重复")
        ids[tid] = turn
        if not isinstance(turn.get("say"), str) or not turn["say"].strip():
            add(f"{place}.say", "缺少来电者的话")
        _check_line(turn.get("line"), f"{place}.line", add)
        if turn.get("on_overtalk") is not None and turn["on_overtalk"] not in OVERTALK:
            add(f"{place}.on_overtalk", f"必须是 {'、'.join(OVERTALK)} 之一（stop：客户停下；finish：客户说完这句）")
        if turn.get("end") is not None and turn["end"] not in ENDS:
            add(f"{place}.end", f"必须是 {'、'.join(ENDS)} 之一")
        for key in ("silence_s", "reply_within_s"):
            if key in turn and (not isinstance(turn[key], (int, float)) or turn[key] <= 0):
                add(f"{place}.{key}", "必须是正数（秒）")
        branches = turn.get("branches") or []
        if not turn.get("end") and not branches:
            add(f"{place}.branches", "没有结束通话的话轮必须有分支")
        for j, br in enumerate(branches):
            bplace = f"{place}.branches[{j}]"
            if not isinstance(br, dict):
                add(bplace, "应为映射")
                continue
            if br.get("otherwise"):
                if j != len(branches) - 1:
                    add(bplace, "otherwise 必须是最后一个分支")
            elif br.get("if") not in intents:
                add(f"{bplace}.if", f"未定义的意图 {_q(br.get('if'))}")
        if branches and not (isinstance(branches[-1], dict) and branches[-1].get("otherwise")):
            add(f"{place}.branches", "分支最后必须有 otherwise")
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict):
            continue
        for j, br in enumerate(turn.get("branches") or []):
            if isinstance(br, dict) and br.get("next") not in ids:
                add(f"script.turns[{i}].branches[{j}].next", f"没有这个话轮：{_q(br.get('next'))}")
        if turn.get("on_no_reply") is not None and turn["on_no_reply"] not in ids:
            add(f"script.turns[{i}].on_no_reply", f"没有这个话轮：{_q(turn['on_no_reply'])}")
    start = script.get("start")
    if start not in ids:
        add("script.start", f"没有这个话轮：{_q(start)}")
        return set(ids)
    reachable, todo = set(), [start]
    while todo:
        tid = todo.pop()
        if tid in reachable or tid not in ids:
            continue
        reachable.add(tid)
        turn = ids[tid]
        todo.extend(br.get("next") for br in turn.get("branches") or [] if isinstance(br, dict))
        if turn.get("on_no_reply"):
            todo.append(turn["on_no_reply"])
    for tid in ids:
        if tid not in reachable:
            add(f"script.turns.{tid}", "从 start 无法到达这个话轮")
    if not any(t.get("end") for t in ids.values()):
        add("script.turns", "至少要有一个结束通话的话轮（end）")
    return set(ids)


def _check_rubric(data: dict, intents: dict, targets: dict, add) -> set[str]:
    from grading.rubric.kinds import REGISTRY

    rubric = data.get("rubric")
    if not isinstance(rubric, dict) or not isinstance(rubric.get("items"), list) or not rubric["items"]:
        if rubric is not None:
            add("rubric.items", "至少需要一个评分项")
        return set()
    ids: dict[str, dict] = {}
    total = 0.0
    for i, item in enumerate(rubric["items"]):
        place = f"rubric.items[{i}]"
        if not isinstance(item, dict):
            add(place, "应为映射")
            continue
        kind = item.get("kind")
        if kind not in REGISTRY:
            add(f"{place}.kind", f"未知的评分项类型 {_q(kind)}")
            continue
        for key, problem in REGISTRY[kind].check(item):
            add(f"{place}.{key}", problem)
        iid = item.get("id")
        if not isinstance(iid, str) or not iid:
            add(f"{place}.id", "缺少评分项 id")
        elif iid in ids:
            add(f"{place}.id", f"评分项 id {iid} 重复")
        else:
            ids[iid] = item
        if not item.get("label"):
            add(f"{place}.label", "缺少评分项名称")
        points = item.get("points")
        if not isinstance(points, (int, float)) or points < 0:
            add(f"{place}.points", "分值必须是非负数")
            points = 0
        if kind == "forbidden" and item.get("mode") == "auto_fail" and points:
            add(f"{place}.points", "一票否决项的分值应为 0")
        total += points
        if kind == "phrase":
            if not (item.get("all_of") or item.get("any_of") or item.get("intent")):
                add(place, "phrase 评分项需要 all_of、any_of 或 intent")
            for name in ([item["intent"]] if isinstance(item.get("intent"), str) else item.get("intent") or []):
                if name not in intents and name not in _shared_intents():
                    add(f"{place}.intent", f"未定义的意图 {_q(name)}")
            scope = item.get("scope", "any")
            if scope not in SCOPES and not (isinstance(scope, str) and scope.startswith("reply_to:")):
                add(f"{place}.scope", f"范围必须是 {'、'.join(SCOPES)} 或 reply_to:<话轮>")
        elif kind == "forbidden":
            if not item.get("phrases") and item.get("use") != "common_taboos":
                add(place, "forbidden 评分项需要 phrases 或 use: common_taboos")
            if item.get("mode", "deduct") not in ("deduct", "auto_fail"):
                add(f"{place}.mode", "必须是 deduct 或 auto_fail")
        elif kind == "work_order":
            for f in item.get("fields") or []:
                if f not in WORK_ORDER_FIELDS:
                    add(f"{place}.fields", f"未知的工单字段 {_q(f)}")
        elif kind == "transfer" and item.get("target") not in targets:
            add(f"{place}.target", f"没有这个转接部门 {_q(item.get('target'))}")
    for i, item in enumerate(rubric["items"]):
        if isinstance(item, dict) and item.get("kind") == "order":
            for key in ("first", "last"):
                ref = item.get(key)
                if ref is not None and (ref not in ids or ids[ref].get("kind") != "phrase"):
                    add(f"rubric.items[{i}].{key}", f"应指向一个 phrase 评分项：{_q(ref)}")
    if abs(total - 100) > 1e-6:
        add("rubric.items", f"各项分值之和应为 100，现为 {total:g}")
    return set(ids)


def _check_task(data: dict, task: str, add) -> None:
    if data.get("answer_mode", "voice_or_text") not in ANSWER_MODES:
        add("answer_mode", f"必须是 {'、'.join(ANSWER_MODES)} 之一")
    if "time_limit_s" in data and (not isinstance(data["time_limit_s"], (int, float)) or data["time_limit_s"] <= 0):
        add("time_limit_s", "必须是正数（秒）")
    if task == "recording_review" and isinstance(data.get("recording"), dict):
        rec = data["recording"]
        from softphone_sim import PERSONAS
        if rec.get("agent_voice", "young") not in PERSONAS:
            add("recording.agent_voice", f"未知的声音 {_q(rec.get('agent_voice'))}")
        lines = rec.get("lines")
        if not isinstance(lines, list) or not lines:
            add("recording.lines", "至少需要一句录音内容")
        for i, line in enumerate(lines or []):
            if (not isinstance(line, dict) or line.get("who") not in ("agent", "caller")
                    or not str(line.get("say", "")).strip()):
                add(f"recording.lines[{i}]", "每句应为 {who: agent|caller, say: …}")
    if task == "typing" and isinstance(data.get("typing"), dict):
        if len(str(data["typing"].get("text", "")).strip()) < 20:
            add("typing.text", "录入文本至少 20 个字")
    if task == "case" and isinstance(data.get("case"), dict):
        for key in ("material", "question"):
            if not str(data["case"].get(key, "")).strip():
                add(f"case.{key}", "缺少必填字段")


def _check_answers(answers: Any, targets: dict, add, task: str = "live_call", unanswered: bool = False) -> None:
    """``unanswered``: an outbound call nobody picks up, where the trainee's answer is the work order alone."""
    if answers is None:
        return
    if not isinstance(answers, list):
        add("reference_answers", "应为列表")
        return
    bands = set()
    for i, answer in enumerate(answers):
        place = f"reference_answers[{i}]"
        if not isinstance(answer, dict):
            add(place, "应为映射（band, turns）")
            continue
        if answer.get("band") not in BANDS:
            add(f"{place}.band", f"必须是 {'、'.join(BANDS)} 之一")
        bands.add(answer.get("band"))
        if task == "typing":
            if not str(answer.get("typed", "")).strip() or not isinstance(answer.get("seconds"), (int, float)):
                add(place, "录入题的参考答案需要 typed（录入的文字）和 seconds（用时）")
            continue
        if task in ("recording_review", "case") and "text" in answer:
            if not str(answer["text"]).strip():
                add(f"{place}.text", "参考答案不能为空")
            continue
        turns = answer.get("turns", [] if unanswered else None)
        if not isinstance(turns, list) or (not turns and not unanswered):
            add(f"{place}.turns", "至少需要一句坐席的话")
            continue
        for j, turn in enumerate(turns):
            tplace = f"{place}.turns[{j}]"
            if isinstance(turn, str):
                continue
            if not isinstance(turn, dict) or not isinstance(turn.get("say", ""), str):
                add(tplace, "应为一句话，或 {say: …, then: [动作]}")
                continue
            for k, action in enumerate(turn.get("then") or []):
                single_key = isinstance(action, dict) and len(action) == 1
                name = action if isinstance(action, str) else (next(iter(action)) if single_key else None)
                if name not in ACTIONS:
                    add(f"{tplace}.then[{k}]", f"未知的动作 {_q(action)}（可用：{'、'.join(ACTIONS)}）")
                elif name in ("transfer", "consult") and action[name] not in targets:
                    add(f"{tplace}.then[{k}]", f"没有这个转接部门 {_q(action[name])}")
    for band in BANDS:
        if band not in bands:
            add("reference_answers", f"缺少 {band} 参考答案")
