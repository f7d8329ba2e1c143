"""Text a caller speaks, made speakable: numbers read the way a Chinese caller says them, stage
directions such as （很小声） taken out (the runtime reads them; the voice must not).

    >>> speakable("我的电话是13812345678（叹气），欠费128.5元")
    '我的电话是幺三八幺二三四五六七八，欠费一百二十八点五元'
"""
from __future__ import annotations

import re

DIGITS = "零一二三四五六七八九"
STAGE = re.compile(r"（[^（）]*）|\([^()]*\)|【[^【】]*】|\[[^\[\]]*\]")
PHONE = re.compile(r"(?<!\d)(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}|400-?\d{3}-?\d{4}|95\d{3,4}|1\d{4}|\d{3}-\d{3,4}-\d{4})(?!\d)")
LONG_ID = re.compile(r"(?<![\dA-Za-z])([A-Za-z]{0,4}-?\d{6,}[A-Za-z\d-]*)(?![\dA-Za-z])")
DATE_YMD = re.compile(r"(\d{4})[-/年](\d{1,2})[-/月](\d{1,2})[日号]?")
DATE_MD = re.compile(r"(?<!\d)(\d{1,2})月(\d{1,2})([日号])")
TIME = re.compile(r"(?<!\d)(\d{1,2})[:：](\d{2})(?!\d)")
MONEY = re.compile(r"[¥￥](\d+(?:\.\d{1,2})?)|(\d+(?:\.\d{1,2})?)\s*(元|块钱|块)")
PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*[%％]")
DECIMAL = re.compile(r"(?<![\d.])(\d+)\.(\d+)(?![\d.])")
INTEGER = re.compile(r"\d+")
TWO_BEFORE_MEASURE = re.compile(r"(?<![\d.第])2(?=[个位张台件天周本块条遍种份次分秒]|小时|分钟|星期)")


def stage_directions(text: str) -> list[str]:
    """The directions in a scripted line, e.g. ['很小声', '叹气']."""
    return [m.group(0)[1:-1].strip() for m in STAGE.finditer(text or "")]


def digits(number: str, *, phone: bool = False) -> str:
    """Digit by digit; on the phone 1 is read 幺 so it is not confused with 7."""
    out = []
    for ch in number:
        if ch.isdigit():
            out.append("幺" if phone and ch == "1" else DIGITS[int(ch)])
        elif ch.isalpha():
            out.append(ch.upper())
    return "".join(out)


def integer(n: int) -> str:
    """Cardinal number: 10 -> 十, 105 -> 一百零五, 2000 -> 两千, 30000 -> 三万."""
    if n == 0:
        return "零"
    if n >= 10**12:
        return digits(str(n))
    parts = []
    for unit_value, unit in ((10**8, "亿"), (10**4, "万"), (1, "")):
        chunk = (n // unit_value) % 10**4
        if chunk:
            parts.append((_below_10000(chunk, leading=not parts), unit, chunk))
        elif parts:
            parts.append(("", "", 0))
    text, gap = "", False
    for words, unit, chunk in parts:
        if not chunk:
            gap = True
            continue
        if text and (gap or chunk < 1000):
            text += "零"
        text += ("两" if words == "二" and unit else words) + unit   # 两万, not 二万
        gap = False
    return text


def _below_10000(n: int, leading: bool) -> str:
    out, zero = "", False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = n // value % 10
        if d == 0:
            zero = bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        if value == 10 and d == 1 and not out and leading:
            out += "十"          # 十五, not 一十五
        elif d == 2 and value >= 1000:
            out += "两" + unit
        elif d == 2 and value == 100 and not out:
            out += "两" + unit
        else:
            out += DIGITS[d] + unit
    return out


def _decimal(whole: str, frac: str) -> str:
    return integer(int(whole)) + "点" + digits(frac)


def _money(match: re.Match) -> str:
    value = match.group(1) or match.group(2)
    unit = "元" if match.group(1) else {"块钱": "块钱", "块": "块"}.get(match.group(3), "元")
    whole, _, frac = value.partition(".")
    text = integer(int(whole)) + unit
    frac = (frac + "00")[:2]
    if frac != "00" and unit == "元":
        jiao, fen = int(frac[0]), int(frac[1])
        text += (DIGITS[jiao] + "角" if jiao else "零") + (DIGITS[fen] + "分" if fen else "")
    elif frac != "00":
        text = _decimal(whole, value.partition(".")[2]) + unit
    return text


def speakable(text: str) -> str:
    text = STAGE.sub("", text or "")
    text = DATE_YMD.sub(lambda m: f"{digits(m.group(1))}年{integer(int(m.group(2)))}月{integer(int(m.group(3)))}日", text)
    text = DATE_MD.sub(lambda m: f"{integer(int(m.group(1)))}月{integer(int(m.group(2)))}{m.group(3)}", text)
    text = TIME.sub(lambda m: f"{integer(int(m.group(1)))}点" + (f"{integer(int(m.group(2)))}分" if int(m.group(2)) else "整"), text)
    text = MONEY.sub(_money, text)
    text = PERCENT.sub(lambda m: "百分之" + (_decimal(*m.group(1).split(".")) if "." in m.group(1)
                                             else integer(int(m.group(1)))), text)
    text = PHONE.sub(lambda m: digits(m.group(1), phone=True), text)
    text = LONG_ID.sub(lambda m: digits(m.group(1)), text)
    text = TWO_BEFORE_MEASURE.sub("两", text)
    text = DECIMAL.sub(lambda m: _decimal(m.group(1), m.group(2)), text)
    text = INTEGER.sub(lambda m: integer(int(m.group(0))) if len(m.group(0)) <= 12 else digits(m.group(0)), text)
    return re.sub(r"\s+", " ", text).strip()
