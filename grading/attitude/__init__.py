"""Service attitude, defined once for every live call: impolite speech found by kind (reproach,
commands, blame, shirking, refusal, dismissal, sarcasm, insults, impatience, negative language) with
regular expressions over normalised text, and the courtesy every call needs (您, politeness markers).

The data is ``patterns.yaml`` beside this file, reviewable by trainers: each pattern has a kind, a
severity (fatal / major / minor), its source in the seed documents and the wording to use instead.
Patterns are matched clause by clause (text between punctuation) so one does not run across two
sentences; ``unless`` vetoes a hit when the polite form of the same request stands next to it: in its
clause or the clause either side, within its sentence (text up to 。！？；). Not the whole utterance (a 谢谢
in one sentence must not excuse sarcasm in the next), and not the whole sentence either: a recogniser
writes commas where the speaker paused, so 「谢谢，不用了。您想得还挺美」 comes back as one sentence.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
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
    near: bool = False      # one character differs from the pattern (a recogniser's slip?): never sure


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


# A recogniser mishears one syllable of a rude expression as often as any other (「早干嘛去了」 heard
# 「早干嘛去冷」): a fixed expression of at least this many characters (an alternative of a fatal or major
# pattern that is plain text) heard with one character different that sounds alike is a doubtful hit, for
# the assessor.
# Only fixed expressions: one character off a pattern with wildcards matches half of polite speech.
NEAR_MIN_CHARS = 5
HOMOPHONE_MIN_CHARS = 3      # shorter expressions only with a true homophone (「大点声」 heard 「大点生」)
_PLAIN = re.compile(r"^[\u3400-\u9fff]+$")


_MAX_EXPANSIONS = 400


def _expand(items, limit: int) -> list[str] | None:
    """Every string a parsed regex matches, if that is a small finite set (None otherwise)."""
    from re import _constants as C  # type: ignore[attr-defined]

    outs = [""]
    for op, arg in items:
        choices: list[str] | None
        if op is C.LITERAL:
            choices = [chr(arg)]
        elif op is C.AT:
            continue                          # ^ $: where, not what
        elif op is C.IN:
            if any(o is not C.LITERAL for o, _ in arg):
                return None
            choices = [chr(a) for _, a in arg]
        elif op is C.SUBPATTERN:
            choices = _expand(arg[-1], limit)
        elif op is C.BRANCH:
            choices = []
            for branch in arg[1]:
                sub = _expand(branch, limit)
                if sub is None:
                    return None
                choices.extend(sub)
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT) and arg[0] == 0 and arg[1] == 1:
            sub = _expand(arg[2], limit)
            choices = None if sub is None else [""] + sub
        else:
            return None                       # wildcards, long repeats: not a fixed set
        if choices is None:
            return None
        outs = [a + b for a in outs for b in choices]
        if len(outs) > limit:
            return None
    return outs


@lru_cache(maxsize=512)
def _fixed_expressions(source: str) -> tuple[str, ...]:
    """The fixed texts (at least ``HOMOPHONE_MIN_CHARS`` long) of a pattern's top-level alternatives that match
    a small finite set of strings; alternatives with wildcards are left out."""
    from re import _constants as C  # type: ignore[attr-defined]
    from re import _parser  # type: ignore[attr-defined]

    parsed = list(_parser.parse(source))
    branches = parsed[0][1][1] if len(parsed) == 1 and parsed[0][0] is C.BRANCH else [parsed]
    out: list[str] = []
    for branch in branches:
        texts = _expand(branch, _MAX_EXPANSIONS) or []
        out.extend(t for t in texts if len(t) >= HOMOPHONE_MIN_CHARS and _PLAIN.match(t))
    return tuple(dict.fromkeys(out))


_INITIALS = ("zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q", "x", "r", "z",
             "c", "s", "y", "w")


def _split_syllable(syllable: str) -> tuple[str, str]:
    for initial in _INITIALS:
        if syllable.startswith(initial):
            return initial, syllable[len(initial):]
    return "", syllable


def homophones(a: str, b: str) -> bool:
    """The same toneless reading, or one merged by common accents (zh/z, n/l, -ng/-n)."""
    from grading.rubric.matching import _fuzzy, _primary_reading

    ra, rb = _primary_reading(a), _primary_reading(b)
    return ra == rb or _fuzzy(ra) == _fuzzy(rb)


def sounds_close(a: str, b: str) -> bool:
    """Could a recogniser hear ``a`` as ``b``? Homophones, or the same initial or the same final
    (了/冷, 呢/了, 您/宁; not 说/有 or 不/果)."""
    from grading.rubric.matching import _primary_reading

    if homophones(a, b):
        return True
    (ia, fa), (ib, fb) = _split_syllable(_primary_reading(a)), _split_syllable(_primary_reading(b))
    return (ia != "" and ia == ib) or fa == fb


def _near_hits(p: Pattern, clause: str, offset: int) -> list[Hit]:
    out = []
    for phrase in _fixed_expressions(p.regex.pattern):
        n = len(phrase)
        for i in range(len(clause) - n + 1):
            window = clause[i:i + n]
            diff = [(a, b) for a, b in zip(window, phrase, strict=True) if a != b]
            # 您 for 你 is the polite form of the expression, not a slip of the recogniser; a slip sounds alike
            if len(diff) != 1 or set(diff[0]) == {"你", "您"}:
                continue
            if sounds_close(*diff[0]) if n >= NEAR_MIN_CHARS else homophones(*diff[0]):
                out.append(Hit(p, offset + i, offset + i + n, window, near=True))
    return out


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


def find(text: str, patterns: Iterable[Pattern] | None = None, *, near: bool = True) -> list[Hit]:
    """Every impolite expression in one utterance, longest first where two overlap; exact ones before
    ``near`` ones (one character off, fatal and major patterns only)."""
    from grading.textnorm import for_matching

    pats = list(load().patterns if patterns is None else patterns)
    sentences = clauses(text, _SENTENCE_SPLIT) or [(0, for_matching(text or ""))]
    parts = clauses(text)
    hits = []
    for k, (offset, clause) in enumerate(parts):
        sentence_at = next((o for o, _s in reversed(sentences) if o <= offset), sentences[0][0])
        # the polite form that excuses a hit stands next to it: its own clause and the ones either side,
        # within its sentence (a recogniser's commas join sentences, so the whole sentence is too wide)
        beside = "".join(c for o, c in parts[max(0, k - 1):k + 2] if o >= sentence_at)
        for p in pats:
            if p.unless is not None and p.unless.search(beside):
                continue
            exact = [Hit(p, offset + m.start(), offset + m.end(), m.group(0))
                     for m in p.regex.finditer(clause) if m.end() > m.start()]
            if not exact and near and p.severity != "minor":
                exact = _near_hits(p, clause, offset)
            hits.extend(exact)
    order = {s: k for k, s in enumerate(SEVERITIES)}
    hits.sort(key=lambda h: (h.near, order[h.pattern.severity], -(h.end - h.start), h.start))
    taken: list[Hit] = []
    for h in hits:
        if not any(h.start < t.end and t.start < h.end for t in taken):
            taken.append(h)
    return sorted(taken, key=lambda h: h.start)
