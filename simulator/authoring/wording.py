"""Scenario vocabulary in words a trainer reads (voices, line conditions, agent actions, rubric kinds),
so the authoring pages never show the YAML's internal names."""
from __future__ import annotations

from exams.question_bank import source_title
from softphone_sim import PERSONAS
from softphone_sim.line import CONDITIONS, parse_condition
from softphone_sim.line import LABELS as LINE_NAMES

# Line conditions a trainer picks from; anything else (other parameters) is still accepted in the YAML.
LINE_PRESETS = ("none", "silent", "low_volume", "low_volume:db=-26", "noisy", "noisy:snr=5", "telephone",
                "dropouts", "speakerphone", "telephone+low_volume", "telephone+noisy:snr=5")
PARAM_WORDS = {"db": ("音量", "dB"), "snr": ("信噪比", "dB"), "seconds": ("时长", "秒"), "rate": ("每秒", "次"),
               "length": ("每次", "秒")}
ACTION_WORDS = {"hold": "保持通话", "work_order": "填写工单", "hangup": "挂机", "transfer": "转接", "consult": "咨询"}
KIND_WORDS = {
    "attitude": "服务态度", "call_length": "通话时长", "fillers": "口头禅", "forbidden": "服务忌语",
    "hangup": "挂机顺序", "hold": "保持通话规范", "order": "先后顺序", "phrase": "规范用语",
    "reply_latency": "应答及时", "rings": "接听速度",
    "speech_rate": "语速", "transfer": "转接", "typing_accuracy": "录入准确率", "typing_speed": "录入速度",
    "work_order": "工单",
}
DIRECTION_WORDS = {"inbound": "呼入", "outbound": "外呼"}
DIFFICULTY_WORDS = {1: "易", 2: "中", 3: "难"}


def voice_label(name: str | None) -> str:
    persona = PERSONAS.get(name or "calm")
    return persona.label if persona else "自定义声音"


def sources_words(sources) -> str:
    """The scenario's reference documents by title (the YAML names the corpus files, 001_ab75….txt)."""
    return "、".join(source_title(str(s)) for s in (sources or [])) or "（未注明）"


def line_label(spec) -> str:
    """'telephone+noisy:snr=5' -> '电话音质 + 背景嘈杂（信噪比 5 dB）'; 'none' -> '正常线路'."""
    try:
        steps = parse_condition(spec)
    except ValueError:
        return "无法识别的线路条件"
    if not steps:
        return "正常线路"
    words = []
    for name, params in steps:
        defaults = CONDITIONS.get(name, {})
        changed = [(k, v) for k, v in params.items() if v is not None and v != defaults.get(k)]
        detail = "，".join(f"{PARAM_WORDS.get(k, (k, ''))[0]} {v:g} {PARAM_WORDS.get(k, ('', ''))[1]}".strip()
                          for k, v in changed)
        words.append(LINE_NAMES.get(name, name) + (f"（{detail}）" if detail else ""))
    return " + ".join(words)


def line_choices(current: str | None = None) -> list[tuple[str, str]]:
    choices = [(spec, line_label(spec)) for spec in LINE_PRESETS]
    if current and current not in LINE_PRESETS and _parses(current):
        choices.append((current, line_label(current)))
    return choices


def _parses(spec: str) -> bool:
    try:
        parse_condition(spec)
    except ValueError:
        return False
    return True


def voice_choices() -> list[tuple[str, str]]:
    return [(name, p.label) for name, p in PERSONAS.items()]


def actions_words(actions, targets: dict | None = None) -> str:
    """[hangup] -> '挂机'; [{transfer: billing}] -> '转接到账务部门'; [{hold: 10}] -> '保持通话 10 秒'."""
    targets = targets or {}
    words = []
    for action in actions or []:
        if isinstance(action, dict) and len(action) == 1:
            name, value = next(iter(action.items()))
        else:
            name, value = str(action), None
        if name in ("transfer", "consult"):
            target = targets.get(value)
            label = target.get("label") if isinstance(target, dict) and target.get("label") else "指定部门"
            words.append(("转接到" if name == "transfer" else "咨询") + label)
        elif name == "hold" and isinstance(value, (int, float)) and not isinstance(value, bool):
            words.append(f"保持通话 {value:g} 秒")
        else:
            words.append(ACTION_WORDS.get(name, "其他操作"))
    return "、".join(words)


def intent_words(intents: dict | None, name: str) -> str:
    """A branch condition as what the trainee says: 「说到“请问您是”等」 instead of the intent's name."""
    phrases = (intents or {}).get(name)
    first = phrases[0] if isinstance(phrases, list) and phrases and isinstance(phrases[0], str) else None
    return f"说到“{first}”等" if first else "说到指定内容"


def kind_label(kind: str | None) -> str:
    return KIND_WORDS.get(kind or "", "其他")
