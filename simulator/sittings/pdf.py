"""PDF score reports and certificates (ReportLab with a CJK TrueType font from the system)."""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ..labels import LEVEL_NAMES, OCCUPATION, TASK_NAMES

FONT = "CJK"
FONT_CANDIDATES = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
                   "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
LEVELS = LEVEL_NAMES
TASKS = TASK_NAMES


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
    # reports published before the pass marks were stored were all judged against 60
    theory_mark, practical_mark = report.get("theory_pass_mark", 60), report.get("practical_pass_mark", 60)
    level_label = _e(LEVELS.get(report["level"], report["level"]))
    organisation = _e(report.get("organisation") or "—")
    story = [Paragraph(f"呼叫服务员（{level_label}）职业技能鉴定成绩报告", st["title"]),
             Paragraph(f"考生：{_e(report['name'])}（{_e(report['username'])}）　单位：{organisation}", st["p"]),
             Paragraph(f"鉴定批次：{_e(report['sitting'])}　日期：{_e(report['date'])}", st["p"]),
             Spacer(1, 6),
             _table([["科目", "成绩", "合格线", "结果"],
                     ["理论知识考试", _fmt(report.get("theory")), f"{theory_mark:g}",
                      "合格" if (report.get("theory") or 0) >= theory_mark else "不合格"],
                     ["操作技能考核", _fmt(report.get("practical")), f"{practical_mark:g}",
                      "合格" if (report.get("practical") or 0) >= practical_mark else "不合格"]],
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
        rows.append([Paragraph(_e(item["title"]), st["p"]), TASKS.get(item["type"], item["type"]),
                     f"{item['weight']:g}",
                     Paragraph(_fmt(item.get("score")) + ("（暂定：有评分项未经考评员复核）" if item.get("provisional")
                                                          else ""), st["p"])])
    story.append(_table(rows, [80 * mm, 30 * mm, 20 * mm, 35 * mm]))
    for item in report.get("practical_items", []):
        if item.get("items"):
            story.append(Paragraph(f"{_e(item['title'])}：评分项", st["p"]))
            story.append(_table([["评分项", "得分", "满分"]] +
                                [[Paragraph(_e(x["label"] + (f"（{x['decision']}）" if x.get("decision")
                                                              else "（考评员复核）" if x.get("overridden") else "")),
                                            st["p"]),
                                  f"{x['earned']:g}", f"{x['possible']:g}"] for x in item["items"]],
                                [115 * mm, 25 * mm, 25 * mm]))
    story += [Spacer(1, 10), Paragraph(f"理论知识考试和操作技能考核均为百分制，理论成绩达到 {theory_mark:g} 分、"
                                            f"操作成绩达到 {practical_mark:g} 分及以上者为合格。", st["p"])]
    doc.build(story)
    return buf.getvalue()


@dataclass(frozen=True)
class Issuer:
    """Who issues certificates and how they look (from the configuration)."""
    organisation: str
    occupation_code: str
    seal_image: str = ""          # optional image files (PNG/JPEG); a missing file leaves the slot empty
    signature_image: str = ""


def qr_png(url: str) -> bytes:
    """The verification URL as a QR code (PNG, error correction M, quiet zone 4)."""
    import segno
    buf = io.BytesIO()
    segno.make_qr(url, error="m").save(buf, kind="png", scale=8, border=4)
    return buf.getvalue()


def _image(path: str, width: float, height: float):
    if not path or not Path(path).is_file():
        return None
    try:
        return Image(path, width=width, height=height, kind="proportional")
    except Exception:   # an unreadable file must not stop the certificate; the slot stays empty
        return None


DEFAULT_ISSUER = Issuer(organisation="呼叫服务员职业技能鉴定站", occupation_code="4-04-05-03")


def certificate(report: dict, number: str, verify_url: str, issuer: Issuer = DEFAULT_ISSUER) -> bytes:
    """One landscape page: issuer, holder, occupation and level with its code, number, date, seal and
    signature slots, and a QR code to ``verify_url``. Every stored string is escaped (``_e``)."""
    st = _styles()
    font = _font()
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=landscape(A4), leftMargin=22 * mm, rightMargin=22 * mm, topMargin=18 * mm,
                            bottomMargin=15 * mm, title="职业技能等级证书", author=issuer.organisation)
    level = LEVELS.get(report.get("level"), report.get("level"))
    label = ParagraphStyle("label", fontName=font, fontSize=11, leading=17, textColor=colors.HexColor("#555555"))
    value = ParagraphStyle("value", fontName=font, fontSize=12.5, leading=19)
    facts = [("证书编号", number), ("姓　　名", report.get("name")),
             ("考 生 号", report.get("candidate_number") or "—"),
             ("职业（工种）", f"{OCCUPATION}（职业编码 {issuer.occupation_code}）"),
             ("等　　级", f"{level}（国家职业资格{level}）"),
             ("考核成绩", f"理论知识 {_fmt(report.get('theory'))} 分，操作技能 {_fmt(report.get('practical'))} 分"),
             ("鉴定批次", report.get("sitting")), ("发证日期", report.get("issued") or report.get("date"))]
    rows = [[Paragraph(_e(k), label), Paragraph(_e(v), value)] for k, v in facts]
    facts_table = Table(rows, colWidths=[32 * mm, 128 * mm])
    facts_table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("BOTTOMPADDING", (0, 0), (-1, -1), 3)]))
    qr = Image(io.BytesIO(qr_png(verify_url)), width=38 * mm, height=38 * mm)
    qr_caption = Paragraph("扫码或登录查验地址核验", ParagraphStyle("qr", fontName=font, fontSize=8.5, alignment=1))
    side = Table([[qr], [qr_caption]],
                 colWidths=[50 * mm])
    body = Table([[facts_table, side]], colWidths=[165 * mm, 60 * mm])
    body.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    slot = ParagraphStyle("slot", fontName=font, fontSize=10, alignment=1, textColor=colors.HexColor("#555555"))
    seal = _image(issuer.seal_image, 32 * mm, 32 * mm) or Spacer(32 * mm, 32 * mm)
    signature = _image(issuer.signature_image, 40 * mm, 16 * mm) or Spacer(40 * mm, 16 * mm)
    footer = Table([[signature, seal],
                    [Paragraph("负责人签字", slot), Paragraph(f"{_e(issuer.organisation)}（盖章）", slot)]],
                   colWidths=[70 * mm, 90 * mm], hAlign="RIGHT")
    footer.setStyle(TableStyle([("ALIGN", (0, 0), (-1, -1), "CENTER"), ("VALIGN", (0, 0), (-1, -1), "BOTTOM")]))
    story = [Paragraph("职业技能等级证书", st["big"]),
             Paragraph(_e(issuer.organisation), st["center"]), Spacer(1, 10),
             Paragraph(f"{_e(report.get('name'))} 参加{_e(OCCUPATION)}（{_e(level)}）职业技能鉴定，"
                       "理论知识考试和操作技能考核成绩合格，特发此证。", st["p"]), Spacer(1, 8),
             body, Spacer(1, 6), footer,
             Paragraph(f"查验地址：{_e(verify_url)}", ParagraphStyle("url", fontName=font, fontSize=9, leading=12))]
    doc.build(story)
    return buf.getvalue()
