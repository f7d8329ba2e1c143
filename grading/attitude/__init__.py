"""Service attitude, defined once for every live call: impolite speech found by kind (reproach,
commands, blame, shirking, refusal, dismissal, sarcasm, insults, impatience, negative language) with
regular expressions over normalised text, and the courtesy every call needs (您, politeness markers).

The data is ``patterns.yaml`` beside this file, reviewable by trainers: each pattern has a kind, a
severity (fatal / major / minor), its source in the seed documents and the wording to use instead.
Patterns are matched clause by clause (text between punctuation) so one does not run across two
sentences; ``unless`` vetoes a hit when its sentence (text up to 。！？；) carries the polite form of the
same request. The sentence, not the whole utterance: a 谢谢 in one sentence must not excuse sarcasm in the next.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

DATA_FILE = Path(__file__).with_name("patterns.yaml")
SEVERITIES = ("fatal", "major", "minor")
_ADDRESS = "(?:你|您)"
_CLAUSE_SPLIT = re.compile(r"[\s\W_]+", re.UNICODE)
_SENTENCE_SPLIT = re.compile(r"[。！？!?；;\n]+")


class AttitudeDataError(ValueError):
    pass


@dataclass(frozen=True)
class Pattern:
    id: str
    kind: str
    severity: str
    regex: re.Pattern
    unless: re.Pattern | None
    source: str
    say_instead: str


@dataclass(frozen=True)
class Hit:
    """One impolite expression in one utterance: ``start``/``end`` index the utterance's normalised text."""
    pattern: Pattern
    start: int
    end: int
    heard: str


@dataclass(frozen=True)
class Courtesy:
    honorific: str
    markers: re.Pattern
    min_agent_utterances: int
    source: str


@dataclass(frozen=True)
class AttitudeData:
    kinds: dict
    patterns: tuple[Pattern, ...]
    courtesy: Courtesy


def _compile(text: str, where: str) -> re.Pattern:
    try:
        return re.compile(str(text).replace("Y", _ADDRESS))
    except re.error as exc:
        raise AttitudeDataError(f"{where}: 正则表达式有误：{exc}") from None


_cache: dict = {}


def load(path: str | Path | None = None) -> AttitudeData:
    import yaml

    p = Path(path) if path is not None else DATA_FILE
    st = p.stat()
    key = (str(p), st.st_mtime_ns, st.st_size)
    if key in _cache:
        return _cache[key]
    with open(p, encoding="utf-8") as fh:
        raw = yaml.safe_load(fh) or {}
    kinds = dict(raw.get("kinds") or {})
    patterns, seen = [], set()
    for i, e in enumerate(raw.get("patterns") or []):
        where = f"{p.name}: patterns[{i}]"
        for field in ("id", "kind", "severity", "pattern", "source", "say_instead"):
            if not e.get(field):
                raise AttitudeDataError(f"{where}: 缺少 {field}")
        if e["id"] in seen:
            raise AttitudeDataError(f"{where}: id {e['id']} 重复")
        if e["kind"] not in kinds:
            raise AttitudeDataError(f"{where}: 未知的类别 {e['kind']}")
        if e["severity"] not in SEVERITIES:
            raise AttitudeDataError(f"{where}: severity 必须是 {'、'.join(SEVERITIES)} 之一")
        seen.add(e["id"])
        patterns.append(Pattern(str(e["id"]), str(e["kind"]), str(e["severity"]), _compile(e["pattern"], where),
                                _compile(e["unless"], where) if e.get("unless") else None, str(e["source"]),
                                str(e["say_instead"])))
    c = raw.get("courtesy") or {}
    courtesy = Courtesy(str(c.get("honorific") or "您"), _compile(c.get("markers") or "请|谢谢", "courtesy"),
                        int(c.get("min_agent_utterances") or 2), str(c.get("source") or ""))
    data = AttitudeData(kinds, tuple(patterns), courtesy)
    _cache.clear()
    _cache[key] = data
    return data


def clauses(text: str, split: re.Pattern = _CLAUSE_SPLIT) -> list[tuple[int, str]]:
    """(offset in the normalised utterance, normalised clause) for each clause of ``text``."""
    from grading.textnorm import for_matching

    norm = for_matching(text or "")
    out, offset = [], 0
    for clause in split.split(text or ""):
        c = for_matching(clause)
        pos = norm.find(c, offset) if c else -1
        if pos < 0:
            continue
        out.append((pos, c))
        offset = pos + len(c)
    return out


def find(text: str, patterns: Iterable[Pattern] | None = None) -> list[Hit]:
    """Every impolite expression in one utterance, longest first where two overlap."""
    from grading.textnorm import for_matching

    pats = list(load().patterns if patterns is None else patterns)
    sentences = clauses(text, _SENTENCE_SPLIT) or [(0, for_matching(text or ""))]
    hits = []
    for offset, clause in clauses(text):
        sentence = next((s for o, s in reversed(sentences) if o <= offset), sentences[0][1])
        for p in pats:
            if p.unless is not None and p.unless.search(sentence):
                continue
            for m in p.regex.finditer(clause):
                if m.end() > m.start():
                    hits.append(Hit(p, offset + m.start(), offset + m.end(), m.group(0)))
    order = {s: k for k, s in enumerate(SEVERITIES)}
    hits.sort(key=lambda h: (order[h.pattern.severity], -(h.end - h.start), h.start))
    taken: list[Hit] = []
    for h in hits:
        if not any(h.start < t.end and t.start < h.end for t in taken):
            taken.append(h)
    return sorted(taken, key=lambda h: h.start)
