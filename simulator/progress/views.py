"""Trainee progress (history, charts per area and rubric category, weakest areas) and staff analytics
(pass rates, score distributions, most-failed rubric items), exportable to Excel."""
from __future__ import annotations

import io

from flask import Blueprint, render_template, send_file
from flask_login import current_user

from ..auth.access import roles_required
from ..auth.models import Role
from ..labels import level_name
from . import stats

bp = Blueprint("progress", __name__)
STAFF = (Role.ASSESSOR, Role.TRAINER, Role.ADMIN)


@bp.route("/progress")
@roles_required(Role.TRAINEE)
def mine():
    history = stats.history(current_user.id)
    return render_template("progress/mine.html", theory=stats.theory_by_area(current_user.id),
                           practical=stats.practical_by_category(current_user.id),
                           history=history, trend=stats.trend(history), weakest=stats.weakest(current_user.id))


@bp.route("/analytics")
@roles_required(*STAFF)
def analytics():
    return render_template("progress/analytics.html", rates=stats.pass_rates(), dist=stats.score_distributions(),
                           failed=stats.most_failed_items())


@bp.route("/analytics.xlsx")
@roles_required(*STAFF)
def analytics_export():
    from openpyxl import Workbook

    from exams.spreadsheet import append_row
    wb = Workbook()
    ws = wb.active
    ws.title = "通过率"
    append_row(ws, ["批次", "等级", "考生", "合格", "合格率"])
    for s in stats.pass_rates()["sittings"]:
        rate = round(s["certified"] / s["total"], 3) if s["total"] else None
        append_row(ws, [s["name"], level_name(s["level"]), s["total"], s["certified"], rate])
    ws2 = wb.create_sheet("成绩分布")
    dist = stats.score_distributions()
    append_row(ws2, ["分数段", "理论", "操作（鉴定）", "操作（全部通话与作答）"])
    for i in range(10):
        band = f"{i * 10}–{i * 10 + 9 if i < 9 else 100}"
        append_row(ws2, [band, dist["theory"][i], dist["practical"][i], dist["calls"][i]])
    ws3 = wb.create_sheet("失分最多的评分项")
    append_row(ws3, ["场景", "评分项", "未得满分次数", "评分次数", "失分率"])
    for r in stats.most_failed_items(100):
        append_row(ws3, [r["title"], r["label"], r["failed"], r["total"], r["rate"]])
    buf = io.BytesIO()
    wb.save(buf)
    return send_file(io.BytesIO(buf.getvalue()), as_attachment=True, download_name="统计分析.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
