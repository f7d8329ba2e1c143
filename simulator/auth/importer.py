"""Bulk import of accounts from an Excel (.xlsx) or CSV sheet: all rows or none.

Every bad row is reported with its row number as the user sees it in Excel (the header is row 1).
"""
from __future__ import annotations

import csv
import io
import re
import secrets
from dataclasses import dataclass, field

from ..extensions import db
from .models import MIN_PASSWORD_LENGTH, Role, User

MAX_ROWS = 5000

# column key: accepted header spellings (first is what the template writes)
COLUMNS = {
    "username": ("用户名", "username", "账号", "考号"),
    "display_name": ("姓名", "display_name", "name"),
    "password": ("初始密码", "password", "密码"),
    "organisation": ("单位", "organisation", "organization", "班组"),
    "role": ("角色", "role"),
}
REQUIRED = ("username", "display_name")
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{3,64}$")
TEMPLATE_EXAMPLE = ["zhangsan01", "张三", "", "客服一部", "学员"]


# Generated passwords: letters and digits without look-alikes (0/O, 1/l/I), so they can be read out,
# and never starting with a character a spreadsheet takes for a formula.
PASSWORD_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def generate_password(length: int = 12) -> str:
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(length))


class ImportFileError(ValueError):
    """The file as a whole cannot be read (wrong type, corrupt, no header)."""


@dataclass
class RowError:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"第 {self.row} 行 [{self.column}]：{self.message}"


@dataclass
class ImportResult:
    created: list[tuple[str, str, str | None]] = field(default_factory=list)  # username, name, generated pw
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def read_rows(filename: str, data: bytes) -> list[tuple[int, dict[str, str]]]:
    """Parse the sheet into (row number, {column key: text}) pairs, skipping blank rows."""
    name = (filename or "").lower()
    if not data:
        raise ImportFileError("文件为空")
    if name.endswith(".xlsx"):
        table = _xlsx_table(data)
    elif name.endswith(".csv"):
        table = _csv_table(data)
    else:
        raise ImportFileError("只支持 .xlsx 或 .csv 文件")
    if not table:
        raise ImportFileError("文件中没有内容")
    header = [(_cell(c)) for c in table[0]]
    keys = _map_header(header)
    rows = []
    for number, values in enumerate(table[1:], start=2):
        record = {key: _cell(values[i]) if i < len(values) else "" for i, key in keys.items()}
        if any(record.values()):
            rows.append((number, record))
    if len(rows) > MAX_ROWS:
        raise ImportFileError(f"一次最多导入 {MAX_ROWS} 行，本文件有 {len(rows)} 行")
    return rows


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # Excel stores typed numbers (e.g. exam numbers) as floats
    return str(value).strip()


def _map_header(header: list[str]) -> dict[int, str]:
    keys: dict[int, str] = {}
    for index, title in enumerate(header):
        for key, spellings in COLUMNS.items():
            if title.lower() in {s.lower() for s in spellings}:
                keys[index] = key
    missing = [COLUMNS[k][0] for k in REQUIRED if k not in keys.values()]
    if missing:
        raise ImportFileError(f"第 1 行（表头）缺少列：{'、'.join(missing)}")
    return keys


def _xlsx_table(data: bytes) -> list[list]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for damaged files
        raise ImportFileError("无法读取 Excel 文件，请确认是 .xlsx 格式且未损坏") from exc
    try:
        sheet = workbook.worksheets[0]
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def _csv_table(data: bytes) -> list[list]:
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportFileError("无法识别 CSV 文件的编码（请用 UTF-8 或 GBK）")
    if "\x00" in text:
        raise ImportFileError("文件不是文本格式的 CSV")
    return [row for row in csv.reader(io.StringIO(text))]


def import_users(rows: list[tuple[int, dict[str, str]]], *, default_role: Role = Role.TRAINEE,
                 allowed_roles: set[Role] | None = None) -> ImportResult:
    """Validate every row, then create all accounts in one transaction, or none if any row is bad."""
    result = ImportResult()
    seen: dict[str, int] = {}
    pending: list[tuple[User, str | None]] = []
    existing = {u for (u,) in db.session.query(User.username)}
    for number, record in rows:
        errors_before = len(result.errors)
        username = record.get("username", "").lower()
        name = record.get("display_name", "")
        password = record.get("password", "")
        if not username:
            result.errors.append(RowError(number, "用户名", "不能为空"))
        elif not USERNAME_RE.match(username):
            result.errors.append(RowError(number, "用户名", "只能包含字母、数字和 _ . @ -，长度 3–64"))
        elif username in existing:
            result.errors.append(RowError(number, "用户名", f"“{username}”已存在"))
        elif username in seen:
            result.errors.append(RowError(number, "用户名", f"与第 {seen[username]} 行重复"))
        seen.setdefault(username, number)
        if not name:
            result.errors.append(RowError(number, "姓名", "不能为空"))
        elif len(name) > 64:
            result.errors.append(RowError(number, "姓名", "超过 64 个字"))
        if password and len(password) < MIN_PASSWORD_LENGTH:
            result.errors.append(RowError(number, "初始密码",
                                          f"至少 {MIN_PASSWORD_LENGTH} 位，现为 {len(password)} 位"))
        if len(record.get("organisation", "")) > 128:
            result.errors.append(RowError(number, "单位", "超过 128 个字"))
        role = default_role
        if record.get("role"):
            try:
                role = Role.parse(record["role"])
            except ValueError:
                result.errors.append(RowError(number, "角色", f"无法识别“{record['role']}”"))
        if allowed_roles is not None and role not in allowed_roles:
            result.errors.append(RowError(number, "角色", f"不允许导入“{role.label}”账号"))
        if len(result.errors) == errors_before:
            generated = None if password else generate_password()
            user = User(username=username, display_name=name, role=role.value,
                        organisation=record.get("organisation", ""))
            user.set_password(password or generated, temporary=True)
            pending.append((user, generated))
    if result.errors:
        return result
    try:
        for user, _ in pending:
            db.session.add(user)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    result.created = [(u.username, u.display_name, pw) for u, pw in pending]
    return result


def template_xlsx() -> bytes:
    from openpyxl import Workbook
    from openpyxl.worksheet.datavalidation import DataValidation

    from exams.spreadsheet import append_row

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "学员名单"
    append_row(sheet, [spellings[0] for spellings in COLUMNS.values()])
    append_row(sheet, TEMPLATE_EXAMPLE)
    for column, width in zip("ABCDE", (16, 12, 14, 20, 10), strict=True):
        sheet.column_dimensions[column].width = width
    # The role column offers its valid values as a drop-down, and Excel refuses anything else.
    roles = DataValidation(type="list", formula1='"' + ",".join(r.label for r in Role) + '"', allow_blank=True,
                           showErrorMessage=True, errorTitle="角色", error="请从列表中选择角色（留空为学员）")
    sheet.add_data_validation(roles)
    roles.add(f"E2:E{MAX_ROWS + 1}")
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def template_csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([spellings[0] for spellings in COLUMNS.values()])
    writer.writerow(TEMPLATE_EXAMPLE)
    return ("\ufeff" + out.getvalue()).encode("utf-8")
