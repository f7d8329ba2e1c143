"""The theory question bank: YAML files under ``exams/bank/`` (one per knowledge area), and their validator.

File format (documented for trainers in docs/question-bank.md)::

    area: etiquette
    questions:
      - id: etiquette-5-001        # <area>-<level>-<number>, never reused
        level: 5                   # the level whose exam first requires it (5, 4 or 3)
        type: single               # single | multiple | judge
        difficulty: 1              # 1 easy .. 3 hard
        stem: 接听来电时，规范的开头语应包含……
        options: {A: ..., B: ..., C: ..., D: ...}   # judge questions have none
        answer: B                  # single: a letter; multiple: [A, C]; judge: true/false
        explanation: 一到两句话说明为什么。
        source: 《呼叫中心设计与服务规范》            # the document it rests on, by title (SOURCE_FILES)
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from .blueprint import LEVELS, BlueprintSet, load_blueprints, required_pool

BANK_DIR = Path(__file__).resolve().parent / "bank"
# Groups of items on one fact (see load_enemies); not a question file.
ENEMIES_FILE = "enemies.yaml"
_GROUP_ID = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
# The documents items rest on, cited by title (candidates see the title as 依据); the seed file each
# title names is kept for trainers who look the fact up.
SOURCE_FILES = {
    "《呼叫服务员》职业标准及岗位职责": "000_a15deacb31ee537f.txt",
    "《呼叫中心设计与服务规范》": "001_ab75b4677eacef2d.txt",
    "《商务中心与客服部服务规范》": "002_451426456c5d3803.txt",
    "《客服岗位职责及基本要求》": "003_bb27b38f5ad22a70.txt",
    "《客服中心服务问答与规范用语》": "004_2e7b325d63276746.txt",
}
SOURCES = tuple(SOURCE_FILES)
_TITLE_OF_FILE = {file: title for title, file in SOURCE_FILES.items()}


def source_title(source: str) -> str:
    """The title to show for a stored source (rows imported before titles were used hold file names)."""
    return _TITLE_OF_FILE.get(source, source)
TYPES = ("single", "multiple", "judge")
# "All/none of the above" options let a candidate score without knowing the fact.
CRUTCH_OPTION = re.compile(r"以上(都|皆|均|全|各项|选项|说法)|(都|全)(对|不对|正确|错误)$|都不是")
_PUNCT = re.compile(r"[\s，。、；：？！“”‘’（）()《》【】\[\],.;:?!\"'…—\-_/]+")


@dataclass(frozen=True)
class Question:
    id: str
    area: str
    level: int
    type: str
    difficulty: int
    stem: str
    options: dict[str, str]
    answer: tuple[str, ...]   # letters; judge questions use ("T",) or ("F",)
    explanation: str
    source: str
    file: str = ""
    group: str | None = None   # enemy group: never on one paper with another item of the group

    @property
    def answer_text(self) -> str:
        if self.type == "judge":
            return "正确" if self.answer == ("T",) else "错误"
        return "".join(self.answer)


@dataclass(frozen=True)
class Problem:
    place: str      # "etiquette.yaml: etiquette-5-003"
    message: str
    severity: str = "error"   # error | warning

    def __str__(self) -> str:
        return f"{self.severity.upper()} {self.place}: {self.message}"


@dataclass
class Bank:
    questions: list[Question] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    group_notes: dict[str, str] = field(default_factory=dict)   # enemy group id -> the shared fact

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    def by_id(self) -> dict[str, Question]:
        return {q.id: q for q in self.questions}


def stem_key(text: str) -> str:
    return _PUNCT.sub("", text)


def _letters(n: int) -> list[str]:
    return [chr(ord("A") + i) for i in range(n)]


def shown(value) -> str:
    """A value as a trainer wrote it, for messages: no Python reprs (``['A']``, ``None``)."""
    if value is None or value == "":
        return "（空）"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "、".join(shown(v) for v in value) if value else "（空）"
    if isinstance(value, dict):
        return "、".join(str(k) for k in value) if value else "（空）"
    if isinstance(value, (int, float)):
        return f"{value:g}"
    return f"「{value}」"


MIN_STEM_CHARS = 6
MIN_EXPLANATION_CHARS = 6


def parse_question(raw, area: str, place: str, problems: list[Problem]) -> Question | None:
    def bad(msg):
        problems.append(Problem(place, msg))

    if not isinstance(raw, dict):
        bad("每道题必须是一个映射（mapping）")
        return None
    allowed = {"id", "level", "type", "difficulty", "stem", "options", "answer", "explanation", "source"}
    unknown = set(raw) - allowed
    if unknown:
        bad(f"未知字段：{', '.join(sorted(map(str, unknown)))}")
    qid = str(raw.get("id", "")).strip()
    level, qtype, difficulty = raw.get("level"), raw.get("type"), raw.get("difficulty")
    ok = True
    if not re.fullmatch(rf"{re.escape(area)}-[345]-\d{{3}}", qid):
        bad(f"编号：{shown(qid)} 格式应为 {area}-<等级>-<三位数字>，如 {area}-5-001")
        ok = False
    if level not in LEVELS:
        bad(f"等级：必须是 5、4 或 3（现为 {shown(level)}）")
        ok = False
    elif qid and re.fullmatch(r"[a-z]+-\d-\d{3}", qid) and int(qid.split("-")[1]) != level:
        bad(f"编号：{shown(qid)} 与等级 {level} 不一致")
    if qtype not in TYPES:    # options and answer cannot be checked, the other fields still are
        bad(f"题型：必须是 {'、'.join(TYPES)} 之一（现为 {shown(qtype)}）")
        ok = False
    if difficulty not in (1, 2, 3):
        bad(f"难度：必须是 1、2 或 3（现为 {shown(difficulty)}）")
        ok = False
    stem = raw.get("stem")
    if not isinstance(stem, str) or len(stem.strip()) < MIN_STEM_CHARS:
        bad(f"题干：缺失或过短（至少 {MIN_STEM_CHARS} 个字）")
        ok = False
    explanation = raw.get("explanation")
    if not isinstance(explanation, str) or len(explanation.strip()) < MIN_EXPLANATION_CHARS:
        bad(f"解析：缺失或过短（至少 {MIN_EXPLANATION_CHARS} 个字）")
        ok = False
    source = raw.get("source")
    if source not in SOURCES:
        hint = f"（文件 {source} 应写作 {_TITLE_OF_FILE[source]}）" if source in _TITLE_OF_FILE else ""
        bad(f"依据：必须是以下文献之一：{'、'.join(SOURCES)}；现为 {shown(source)}{hint}")
        ok = False

    options = raw.get("options") or {}
    answer = raw.get("answer")
    letters: tuple[str, ...] = ()
    if qtype not in TYPES:
        pass
    elif qtype == "judge":
        if options:
            bad("选项：判断题不设选项")
            ok = False
        if not isinstance(answer, bool):
            bad("答案：判断题答案必须是 true（正确）或 false（错误）")
            ok = False
        else:
            letters = ("T",) if answer else ("F",)
    else:
        if not isinstance(options, dict):
            bad("选项必须是“字母: 文字”的映射")
            return None
        options = {str(k).strip(): (str(v).strip() if v is not None else "") for k, v in options.items()}
        wanted_sizes = (4,) if qtype == "single" else (4, 5)
        if len(options) not in wanted_sizes or list(options) != _letters(len(options)):
            type_name = {"single": "单选", "multiple": "多选"}[qtype]
            bad(f"选项：{type_name}题需要 {' 或 '.join(map(str, wanted_sizes))} 个选项，依次为 "
                f"A-{_letters(max(wanted_sizes))[-1]}，现为 {shown(list(options))}")
            ok = False
        texts = list(options.values())
        if any(not t for t in texts):
            bad("选项：有选项为空")
            ok = False
        if len(set(texts)) != len(texts):
            bad("选项：有两个选项文字相同")
            ok = False
        for letter, text in options.items():
            if CRUTCH_OPTION.search(text):
                bad(f"选项 {letter}：属于“以上都对/都不对”类兜底选项（{text}）")
                ok = False
        if qtype == "single":
            if not isinstance(answer, str) or answer.strip() not in options:
                bad(f"答案：{shown(answer)} 不在选项之中")
                ok = False
            else:
                letters = (answer.strip(),)
        else:
            if isinstance(answer, str):
                answer = list(answer.replace(",", "").replace(" ", ""))
            if (not isinstance(answer, list) or len(answer) < 2 or len(set(answer)) != len(answer)
                    or any(a not in options for a in answer)):
                bad(f"答案：多选题答案必须列出至少两个不同的选项字母，现为 {shown(answer)}")
                ok = False
            else:
                letters = tuple(sorted(answer))
    if not ok:
        return None
    # Every check passed, so the fields have the types they were checked for (mypy cannot follow ``ok``).
    assert isinstance(level, int) and isinstance(difficulty, int) and isinstance(source, str)
    assert isinstance(stem, str) and isinstance(explanation, str) and isinstance(qtype, str)
    return Question(id=qid, area=area, level=level, type=qtype, difficulty=difficulty, stem=stem.strip(),
                    options=options if qtype != "judge" else {}, answer=letters,
                    explanation=explanation.strip(), source=source)


def load_file(path: Path, areas: dict[str, str] | None = None) -> Bank:
    bank = Bank()
    name = path.name
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        bank.problems.append(Problem(name, f"YAML 格式错误：{exc}"))
        return bank
    if not isinstance(data, dict) or "area" not in data or not isinstance(data.get("questions"), list):
        bank.problems.append(Problem(name, "题库文件需要 area 字段和 questions 列表"))
        return bank
    area = str(data["area"])
    if areas is not None and area not in areas:
        bank.problems.append(Problem(name, f"未知的知识领域 {area!r}（可用：{', '.join(areas)}）"))
        return bank
    for index, raw in enumerate(data["questions"], start=1):
        qid = raw.get("id") if isinstance(raw, dict) else None
        place = f"{name}: {qid or f'question #{index}'}"
        question = parse_question(raw, area, place, bank.problems)
        if question is not None:
            bank.questions.append(Question(**{**question.__dict__, "file": name}))
    return bank


def load_bank(path: Path | str = BANK_DIR, blueprints: BlueprintSet | None = None, *,
              check_pool: bool = True) -> Bank:
    """Load a bank file or folder and validate it; problems are collected, never raised."""
    blueprints = blueprints or load_blueprints()
    path = Path(path)
    files = [f for f in sorted(path.glob("*.yaml")) if f.name != ENEMIES_FILE] if path.is_dir() else [path]
    bank = Bank()
    if not files:
        bank.problems.append(Problem(str(path), "没有找到题库文件（*.yaml）"))
        return bank
    for file in files:
        part = load_file(file, blueprints.areas)
        bank.questions.extend(part.questions)
        bank.problems.extend(part.problems)
    folder = path if path.is_dir() else path.parent
    if (folder / ENEMIES_FILE).exists() and path.name != ENEMIES_FILE:
        # One file of a bank folder: its items keep their groups; ids of the other files are not errors.
        groups, bank.group_notes, problems = load_enemies(
            folder / ENEMIES_FILE, {q.id for q in bank.questions} if path.is_dir() else None)
        bank.problems.extend(problems)
        bank.questions = [replace(q, group=groups.get(q.id)) for q in bank.questions]
    bank.problems.extend(cross_checks(bank.questions))
    if check_pool:
        bank.problems.extend(pool_checks(bank.questions, blueprints))
    return bank


def load_enemies(path: Path, known_ids: set[str] | None = None) -> tuple[dict[str, str], dict[str, str], list[Problem]]:
    """The enemy groups of ``path``: (item id -> group id, group id -> note, problems). An item is in at
    most one group; ids the bank does not hold are reported when ``known_ids`` is given."""
    name = path.name
    problems: list[Problem] = []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        return {}, {}, [Problem(name, f"YAML 格式错误：{exc}")]
    if not isinstance(data, dict) or not isinstance(data.get("groups"), list):
        return {}, {}, [Problem(name, "互斥组文件需要 groups 列表")]
    of_item: dict[str, str] = {}
    notes: dict[str, str] = {}
    for index, raw in enumerate(data["groups"], start=1):
        gid = str(raw.get("id", "")).strip() if isinstance(raw, dict) else ""
        place = f"{name}: {gid or f'第{index}组'}"
        if not isinstance(raw, dict) or not _GROUP_ID.fullmatch(gid) or len(gid) > 64:
            problems.append(Problem(place, "互斥组需要 id（小写字母、数字和连字符，最长 64 个字符）"))
            continue
        if gid in notes:
            problems.append(Problem(place, "互斥组编号重复"))
            continue
        note, items = raw.get("note"), raw.get("items")
        if not isinstance(note, str) or len(note.strip()) < 2:
            problems.append(Problem(place, "互斥组需要 note：写明这几道题共同考查的知识点"))
        if not isinstance(items, list) or len({str(i) for i in items}) < 2:
            problems.append(Problem(place, "互斥组至少要列出两道不同的题"))
            continue
        notes[gid] = str(note or "").strip()
        for qid in dict.fromkeys(str(i) for i in items):
            if known_ids is not None and qid not in known_ids:
                problems.append(Problem(place, f"题库中没有 {qid}"))
            elif qid in of_item:
                problems.append(Problem(place, f"{qid} 已在互斥组 {of_item[qid]} 中（每道题最多属于一个组）"))
            else:
                of_item[qid] = gid
    return of_item, notes, problems


def cross_checks(questions: list[Question]) -> list[Problem]:
    problems = []
    seen_ids: dict[str, Question] = {}
    seen_stems: dict[str, Question] = {}
    for q in questions:
        place = f"{q.file}: {q.id}"
        if q.id in seen_ids:
            problems.append(Problem(place, f"编号重复（另见 {seen_ids[q.id].file}）"))
        seen_ids.setdefault(q.id, q)
        key = stem_key(q.stem)
        if key in seen_stems:
            problems.append(Problem(place, f"题干与 {seen_stems[key].id} 相同"))
        seen_stems.setdefault(key, q)
    # Near-identical stems: exams.rules.near_duplicate_stems (across the bank, aware of enemy groups).
    problems.extend(balance_checks(questions))
    return problems


def balance_checks(questions: list[Question]) -> list[Problem]:
    """Answer positions must not be guessable: letters spread out, true/false roughly even."""
    problems = []
    cells = defaultdict(list)
    for q in questions:
        cells[(q.area, q.type)].append(q)
    for (area, qtype), items in sorted(cells.items()):
        place = f"{area}.yaml: {qtype}"
        if qtype == "single" and len(items) >= 12:
            counts = Counter(q.answer[0] for q in items)
            for letter in "ABCD":
                share = counts.get(letter, 0) / len(items)
                if not 0.15 <= share <= 0.35:
                    problems.append(Problem(place, f"单选题中答案为 {letter} 的占 {share:.0%}"
                                                   "（每个字母应在 15%–35% 之间）"))
        elif qtype == "judge" and len(items) >= 8:
            share = sum(q.answer == ("T",) for q in items) / len(items)
            if not 0.35 <= share <= 0.65:
                problems.append(Problem(place, f"判断题中答案为“正确”的占 {share:.0%}（应在 35%–65% 之间）"))
        elif qtype == "multiple" and len(items) >= 6:
            everything = sum(len(q.answer) == len(q.options) for q in items) / len(items)
            if everything > 0.25:
                problems.append(Problem(place, f"多选题中全部选项均为正确答案的占 {everything:.0%}（最多 25%）"))
    return problems


def pool_counts(questions: list[Question]) -> Counter:
    return Counter((q.area, q.type, q.level) for q in questions)


def pool_checks(questions: list[Question], blueprints: BlueprintSet) -> list[Problem]:
    have = pool_counts(questions)
    problems = []
    for (area, qtype, level), need in required_pool(blueprints).items():
        if need and have.get((area, qtype, level), 0) < need:
            problems.append(Problem(f"{area}.yaml: 等级 {level} {qtype}",
                                    f"现有 {have.get((area, qtype, level), 0)} 题，组卷至少需要 {need} 题"))
    return problems


def dump_questions(area: str, questions: list[Question]) -> str:
    """Serialise questions back to the bank file format (used by export)."""
    items = []
    for q in questions:
        item = {"id": q.id, "level": q.level, "type": q.type, "difficulty": q.difficulty, "stem": q.stem}
        if q.type == "judge":
            item["answer"] = q.answer == ("T",)
        else:
            item["options"] = dict(q.options)
            item["answer"] = q.answer[0] if q.type == "single" else list(q.answer)
        item["explanation"] = q.explanation
        item["source"] = q.source
        items.append(item)
    return yaml.safe_dump({"area": area, "questions": items}, allow_unicode=True, sort_keys=False, width=120)
