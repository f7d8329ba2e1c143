"""Writing rows to Excel sheets safely: every export (bank, results, analytics, templates) goes through
``append_row`` so that user text — a question stem, a display name, a sitting name — is stored as text.

openpyxl turns any string starting with "=" into a live formula (``=HYPERLINK(...)`` would become a
link in the assessor's Excel). Strings are written as string cells with Excel's quote prefix, which
shows them literally and keeps them text when the cell is edited; the stored value is unchanged, so an
exported bank imports back exactly.
"""
from __future__ import annotations

from typing import Iterable

# What spreadsheet programs may read as the start of a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def append_row(sheet, values: Iterable) -> None:
    sheet.append(list(values))
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str) and (cell.data_type == "f" or cell.value.startswith(FORMULA_STARTS)):
            cell.data_type = "s"
            cell.quotePrefix = True
