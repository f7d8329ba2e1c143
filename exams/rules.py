"""Bank-wide quality rules of ``python -m exams validate``: a paper must reward knowing the standard,
not reading cues. Each rule returns ``Problem`` errors (Chinese, with the place they concern).

- the key must not be the strictly longest option in more than ``MAX_LONGEST_KEY_SHARE`` of the
  single/multiple-choice items of a level (``testwise.strictly_longest_key_share``);
- absolute words (``testwise.is_absolute``) as common in keys as in distractors, and in true as in false
  statements, per level and type, within ``ABSOLUTE_TOLERANCE`` / ``JUDGE_ABSOLUTE_TOLERANCE``;
- multiple choice: no single number of keys in more than ``MAX_KEY_COUNT_SHARE`` of a level's items, and
  at least two different numbers;
- near-duplicate stems anywhere in the bank (rapidfuzz ratio ≥ ``NEAR_DUPLICATE_RATIO``) unless both
  items are in one enemy group;
- the cue-strategy gate: the best no-knowledge strategy must not score above
  ``testwise.MAX_TESTWISE_SCORE`` on any level's paper.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Sequence

from rapidfuzz import fuzz, process

from . import testwise
from .blueprint import LEVEL_NAMES, BlueprintSet
from .question_bank import Problem, Question, stem_key

MAX_LONGEST_KEY_SHARE = 0.30
ABSOLUTE_TOLERANCE = 0.10          # |share of keys with absolute words - share of distractors with them|
JUDGE_ABSOLUTE_TOLERANCE = 0.15    # |share of true statements with them - share of false statements with them|
MAX_KEY_COUNT_SHARE = 0.60
# Chosen on the bank of 2026-12 (837 items): the 8 pairs at >= 85 were one fact asked twice, except one
# sentence frame to reword (taboo-5-027/028, 忌语 vs 禁忌); between 70 and 85 (60 pairs) nearly all
# were different facts in a shared frame (致谢 vs 致歉, 姓名 vs 手机号), the few same-fact ones are in
# enemies.yaml by hand.
NEAR_DUPLICATE_RATIO = 85
MIN_ITEMS = 8                      # shares over fewer items say nothing
TYPE_NAMES = {"single": "单选题", "multiple": "多选题", "judge": "判断题"}
_SHOWN_IDS = 12


def _place(level: int, qtype: str) -> str:
    return f"{LEVEL_NAMES.get(level, level)} {TYPE_NAMES.get(qtype, qtype)}"


def _ids(items: Sequence[Question]) -> str:
    shown = "、".join(q.id for q in items[:_SHOWN_IDS])
    return shown + (f" 等 {len(items)} 题" if len(items) > _SHOWN_IDS else "")


def _cells(questions: Sequence[Question]) -> dict[tuple[int, str], list[Question]]:
    cells: dict[tuple[int, str], list[Question]] = defaultdict(list)
    for q in questions:
        cells[(q.level, q.type)].append(q)
    return cells


def longest_key(questions: Sequence[Question]) -> list[Problem]:
    problems = []
    for (level, qtype), items in sorted(_cells(questions).items()):
        if qtype == "judge" or len(items) < MIN_ITEMS:
            continue
        hits = [q for q in items if testwise.strictly_longest_key_share([q])[(level, qtype)][0]]
        share = len(hits) / len(items)
        if share > MAX_LONGEST_KEY_SHARE:
            what = "正确选项是唯一最长的选项" if qtype == "single" else "正确选项恰好是最长的几项"
            problems.append(Problem(_place(level, qtype),
                                    f"{what}的占 {share:.0%}（{len(hits)}/{len(items)}，最多 "
                                    f"{MAX_LONGEST_KEY_SHARE:.0%}）：{_ids(hits)}"))
    return problems


def absolute_balance(questions: Sequence[Question]) -> list[Problem]:
    problems = []
    for (level, qtype), items in sorted(_cells(questions).items()):
        if len(items) < MIN_ITEMS:
            continue
        if qtype == "judge":
            true = [q for q in items if q.answer == ("T",)]
            false = [q for q in items if q.answer == ("F",)]
            if not true or not false:
                continue
            t_share = sum(testwise.is_absolute(q.stem) for q in true) / len(true)
            f_share = sum(testwise.is_absolute(q.stem) for q in false) / len(false)
            if abs(t_share - f_share) > JUDGE_ABSOLUTE_TOLERANCE:
                heavy = false if f_share > t_share else true
                problems.append(Problem(_place(level, qtype),
                                        f"含绝对词（一定、必须、只能……）的陈述：正确的 {t_share:.0%}，"
                                        f"错误的 {f_share:.0%}"
                                        f"（相差最多 {JUDGE_ABSOLUTE_TOLERANCE:.0%}）；含绝对词的"
                                        f"{'错误' if heavy is false else '正确'}陈述："
                                        f"{_ids([q for q in heavy if testwise.is_absolute(q.stem)])}"))
            continue
        keys = [q.options[k] for q in items for k in q.answer]
        others = [t for q in items for k, t in q.options.items() if k not in q.answer]
        k_share = sum(map(testwise.is_absolute, keys)) / len(keys)
        d_share = sum(map(testwise.is_absolute, others)) / len(others) if others else 0.0
        if abs(k_share - d_share) > ABSOLUTE_TOLERANCE:
            flagged = [q for q in items if any(testwise.is_absolute(t) for k, t in q.options.items()
                                               if (k in q.answer) == (k_share > d_share))]
            problems.append(Problem(_place(level, qtype),
                                    f"含绝对词的选项：正确选项中 {k_share:.0%}，干扰项中 {d_share:.0%}"
                                    f"（相差最多 {ABSOLUTE_TOLERANCE:.0%}）；"
                                    f"{'正确选项' if k_share > d_share else '干扰项'}含绝对词的题：{_ids(flagged)}"))
    return problems


def key_count_spread(questions: Sequence[Question]) -> list[Problem]:
    problems = []
    for (level, qtype), items in sorted(_cells(questions).items()):
        if qtype != "multiple" or len(items) < MIN_ITEMS:
            continue
        counts = Counter(len(q.answer) for q in items)
        spread = "、".join(f"{n} 个答案 {c} 题" for n, c in sorted(counts.items()))
        count, most = counts.most_common(1)[0]
        if len(counts) < 2:
            problems.append(Problem(_place(level, qtype), f"所有多选题都是 {count} 个正确答案：答案个数至少要有两种"))
        elif most / len(items) > MAX_KEY_COUNT_SHARE:
            problems.append(Problem(_place(level, qtype),
                                    f"{most / len(items):.0%} 的多选题是 {count} 个正确答案（最多 "
                                    f"{MAX_KEY_COUNT_SHARE:.0%}；现为 {spread}）"))
    return problems


def near_duplicates(questions: Sequence[Question], threshold: float = NEAR_DUPLICATE_RATIO
                    ) -> list[tuple[Question, Question, float]]:
    """Pairs of different items whose stems (punctuation removed) are at least ``threshold`` alike."""
    keys = [stem_key(q.stem) for q in questions]
    if len(keys) < 2:
        return []
    scores = process.cdist(keys, keys, scorer=fuzz.ratio, score_cutoff=threshold, workers=1)
    pairs = []
    for i, j in zip(*scores.nonzero(), strict=True):
        if i < j and keys[i] != keys[j]:    # identical stems: cross_checks already rejects them
            pairs.append((questions[i], questions[j], float(scores[i, j])))
    return sorted(pairs, key=lambda p: -p[2])


def near_duplicate_stems(questions: Sequence[Question]) -> list[Problem]:
    problems = []
    for a, b, score in near_duplicates(questions):
        if a.group is not None and a.group == b.group:
            continue
        problems.append(Problem(f"{b.file}: {b.id}",
                                f"题干与 {a.id}（{a.file}）几乎相同（相似度 {score:.0f}）："
                                f"若考同一知识点，请把两题列入同一互斥组（enemies.yaml），否则改写题干"))
    return problems


def testwise_gate(questions: Sequence[Question], blueprints: BlueprintSet) -> list[Problem]:
    problems = []
    labels = {s.name: s.label for s in testwise.STRATEGIES}
    for rep in testwise.report(questions, blueprints):
        if rep.best > testwise.MAX_TESTWISE_SCORE:
            how = "；".join(f"{TYPE_NAMES[t]}{labels[n]}" for t, n in rep.best_names.items())
            problems.append(Problem(f"{rep.name} 试卷",
                                    f"不懂知识、只凭答题技巧（{how}）预计可得 {rep.best:.1f} 分，超过上限 "
                                    f"{testwise.MAX_TESTWISE_SCORE:g} 分（盲猜 {rep.blind:.1f} 分）；"
                                    f"用 python -m exams testwise --items 查看可凭技巧答对的题"))
    return problems


def bank_rules(questions: Sequence[Question]) -> list[Problem]:
    """Every rule that looks at the items themselves (not at the blueprints)."""
    return (longest_key(questions) + absolute_balance(questions) + key_count_spread(questions)
            + near_duplicate_stems(questions))
