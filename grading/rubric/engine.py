"""The rubric engine: a call record and a scenario in, a ``GradeResult`` out.

``grade`` is pure and deterministic (no clock, no randomness, no I/O except reading the shared
``scenarios/library/common.yaml`` when an item asks for ``use: common_taboos`` and no ``taboos`` were
passed), so re-grading a stored record after a rubric fix is simply ``grade`` again.

Soft signals (``speech_rate``, ``fillers``, ``call_length``) and evidence resting on uncertain
recognition never fail a candidate on their own: such items get the verdict ``review``, the points at
stake are reported as ``pending_gain`` / ``pending_loss``, and a result whose pass/fail depends on them
is ``provisional``. An utterance whose transcript carries no confidence at all (typed text, or an
engine without scores) is taken at its word.

How each kind scores (``P`` = the item's points):

- ``phrase`` (scope ``any`` unless given): ``all_of`` groups, plus one group made of ``any_of`` and the
  ``intent`` phrases. Each group is credited, uncertain (review band, or missing from speech
  recognised with low confidence) or missing. All groups credited: P; at least ``min_groups``:
  P × credited/groups; else 0. Points the uncertain groups would add are ``pending_gain``. Scopes
  ``first``/``last`` are the first/last agent turn (consecutive utterances with no caller line, hold
  or transfer between them); ``after_hold``,
  ``before_hold`` and ``all`` average over every hold / utterance; ``reply_to:<turn>`` takes the best
  reply when the caller said that turn more than once.
- ``forbidden``: only exact occurrences recognised with confidence cost points (``per_hit`` each,
  default P, at most P); homophone or low-confidence occurrences are ``review``. ``auto_fail``: a
  confirmed occurrence makes the total 0.
- ``order``: P when every part given (``first``, ``last``) has its phrase item fully credited in that
  turn, else 0 (a sequence with one end missing is not there); pending when the missing part is uncertain.
- ``rings``, ``hangup``, ``transfer`` (half for the right target, half for announcing it),
  ``work_order`` (P × checks passed / checks), ``reply_latency`` (P × prompt replies / replies due)
  and ``hold`` (P split between ``ask_before``, ``thank_after`` and ``report_every_s``, each × holds
  complying / holds) come from the call's events.
- ``speech_rate``, ``fillers``, ``call_length``: P when within limits, else 0 with the verdict
  ``review`` and P pending.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from . import matching as M
from .kinds import REGISTRY, Param, register
from .record import CallView, Turn, Utterance, _num
from .results import PASS_MARK, Evidence, GradeResult, ItemResult, NeedsReview, round_half_up
from .totals import FATAL_CAP, call_total
from .totals import provisional as is_provisional
from .typing import grade_typing_accuracy, grade_typing_speed

COMMON_FILE = Path(__file__).resolve().parents[2] / "scenarios" / "library" / "common.yaml"

DEFAULT_FILLERS = ("嗯", "啊", "那个", "呃")
"""The spec's default list for ``fillers`` when neither the item nor common.yaml gives one."""
INTERJECTIONS = frozenset({"嗯", "呃", "唔"})
"""Fillers that are never content words: every occurrence counts. Others (啊, 那个, 这个) count only when
they make up a whole clause or are doubled (那个那个), since 那个问题 or 好啊 are ordinary speech."""

HOLD_ASK_PHRASES = ("请您稍等", "请稍等", "稍等", "稍候", "请您稍候", "耽误您", "占用您", "等一下", "等待一下")
HOLD_THANK_PHRASES = ("感谢您的耐心等待", "谢谢您的耐心等待", "让您久等了", "久等了", "谢谢您的等待", "感谢您的等待",
                      "谢谢您的耐心", "感谢您的耐心", "谢谢等待")
TRANSFER_ANNOUNCE_PHRASES = ("为您转接", "帮您转接", "转接到", "转到", "转给", "转接")

HOLD_REPORT_GRACE_S = 2.0
"""The norm says "about every 15 s": a stretch on hold may exceed ``report_every_s`` by this much."""
EMPTY_UTTERANCE_DOUBT_S = 1.0
"""An utterance the recogniser returned empty but that lasted this long may have been speech."""
MIN_RATE_SPEECH_S = 5.0
"""Below this much agent speech the speech rate is not measured (too little to judge)."""

WRITTEN_TASKS = ("recording_review", "case")
"""Task types whose answer is the candidate's own analysis: phrase items match by meaning."""
METHOD_LABELS = {"pinyin": "读音相近", "fuzzy": "字形相近", "synonym": "同义词归一后一致",
                 "ngram": "意思相近（字词重合）"}
SCOPE_LABELS = {"first": "第一轮应答", "last": "最后一轮应答", "any": "整通电话", "all": "每一句应答",
                "after_hold": "保持结束后的第一轮应答", "before_hold": "保持前的最后一轮应答"}
WORK_ORDER_LABELS = {"type": "工单类型", "summary": "内容摘要", "contact": "联系电话", "callback_time": "回访时间",
                     "wrapup_code": "结案代码", "name": "客户姓名", "address": "地址"}
PHONE_FIELDS = frozenset({"contact", "phone", "mobile", "tel", "telephone", "callback_number", "callback_phone"})


class RubricError(ValueError):
    """The scenario's rubric cannot be applied (unknown kind, unknown intent, missing shared list)."""


# ---- inputs ---------------------------------------------------------------------------------------

def scenario_data(scenario: Any) -> Mapping:
    """A plain mapping, or any object with a ``.data`` mapping (the scenarios package's classes)."""
    if isinstance(scenario, Mapping):
        return scenario
    data = getattr(scenario, "data", None)
    if isinstance(data, Mapping):
        return data
    raise TypeError("scenario must be a mapping or have a .data mapping")


_common_cache: dict = {}


def load_common(path: str | os.PathLike | None = None) -> Mapping:
    """The shared lists (``common_taboos``, ``common_fillers``) of ``scenarios/library/common.yaml``."""
    import yaml

    p = Path(path) if path is not None else COMMON_FILE
    try:
        stat = p.stat()
    except FileNotFoundError:
        raise RubricError(f"共享忌语表 {p} 不存在（评分项使用了 use: common_taboos）") from None
    key = (str(p), stat.st_mtime_ns, stat.st_size)
    if key not in _common_cache:
        with open(p, encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
        if not isinstance(data, Mapping):
            raise RubricError(f"{p}: 顶层应为映射")
        _common_cache.clear()
        _common_cache[key] = data
    return _common_cache[key]


def _entries(raw: Any) -> list[tuple[str, str | None]]:
    """Forbidden-phrase entries as (phrase, say_instead)."""
    out: list[tuple[str, str | None]] = []
    for e in raw or []:
        if isinstance(e, str):
            out.append((e, None))
        elif isinstance(e, Mapping) and e.get("phrase"):
            out.append((str(e["phrase"]), e.get("say_instead")))
    return out


class _Context:
    def __init__(self, data: Mapping, call: CallView, taboos: Any):
        self.data = data
        self.call = call
        self._taboos = taboos
        self.warnings: list[str] = []
        agent = call.record.get("agent") or {}
        number = data.get("agent_number") or agent.get("agent_number")
        self.values = {"agent_number": None if number in (None, "") else str(number)}
        self.items = {str(i.get("id")): i for i in self.rubric_items()}
        script = data.get("script") or {}
        self.turns = {str(t.get("id")): t for t in script.get("turns") or [] if isinstance(t, Mapping)}

    def rubric_items(self) -> list[Mapping]:
        rubric = self.data.get("rubric") or {}
        items = rubric.get("items") if isinstance(rubric, Mapping) else rubric
        return [i for i in items or [] if isinstance(i, Mapping)]

    def _shared(self) -> Mapping:
        if isinstance(self._taboos, Mapping):
            return self._taboos
        if self._taboos is not None:
            return {"common_taboos": list(self._taboos)}
        return load_common()

    def common_taboos(self) -> list[tuple[str, str | None]]:
        return _entries(self._shared().get("common_taboos"))

    def common_fillers(self) -> list[str] | None:
        if isinstance(self._taboos, Mapping):
            shared = self._taboos
        elif self._taboos is None and COMMON_FILE.exists():
            shared = load_common()
        else:
            return None
        words = shared.get("common_fillers")
        return [str(w) for w in words] if words else None

    def resolve(self, phrase: str, item_id: str) -> str | None:
        filled = M.fill_placeholders(phrase, self.values)
        if filled is None:
            msg = f"{item_id}: 「{phrase}」中的占位符没有取值（场景和记录都没有工号），这个说法不计"
            if msg not in self.warnings:
                self.warnings.append(msg)
        return filled

    def shared(self, key: str) -> Any:
        """A shared list of common.yaml (or of the ``taboos`` mapping passed in, when it has the key)."""
        if isinstance(self._taboos, Mapping) and key in self._taboos:
            return self._taboos[key]
        return load_common().get(key) if COMMON_FILE.exists() else None

    def intent(self, name: str, item_id: str) -> list[str]:
        intents = self.data.get("intents") or {}
        if name in intents:
            return [str(p) for p in intents[name]]
        shared = self.shared("shared_intents") or {}
        if name in shared:
            return [str(p) for p in shared[name]]
        raise RubricError(f"评分项 {item_id}: 未定义的意图 {name}")

    def synonyms(self) -> tuple:
        return tuple(tuple(str(w) for w in row) for row in self.shared("synonyms") or [] if row)

    def phrases_param(self, value: Any, default: Sequence[str], item_id: str) -> list[str]:
        """A ``true`` / list of phrases / intent id parameter."""
        if value is True or value is None:
            return list(default)
        if isinstance(value, str):
            return self.intent(value, item_id)
        return [str(v) for v in value]


# ---- helpers --------------------------------------------------------------------------------------

def _fmt(x: float) -> str:
    x = round_half_up(x, 1)
    return str(int(x)) if x == int(x) else str(x)


def _with_norm(note: str, item: Mapping) -> str:
    norm = item.get("norm")
    return f"{note} 规范：{str(norm).strip()}" if norm else note


def _event_evidence(t: Any, text: str) -> Evidence:
    return Evidence(text, t=None if t is None else round(float(t), 2))


def _unclear_evidence(u: Utterance) -> Evidence:
    heard = f"识别结果：{u.text}" if u.text else "未识别出文字"
    conf = "" if u.confidence is None else f"（识别可信度{u.confidence:.2f}）"
    return Evidence(heard + conf, utterance=u.index, t=round(u.start, 2), confidence=u.confidence)


def _doubtful(u: Utterance) -> bool:
    if u.empty:
        return u.end - u.start >= EMPTY_UTTERANCE_DOUBT_S
    return u.confidence is not None and u.confidence < M.LOW_ASR_CONFIDENCE


def _mean_conf(utts: Iterable[Utterance]) -> float:
    scores = [u.confidence for u in utts if u.confidence is not None]
    return sum(scores) / len(scores) if scores else 1.0


def _verdict(earned: float, possible: float, potential: float) -> str:
    if earned >= possible - 1e-9:
        return "pass"
    if potential > earned + 1e-9:
        return "review"
    return "partial" if earned > 1e-9 else "fail"


class _GroupResult:
    def __init__(self, alternatives: list[str]):
        self.alternatives = alternatives
        self.match: M.Match | None = None
        self.utterance: Utterance | None = None
        self.status = "missing"     # credited | uncertain | missing
        self.confidence = 1.0
        self.doubtful: list[Utterance] = []

    def describe_alternatives(self) -> str:
        return "／".join(f"「{a}」" for a in self.alternatives) or "（无可用说法）"


def _match_group(alternatives: list[str], utts: list[Utterance], meaning: frozenset = frozenset(),
                 synonyms: tuple = ()) -> _GroupResult:
    """``meaning``: the alternatives that are intent phrasings, matched by meaning (synonyms, bigrams)."""
    g = _GroupResult(alternatives)
    for u in utts:
        if u.empty:
            continue
        for alt in alternatives:
            if alt in meaning:
                found = M.match_meaning(u.text, alt, synonyms, min_similarity=M.REVIEW_THRESHOLD)
            elif synonyms:
                # a listed phrase said with a synonym is the same phrase (联系方式 for 联系电话)
                found = M.match_meaning(u.text, alt, synonyms, min_similarity=M.REVIEW_THRESHOLD, ngram=False)
            else:
                found = M.match_phrase(u.text, alt, min_similarity=M.REVIEW_THRESHOLD)
            if found is not None and (g.match is None or found.similarity > g.match.similarity + 1e-9):
                g.match, g.utterance = found, u
    g.doubtful = [u for u in utts if _doubtful(u)]
    if g.match is not None and g.utterance is not None:     # they are set together
        conf = g.utterance.span_confidence(g.match.start, g.match.end)
        g.confidence = g.match.similarity * (1.0 if conf is None else conf)
        g.status = "credited" if g.match.credited else "uncertain"
    else:
        g.confidence = _mean_conf(utts) if utts else 1.0
        if g.doubtful:
            g.status, g.confidence = "uncertain", min(g.confidence, M.LOW_ASR_CONFIDENCE)
    return g


def _group_score(points: float, k: int, n: int, min_groups: int) -> float:
    if n == 0:
        return 0.0
    if k >= n:
        return points
    if k >= min_groups:
        return points * k / n
    return 0.0


class _PhraseEval:
    def __init__(self, groups: list[_GroupResult], points: float, min_groups: int):
        self.groups = groups
        n = len(groups)
        k = sum(g.status == "credited" for g in groups)
        u = sum(g.status == "uncertain" for g in groups)
        self.earned = _group_score(points, k, n, min_groups)
        self.potential = _group_score(points, k + u, n, min_groups)
        self.confidence = min((g.confidence for g in groups), default=1.0)


# ---- phrase ---------------------------------------------------------------------------------------

def _phrase_groups(ctx: _Context, item: Mapping) -> list[list[str]]:
    item_id = str(item.get("id"))
    raw_groups: list[list[str]] = []
    for group in item.get("all_of") or []:
        raw_groups.append([group] if isinstance(group, str) else [str(g) for g in group])
    alternatives: list[str] = []
    if item.get("any_of"):
        any_of = item["any_of"]
        alternatives.extend([any_of] if isinstance(any_of, str) else [str(a) for a in any_of])
    intents = item.get("intent")
    for name in ([intents] if isinstance(intents, str) else intents or []):
        alternatives.extend(ctx.intent(str(name), item_id))
    if alternatives:
        raw_groups.append(alternatives)
    # an intent may need a second element in the same turn: a farewell is a 规范结束语 only with courtesy
    requires = ctx.shared("intent_requires") or {}
    for name in ([intents] if isinstance(intents, str) else intents or []):
        if requires.get(str(name)):
            raw_groups.append([str(w) for w in requires[str(name)]])
    if not raw_groups:
        raise RubricError(f"评分项 {item_id}: phrase 项需要 all_of、any_of 或 intent")
    groups = []
    for group in raw_groups:
        resolved = [r for r in (ctx.resolve(a, item_id) for a in group) if r]
        groups.append(list(dict.fromkeys(resolved)))
    return groups


def _scope_instances(ctx: _Context, scope: str) -> tuple[list[list[Utterance]], str, str | None]:
    """(instances, how they combine: 'best' or 'every', a note when the scope never happened)."""
    call = ctx.call
    if scope == "any":
        return [list(call.agent)], "best", None
    if scope == "all":
        return [[u] for u in call.spoken], "every", None if call.spoken else "坐席没有说话"
    if scope in ("first", "last"):
        if not call.turns:
            return [[]], "best", None
        return [(call.turns[0] if scope == "first" else call.turns[-1]).utterances], "best", None
    if scope == "after_hold":
        inst = [call.turn_after(end) for _, end, by_unhold in call.holds if by_unhold]
        if not call.holds:
            return [], "every", "通话中没有使用保持"
        return [t.utterances if t else [] for t in inst] or [[]], "every", None
    if scope == "before_hold":
        if not call.holds:
            return [], "every", "通话中没有使用保持"
        return [(t.utterances if t else []) for t in (call.turn_before(s) for s, _, _ in call.holds)], "every", None
    if scope.startswith("reply_to:"):
        turn_id = scope.split(":", 1)[1].strip()
        replies = call.replies_to(turn_id)
        if not replies:
            return [], "best", f"来电者没有说到这一轮（{turn_id}），无从应答"
        return replies, "best", None
    raise RubricError(f"未知的范围 scope: {scope}")


def _neighbour_replies(call: CallView, turn_id: str) -> list[list[Utterance]]:
    """The agent's replies to the caller lines just before and just after each time the caller said
    ``turn_id``."""
    out = []
    for k, c in enumerate(call.caller):
        if c.get("turn") != turn_id:
            continue
        for j in (k - 1, k + 1):
            if not 0 <= j < len(call.caller):
                continue
            start = _num(call.caller[j].get("start"), _num(call.caller[j].get("t"), 0.0))
            nxt = call.caller[j + 1] if j + 1 < len(call.caller) else None
            limit = _num(nxt.get("start"), _num(nxt.get("t"))) if nxt is not None else float("inf")
            out.append([u for u in call.agent if start < u.start < limit])
    return out


def _scope_label(ctx: _Context, scope: str) -> str:
    if scope.startswith("reply_to:"):
        turn_id = scope.split(":", 1)[1].strip()
        say = str((ctx.turns.get(turn_id) or {}).get("say") or turn_id)
        say = re.sub(r"（[^）]*）", "", say).strip() or turn_id
        return f"对来电者「{say[:16]}」的应答"
    return SCOPE_LABELS.get(scope, scope)


@dataclass
class PhraseOutcome:
    """What a phrase item found: points earned and reachable after review, the weakest group's
    confidence, the evidence, the note's parts and, when the scope never happened, why."""
    earned: float = 0.0
    potential: float = 0.0
    confidence: float = 1.0
    evidence: list[Evidence] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)
    absent: str | None = None


def _evaluate_phrase(ctx: _Context, item: Mapping, scope: str | None = None) -> PhraseOutcome:
    points = float(item.get("points") or 0)
    groups = _phrase_groups(ctx, item)
    min_groups = int(item.get("min_groups") or len(groups))
    scope = str(scope or item.get("scope") or "any")
    instances, combine, absent = _scope_instances(ctx, scope)
    if not instances:
        return PhraseOutcome(absent=absent)
    names = item.get("intent")
    item_id = str(item.get("id"))
    meaning = frozenset(p for name in ([names] if isinstance(names, str) else names or [])
                        for p in (ctx.resolve(x, item_id) for x in ctx.intent(str(name), item_id))
                        if p)
    if ctx.data.get("task") in WRITTEN_TASKS:
        # a written answer names the faults in the candidate's own words: every phrasing by meaning
        meaning = frozenset(p for g in groups for p in g)
    syn = ctx.synonyms()
    evals = [_PhraseEval([_match_group(g, utts, meaning, syn) for g in groups], points, min_groups)
             for utts in instances]
    shifted = False
    if combine == "best":
        chosen = [max(evals, key=lambda e: (e.earned, e.potential))]
        earned, potential = chosen[0].earned, chosen[0].potential
        if scope.startswith("reply_to:") and earned < points - 1e-9:
            # a caller does not always follow the script's order: the same behaviour one reply early or
            # late (confirming the need as soon as it was stated) is the behaviour, fully done or not at all
            near = [_PhraseEval([_match_group(g, utts, meaning, syn) for g in groups], points, min_groups)
                    for utts in _neighbour_replies(ctx.call, scope.split(":", 1)[1].strip())]
            best = max(near, key=lambda e: e.earned, default=None)
            if best is not None and best.earned >= points - 1e-9:
                chosen, earned, potential, shifted = [best], best.earned, best.potential, True
    else:
        chosen = evals
        earned = sum(e.earned for e in evals) / len(evals)
        potential = sum(e.potential for e in evals) / len(evals)
    evidence, said, unsure, missing = [], [], [], []
    for k, ev in enumerate(chosen):
        prefix = f"第{k + 1}次" if len(chosen) > 1 else ""
        for g in ev.groups:
            match, utt = g.match, g.utterance          # set together: both or neither
            if match is not None and utt is not None:
                evidence.append(utt.evidence(match))
            if g.status == "credited" and match is not None and utt is not None:   # credited means matched
                heard = utt.span_text(match.start, match.end)
                verb = "说的是" if match.method in ("synonym", "ngram") else "识别为"
                method = METHOD_LABELS.get(match.method, match.method)
                how = "" if match.method == "exact" else \
                    f"（{verb}「{heard}」，{method}，相似度{match.similarity:.2f}，按说到计）"
                said.append(f"{prefix}「{match.phrase}」{how}")
            elif g.status == "uncertain":
                if match is not None and utt is not None:
                    heard = utt.span_text(match.start, match.end)
                    unsure.append(f"{prefix}「{match.phrase}」（识别为「{heard}」，相似度"
                                  f"{match.similarity:.2f}）")
                else:
                    unsure.append(f"{prefix}{g.describe_alternatives()}（该段录音识别不清）")
                    for u in g.doubtful:
                        if not any(e.utterance == u.index and e.phrase is None for e in evidence):
                            evidence.append(_unclear_evidence(u))
            else:
                missing.append(prefix + g.describe_alternatives())
    parts = ["在相邻的一轮应答中做到。"] if shifted else []
    if said:
        parts.append("已说到：" + "、".join(said) + "。")
    if unsure:
        parts.append("可能说到，需人工复核：" + "、".join(unsure) + "。")
    if missing:
        parts.append("未说到：" + "、".join(missing) + "。")
    conf = min((e.confidence for e in chosen), default=1.0)
    return PhraseOutcome(earned, potential, conf, evidence, parts)


@register("phrase",
          Param("scope", "scope", "any", "where: first, last, any, all, after_hold, before_hold or reply_to:<turn>"),
          Param("all_of", "groups", None,
                "groups that must all be said; a group is a phrase or a list of alternatives"),
          Param("any_of", "phrases", None, "alternatives, one of which must be said"),
          Param("intent", "phrases", None, "intent ids whose phrases join the any_of group"),
          Param("min_groups", "int", None, "fewest credited groups that still earn a share"),
          doc="P when every group is credited; at least min_groups: P × credited/groups; else 0. "
              "Uncertain groups are pending_gain.")
def _grade_phrase(ctx: _Context, item: Mapping) -> ItemResult:
    points = float(item.get("points") or 0)
    scope = str(item.get("scope") or "any")
    o = _evaluate_phrase(ctx, item)
    where = f"（{_scope_label(ctx, scope)}）"
    note = (o.absent + "，本项不得分。") if o.absent else where + "".join(o.parts)
    verdict = _verdict(o.earned, points, o.potential)
    return _result(item, o.earned, verdict, o.evidence, o.confidence, note, pending_gain=o.potential - o.earned)


def _result(item: Mapping, earned: float, verdict: str, evidence: list[Evidence], confidence: float, note: str,
            pending_gain: float = 0.0, pending_loss: float = 0.0, fatal: bool = False,
            deduction: float = 0.0, if_confirmed: dict | None = None) -> ItemResult:
    return ItemResult(id=str(item.get("id")), kind=str(item.get("kind")), label=str(item.get("label") or ""),
                      points_possible=float(item.get("points") or 0), points_earned=earned, verdict=verdict,
                      evidence=evidence, confidence=confidence, note=_with_norm(note, item),
                      pending_gain=pending_gain, pending_loss=pending_loss, fatal=fatal, deduction=deduction,
                      if_confirmed=if_confirmed)


# ---- forbidden ------------------------------------------------------------------------------------

def _forbidden_entries(ctx: _Context, item: Mapping) -> list[tuple[str, str | None]]:
    entries = _entries(item.get("phrases"))
    uses = item.get("use")
    for use in ([uses] if isinstance(uses, str) else uses or []):
        if use != "common_taboos":
            raise RubricError(f"评分项 {item.get('id')}: 未知的共享列表 {use}")
        entries.extend(ctx.common_taboos())
    seen, out = set(), []
    for phrase, instead in entries:
        key = M.normalise(phrase)
        if key and key not in seen:
            seen.add(key)
            out.append((phrase, instead))
    return out


def _scope_utterances(ctx: _Context, scope: str) -> list[Utterance]:
    """Every spoken utterance the scope covers (a forbidden phrase anywhere in it counts)."""
    if scope == "any":
        return list(ctx.call.spoken)
    instances, _, _ = _scope_instances(ctx, scope)
    seen: dict[int, Utterance] = {}
    for utts in instances:
        for u in utts:
            if not u.empty:
                seen.setdefault(u.index, u)
    return [seen[k] for k in sorted(seen)]


def _doubt_reason(conf: float | None, *, sound_alike: bool) -> str:
    """Why a forbidden or impolite expression is only suspected: heard with a character that sounds
    alike, or recognised with low confidence (both can hold)."""
    reasons = []
    if sound_alike:
        reasons.append("识别文字与该说法读音相近但字不同")
    if conf is not None and conf < M.FORBIDDEN_MIN_CONFIDENCE:
        reasons.append(f"识别可信度{conf:.2f}低于{M.FORBIDDEN_MIN_CONFIDENCE}")
    return "，".join(reasons) or "识别不确定"


@register("forbidden",
          Param("phrases", "entries", None, "phrases (or {phrase, say_instead}) that must not be said"),
          Param("use", "phrases", None, "shared lists to add", choices=("common_taboos",)),
          Param("mode", "str", "deduct", "deduct: per_hit each; auto_fail: a confirmed hit makes the total 0",
                choices=("deduct", "auto_fail")),
          Param("per_hit", "number", None, "points per confirmed hit (default: the item's points)"),
          Param("scope", "scope", "any", "where: first, last, any, all, after_hold, before_hold or reply_to:<turn>"),
          Param("attitude", "bool", True, "live calls: every major or fatal attitude expression is a hit too"),
          doc="Only exact occurrences recognised with confidence cost points (per_hit each, at most P); homophone "
              "or low-confidence occurrences are review. auto_fail: a confirmed occurrence makes the total 0; a "
              "doubtful one is review, and the assessor's 确认 makes the total 0, 不成立 leaves it. "
              "scope limits where the phrases are looked for. On live calls the major and fatal expressions of "
              "grading/attitude/patterns.yaml count as hits too (impolite speech is 服务忌语 in any wording).")
def _grade_forbidden(ctx: _Context, item: Mapping) -> ItemResult:
    points = float(item.get("points") or 0)
    mode = str(item.get("mode") or "deduct")
    if mode not in ("deduct", "auto_fail"):
        raise RubricError(f"评分项 {item.get('id')}: 未知的 mode {mode}")
    per_hit = float(item["per_hit"] if item.get("per_hit") is not None else points)
    entries = _forbidden_entries(ctx, item)
    instead = {phrase: say for phrase, say in entries}
    confirmed: list[tuple[Utterance, M.Match, float | None]] = []
    doubtful: list[tuple[Utterance, M.Match, float | None, str]] = []    # ... and why it is not sure
    scope = str(item.get("scope") or "any")
    patterns, kinds = [], {}
    if _counts_attitude(ctx, item):
        from grading import attitude as A
        patterns, kinds = _attitude_patterns(ctx), A.load().kinds
    for u in _scope_utterances(ctx, scope):
        hits = [m for phrase, _ in entries for m in M.find_forbidden(u.text, phrase)]
        # the longest evidence wins where phrases overlap (不行就是不行 is one hit, not three)
        hits.sort(key=lambda m: (m.method != "exact", -(m.end - m.start), m.start))
        taken: list[M.Match] = []
        for m in hits:
            if not any(m.start < t.end and t.start < m.end for t in taken):
                taken.append(m)
        for m in sorted(taken, key=lambda m: m.start):
            conf = u.span_confidence(m.start, m.end)
            if m.method == "exact" and (conf is None or conf >= M.FORBIDDEN_MIN_CONFIDENCE):
                confirmed.append((u, m, conf))
            else:
                doubtful.append((u, m, conf, _doubt_reason(conf, sound_alike=m.method != "exact")))
        for _, h, conf, sure in (_attitude_hits(ctx, [u], patterns) if patterns else []):
            if h.pattern.severity == "minor" or any(h.start < t.end and t.start < h.end for t in taken):
                continue
            m = M.Match(f"{kinds.get(h.pattern.kind, h.pattern.kind)}：{u.span_text(h.start, h.end)}", h.start,
                        h.end, h.heard, 1.0, "pattern")
            instead.setdefault(m.phrase, h.pattern.say_instead)
            if sure:
                confirmed.append((u, m, conf))
            else:
                doubtful.append((u, m, conf, _doubt_reason(conf, sound_alike=h.near)))
    evidence = [u.evidence(m) for u, m, _ in confirmed] + [u.evidence(m) for u, m, _, _ in doubtful]
    evidence.sort(key=lambda e: (e.t, e.utterance))

    def say(m: M.Match) -> str:
        alt = instead.get(m.phrase)
        return f"，宜说「{alt}」" if alt else ""

    parts = []
    if confirmed:
        parts.append("说了服务忌语：" + "；".join(
            f"「{m.phrase}」（第{u.index + 1}句，{u.time_at(m.start):.1f}秒{say(m)}）" for u, m, _ in confirmed) + "。")
    if doubtful:
        parts.append("疑似服务忌语，未扣分，需人工复核：" + "；".join(
            f"「{m.phrase}」（第{u.index + 1}句，识别为「{u.span_text(m.start, m.end)}」，{why}{say(m)}）"
            for u, m, _, why in doubtful) + "。")
    conf_all = min([1.0] + [c for _, _, c in confirmed if c is not None])
    if doubtful:
        conf_all = min([conf_all] + [(c if c is not None else 1.0) * m.similarity for _, m, c, _ in doubtful])
    if mode == "auto_fail":
        if confirmed:
            note = "".join(parts) + "按规定本次通话记0分。"
            return _result(item, 0.0, "fail", evidence, conf_all, note, fatal=True)
        if doubtful:
            # pending_loss is set to the call's total once it is known; if_confirmed tells the total rule
            # (and the assessor's 确认) that this item then fails the call, as a confirmed hit does
            return _result(item, points, "review", evidence, conf_all,
                           "".join(parts) + "若确认，本次通话记0分。",
                           if_confirmed={"points": 0.0, "deduction": 0.0, "fatal": True})
        return _result(item, points, "pass", evidence, 1.0, "未发现服务忌语。")
    deduction = min(points, per_hit * len(confirmed))
    earned = points - deduction
    pending_loss = min(earned, per_hit * len(doubtful))
    if confirmed:
        parts.append(f"扣{_fmt(deduction)}分。")
    verdict = "review" if pending_loss > 0 else ("pass" if not confirmed else ("partial" if earned > 0 else "fail"))
    note = "".join(parts) or "未发现服务忌语。"
    return _result(item, earned, verdict, evidence, conf_all, note, pending_loss=pending_loss)


# ---- order ----------------------------------------------------------------------------------------

@register("order",
          Param("first", "str", None, "a phrase item that must be credited in the first agent turn"),
          Param("last", "str", None, "a phrase item that must be credited in the last agent turn"),
          doc="P when first and last (those given) have their phrase items fully credited in those turns, else 0.")
def _grade_order(ctx: _Context, item: Mapping) -> ItemResult:
    points = float(item.get("points") or 0)
    checks = [(where, item.get(where)) for where in ("first", "last") if item.get(where)]
    if not checks:
        raise RubricError(f"评分项 {item.get('id')}: order 项需要 first 或 last")
    share = points / len(checks)
    earned = potential = 0.0
    evidence, parts, confs = [], [], []
    for where, ref in checks:
        target = ctx.items.get(str(ref))
        if target is None or target.get("kind") != "phrase":
            raise RubricError(f"评分项 {item.get('id')}: {where} 应指向 phrase 评分项，而 {ref} 不是")
        probe = dict(target)
        probe["points"] = 1.0
        o = _evaluate_phrase(ctx, probe, scope=where)
        e, p = o.earned, o.potential
        label = target.get("label") or ref
        place = "第一轮应答" if where == "first" else "最后一轮应答"
        evidence.extend(o.evidence)
        confs.append(o.confidence)
        if e >= 1.0 - 1e-9:
            earned += share
            potential += share
            parts.append(f"「{label}」出现在{place}。")
            continue
        elif p >= 1.0 - 1e-9:
            potential += share
            parts.append(f"「{label}」可能出现在{place}，需人工复核。")
        else:
            parts.append(f"「{label}」没有完整出现在{place}。")
    # a sequence is there or not: with one end missing there is no "opening first, closing last"
    if earned < points - 1e-9:
        earned = 0.0
        potential = points if potential >= points - 1e-9 else 0.0
        parts.append("顺序项要求首尾都做到，本项不得分。" if potential == 0 else "")
    return _result(item, earned, _verdict(earned, points, potential), evidence, min(confs), "".join(parts),
                   pending_gain=potential - earned)


# ---- call events ----------------------------------------------------------------------------------

@register("rings", Param("max", "int", 3, "most rings before answering"), live_only=True,
          doc="P when the call was answered within max rings (outbound calls: P).")
def _grade_rings(ctx: _Context, item: Mapping) -> ItemResult:
    points = float(item.get("points") or 0)
    limit = int(item.get("max") or 3)
    call = ctx.call
    answered = call.first("answered")
    if answered is None:
        abandoned = call.first("abandoned")
        if abandoned is not None:
            return _result(item, 0, "fail", [_event_evidence(abandoned.get("t"), "来电者放弃等待，无人接听")], 1.0,
                           "来电没有被接听。")
        if (call.record.get("direction") or ctx.data.get("direction")) == "outbound":
            return _result(item, points, "pass", [], 1.0, "外呼通话不检查振铃次数。")
        return _result(item, 0, "fail", [], 1.0, "记录中没有接听事件。")
    rings = answered.get("rings")
    if rings is None:
        rings = sum(1 for e in call.events_of("ring") if _num(e.get("t"), 0) <= _num(answered.get("t"), 0))
    rings = int(rings)
    ev = [_event_evidence(answered.get("t"), f"第{rings}声振铃时接听")]
    if rings <= limit:
        return _result(item, points, "pass", ev, 1.0, f"振铃{rings}声内接听，符合不超过{limit}声的要求。")
    return _result(item, 0, "fail", ev, 1.0, f"振铃{rings}声才接听，超过{limit}声。")


def _turn_matches(turn: Turn | None, phrases: list[str], ctx: _Context | None = None,
                  intent: str | None = None) -> tuple[str, Evidence | None]:
    """credited | uncertain | missing, with evidence. With ``intent`` (a shared intent) its phrasings
    join the phrases and everything is matched by meaning."""
    if turn is None:
        return "missing", None
    if ctx is not None and intent:
        phrases = list(dict.fromkeys(list(phrases) + [str(p) for p in (ctx.shared("shared_intents") or {})
                                                      .get(intent, [])]))
        g = _match_group(phrases, turn.utterances, frozenset(phrases), ctx.synonyms())
    elif ctx is not None:
        g = _match_group(phrases, turn.utterances, frozenset(), ctx.synonyms())
    else:
        g = _match_group(phrases, turn.utterances)
    ev = g.utterance.evidence(g.match) if g.match is not None and g.utterance is not None else None
    return g.status, ev


@register("hold",
          Param("ask_before", "phrases_or_intent", None, "ask permission before each hold (true: the default phrases)"),
          Param("thank_after", "phrases_or_intent", None, "thank the caller where the conversation resumes"),
          Param("report_every_s", "number", None, "speak to the caller at least this often while on hold"),
          live_only=True,
          doc="P split between the checks given, each × holds complying / holds; no hold at all: 0.")
def _grade_hold(ctx: _Context, item: Mapping) -> ItemResult:
    points = float(item.get("points") or 0)
    call = ctx.call
    item_id = str(item.get("id"))
    checks = []
    if item.get("ask_before"):
        checks.append("ask")
    if item.get("thank_after"):
        checks.append("thank")
    if item.get("report_every_s"):
        checks.append("report")
    if not checks:
        raise RubricError(f"评分项 {item_id}: hold 项至少需要 ask_before、thank_after 或 report_every_s 之一")
    if not call.holds:
        return _result(item, 0, "fail", [], 1.0, "通话中没有使用保持，无法体现保持礼仪。")
    share = points / len(checks)
    earned = potential = 0.0
    parts = []
    evidence = [_event_evidence(start, f"第{k + 1}次保持：{start:.1f}–{end:.1f}秒")
                for k, (start, end, _) in enumerate(call.holds)]
    # a brief return between two holds ("还在为您查询，请您再稍等") needs a new request, not thanks:
    # thanks are due only where the conversation resumes
    resumes = []
    for k, (_start, end, _by_unhold) in enumerate(call.holds):
        after = call.turn_after(end)
        nxt = call.holds[k + 1] if k + 1 < len(call.holds) else None
        resumes.append(not (nxt is not None and after is not None and call.turn_before(nxt[0]) is after))
    for check in checks:
        ok = unsure = 0
        applicable = [k for k in range(len(call.holds)) if check != "thank" or resumes[k]]
        n = len(applicable) or 1
        for k in applicable:
            start, end, by_unhold = call.holds[k]
            if check == "ask":
                phrases = ctx.phrases_param(item.get("ask_before"), HOLD_ASK_PHRASES, item_id)
                status, ev = _turn_matches(call.turn_before(start), phrases, ctx,
                                           "hold_ask" if item.get("ask_before") is True else None)
            elif check == "thank":
                if not by_unhold:
                    status, ev = "missing", None
                else:
                    phrases = ctx.phrases_param(item.get("thank_after"), HOLD_THANK_PHRASES, item_id)
                    status, ev = _turn_matches(call.turn_after(end), phrases, ctx,
                                               "hold_thank" if item.get("thank_after") is True else None)
            else:
                limit = float(item["report_every_s"])
                marks = [start] + [u.start for u in call.agent if start < u.start < end] + [end]
                longest = max(b - a for a, b in pairwise(marks))
                status = "credited" if longest <= limit + HOLD_REPORT_GRACE_S else "missing"
                ev = None if status == "credited" else \
                    _event_evidence(start, f"第{k + 1}次保持中有{longest:.1f}秒没有回应来电者")
            if ev:
                evidence.append(ev)
            ok += status == "credited"
            unsure += status == "uncertain"
        earned += share * ok / n
        potential += share * (ok + unsure) / n
        name = {"ask": "保持前征得同意（如“请您稍等”）", "thank": "保持后致谢（如“感谢您的耐心等待”）",
                "report": f"保持期间每{_fmt(float(item.get('report_every_s') or 0))}秒左右回应来电者"}[check]
        if ok == n:
            parts.append(f"{name}：做到。")
        elif ok + unsure == n:
            parts.append(f"{name}：可能做到，需人工复核。")
        else:
            parts.append(f"{name}：{n}次中做到{ok}次。")
    return _result(item, earned, _verdict(earned, points, potential), evidence, 1.0,
                   f"共保持{len(call.holds)}次。" + "".join(parts), pending_gain=potential - earned)


@register("reply_latency", Param("max_s", "number", 5, "longest pause before replying"), live_only=True,
          doc="P × prompt replies / replies due.")
def _grade_reply_latency(ctx: _Context, item: Mapping) -> ItemResult:
    points = float(item.get("points") or 0)
    limit = float(item.get("max_s") or 5)
    call = ctx.call
    prompt, late, evidence = 0, [], []
    for k, c in enumerate(call.caller):
        turn = ctx.turns.get(str(c.get("turn"))) or {}
        if turn.get("end") in ("caller_hangs_up", "line_drops"):
            continue
        c_start = _num(c.get("start"), _num(c.get("t"), 0.0))
        c_end = _num(c.get("end"), c_start)
        nxt = call.caller[k + 1] if k + 1 < len(call.caller) else None
        limit_t = _num(nxt.get("start"), _num(nxt.get("t"))) if nxt is not None else float("inf")
        reply = next((u for u in call.agent if c_start < u.start < limit_t), None)
        label = c.get("turn") or f"第{k + 1}句"
        if reply is None:
            if nxt is None:
                continue          # the call ended after this line
            late.append(f"来电者（{label}）说完后没有应答")
            evidence.append(_event_evidence(c_end, f"来电者（{label}）说完后{limit_t - c_end:.1f}秒内坐席没有应答"))
            continue
        latency = max(0.0, reply.start - c_end)
        if latency <= limit:
            prompt += 1
        else:
            late.append(f"来电者（{label}）说完{latency:.1f}秒后才应答")
            evidence.append(Evidence(reply.snippet(), utterance=reply.index, t=round(reply.start, 2),
                                     confidence=reply.confidence))
    counted = prompt + len(late)
    if counted == 0:
        return _result(item, points, "pass", [], 1.0, "没有需要应答的来电者发言。")
    earned = points * prompt / counted
    note = f"{counted}次需应答中{prompt}次在{_fmt(limit)}秒内应答。" + ("".join(f"{s}。" for s in late) if late else "")
    return _result(item, earned, _verdict(earned, points, earned), evidence, 1.0, note)


@register("call_length", Param("max_s", "number", 180, "longest talk time"), live_only=True,
          doc="P within the limit, else 0 with the verdict review (soft signal) and P pending.")
def _grade_call_length(ctx: _Context, item: Mapping) -> ItemResult:
    points = float(item.get("points") or 0)
    limit = float(item.get("max_s") or 180)
    span = ctx.call.talk_span()
    if span is None:
        return _result(item, points, "pass", [], 1.0, "电话未接通，不计通话时长。")
    length = max(0.0, span[1] - span[0])
    ev = [_event_evidence(span[0], f"通话{length:.0f}秒（{span[0]:.1f}–{span[1]:.1f}秒）")]
    if length <= limit:
        return _result(item, points, "pass", ev, 1.0, f"通话{length:.0f}秒，未超过{_fmt(limit)}秒。")
    return _result(item, 0, "review", ev, 1.0,
                   f"通话{length:.0f}秒，超过{_fmt(limit)}秒（软性指标，由考评员结合通话内容判断）。",
                   pending_gain=points)


@register("speech_rate", Param("min", "number", 100, "字/分钟"), Param("max", "number", 120, "字/分钟"),
          Param("tolerance", "number", 0.15, "relative slack on both limits"), live_only=True,
          doc="P within limits, else 0 with the verdict review (soft signal) and P pending.")
def _grade_speech_rate(ctx: _Context, item: Mapping) -> ItemResult:
    points = float(item.get("points") or 0)
    lo, hi = float(item.get("min") or 100), float(item.get("max") or 120)
    tol = float(item["tolerance"] if item.get("tolerance") is not None else 0.15)
    spoken = ctx.call.spoken
    chars = sum(len(u.norm) for u in spoken)
    seconds = sum(u.speech_time() for u in spoken)
    conf = _mean_conf(spoken)
    if seconds < MIN_RATE_SPEECH_S or chars == 0:
        return _result(item, 0, "review", [], conf,
                       f"坐席语音只有{seconds:.1f}秒，无法可靠计算语速（软性指标，待复核）。",
                       pending_gain=points)
    rate = chars / (seconds / 60.0)
    ev = [Evidence(f"{chars}字／{seconds:.1f}秒 = {rate:.0f}字/分钟", t=round(spoken[0].start, 2),
                   confidence=round(conf, 3))]
    low, high = lo * (1 - tol), hi * (1 + tol)
    if low <= rate <= high:
        return _result(item, points, "pass", ev, conf,
                       f"语速约{rate:.0f}字/分钟，在{_fmt(lo)}–{_fmt(hi)}字/分钟（容差{tol:.0%}）范围内。")
    side = "偏快" if rate > high else "偏慢"
    return _result(item, 0, "review", ev, conf,
                   f"语速约{rate:.0f}字/分钟，{side}（要求{_fmt(lo)}–{_fmt(hi)}字/分钟，容差{tol:.0%}）；"
                   f"软性指标，由考评员复核。", pending_gain=points)


_CLAUSE_SPLIT = re.compile(r"[\s\W_]+", re.UNICODE)


def _filler_hits(u: Utterance, words: list[str]) -> list[tuple[str, int]]:
    """(filler, position in the normalised text) for every counted filler of one utterance: a clause
    (text between punctuation) is tokenised greedily on the filler words; a filler counts when it is an
    interjection, when its clause holds nothing but fillers, or when it is doubled."""
    norms = sorted({M.normalise(w) for w in words if M.normalise(w)}, key=lambda w: (-len(w), w))
    hits, offset = [], 0
    for clause in _CLAUSE_SPLIT.split(u.text):
        c = M.normalise(clause)
        pos = u.norm.find(c, offset) if c else -1
        if pos < 0:
            continue
        offset = pos + len(c)
        tokens, i = [], 0
        while i < len(c):
            w = next((w for w in norms if c.startswith(w, i)), None)
            tokens.append((w, i))
            i += len(w) if w else 1
        only_fillers = all(w for w, _ in tokens)
        for k, (w, i) in enumerate(tokens):
            if not w:
                continue
            doubled = (k + 1 < len(tokens) and tokens[k + 1][0] == w) or (k > 0 and tokens[k - 1][0] == w)
            if w in INTERJECTIONS or only_fillers or doubled:
                hits.append((w, pos + i))
    return hits


@register("fillers", Param("max", "int", 2, "fillers tolerated"),
          Param("words", "phrases", None, "filler words (default: common_fillers of common.yaml)"),
          doc="P up to max fillers, else 0 with the verdict review (soft signal) and P pending.")
def _grade_fillers(ctx: _Context, item: Mapping) -> ItemResult:
    points = float(item.get("points") or 0)
    limit = int(item["max"] if item.get("max") is not None else 2)
    words = item.get("words") or ctx.common_fillers() or list(DEFAULT_FILLERS)
    words = [str(w) for w in words]
    evidence, count = [], 0
    for u in ctx.call.spoken:
        for w, pos in _filler_hits(u, words):
            count += 1
            m = M.Match(w, pos, pos + len(M.normalise(w)), M.normalise(w), 1.0, "exact")
            evidence.append(u.evidence(m))
    conf = _mean_conf(ctx.call.spoken)
    shown = "、".join(words)
    if count <= limit:
        return _result(item, points, "pass", evidence, conf, f"口头语（{shown}）{count}次，不超过{limit}次。")
    return _result(item, 0, "review", evidence, conf,
                   f"口头语（{shown}）{count}次，超过{limit}次；软性指标，由考评员复核。", pending_gain=points)


def _digits(value: Any) -> str:
    text = M.normalise(str(value or ""))
    table = str.maketrans("零一二三四五六七八九", "0123456789")
    return re.sub(r"\D", "", text.translate(table))


def _is_phone(name: str, value: Any) -> bool:
    if name in PHONE_FIELDS:
        return True
    return bool(re.fullmatch(r"[\d\s\-+()（）]{5,}", str(value or "")))


@register("work_order", Param("fields", "list", None, "fields that must be filled"),
          Param("expect", "mapping", None, "field values that must match (added to the scenario's work_order.expect)"),
          doc="P × checks passed / checks; no work order saved: 0.")
def _grade_work_order(ctx: _Context, item: Mapping) -> ItemResult:
    points = float(item.get("points") or 0)
    fields = [str(f) for f in item.get("fields") or []]
    expect = dict(((ctx.data.get("work_order") or {}).get("expect") or {}))
    expect.update(item.get("expect") or {})
    wo = ctx.call.work_order()
    saved = ctx.call.last("work_order")
    if wo is None:
        return _result(item, 0, "fail", [], 1.0, "没有保存工单。")
    ev = [_event_evidence(saved.get("t") if saved is not None else None,
                          "工单：" + "；".join(f"{WORK_ORDER_LABELS.get(k, k)}={v}" for k, v in wo.items()))]
    checks, problems = 0, []
    ok = 0
    for f in fields:
        checks += 1
        if str(wo.get(f) or "").strip():
            ok += 1
        else:
            problems.append(f"缺少{WORK_ORDER_LABELS.get(f, f)}")
    for f, want in expect.items():
        checks += 1
        got = wo.get(f)
        if _is_phone(f, want):
            same = bool(_digits(want)) and _digits(got) == _digits(want)
        else:
            same = M.normalise(str(got or "")) == M.normalise(str(want))
        if same:
            ok += 1
        else:
            problems.append(f"{WORK_ORDER_LABELS.get(f, f)}应为「{want}」，填的是「{got or ''}」")
    if checks == 0:
        return _result(item, points, "pass", ev, 1.0, "已保存工单。")
    earned = points * ok / checks
    note = f"工单{checks}项检查中{ok}项正确。" + ("；".join(problems) + "。" if problems else "")
    if saved is not None and saved.get("valid") is False:
        note += "工单保存时未通过校验。"
    return _result(item, earned, _verdict(earned, points, earned), ev, 1.0, note)


@register("hangup", Param("by", "str", "caller", "who should hang up first", choices=("caller", "agent")),
          live_only=True, doc="P when the right side hung up first (or the line ended the call).")
def _grade_hangup(ctx: _Context, item: Mapping) -> ItemResult:
    points = float(item.get("points") or 0)
    want = str(item.get("by") or "caller")
    hang = ctx.call.first("hangup")
    if hang is None:
        return _result(item, 0, "fail", [], 1.0, "记录中没有挂机事件。")
    by = hang.get("by")
    who = {"caller": "来电者", "agent": "坐席", "line": "线路中断", "system": "系统"}.get(str(by), str(by))
    ev = [_event_evidence(hang.get("t"), f"{who}挂机" if by in ("caller", "agent") else who)]
    if by == want:
        return _result(item, points, "pass", ev, 1.0, f"由{who}先挂机，符合要求。")
    if by in ("line", "system") or hang.get("reason") == "transferred" or ctx.call.first("dropped"):
        return _result(item, points, "pass", ev, 1.0, f"通话因{who if by != 'agent' else '转接'}结束，本项不扣分。")
    wanted = "来电者" if want == "caller" else "坐席"
    return _result(item, 0, "fail", ev, 1.0, f"由{who}先挂机；应让{wanted}先挂机。")


@register("transfer", Param("target", "str", None, "a transfer_targets key (any target when absent)"),
          Param("announce", "phrases_or_intent", None, "tell the caller before transferring"), live_only=True,
          doc="Half for the right target, half for announcing it (all of P without announce).")
def _grade_transfer(ctx: _Context, item: Mapping) -> ItemResult:
    points = float(item.get("points") or 0)
    target = item.get("target")
    targets = ctx.data.get("transfer_targets") or {}
    label = lambda key: str((targets.get(key) or {}).get("label") or key)  # noqa: E731
    transfers = ctx.call.events_of("transfer")
    right = [e for e in transfers if target is None or e.get("target") == target]
    ev = [_event_evidence(e.get("t"), f"转接至{label(e.get('target'))}（{e.get('kind')}，结果{e.get('outcome')}）")
          for e in transfers]
    if not right:
        if transfers:
            note = f"转接到了{label(transfers[0].get('target'))}，应转接{label(target)}。"
        else:
            note = f"没有转接{'到' + label(target) if target else ''}。"
        return _result(item, 0, "fail", ev, 1.0, note)
    if not item.get("announce"):
        return _result(item, points, "pass", ev, 1.0, f"已转接至{label(right[0].get('target'))}。")
    phrases = ctx.phrases_param(item.get("announce"), TRANSFER_ANNOUNCE_PHRASES, str(item.get("id")))
    status, said = _turn_matches(ctx.call.turn_before(_num(right[0].get("t"), 0.0)), phrases, ctx)
    if said:
        ev.append(said)
    half = points / 2
    base = f"已转接至{label(right[0].get('target'))}。"
    if status == "credited":
        return _result(item, points, "pass", ev, 1.0, base + "转接前已告知来电者。")
    if status == "uncertain":
        return _result(item, half, "review", ev, 0.5, base + "转接前可能告知了来电者，需人工复核。",
                       pending_gain=half)
    return _result(item, half, "partial", ev, 1.0, base + "转接前没有告知来电者。")


# ---- service attitude -----------------------------------------------------------------------------

ATTITUDE_ITEM = {"id": "attitude", "kind": "attitude", "label": "服务态度（致命项）", "points": 0,
                 "norm": "不责问、反问、训斥、命令、推诿、讽刺、辱骂客户，不表现出不耐烦；"
                         "称呼客户用“您”，使用礼貌用语。",
                 "source": "001_ab75b4677eacef2d.txt"}
SEVERITY_LABELS = {"fatal": "致命", "major": "严重", "minor": "提示"}
MAJOR_HITS_FATAL = 2
"""This many distinct major expressions in one call are a pattern of impolite service: fatal."""


MAJOR_DEDUCTION, MAJOR_DEDUCTION_MAX = 5.0, 15.0
MINOR_DEDUCTION, MINOR_DEDUCTION_MAX = 1.0, 3.0
"""The scale of deductions for impolite speech. A scenario's deducting 服务忌语 (``forbidden``) item counts
every major or fatal expression as a hit (its ``per_hit``); without one, the attitude item takes 5 points
off the total for each major expression (at most 15). Each minor one costs 1 point (at most 3)."""


def _attitude_patterns(ctx: _Context, item: Mapping | None = None) -> list:
    """The attitude patterns for this scenario, with its attitude item's ``off`` and ``severity`` applied."""
    from grading import attitude as A

    if item is None:
        item = next((i for i in ctx.rubric_items() if i.get("kind") == "attitude"), {})
    off = {str(x) for x in item.get("off") or []}
    tuned = {str(k): str(v) for k, v in (item.get("severity") or {}).items()}
    for v in tuned.values():
        if v not in A.SEVERITIES:
            raise RubricError(f"评分项 {item.get('id')}: severity 必须是 fatal、major 或 minor")
    patterns = []
    for p in A.load().patterns:
        if p.id in off or p.kind in off:
            continue
        sev = tuned.get(p.id) or tuned.get(p.kind)
        patterns.append(p if not sev else A.Pattern(p.id, p.kind, sev, p.regex, p.unless, p.source, p.say_instead))
    return patterns


def _counts_attitude(ctx: _Context, item: Mapping) -> bool:
    """Does this 服务忌语 item count the attitude expressions? Deducting items of live calls do (an
    auto_fail item does not: a fatal expression caps the call through the attitude item instead)."""
    return (item.get("kind") == "forbidden" and item.get("attitude", True) is not False
            and str(item.get("mode") or "deduct") == "deduct" and ctx.data.get("task", "live_call") == "live_call")


def _attitude_hits(ctx: _Context, utterances: Iterable[Utterance], patterns: list) -> list[tuple]:
    """(utterance, hit, ASR confidence of its span, recognised with confidence) for every impolite expression."""
    from grading import attitude as A

    out = []
    for u in utterances:
        for h in A.find(u.text, patterns):
            conf = u.span_confidence(h.start, h.end)
            out.append((u, h, conf, not h.near and (conf is None or conf >= M.FORBIDDEN_MIN_CONFIDENCE)))
    return out


@register("attitude",
          Param("off", "list", None, "pattern ids or kinds this scenario switches off"),
          Param("severity", "mapping", None, "pattern id or kind -> fatal | major | minor for this scenario"),
          Param("courtesy", "bool", True, "check 您 and politeness markers"),
          live_only=True,
          doc="Applied to every live call (grading/attitude/patterns.yaml); a scenario adds this item only to "
              "tune it. Confirmed fatal expression (or two major ones): the item is fatal and caps the call at "
              "59. Any other major or unconfirmed fatal one: review, and the call is provisional (needs_review). "
              "Deductions from the total: 1 per minor expression (at most 3); 5 per major one (at most 15) unless "
              "a deducting forbidden item counts them. "
              "Points (0 unless given): P when nothing fatal or major.")
def _grade_attitude(ctx: _Context, item: Mapping) -> ItemResult:
    from grading import attitude as A

    data = A.load()
    patterns = _attitude_patterns(ctx, item)
    points = float(item.get("points") or 0)
    confirmed: dict[str, list] = {"fatal": [], "major": [], "minor": []}
    doubtful = []
    evidence: list[Evidence] = []
    for u, h, conf, sure in _attitude_hits(ctx, ctx.call.spoken, patterns):
        m = M.Match(h.pattern.id, h.start, h.end, h.heard, 1.0, "pattern")
        evidence.append(u.evidence(m, phrase=f"{data.kinds.get(h.pattern.kind, h.pattern.kind)}：{h.pattern.id}"))
        if h.pattern.severity != "minor" and not sure:
            doubtful.append((u, h, conf))
        else:
            confirmed[h.pattern.severity].append((u, h, conf))

    def line(u, h, conf=None):
        kind = data.kinds.get(h.pattern.kind, h.pattern.kind)
        heard = u.span_text(h.start, h.end)
        extra = f"，识别可信度{conf:.2f}" if conf is not None and conf < M.FORBIDDEN_MIN_CONFIDENCE else ""
        if h.near:
            extra += "，识别文字与该说法差一个字"
        severity = SEVERITY_LABELS[h.pattern.severity]
        return f"「{heard}」（第{u.index + 1}句，{kind}，{severity}{extra}；宜说「{h.pattern.say_instead}」）"

    advice = []
    curt = False
    c = data.courtesy
    spoken = [u for u in ctx.call.spoken if u.norm]
    if item.get("courtesy", True) and len(spoken) >= c.min_agent_utterances:
        text = "".join(u.norm for u in spoken)
        no_honorific, no_marker = c.honorific not in text, not c.markers.search(text)
        if no_honorific:
            advice.append(f"整通电话没有用“{c.honorific}”称呼客户。")
        if no_marker:
            advice.append("整通电话没有使用礼貌用语（请、麻烦您、谢谢、好吗……）。")
        # neither 您 nor a single polite word in a whole call is 语气生硬 (服务禁忌 12): for the assessor
        curt = no_honorific and no_marker
    # one deduction per expression: where the scenario's 服务忌语 item already counts the major ones, it is theirs
    absorbed = any(_counts_attitude(ctx, i) for i in ctx.rubric_items())

    def weigh(found: dict[str, list]) -> tuple[bool, float]:
        majors = {h.pattern.id for _, h, _ in found["major"]}
        deduct = (0.0 if absorbed else min(MAJOR_DEDUCTION_MAX, MAJOR_DEDUCTION * len(found["major"]))) + \
            min(MINOR_DEDUCTION_MAX, MINOR_DEDUCTION * len(found["minor"]))
        return bool(found["fatal"]) or len(majors) >= MAJOR_HITS_FATAL, deduct

    majors = {h.pattern.id for _, h, _ in confirmed["major"]}
    fatal, deduction = weigh(confirmed)
    # what an assessor's 确认 makes stand: every doubtful finding true, at its own severity
    sure = {sev: found + [x for x in doubtful if x[1].pattern.severity == sev] for sev, found in confirmed.items()}
    sure_fatal, sure_deduction = weigh(sure)
    if_confirmed = {"points": 0.0 if sure_fatal or sure["major"] else points, "deduction": sure_deduction,
                    "fatal": sure_fatal}
    parts = []
    if confirmed["fatal"]:
        parts.append("致命项：" + "；".join(line(*x) for x in confirmed["fatal"]) + "。")
    if confirmed["major"]:
        parts.append("不礼貌用语：" + "；".join(line(*x) for x in confirmed["major"]) + "。")
    if doubtful:
        parts.append("疑似不礼貌用语（识别不确定），需人工复核：" + "；".join(line(*x) for x in doubtful) + "。")
    if confirmed["minor"]:
        parts.append("改进提示：" + "；".join(line(*x) for x in confirmed["minor"]) + "。")
    parts.extend(advice)
    if deduction:
        parts.append(f"从总分中扣{_fmt(deduction)}分（严重每处{_fmt(MAJOR_DEDUCTION)}分、提示每处{_fmt(MINOR_DEDUCTION)}分）。")
    if fatal:
        why = "" if confirmed["fatal"] else f"（{len(majors)}处不礼貌用语）"
        parts.append(f"触发致命项{why}：本次通话最高记{_fmt(FATAL_CAP)}分，考评员核实后可说明理由推翻。")
        return _result(item, 0.0, "fail", evidence, 1.0, "".join(parts), fatal=True, deduction=deduction,
                       if_confirmed=if_confirmed)
    if confirmed["major"] or doubtful or curt:
        parts.append("本次通话须经考评员复核，不自动通过。")
        return _result(item, 0.0 if confirmed["major"] else points, "review", evidence, 1.0, "".join(parts),
                       pending_gain=points if confirmed["major"] else 0.0, deduction=deduction,
                       if_confirmed=if_confirmed)
    note = "".join(parts) or "未发现不礼貌用语。"
    return _result(item, points, "pass", evidence, 1.0, note if parts else "未发现不礼貌用语，称呼和礼貌用语得当。",
                   deduction=deduction)


# ---- the whole call -------------------------------------------------------------------------------

register("typing_speed", Param("target_cpm", "number", 30, "correct characters a minute for full points"),
         doc="P × min(1, speed / target_cpm).")(grade_typing_speed)
register("typing_accuracy", Param("min_accuracy", "number", 0.9, "accuracy that earns nothing"),
         doc="P × (accuracy - min_accuracy) / (1 - min_accuracy).")(grade_typing_accuracy)
KINDS = tuple(sorted(REGISTRY))


def grade(record: Mapping, scenario: Any, *, taboos: Any = None) -> GradeResult:
    """Grade one call record against a scenario's rubric.

    ``scenario``: a mapping as parsed from the scenario YAML, or an object with a ``.data`` mapping.
    ``taboos``: the shared lists instead of ``scenarios/library/common.yaml`` — a mapping with
    ``common_taboos`` (and optionally ``common_fillers``), or a list of taboo entries
    (``{phrase, say_instead}`` or strings). Without it the file is read only if an item needs it, and
    its absence is an error (never a silent empty list).
    """
    data = scenario_data(scenario)
    try:
        call = CallView(record)
    except ValueError as exc:
        raise RubricError(str(exc)) from None
    ctx = _Context(data, call, taboos)
    results: list[ItemResult] = []
    items = ctx.rubric_items()
    if data.get("task", "live_call") == "live_call" and not any(i.get("kind") == "attitude" for i in items):
        items = items + [dict(ATTITUDE_ITEM)]      # service attitude applies to every live call
    for item in items:
        kind = REGISTRY.get(str(item.get("kind")))
        if kind is None:
            raise RubricError(f"评分项 {item.get('id')}: 未知的类型 {item.get('kind')}")
        problems = kind.check(item)
        if problems:
            raise RubricError(f"评分项 {item.get('id')}: " + "；".join(f"{k} {msg}" for k, msg in problems))
        results.append(kind.grader(ctx, item))
    # the one rule of a call's total, shared with the web side's effective score (grading/rubric/totals.py)
    scored = call_total(results)
    auto_failed, total = scored.auto_failed, scored.total
    for r, item in zip(results, items, strict=True):
        if r.kind == "forbidden" and r.verdict == "review" and str(item.get("mode")) == "auto_fail":
            r.pending_loss = total
    passed = total >= PASS_MARK
    # an impolite expression is for the assessor to confirm: never an automatic pass
    needs_review = [NeedsReview(r.id, r.label, r.note, [e for e in r.evidence if e.method == "pattern"])
                    for r in results if r.kind == "attitude" and r.verdict in ("review", "fail")]
    # the same rule the web side applies to what is still unsettled after assessors' decisions
    provisional = is_provisional(results, flags=needs_review)
    warnings = call.warnings + ctx.warnings
    rec_scn = (record.get("scenario") or {}).get("id") if isinstance(record.get("scenario"), Mapping) else None
    if rec_scn and data.get("id") and rec_scn != data.get("id"):
        warnings.append(f"记录属于场景 {rec_scn}，却按场景 {data.get('id')} 评分")
    points_sum = sum(float(i.get("points") or 0) for i in ctx.rubric_items())
    if abs(points_sum - 100) > 1e-6:
        warnings.append(f"评分项分值合计 {_fmt(points_sum)}，不是 100")
    return GradeResult(total=total, passed=passed, provisional=provisional, auto_failed=auto_failed,
                       items=results, scenario_id=data.get("id"), call_id=record.get("call_id"),
                       warnings=warnings, needs_review=needs_review)


def regrade(record: Mapping, scenario: Any, *, taboos: Any = None) -> GradeResult:
    """Grade a stored record again (e.g. after a rubric fix): the same as ``grade``, which is
    deterministic."""
    return grade(record, scenario, taboos=taboos)
