"""The calibration page: how often the engine's item scores stand after assessors' reviews, per rubric
kind, per scenario and per week, exportable as CSV and Excel. The figures are computed by
``grading.calibration`` from plain rows gathered here; sittings' data is only read."""
from __future__ import annotations

import csv
import io
from datetime import datetime

from flask import Blueprint, Response, render_template, send_file

from grading import calibration

from ..auth.access import roles_required
from ..auth.models import Role
from ..extensions import db
from ..localtime import to_local, zone_label
from ..practical.models import PracticalCall, ScenarioVersion
from ..sittings.models import Sitting, SittingCandidate

bp = Blueprint("calibration", __name__)
STAFF = (Role.ASSESSOR, Role.ADMIN)


def reviewed_rows() -> list[calibration.Row]:
    """The items of every certification call an assessor has reviewed: overridden at least once, or
    belonging to a published sitting (its results were signed off as they stand)."""
    q = (db.session.query(PracticalCall, ScenarioVersion, Sitting)
         .join(ScenarioVersion, PracticalCall.scenario_version_id == ScenarioVersion.id)
         .join(SittingCandidate, PracticalCall.sitting_candidate_id == SittingCandidate.id)
         .join(Sitting, SittingCandidate.sitting_id == Sitting.id)
         .filter(PracticalCall.mode == "certification", PracticalCall.result.isnot(None)))
    rows = []
    for call, version, sitting in q.all():
        if not call.overrides and sitting.published_at is None:
            continue
        rows.extend(calibration.rows_from_call(call.id, version.scenario_id, version.title,
                                               (call.result or {}).get("items", []), _local_overrides(call.overrides),
                                               to_local(call.finished_at or call.started_at)))
    return rows


def _local_overrides(overrides: dict | None) -> dict | None:
    """Overrides with their stored UTC ``at`` in local time, so that a change made at 01:00 local
    time counts on that local day (and week) in the figures, the table and the exports."""
    if not overrides:
        return overrides
    out = {}
    for item_id, change in overrides.items():
        change = dict(change)
        try:
            local = to_local(datetime.fromisoformat(str(change["at"])))
        except (KeyError, ValueError):
            local = None
        if local is not None:
            change["at"] = local.isoformat()
        out[item_id] = change
    return out


@bp.route("/calibration")
@roles_required(*STAFF)
def index():
    return render_template("calibration/index.html", s=calibration.summarise(reviewed_rows()))


def _safe(value):
    """A cell as text that no spreadsheet runs as a formula (OWASP CSV injection): a leading quote."""
    from exams.spreadsheet import FORMULA_STARTS
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _override_headers() -> list[str]:
    return [f"{h}（{zone_label()}）" if h == "日期" else h for h in calibration.OVERRIDE_HEADERS]


@bp.route("/calibration.csv")
@roles_required(*STAFF)
def export_csv():
    figures, overrides = calibration.table(calibration.summarise(reviewed_rows()))
    buf = io.StringIO()
    out = csv.writer(buf)
    out.writerow(calibration.TABLE_HEADERS)
    out.writerows([[_safe(v) for v in row] for row in figures])
    out.writerow([])
    out.writerow(_override_headers())
    out.writerows([[_safe(v) for v in row] for row in overrides])
    # a BOM so that Excel opens the UTF-8 file with its Chinese text intact
    return Response("\ufeff" + buf.getvalue(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": "attachment; filename=calibration.csv"})


@bp.route("/calibration.xlsx")
@roles_required(*STAFF)
def export_xlsx():
    from openpyxl import Workbook

    from exams.spreadsheet import append_row
    figures, overrides = calibration.table(calibration.summarise(reviewed_rows()))
    wb = Workbook()
    ws = wb.active
    ws.title = "一致率"
    append_row(ws, calibration.TABLE_HEADERS)
    for row in figures:
        append_row(ws, row)
    ws2 = wb.create_sheet("考评员修改")
    append_row(ws2, _override_headers())
    for row in overrides:
        append_row(ws2, row)
    buf = io.BytesIO()
    wb.save(buf)
    return send_file(io.BytesIO(buf.getvalue()), as_attachment=True, download_name="评分校准.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
