"""PDF score reports and certificates (ReportLab with a CJK TrueType font from the system)."""
from __future__ import annotations

import io
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT = "CJK"
FONT_CANDIDATES = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
                   "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
LEVELS = {5: "五级", 4: "四级", 3: "三级"}
TASKS = {"live_call": "模拟通话", "recording_review": "录音评析", "typing": "工单录入", "case": "案例处理"}


class FontMissing(RuntimeError):
    pass


def _font() -> str:
    if FONT in pdfmetrics.getRegisteredFontNames():
        return FONT
    for path in FONT_CANDIDATES:
        if Path(path).is_file():
            pdfmetrics.registerFont(TTFont(FONT, path, subfontIndex=0))
            return FONT
    raise FontMissing("没有可用的中文字体（需要 Debian 软件包 fonts-wqy-microhei；运行 ./run.sh 会安装）")


def _styles():
    font = _font()
    return {
        "title": ParagraphStyle("title", fontName=font, fontSize=18, leading=26, alignment=1, spaceAfter=6),
        "h": ParagraphStyle("h", fontName=font, fontSize=12.5, leading=18, spaceBefore=8, spaceAfter=4),
        "p": ParagraphStyle("p", fontName=font, fontSize=10.5, leading=16),
        "big": ParagraphStyle("big", fontName=font, fontSize=26, leading=36, alignment=1),
        "center": ParagraphStyle("center", fontName=font, fontSize=13, leading=22, alignment=1),
    }


def _table(rows, widths):
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), _font()), ("FONTSIZE", (0, 0), (-1, -1), 9.5),
                               ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef7")),
                               ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    return table


def _e(value) -> str:
    """User text for a Paragraph: ReportLab parses Paragraph text as markup (<img src> fetches the URL,
    an unclosed <b> raises), so every stored string is XML-escaped and prints literally."""
    return escape("" if value is None else str(value))


def _fmt(value) -> str:
    return "—" if value is None else f"{value:.1f}"


def score_report(report: dict, *, number: str | None = None) -> bytes:
    st = _styles()
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm,
                            bottomMargin=16 * mm, title="成绩报告", author="呼叫服务员鉴定与培训系统")
    verdict = "合格，准予颁发证书" if report.get("certified") else "不合格"
    story = [Paragraph(f"呼叫服务员（{_e(LEVELS.get(report['level'], report['level']))}）职业技能鉴定成绩报告", st["title"]),
             Paragraph(f"考生：{_e(report['name'])}（{_e(report['username'])}）　单位：{_e(report.get('organisation') or '—')}", st["p"]),
             Paragraph(f"鉴定批次：{_e(report['sitting'])}　日期：{_e(report['date'])}", st["p"]),
             Spacer(1, 6),
             _table([["科目", "成绩", "合格线", "结果"],
                     ["理论知识考试", _fmt(report.get("theory")), "60", "合格" if (report.get("theory") or 0) >= 60 else "不合格"],
                     ["操作技能考核", _fmt(report.get("practical")), "60", "合格" if (report.get("practical") or 0) >= 60 else "不合格"]],
                    [60 * mm, 35 * mm, 30 * mm, 40 * mm]),
             Paragraph(f"鉴定结论：{verdict}" + (f"　证书编号：{_e(number)}" if number else ""), st["h"])]
    if report.get("theory_breakdown"):
        story += [Paragraph("理论知识：各知识领域得分", st["h"]),
                  _table([["知识领域", "得分", "满分", "答对/题数"]] +
                         [[b["area"], f"{b.get('earned', 0):g}", f"{b.get('possible', 0):g}",
                           f"{b.get('correct', 0)}/{b.get('total', 0)}"] for b in report["theory_breakdown"]],
                         [70 * mm, 30 * mm, 30 * mm, 35 * mm])]
    story.append(Paragraph("操作技能：各题得分", st["h"]))
    rows = [["题目", "题型", "权重", "得分（百分制）"]]
    for item in report.get("practical_items", []):
        rows.append([Paragraph(_e(item["title"]), st["p"]), TASKS.get(item["type"], item["type"]), f"{item['weight']:g}",
                     _fmt(item.get("score"))])
    story.append(_table(rows, [80 * mm, 30 * mm, 20 * mm, 35 * mm]))
    for item in report.get("practical_items", []):
        if item.get("items"):
            story.append(Paragraph(f"{_e(item['title'])}：评分项", st["p"]))
            story.append(_table([["评分项", "得分", "满分"]] +
                                [[Paragraph(_e(x["label"] + ("（考评员复核）" if x.get("overridden") else "")), st["p"]),
                                  f"{x['earned']:g}", f"{x['possible']:g}"] for x in item["items"]],
                                [115 * mm, 25 * mm, 25 * mm]))
    story += [Spacer(1, 10), Paragraph("理论知识考试和操作技能考核均为百分制，两科成绩均达到 60 分及以上者为合格。", st["p"])]
    doc.build(story)
    return buf.getvalue()


def certificate(report: dict, number: str, verify_url: str) -> bytes:
    st = _styles()
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=landscape(A4), leftMargin=25 * mm, rightMargin=25 * mm, topMargin=25 * mm,
                            bottomMargin=20 * mm, title="职业技能鉴定合格证书", author="呼叫服务员鉴定与培训系统")
    story = [Paragraph("职业技能鉴定合格证书", st["big"]), Spacer(1, 14),
             Paragraph(f"{_e(report['name'])}　同志", st["center"]), Spacer(1, 8),
             Paragraph(f"于 {_e(report['date'])} 参加呼叫服务员（{_e(LEVELS.get(report['level'], report['level']))}）职业技能鉴定，"
                       f"理论知识考试 {_fmt(report.get('theory'))} 分，操作技能考核 {_fmt(report.get('practical'))} 分，成绩合格。",
                       st["center"]),
             Spacer(1, 18), Paragraph(f"证书编号：{_e(number)}", st["center"]),
             Paragraph(f"查验地址：{_e(verify_url)}", st["center"])]
    doc.build(story)
    return buf.getvalue()
