"""Test-wiseness check: what a candidate who knows nothing scores by answering from cues alone.

Each strategy looks only at the wording of a question (never at its key) and picks an answer the way
coached but ignorant candidates do: the politest or the longest option, "statements with absolute words
are false", "pick the long options without absolute words". The expected score of a level is computed
over that level's blueprint: each cell (area x type) contributes its draw count times the mean result
of the strategy over the cell's pool, each item weighted by its level's draw weight. Ties between
options are broken at random (options are shuffled on a paper), so a tie counts as a fractional hit.

``python -m exams testwise`` prints the figures; ``python -m exams validate`` fails when the best cue
strategy scores above ``MAX_TESTWISE_SCORE`` at any level.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from functools import partial
from typing import Callable, Iterable, Sequence

from .blueprint import Blueprint, BlueprintSet
from .question_bank import Question
from .scoring import score_item

MAX_TESTWISE_SCORE = 35.0

# Words a coached candidate reads as "too absolute to be true".
ABSOLUTE_WORDS = ("一定", "必须", "只能", "只要", "只需", "只有", "所有", "一律", "全部", "完全", "绝对", "任何",
                  "总是", "从不", "从来", "永远", "凡是", "一切", "唯一", "毫无", "无论", "均须", "都要", "都必须",
                  "不得", "禁止", "一概", "根本")
_ABSOLUTE = re.compile("|".join(ABSOLUTE_WORDS))
# Markers of courteous wording and of curt wording, for the "pick the politest option" cue.
_POLITE = re.compile(r"您|请|对不起|抱歉|谢谢|感谢|麻烦|不好意思|打扰|好吗|可以吗|稍等|劳驾|辛苦")
_CURT = re.compile(r"(?<![您])你(?!们公司)|！|!|到底|怎么又|行了|算了|随便|别|少废话|赶紧|快点|自己"
                   r"|没办法|不归|不管|爱")
_TEXT = re.compile(r"[^\u4e00-\u9fffA-Za-z0-9]")


def _plain(text: str) -> str:
    return _TEXT.sub("", text)


def _length(text: str) -> int:
    return len(_plain(text))


def is_absolute(text: str) -> bool:
    return bool(_ABSOLUTE.search(text))


def politeness(text: str) -> int:
    return len(_POLITE.findall(text)) - len(_CURT.findall(text))


def _bigrams(text: str) -> set[str]:
    plain = _plain(text)
    return {plain[i:i + 2] for i in range(len(plain) - 1)}


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


# -- strategies: question -> list of (response, probability) ---------------------------------------------

Outcomes = list[tuple[tuple[str, ...], float]]


def _ties(question: Question, rank: Callable[[str, str], tuple]) -> Outcomes:
    """The options with the best rank, each chosen with equal probability."""
    ranked = [(rank(letter, text), letter) for letter, text in question.options.items()]
    best = max(r for r, _ in ranked)
    winners = [letter for r, letter in ranked if r == best]
    return [((letter,), 1.0 / len(winners)) for letter in winners]


def single_polite_then_longest(q: Question) -> Outcomes:
    return _ties(q, lambda _l, t: (politeness(t), _length(t)))


def single_longest(q: Question) -> Outcomes:
    return _ties(q, lambda _l, t: (_length(t),))


def single_not_absolute_then_longest(q: Question) -> Outcomes:
    return _ties(q, lambda _l, t: (not is_absolute(t), _length(t)))


def single_second_longest(q: Question) -> Outcomes:
    """Writers who shorten keys to hide them tend to leave them one notch below the longest."""
    lengths = sorted({_length(t) for t in q.options.values()}, reverse=True)
    target = lengths[1] if len(lengths) > 1 else lengths[0]
    return _ties(q, lambda _l, t: (_length(t) == target,))


def single_shortest(q: Question) -> Outcomes:
    return _ties(q, lambda _l, t: (-_length(t),))


def single_never_longest(q: Question) -> Outcomes:
    """Over-corrected banks teach the opposite cue: anything but the longest (and politest) option."""
    longest = max(_length(t) for t in q.options.values())
    return _ties(q, lambda _l, t: (_length(t) < longest,))


def single_least_polite(q: Question) -> Outcomes:
    return _ties(q, lambda _l, t: (-politeness(t),))


def single_echoes_stem(q: Question) -> Outcomes:
    stem = _bigrams(q.stem)
    return _ties(q, lambda _l, t: (len(_bigrams(t) & stem), _length(t)))


def single_convergent(q: Question) -> Outcomes:
    """The option that shares most with the others (distractors are often variations of the key)."""
    grams = {letter: _bigrams(text) for letter, text in q.options.items()}
    return _ties(q, lambda own, _t: (round(sum(_jaccard(grams[own], g) for o, g in grams.items() if o != own), 6),))


def judge_absolute_false(q: Question) -> Outcomes:
    return [(("F",) if is_absolute(q.stem) else ("T",), 1.0)]


def judge_absolute_true(q: Question) -> Outcomes:
    return [(("T",) if is_absolute(q.stem) else ("F",), 1.0)]


def judge_always_true(q: Question) -> Outcomes:
    return [(("T",), 1.0)]


def judge_always_false(q: Question) -> Outcomes:
    return [(("F",), 1.0)]


def _by_length(q: Question, letters: Iterable[str]) -> list[str]:
    return sorted(letters, key=lambda letter: -_length(q.options[letter]))


def multiple_three_longest_not_absolute(q: Question) -> Outcomes:
    plain = [letter for letter, text in q.options.items() if not is_absolute(text)]
    chosen = _by_length(q, plain)[:3]
    if len(chosen) < 2:
        chosen = _by_length(q, q.options)[:3]
    return [(tuple(sorted(chosen)), 1.0)]


def multiple_all_not_absolute(q: Question) -> Outcomes:
    plain = [letter for letter, text in q.options.items() if not is_absolute(text)]
    if len(plain) < 2:
        plain = _by_length(q, q.options)[:2]
    return [(tuple(sorted(plain)), 1.0)]


def multiple_all_polite(q: Question) -> Outcomes:
    polite = [letter for letter, text in q.options.items() if politeness(text) >= 0]
    if len(polite) < 2:
        polite = _by_length(q, q.options)[:2]
    return [(tuple(sorted(polite)), 1.0)]


def multiple_two_shortest(q: Question) -> Outcomes:
    return [(tuple(sorted(_by_length(q, q.options)[-2:])), 1.0)]


def multiple_all_but_longest(q: Question) -> Outcomes:
    return [(tuple(sorted(_by_length(q, q.options)[1:])), 1.0)]


def multiple_all_but_shortest(q: Question) -> Outcomes:
    return [(tuple(sorted(_by_length(q, q.options)[:-1])), 1.0)]


@dataclass(frozen=True)
class Strategy:
    name: str
    label: str          # shown to trainers
    qtype: str
    choose: Callable[[Question], Outcomes]


STRATEGIES: tuple[Strategy, ...] = (
    Strategy("polite-then-longest", "选最礼貌的，其次最长的", "single", single_polite_then_longest),
    Strategy("longest", "选最长的", "single", single_longest),
    Strategy("not-absolute-then-longest", "避开绝对词，其次最长的", "single", single_not_absolute_then_longest),
    Strategy("second-longest", "选第二长的", "single", single_second_longest),
    Strategy("shortest", "选最短的", "single", single_shortest),
    Strategy("never-longest", "除最长的以外任选", "single", single_never_longest),
    Strategy("least-polite", "选最不客气的", "single", single_least_polite),
    Strategy("echoes-stem", "选与题干用词最重合的", "single", single_echoes_stem),
    Strategy("convergent", "选与其他选项最相似的", "single", single_convergent),
    Strategy("absolute-is-false", "含绝对词判错，否则判对", "judge", judge_absolute_false),
    Strategy("absolute-is-true", "含绝对词判对，否则判错", "judge", judge_absolute_true),
    Strategy("always-true", "一律判对", "judge", judge_always_true),
    Strategy("always-false", "一律判错", "judge", judge_always_false),
    Strategy("three-longest-not-absolute", "选不含绝对词的最长三项", "multiple", multiple_three_longest_not_absolute),
    Strategy("all-not-absolute", "选所有不含绝对词的", "multiple", multiple_all_not_absolute),
    Strategy("all-polite", "选所有不失礼的", "multiple", multiple_all_polite),
    Strategy("all-but-shortest", "除最短一项外全选", "multiple", multiple_all_but_shortest),
    Strategy("all-but-longest", "除最长一项外全选", "multiple", multiple_all_but_longest),
    Strategy("two-shortest", "选最短的两项", "multiple", multiple_two_shortest),
)
# The combination the issue measured first (polite/longest, absolute words false, three longest).
CLASSIC = ("polite-then-longest", "absolute-is-false", "three-longest-not-absolute")


def expected_hit(strategy: Strategy, question: Question, multiple_scoring: str = "all_or_nothing") -> float:
    """Expected fraction of the item's points the strategy earns."""
    return sum(p * score_item(question.type, question.answer, response, 1.0, multiple_scoring).earned
               for response, p in strategy.choose(question))


def blind_hit(question: Question) -> float:
    """Expected fraction from guessing uniformly (multiple choice: a uniform non-empty subset of ≥ 2)."""
    if question.type == "judge":
        return 0.5
    if question.type == "single":
        return 1.0 / len(question.options)
    n = len(question.options)
    subsets = 2 ** n - 1 - n
    return 1.0 / subsets


@dataclass
class LevelReport:
    level: int
    name: str
    per_strategy: dict[str, float]          # full-paper points earned from this type's items alone
    blind: float
    classic: float
    best: float                              # best strategy per type, added up
    best_names: dict[str, str]

    def to_dict(self) -> dict:
        return {"level": self.level, "name": self.name, "blind": round(self.blind, 1),
                "classic": round(self.classic, 1), "best": round(self.best, 1), "best_strategies": self.best_names,
                "per_strategy": {k: round(v, 2) for k, v in self.per_strategy.items()}}


def _cell_pools(questions: Sequence[Question], blueprint: Blueprint) -> dict[tuple[str, str], list[Question]]:
    pools: dict[tuple[str, str], list[Question]] = defaultdict(list)
    for q in questions:
        if q.level in blueprint.level_weights:
            pools[(q.area, q.type)].append(q)
    return pools


def _weighted_mean(pool: list[Question], weights: dict[int, int], value: Callable[[Question], float]) -> float:
    total = sum(weights[q.level] for q in pool)
    return sum(weights[q.level] * value(q) for q in pool) / total if total else 0.0


def level_report(questions: Sequence[Question], blueprint: Blueprint) -> LevelReport:
    pools = _cell_pools(questions, blueprint)
    per_strategy: dict[str, float] = defaultdict(float)
    blind = 0.0
    for area, qtype, count in blueprint.cells():
        pool = pools.get((area, qtype), [])
        points = count * blueprint.points[qtype]
        blind += points * _weighted_mean(pool, blueprint.level_weights, blind_hit)
        for strategy in STRATEGIES:
            if strategy.qtype == qtype:
                per_strategy[strategy.name] += points * _weighted_mean(
                    pool, blueprint.level_weights,
                    partial(expected_hit, strategy, multiple_scoring=blueprint.multiple_scoring))
    by_type: dict[str, list[Strategy]] = defaultdict(list)
    for strategy in STRATEGIES:
        by_type[strategy.qtype].append(strategy)
    best_names = {qtype: max(group, key=lambda s: per_strategy[s.name]).name for qtype, group in by_type.items()}
    return LevelReport(level=blueprint.level, name=blueprint.name, per_strategy=dict(per_strategy), blind=blind,
                       classic=sum(per_strategy[name] for name in CLASSIC),
                       best=sum(per_strategy[name] for name in best_names.values()), best_names=best_names)


def report(questions: Sequence[Question], blueprints: BlueprintSet) -> list[LevelReport]:
    return [level_report(questions, blueprints[level]) for level in sorted(blueprints.levels, reverse=True)]


def cue_items(questions: Sequence[Question], strategy_names: Iterable[str] = CLASSIC) -> list[tuple[Question, str]]:
    """Items a cue strategy answers correctly with certainty: the ones to rewrite first."""
    wanted = [s for s in STRATEGIES if s.name in set(strategy_names)]
    found = []
    for q in questions:
        for strategy in wanted:
            if strategy.qtype == q.type and expected_hit(strategy, q) >= 0.999:
                found.append((q, strategy.name))
                break
    return found


def strictly_longest_key_share(questions: Sequence[Question]) -> dict[tuple[int, str], tuple[int, int]]:
    """(level, type) -> (items whose key option is strictly the longest, items) for single choice, and for
    multiple choice items whose keys are exactly the longest options."""
    shares: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
    for q in questions:
        if q.type == "judge":
            continue
        lengths = {letter: _length(text) for letter, text in q.options.items()}
        keys, others = set(q.answer), set(q.options) - set(q.answer)
        longest = min(lengths[k] for k in keys) > max(lengths[o] for o in others) if others else False
        cell = shares[(q.level, q.type)]
        cell[0] += int(longest)
        cell[1] += 1
    return {k: (v[0], v[1]) for k, v in shares.items()}
