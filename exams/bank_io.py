"""Moving questions between the bank files, Excel/YAML files and the database.

Every import is all-or-nothing: the whole file is validated first and a single bad row (reported
with its row number) leaves the database untouched. Functions that touch the database take the
caller's SQLAlchemy ``Session`` (the web app passes ``db.session``).
"""
from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import yaml
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import or_
from sqlalchemy.orm import Session

from .blueprint import LEVEL_NAMES, load_blueprints
from .models import BankQuestion
from .question_bank import (
    BANK_DIR,
    ENEMIES_FILE,
    SOURCES,
    Bank,
    Problem,
    Question,
    cross_checks,
    dump_questions,
    load_bank,
    load_file,
    parse_question,
    shown,
)
from .spreadsheet import append_row

XLSX_COLUMNS = ["编号", "知识领域", "等级", "题型", "难度", "题干", "A", "B", "C", "D", "E", "答案", "解析", "依据文件"]
_TRUE = {"正确", "对", "√", "T", "TRUE", "是", "Y"}
_FALSE = {"错误", "错", "×", "F", "FALSE", "否", "N"}


class ImportRejected(ValueError):
    """Nothing was imported; ``problems`` says where and why."""

    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    kept_edited: list[str] = field(default_factory=list)   # bank rows a trainer changed: left alone
    regrouped: list[str] = field(default_factory=list)     # rows whose enemy group changed

    def as_dict(self) -> dict:
        return {"added": len(self.added), "updated": len(self.updated), "unchanged": self.unchanged,
                "kept_edited": len(self.kept_edited), "regrouped": len(self.regrouped)}


def _fields(q: Question) -> dict:
    return {"area": q.area, "level": q.level, "qtype": q.type, "difficulty": q.difficulty, "stem": q.stem,
            "options": dict(q.options), "answer": list(q.answer), "explanation": q.explanation, "source": q.source}


def to_question(row: BankQuestion) -> Question:
    return Question(id=row.id, area=row.area, level=row.level, type=row.qtype, difficulty=row.difficulty,
                    stem=row.stem, options=dict(row.options or {}), answer=tuple(row.answer),
                    explanation=row.explanation, source=row.source, file=f"{row.area}.yaml", group=row.enemy_group)


def _store(session: Session, questions: list[Question], *, editor_id: int | None, origin: str) -> ImportReport:
    report = ImportReport()
    existing = {r.id: r for r in session.query(BankQuestion).filter(
        BankQuestion.id.in_([q.id for q in questions])).all()}
    for q in questions:
        row, values = existing.get(q.id), _fields(q)
        if row is None:
            session.add(BankQuestion(id=q.id, origin=origin, edited_by_id=editor_id, **values))
            report.added.append(q.id)
            continue
        if origin == "bank" and row.edited_by_id is not None:
            report.kept_edited.append(q.id)
            continue
        if all(getattr(row, k) == v for k, v in values.items()):
            report.unchanged += 1
            continue
        for key, value in values.items():
            setattr(row, key, value)
        row.version += 1
        if editor_id is not None:
            row.edited_by_id = editor_id
        report.updated.append(q.id)
    session.commit()
    return report


def sync_from_files(session: Session, path: Path | str = BANK_DIR) -> ImportReport:
    """Load the bank files into the database (set-up and ``flask bank import`` of the folder).
    Questions a trainer edited in the app keep the trainer's version."""
    bank = load_bank(path, check_pool=False)
    if bank.errors:
        raise ImportRejected(bank.errors)
    report = _store(session, bank.questions, editor_id=None, origin="bank")
    report.regrouped = _apply_groups(session, {q.id: q.group for q in bank.questions if q.group})
    return report


def _apply_groups(session: Session, groups: dict[str, str]) -> list[str]:
    """Make the rows' enemy groups those of the file (the one place groups are edited): a trainer's
    edit of an item keeps its group, a group removed from the file is removed from its rows."""
    changed = []
    rows = session.query(BankQuestion).filter(or_(BankQuestion.enemy_group.isnot(None),
                                                  BankQuestion.id.in_(list(groups)))).all()
    for row in rows:
        if row.enemy_group != groups.get(row.id):
            row.enemy_group = groups.get(row.id)
            changed.append(row.id)
    session.commit()
    return changed


def import_questions(session: Session, questions: list[Question], *, editor_id: int | None) -> ImportReport:
    """Questions from an uploaded file, checked together with the rest of the bank."""
    others = [to_question(r) for r in session.query(BankQuestion).filter(
        BankQuestion.id.notin_([q.id for q in questions])).all()]
    problems = [p for p in cross_checks(others + questions)
                if p.severity == "error" and any(p.place.endswith(q.id) for q in questions)]
    if problems:
        raise ImportRejected(problems)
    return _store(session, questions, editor_id=editor_id, origin="trainer")


# ---- files ----------------------------------------------------------------------------------

def read_yaml(data: bytes, name: str = "upload.yaml") -> list[Question]:
    tmp = Bank()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ImportRejected([Problem(name, "文件不是 UTF-8 编码的 YAML")]) from None
    path = Path(name)
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ImportRejected([Problem(name, f"YAML 格式错误：{exc}")]) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("questions"), list) or "area" not in raw:
        raise ImportRejected([Problem(name, "YAML 需要 area 和 questions 列表")])
    areas = load_blueprints().areas
    if raw["area"] not in areas:
        raise ImportRejected([Problem(name, f"未知的知识领域 {raw['area']!r}")])
    for index, item in enumerate(raw["questions"], start=1):
        place = f"{path.name}: 第{index}题"
        q = parse_question(item, raw["area"], place, tmp.problems)
        if q is not None:
            tmp.questions.append(q)
    if tmp.problems:
        raise ImportRejected(tmp.problems)
    return tmp.questions


def _cell(value) -> str:
    return "" if value is None else str(value).strip()


def _field(values, col: dict[str, int], name: str) -> str:
    """The cell of column ``name`` in a row; empty when the sheet has no such column or the row is short."""
    return _cell(values[col[name]]) if name in col and col[name] < len(values) else ""


def _raw_question(get: Callable[[str], str], qid: str, level: int | None, qtype: str | None) -> dict:
    """A sheet row as parse_question reads a question (the fields of the YAML format)."""
    answer_text = get("答案").upper().replace("，", "").replace(",", "").replace(" ", "")
    answer: bool | str | list[str]
    if qtype == "judge":
        answer = True if answer_text in _TRUE else False if answer_text in _FALSE else answer_text
    elif qtype == "multiple":
        answer = list(answer_text)
    else:
        answer = answer_text
    difficulty = get("难度").replace(".0", "")
    raw: dict[str, object] = {"id": qid, "level": level, "type": qtype,
                              "difficulty": int(difficulty) if difficulty.isdigit() else None, "stem": get("题干"),
                              "answer": answer, "explanation": get("解析"), "source": get("依据文件")}
    if qtype != "judge":
        raw["options"] = {letter: get(letter) for letter in "ABCDE" if get(letter)}
    return raw


def _other_problems(get: Callable[[str], str], place: str, area: str | None, qtype: str | None,
                    level: int | None, unreadable: set[str]) -> list[Problem]:
    """The problems of a row's other fields when 知识领域, 题型 or 等级 could not be read, so the trainer
    sees every problem of the row at once. The unreadable fields are already reported: their messages
    (and the 编号 check, which needs area and level) are left out."""
    found: list[Problem] = []
    stand_in_area, stand_in_level = area or "x", level or 5
    qid = get("编号") if area is not None and level is not None else f"{stand_in_area}-{stand_in_level}-001"
    parse_question(_raw_question(get, qid or f"{stand_in_area}-{stand_in_level}-001", stand_in_level, qtype),
                   stand_in_area, place, found)
    skipped = tuple(f"{name}：" for name in unreadable) + (("编号：",) if unreadable & {"知识领域", "等级"} else ())
    return [p for p in found if not p.message.startswith(skipped)]


def read_xlsx(data: bytes, session: Session) -> list[Question]:
    """Rows without 编号 get the next free number of their area and level (looked up in ``session``)."""
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many types for a non-workbook
        raise ImportRejected([Problem("文件", "无法读取：请上传 .xlsx 格式的 Excel 文件")]) from None
    sheet = workbook.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = [_cell(h) for h in next(rows, [])]
    missing = [c for c in XLSX_COLUMNS if c not in header and c != "E"]
    if missing:
        raise ImportRejected([Problem("第1行", f"缺少列：{'、'.join(missing)}（请使用模板）")])
    col = {name: header.index(name) for name in XLSX_COLUMNS if name in header}
    blueprints = load_blueprints()
    area_by_label = {**{v: k for k, v in blueprints.areas.items()}, **{k: k for k in blueprints.areas}}
    type_by_label = {**{v: k for k, v in blueprints.types.items()}, **{k: k for k in blueprints.types},
                     "单选": "single", "多选": "multiple", "判断": "judge"}
    level_by_label = {**{v: k for k, v in LEVEL_NAMES.items()}, **{str(k): k for k in LEVEL_NAMES}}
    problems: list[Problem] = []
    questions: list[Question] = []
    next_number: dict[tuple[str, int], int] = {}
    for number, values in enumerate(rows, start=2):
        get = partial(_field, values, col)
        if not any(_cell(v) for v in values):
            continue
        place = f"第{number}行"
        area = area_by_label.get(get("知识领域"))
        qtype = type_by_label.get(get("题型"))
        level = level_by_label.get(get("等级").replace(".0", ""))
        unknown = [(name, f"{name}：无法识别 {shown(get(name))}，应为 {'、'.join(valid)} 之一")
                   for name, value, valid in (("知识领域", area, blueprints.areas.values()),
                                              ("题型", qtype, blueprints.types.values()),
                                              ("等级", level, LEVEL_NAMES.values())) if value is None]
        if unknown:
            problems.extend(Problem(place, message) for _, message in unknown)
            problems.extend(_other_problems(get, place, area, qtype, level, {name for name, _ in unknown}))
            continue
        assert area is not None and qtype is not None and level is not None   # all known, see above
        qid = get("编号")
        if not qid:
            key = (area, level)
            if key not in next_number:
                used = [r[0] for r in session.query(BankQuestion.id).filter(
                    BankQuestion.id.like(f"{area}-{level}-%")).all()]
                used += [q.id for q in questions if q.id.startswith(f"{area}-{level}-")]
                next_number[key] = max([int(u.rsplit("-", 1)[1]) for u in used] + [0]) + 1
            qid = f"{area}-{level}-{next_number[key]:03d}"
            next_number[key] += 1
        q = parse_question(_raw_question(get, qid, level, qtype), area, place, problems)
        if q is not None:
            questions.append(q)
    if not questions and not problems:
        problems.append(Problem("文件", "没有找到题目"))
    if problems:
        raise ImportRejected(problems)
    return questions


def read_upload(filename: str, data: bytes, session: Session) -> list[Question]:
    suffix = Path(filename or "").suffix.lower()
    if suffix == ".xlsx":
        return read_xlsx(data, session)
    if suffix in (".yaml", ".yml"):
        return read_yaml(data, filename)
    raise ImportRejected([Problem("文件", "只支持 .xlsx 或 .yaml 文件")])


def write_xlsx(questions: list[Question]) -> bytes:
    blueprints = load_blueprints()
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "题库"
    append_row(sheet, XLSX_COLUMNS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for q in questions:
        if q.type == "judge":
            answer = "正确" if q.answer == ("T",) else "错误"
        else:
            answer = "".join(q.answer)
        append_row(sheet, [q.id, blueprints.areas[q.area], LEVEL_NAMES[q.level], blueprints.types[q.type], q.difficulty,
                      q.stem] + [q.options.get(letter, "") for letter in "ABCDE"] + [answer, q.explanation, q.source])
    for letter, width in zip("ABCDEFGHIJKLMN", (18, 16, 6, 10, 6, 60, 24, 24, 24, 24, 24, 8, 50, 26), strict=True):
        sheet.column_dimensions[letter].width = width
    _add_dropdowns(workbook, sheet, blueprints)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# Columns whose cells must hold one of a fixed list: the template offers them as drop-downs.
def _add_dropdowns(workbook, sheet, blueprints) -> None:
    lists = {"B": list(blueprints.areas.values()), "C": list(LEVEL_NAMES.values()),
             "D": list(blueprints.types.values()), "E": ["1", "2", "3"], "N": list(SOURCES)}
    values = workbook.create_sheet("可选值")
    for index, (column, options) in enumerate(lists.items(), start=1):
        header = XLSX_COLUMNS[ord(column) - ord("A")]
        values.cell(row=1, column=index, value=header)
        for row, option in enumerate(options, start=2):
            values.cell(row=row, column=index, value=option).data_type = "s"
        source_column = chr(ord("A") + index - 1)
        rule = DataValidation(type="list", formula1=f"'可选值'!${source_column}$2:${source_column}${len(options) + 1}",
                              allow_blank=True, showErrorMessage=True, errorTitle="无效的值",
                              error=f"{header}只能从下拉列表中选择")
        sheet.add_data_validation(rule)
        rule.add(f"{column}2:{column}2000")
    values.sheet_state = "hidden"


def xlsx_template() -> bytes:
    example = Question(id="", area="etiquette", level=5, type="single", difficulty=1,
                       stem="（示例，导入前请删除本行）接听来电时应在铃响几声内接起（　　）。",
                       options={"A": "一声", "B": "三声", "C": "五声", "D": "不限"}, answer=("B",),
                       explanation="规范要求铃响三声内接听。", source=SOURCES[1])
    return write_xlsx([example])


def export_yaml(questions: list[Question]) -> str:
    by_area: dict[str, list[Question]] = {}
    for q in questions:
        by_area.setdefault(q.area, []).append(q)
    return "---\n".join(dump_questions(area, qs) for area, qs in by_area.items())


def all_questions(session: Session, include_retired: bool = True) -> list[Question]:
    query = session.query(BankQuestion).order_by(BankQuestion.area, BankQuestion.level, BankQuestion.id)
    if not include_retired:
        query = query.filter(BankQuestion.retired.is_(False))
    return [to_question(r) for r in query.all()]


def export_to_path(session: Session, path: Path) -> int:
    questions = all_questions(session)
    if path.suffix.lower() == ".xlsx":
        path.write_bytes(write_xlsx(questions))
    elif path.is_dir() or not path.suffix:
        path.mkdir(parents=True, exist_ok=True)
        by_area: dict[str, list[Question]] = {}
        for q in questions:
            by_area.setdefault(q.area, []).append(q)
        for area, qs in by_area.items():
            (path / f"{area}.yaml").write_text(dump_questions(area, qs), encoding="utf-8")
    else:
        path.write_text(export_yaml(questions), encoding="utf-8")
    return len(questions)


def import_path(session: Session, path: Path, *, editor_id: int | None = None) -> ImportReport:
    if path.is_dir():
        return sync_from_files(session, path)
    if path.name == ENEMIES_FILE:       # groups are checked against the files of their folder
        return sync_from_files(session, path.parent)
    if path.suffix.lower() in (".yaml", ".yml") and path.parent.resolve() == BANK_DIR.resolve():
        single = load_file(path, load_blueprints().areas)
        if single.errors:
            raise ImportRejected(single.errors)
        return _store(session, single.questions, editor_id=None, origin="bank")
    return import_questions(session, read_upload(path.name, path.read_bytes(), session), editor_id=editor_id)
