"""Temporary passwords of a bulk import, handed out once as a file.

The passwords never go into a page. They are kept server-side as a small file readable only by the
app's user, for the admin who ran the import; the first download deletes it, and so does the clock
(``IMPORT_PASSWORDS_MINUTES``): a sheet not fetched in time is purged on the next import or download.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import secrets
import time
from pathlib import Path

from exams.spreadsheet import FORMULA_STARTS, append_row

HEADER = ("用户名", "姓名", "临时密码")
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def store(folder: Path, owner_id: int, rows: list[tuple[str, str, str]]) -> str:
    """Keep ``rows`` (username, name, password) for ``owner_id``; returns the token that fetches them."""
    folder.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    path = folder / f"{token}.json"
    # Created 0600 from the start: the passwords are never readable by another local user.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"owner": owner_id, "rows": [list(r) for r in rows]}, fh, ensure_ascii=False)
        fh.flush()
        os.fsync(fh.fileno())
    return token


def purge(folder: Path, max_age_s: float) -> int:
    """Delete the sheets older than ``max_age_s``; returns how many."""
    removed = 0
    now = time.time()
    for path in folder.glob("*.json") if folder.is_dir() else ():
        try:
            if now - path.stat().st_mtime > max_age_s:
                path.unlink()
                removed += 1
        except FileNotFoundError:   # fetched meanwhile by another request
            pass
    return removed


def take(folder: Path, token: str, owner_id: int, max_age_s: float) -> list[list[str]] | None:
    """The rows of the sheet ``token`` if it exists, is fresh and belongs to ``owner_id``; it is deleted
    by this call. None otherwise (already fetched, expired, someone else's, or a malformed token)."""
    purge(folder, max_age_s)
    if not TOKEN_RE.match(token or ""):
        return None
    path = folder / f"{token}.json"
    try:
        data = json.loads(path.read_text("utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    if data.get("owner") != owner_id:
        return None
    try:
        path.unlink()          # once: whoever unlinks first gets the rows
    except FileNotFoundError:
        return None
    return data["rows"]


def _text_cell(value: str) -> str:
    """Spreadsheet programs run a CSV cell starting with = + - @ as a formula; a quote keeps it text."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def to_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow([_text_cell(str(v)) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")   # BOM: Excel in China opens UTF-8 CSV correctly


def to_xlsx(rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "临时密码"
    append_row(sheet, HEADER)
    for row in rows:
        append_row(sheet, [str(v) for v in row])
    for column, width in zip("ABC", (18, 14, 18), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
