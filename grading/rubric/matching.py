"""Chinese phrase matching that survives speech-recognition errors.

Everything is compared after ``grading.textnorm.for_matching`` (simplified characters, no punctuation or
spaces, digits written as characters), so "工号1035" and "工号幺零三五" are already the same text.
On top of that a phrase is looked for in three ways, best first:

``exact``   the normalised phrase is a substring of the normalised utterance.
``fuzzy``   character-level approximate substring match (Sellers' semi-global edit distance: the phrase
            may start and end anywhere in the utterance; every substitution, insertion or deletion
            costs 1). Similarity = 1 - distance / len(phrase).
``pinyin``  the same alignment on sounds: two characters cost nothing when they share a toneless
            pinyin reading (工/公 gong, 等/登 deng), half when they only agree under the usual
            "fuzzy pinyin" merges an ASR or a southern accent produces (zh/z, ch/c, sh/s, n/l,
            -ng/-n: 兴 xing / 心 xin), and 1 otherwise.

Required phrases are credited at ``CREDIT_THRESHOLD``; a best occurrence between ``REVIEW_THRESHOLD``
and it is shown to an assessor instead of being silently failed. Forbidden phrases (服务忌语) never use
the approximate tiers to cost points: see ``find_forbidden``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Mapping, Sequence

# ---- thresholds -------------------------------------------------------------------------------------

CREDIT_THRESHOLD = 0.85
"""A required phrase is credited at this similarity or above.

With similarity = 1 - edits / len(phrase) this allows one wrong character in a phrase of 7 or more
characters by shape alone (您好工号幺零三五很高兴为您服务 vs 您好公号1035很高心为您服务 scores 0.87 on
characters and 0.97 on sounds), and any number of homophone substitutions (请稍登 → 1.0 on sounds).
It deliberately does NOT credit one wrong, differently-sounding character in a 6-character phrase
(工号一零三四 for 工号一零三五 is 0.83): a wrong digit may be the trainee's mistake, so it goes to review.
"""

REVIEW_THRESHOLD = 0.70
"""Below credit but at or above this, the best occurrence is "maybe said": the item is flagged for an
assessor and the points stay open (never silently failed). Below it the phrase counts as not said:
for a 4-character phrase that means more than one wrong character, for a 10-character phrase more
than three edits — at that distance the text is a different sentence, not an ASR slip."""

SHORT_PHRASE_LEN = 2
"""Phrases this short (稍等, 您好) are credited only at similarity 1.0 (exact, or every character a
homophone). One edit in two characters is half the phrase; approximate matching would find them in
almost any sentence."""

FUZZY_SYLLABLE_COST = 0.5
"""Cost of a pair of characters whose readings agree only under fuzzy-pinyin merges (兴/心)."""

FORBIDDEN_MIN_CONFIDENCE = 0.6
"""An exact forbidden-phrase hit costs points only when the recognition confidence of the words it
rests on (or of the utterance when the engine gives no word scores) is at least this. Whisper's mean
word probability on clear telephone speech is typically 0.8–0.95 and falls below 0.6 on noisy or
mumbled audio, where substitutions become likely; such a hit is flagged for review instead."""

FORBIDDEN_NEAR_MIN_LEN = 4
"""A forbidden phrase of at least this many characters that is heard with exactly one character
replaced by a homophone (有意见找领到去) is flagged for review, never deducted. Shorter forbidden
phrases need the exact characters: 不知道 sounds exactly like 布置到, and 没办法 is two characters from
没问题."""

LOW_ASR_CONFIDENCE = 0.5
"""A required phrase missing from speech recognised below this confidence (or from an utterance the
recogniser returned empty) may have been said and garbled: the item goes to review, not to fail."""

# A-not-A questions (行不行, 能不能, 可不可以, 有没有) and the customer as the subject of a bare negation
# (您不知道, 您不清楚: phrases of at most three characters) contain a negative forbidden phrase without
# being the refusal it names. "不知道您是否方便" is the polite
# outbound opening, unless the agent says "我不知道您…".
_NEGATIONS = "不没"
_POLITE_AFTER = {
    "不知道": ("您是否", "是否", "您现在", "您方便", "您能否", "您能不能", "您还有", "您对", "您有没有",
               "您贵姓", "怎么称呼"),
}

_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


@dataclass(frozen=True)
class Match:
    """The best occurrence of ``phrase`` in one text. ``start``/``end`` index the normalised text
    (``for_matching``); ``heard`` is that normalised span."""
    phrase: str
    start: int
    end: int
    heard: str
    similarity: float
    method: str          # exact | fuzzy | pinyin | synonym | ngram
    threshold: float | None = None    # the credit threshold when it is not the phrase's usual one

    @property
    def credited(self) -> bool:
        return self.similarity >= (self.threshold if self.threshold is not None else credit_threshold(self.phrase))

    def to_dict(self) -> dict:
        return {"phrase": self.phrase, "start": self.start, "end": self.end, "heard": self.heard,
                "similarity": round(self.similarity, 3), "method": self.method}


# ---- normalisation ----------------------------------------------------------------------------------

def _for_matching():
    # Imported lazily: grading.textnorm is owned by the speech side of the package.
    from grading.textnorm import for_matching
    return for_matching


def normalise(text: str) -> str:
    return _for_matching()(text or "")


@lru_cache(maxsize=4096)
def normalise_with_map(text: str) -> tuple[str, tuple[int, ...] | None]:
    """The normalised text and, for every normalised character, the index of the original character it
    came from (None when normalisation did not go character by character)."""
    from grading.textnorm import matching_pieces

    norm = _for_matching()(text or "")
    mapping: list[int] = []
    pieces = []
    for start, end, n in matching_pieces(text or ""):
        pieces.append(n)
        mapping.extend(min(start + k, end - 1) for k in range(len(n)))   # 一千零三十五 → 一零三五: spread over it
    if "".join(pieces) != norm:
        return norm, None
    return norm, tuple(mapping)


# ---- sounds -----------------------------------------------------------------------------------------

def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff"


@lru_cache(maxsize=8192)
def _primary_reading(ch: str) -> str:
    if not _is_cjk(ch):
        return ch
    from pypinyin import Style, lazy_pinyin
    return lazy_pinyin(ch, style=Style.NORMAL)[0]


def _fuzzy(syllable: str) -> str:
    s = syllable
    if s[:2] in ("zh", "ch", "sh"):
        s = s[0] + s[2:]
    elif s[:1] == "n" and len(s) > 1:
        s = "l" + s[1:]
    if s.endswith("ng") and not s.endswith("ong") and len(s) > 2:
        s = s[:-1]
    return s


@lru_cache(maxsize=4096)
def readings(norm: str) -> tuple[tuple[frozenset, frozenset], ...]:
    """Per character of normalised text: (toneless readings, fuzzy-merged readings). The readings are
    the one pypinyin gives in context and the character's most common one."""
    from pypinyin import Style, lazy_pinyin
    # pypinyin accepts a list from ``errors`` (one reading per character); its stubs say str.
    context = lazy_pinyin(norm, style=Style.NORMAL, errors=lambda s: list(s))  # type: ignore[arg-type,return-value]
    if len(context) != len(norm):
        context = [_primary_reading(c) for c in norm]
    out = []
    for ch, ctx in zip(norm, context, strict=True):
        exact = frozenset({ctx, _primary_reading(ch)})
        out.append((exact, frozenset(_fuzzy(s) for s in exact)))
    return tuple(out)


_DIGIT_CHARS = frozenset("零一二三四五六七八九")


@lru_cache(maxsize=4096)
def _without_nasal(readings_: frozenset) -> frozenset:
    return frozenset(r[:-2] if r.endswith("ng") else r[:-1] if r.endswith("n") and len(r) > 1 else r
                     for r in readings_)


def _sound_cost(p: str, pr, t: str, tr) -> float:
    if p == t or (pr[0] & tr[0]):
        return 0.0
    if pr[1] & tr[1]:
        return FUZZY_SYLLABLE_COST
    # A digit heard as a sound-alike word (三零一八 as 三零一班, 一 as 因, 三 as 撒) is half an error; a
    # different digit stays a whole one: the trainee may have said the wrong number.
    if (p in _DIGIT_CHARS) != (t in _DIGIT_CHARS) and _without_nasal(pr[1]) & _without_nasal(tr[1]):
        return FUZZY_SYLLABLE_COST
    return 1.0


# ---- approximate substring alignment ----------------------------------------------------------------

def _align(phrase: str, text: str, sounds: bool) -> tuple[float, int, int]:
    """Sellers' semi-global alignment: the cheapest edit distance between ``phrase`` and any substring of
    ``text``. Returns (distance, start, end) in ``text``; ties go to the earliest end, then the latest
    start (the shortest span)."""
    m, n = len(phrase), len(text)
    pr = readings(phrase) if sounds else None
    tr = readings(text) if sounds else None
    # prev[j] = (cost, start) for phrase[:i] ending at text[:j]
    prev = [(0.0, j) for j in range(n + 1)]
    for i in range(1, m + 1):
        pc = phrase[i - 1]
        cur = [(float(i), 0)]
        for j in range(1, n + 1):
            tc = text[j - 1]
            if pr is not None and tr is not None:       # set exactly when ``sounds``
                sub = _sound_cost(pc, pr[i - 1], tc, tr[j - 1])
            else:
                sub = 0.0 if pc == tc else 1.0
            d_cost, d_start = prev[j - 1]
            best = (d_cost + sub, d_start)
            u_cost, u_start = prev[j]
            if u_cost + 1 < best[0] or (u_cost + 1 == best[0] and u_start > best[1]):
                best = (u_cost + 1, u_start)
            l_cost, l_start = cur[j - 1]
            if l_cost + 1 < best[0] or (l_cost + 1 == best[0] and l_start > best[1]):
                best = (l_cost + 1, l_start)
            cur.append(best)
        prev = cur
    best_j, (best_cost, best_start) = 0, prev[0]
    for j in range(1, n + 1):
        cost, start = prev[j]
        # equal cost: prefer the span whose length is closest to the phrase's (a substitution rather
        # than a dropped character), then the earliest
        if cost < best_cost - 1e-9 or (abs(cost - best_cost) <= 1e-9
                                       and abs(j - start - m) < abs(best_j - best_start - m)):
            best_j, best_cost, best_start = j, cost, start
    return best_cost, best_start, best_j


def _similarity_upper_bound(phrase: str, text: str) -> float:
    """An upper bound on the sound similarity: every phrase character without any character in the text
    that it could match even under fuzzy pinyin must be edited."""
    tr = readings(text)
    text_chars = set(text)
    text_fuzzy = set().union(*(r[1] for r in tr)) if tr else set()
    misses = 0.0
    for ch, r in zip(phrase, readings(phrase), strict=True):
        if ch in text_chars or (r[0] & text_fuzzy) or (r[1] & text_fuzzy):
            continue
        misses += 1
    return 1.0 - misses / len(phrase)


def credit_threshold(phrase: str) -> float:
    return 1.0 if len(normalise(phrase)) <= SHORT_PHRASE_LEN else CREDIT_THRESHOLD


@lru_cache(maxsize=16384)
def _match_norm(norm_text: str, norm_phrase: str, min_similarity: float) -> tuple | None:
    m = len(norm_phrase)
    if not m or not norm_text:
        return None
    pos = norm_text.find(norm_phrase)
    if pos >= 0:
        return pos, pos + m, 1.0, "exact"
    if m <= SHORT_PHRASE_LEN:
        min_similarity = 1.0   # short phrases: exact or homophones only
    if _similarity_upper_bound(norm_phrase, norm_text) < min_similarity:
        return None
    char_cost, c_start, c_end = _align(norm_phrase, norm_text, sounds=False)
    char_sim = 1.0 - char_cost / m
    sound_cost, s_start, s_end = _align(norm_phrase, norm_text, sounds=True)
    sound_sim = 1.0 - sound_cost / m
    if sound_sim > char_sim + 1e-9:
        start, end, sim, method = s_start, s_end, sound_sim, "pinyin"
    else:
        start, end, sim, method = c_start, c_end, char_sim, "fuzzy"
    if sim + 1e-9 < min_similarity or end <= start:
        return None
    return start, end, round(sim, 4), method


def match_phrase(text: str, phrase: str, *, min_similarity: float = REVIEW_THRESHOLD) -> Match | None:
    """The best approximate occurrence of ``phrase`` in ``text`` (both raw; normalised here), or None when
    nothing reaches ``min_similarity``. Check ``Match.credited`` for the credit decision."""
    norm_text, norm_phrase = normalise(text), normalise(phrase)
    found = _match_norm(norm_text, norm_phrase, float(min_similarity))
    if found is None:
        return None
    start, end, sim, method = found
    return Match(phrase, start, end, norm_text[start:end], sim, method)


def best_match(text: str, phrases: Iterable[str], *,
               min_similarity: float = REVIEW_THRESHOLD) -> Match | None:
    """The best-matching phrase of a list (highest similarity; ties go to the earlier phrase)."""
    best = None
    for phrase in phrases:
        found = match_phrase(text, phrase, min_similarity=min_similarity)
        if found is not None and (best is None or found.similarity > best.similarity):
            best = found
            if found.method == "exact":
                break
    return best


def fill_placeholders(phrase: str, values: Mapping[str, object] | None) -> str | None:
    """``工号{agent_number}`` with its value filled in; None when a placeholder has no value."""
    def sub(m: re.Match) -> str:
        value = (values or {}).get(m.group(0)[1:-1])
        if value is None or value == "":
            raise KeyError(m.group(0))
        return str(value)
    try:
        return _PLACEHOLDER.sub(sub, str(phrase))
    except KeyError:
        return None


def match_intent(utterance_text: str, phrases: Sequence[str], *,
                 values: Mapping[str, object] | None = None) -> Match | None:
    """For the call runtime's branch selection: the best phrase of an intent that is credited in the
    utterance (same rules as rubric credit), or None. ``values`` fills placeholders such as
    ``{agent_number}``; a phrase whose placeholder has no value is skipped."""
    best = None
    for raw in phrases:
        phrase = fill_placeholders(raw, values)
        if phrase is None:
            continue
        found = match_phrase(utterance_text, phrase, min_similarity=credit_threshold(phrase))
        if found is not None and found.credited and (best is None or found.similarity > best.similarity):
            best = found
    return best


# ---- forbidden phrases ------------------------------------------------------------------------------

def _benign(norm: str, start: int, end: int, phrase: str) -> bool:
    """An exact occurrence that is not the forbidden phrase's meaning (see _NEGATIONS above)."""
    before = norm[start - 1] if start > 0 else ""
    if phrase[0] in _NEGATIONS and len(phrase) >= 2:
        if before and before == phrase[1]:
            return True                                  # 行不行, 能不能, 可不可以, 有没有
        if before == "您" and len(phrase) <= 3:
            return True                                  # 您不知道…, 您不清楚的话… (not 您不会用就别用)
    polite = _POLITE_AFTER.get(phrase)
    if polite and before != "我" and any(norm.startswith(normalise(p), end) for p in polite):
        return True                                      # 不知道您是否方便…
    return False


def _homophone_window(norm: str, phrase: str) -> list[tuple[int, int]]:
    """Windows of the phrase's length where every character is the phrase's own or shares a toneless
    reading with it, and exactly one differs."""
    m = len(phrase)
    if m < FORBIDDEN_NEAR_MIN_LEN or len(norm) < m:
        return []
    pr, tr = readings(phrase), readings(norm)
    found = []
    for s in range(len(norm) - m + 1):
        diff = 0
        for k in range(m):
            if norm[s + k] == phrase[k]:
                continue
            if pr[k][0] & tr[s + k][0]:
                diff += 1
                if diff > 1:
                    break
            else:
                diff = 2
                break
        if diff == 1:
            found.append((s, s + m))
    return found


def find_forbidden(text: str, phrase: str) -> list[Match]:
    """Every occurrence of a forbidden phrase: exact ones (method ``exact``, similarity 1.0; the only kind
    that may cost points) and, for phrases of ``FORBIDDEN_NEAR_MIN_LEN`` characters or more, ones heard
    with a single homophone substitution (method ``pinyin``, for review only). Exact occurrences in a
    benign context (行不行 for 不行, 您不知道 for 不知道, 不知道您是否方便) are not reported."""
    norm, p = normalise(text), normalise(phrase)
    if not p or not norm:
        return []
    out = []
    pos = norm.find(p)
    while pos >= 0:
        if not _benign(norm, pos, pos + len(p), p):
            out.append(Match(phrase, pos, pos + len(p), p, 1.0, "exact"))
        pos = norm.find(p, pos + len(p))
    for s, e in _homophone_window(norm, p):
        if not any(m.start < e and s < m.end for m in out):
            sim = round(1 - 1 / len(p), 4)
            out.append(Match(phrase, s, e, norm[s:e], sim, "pinyin"))
    return sorted(out, key=lambda m: (m.start, -m.end))


def placeholders(phrase: str) -> list[str]:
    return _PLACEHOLDER.findall(phrase)


# ---- meaning-level matching (intents) ---------------------------------------------------------------

NGRAM_CREDIT = 0.75
"""Character-bigram Dice similarity at which an intent phrasing is credited in a clause whatever the
word order (「您的问题我复述一下」 for 「我复述一下您的问题」). Below it, down to ``NGRAM_REVIEW``, the item
goes to review."""
NGRAM_REVIEW = 0.6
NGRAM_MIN_LEN = 4
"""Shorter phrasings have too few bigrams for a similarity to mean anything: they need the other tiers."""


def _bigrams(text: str) -> list[str]:
    return [text[i:i + 2] for i in range(len(text) - 1)]


def _dice(a: list[str], b: list[str]) -> float:
    if not a or not b:
        return 0.0
    pool = list(b)
    common = 0
    for g in a:
        if g in pool:
            pool.remove(g)
            common += 1
    return 2 * common / (len(a) + len(b))


@lru_cache(maxsize=64)
def _synonym_table(table: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, str], ...]:
    pairs = []
    for row in table:
        canon = normalise(row[0])
        pairs.append((canon, canon))      # the canonical word itself is kept whole (没有 is not 没 + 有)
        for variant in row[1:]:
            v = normalise(variant)
            if v and v != canon:
                pairs.append((v, canon))
    return tuple(sorted(pairs, key=lambda p: -len(p[0])))


def canonical(norm: str, table: tuple[tuple[str, ...], ...]) -> tuple[str, tuple[int, ...]]:
    """Normalised text with every synonym variant replaced by its row's first word (longest variants
    first), and for each character of the result the index of the character it came from."""
    pairs = _synonym_table(table)
    out: list[str] = []
    where: list[int] = []
    i = 0
    while i < len(norm):
        for v, canon in pairs:
            if norm.startswith(v, i):
                out.append(canon)
                where.extend(min(i + k, i + len(v) - 1) for k in range(len(canon)))
                i += len(v)
                break
        else:
            out.append(norm[i])
            where.append(i)
            i += 1
    return "".join(out), tuple(where)


def _ngram_best(text: str, phrase: str) -> tuple[float, int, int]:
    """The best bigram-Dice window of ``text`` for ``phrase`` (windows of the phrase's length to 3 more)."""
    pg = _bigrams(phrase)
    best = (0.0, 0, 0)
    m = len(phrase)
    for size in range(m, m + 4):          # never shorter than the phrase: a part is not the meaning
        for start in range(0, max(1, len(text) - size + 1)):
            window = text[start:start + size]
            d = _dice(pg, _bigrams(window))
            if d > best[0] + 1e-9:
                best = (d, start, start + len(window))
    return best


def match_meaning(text: str, phrase: str, synonyms: Sequence[Sequence[str]] = (), *,
                  min_similarity: float = REVIEW_THRESHOLD, ngram: bool = True) -> Match | None:
    """``match_phrase`` for an intent phrasing: also after synonym normalisation of both sides
    (method ``synonym``) and by character-bigram similarity in any word order (method ``ngram``, credited
    at ``NGRAM_CREDIT``; ``ngram=False`` leaves that tier out). The match's span indexes the normalised
    utterance, as ``match_phrase``'s does."""
    direct = match_phrase(text, phrase, min_similarity=min_similarity)
    if direct is not None and direct.method == "exact":
        return direct
    norm, p_norm = normalise(text), normalise(phrase)
    table = tuple(tuple(str(w) for w in row) for row in synonyms if row)
    c_text, where = canonical(norm, table)
    c_phrase, _ = canonical(p_norm, table)
    candidates = [direct] if direct is not None else []
    if (c_text, c_phrase) != (norm, p_norm) and c_phrase:
        found = _match_norm(c_text, c_phrase, float(min_similarity))
        if found is not None:
            start, end, sim, method = found
            o_start, o_end = where[start], where[end - 1] + 1
            candidates.append(Match(phrase, o_start, o_end, norm[o_start:o_end], sim,
                                    "synonym" if method == "exact" else method))
    if ngram and len(c_phrase) >= NGRAM_MIN_LEN and c_text:
        dice, start, end = _ngram_best(c_text, c_phrase)
        if dice >= NGRAM_REVIEW and end > start:
            o_start, o_end = where[start], where[end - 1] + 1
            candidates.append(Match(phrase, o_start, o_end, norm[o_start:o_end], round(dice, 4), "ngram",
                                    threshold=NGRAM_CREDIT))
    if not candidates:
        return None
    # credited beats uncertain, then the higher similarity
    return max(candidates, key=lambda m: (m.credited, m.similarity, m.method == "exact"))
