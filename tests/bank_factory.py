"""A generated question bank that exactly meets the blueprints' pool needs, so engine tests do not
depend on the content of exams/bank/ (which has its own validation test)."""
from __future__ import annotations

import random
from pathlib import Path

import yaml

from exams.blueprint import load_blueprints, required_pool
from exams.question_bank import SOURCES

# Random characters keep generated stems from looking like near-duplicates of each other (the
# validator's near-duplicate rule), reproducibly per item.
_WORDS = ("春夏秋冬东南西北金木水火土山川湖海风云雷电花草树林日月星辰江河桥路城乡"
          "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉")
# Multiple-choice keys of 2, 3 and 4 options (the key-count spread rule), never all five.
MULTIPLE_KEYS = (["A", "C"], ["B", "D", "E"], ["A", "B", "C", "E"], ["C", "E"], ["A", "B", "D"])


def _stem(area: str, level: int, qtype: str, n: int) -> str:
    words = "".join(random.Random(f"{area}-{level}-{qtype}-{n}").choices(_WORDS, k=16))
    return f"生成题{n}：{words}（　　）。"


def generate(extra: int = 0) -> dict[str, list[dict]]:
    """{area: [question dicts]} with ``extra`` more items than needed in every non-empty cell."""
    files: dict[str, list[dict]] = {}
    counters: dict[tuple[str, int], int] = {}
    for (area, qtype, level), need in required_pool(load_blueprints()).items():
        if not need:
            continue
        for _ in range(need + extra):
            number = counters.get((area, level), 0) + 1
            counters[(area, level)] = number
            q = {"id": f"{area}-{level}-{number:03d}", "level": level, "type": qtype, "difficulty": 1 + number % 3,
                 "stem": _stem(area, level, qtype, number),
                 "explanation": f"解析：第{number}题依据文献中的规范（{area}）。", "source": SOURCES[number % 5]}
            if qtype == "judge":
                q["answer"] = number % 2 == 0
            elif qtype == "single":
                q["options"] = {letter: f"选项{letter}{number}" for letter in "ABCD"}
                q["answer"] = "ABCD"[number % 4]
            else:
                q["options"] = {letter: f"选项{letter}{number}" for letter in "ABCDE"}
                q["answer"] = MULTIPLE_KEYS[number % len(MULTIPLE_KEYS)]
            files.setdefault(area, []).append(q)
    return files


def write_bank(directory: Path, extra: int = 0) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for area, questions in generate(extra).items():
        (directory / f"{area}.yaml").write_text(
            yaml.safe_dump({"area": area, "questions": questions}, allow_unicode=True, sort_keys=False),
            encoding="utf-8")
    return directory
