"""Text a caller speaks, made speakable: numbers read the way a Chinese caller says them, stage
directions such as （很小声） taken out (the runtime reads them with ``stage_directions``; the voice
must not say them).

Reading rules (one choice each, applied in this order):

- stage directions in （…） (…) 【…】 […] are removed; brackets holding only digits, e.g. a dialling
  code ``(010)``, are kept as text;
- dates: ``2026年3月5日``, ``2026-03-05``, ``2026/3/5`` → 二零二六年三月五日 (the year digit by digit,
  also in ``2026年``); ``3月5号`` → 三月五号;
- clock times: ``14:30`` → 十四点三十分, ``9:05`` → 九点零五分, ``2:00`` → 两点整 (24-hour reading,
  not 下午两点半: the script's own words around the time are kept as written);
- money: ``¥128.50`` / ``128.5元`` → 一百二十八元五角, ``¥0.05`` → 五分, ``3000块`` → 三千块,
  ``2块钱`` → 两块钱;
- percentages ``15%`` → 百分之十五, fractions ``1/3`` → 三分之一;
- phone numbers (mobile, landline also as ``(010) 62345678``, 400/800, 95xxx, 100xx, 12xxx service lines,
  110/119/120 after 打/拨/报警) digit by digit with 1 read 幺: ``13812345678`` → 幺三八幺二三四五六七八;
- account, order, card and ID numbers digit by digit (1 read 一; letters kept in capitals for the
  voice to spell): numbers of 7 or more digits, numbers with letters or a leading 0, and any number
  of 3 or more digits after 尾号/账号/单号/卡号/编号/密码/验证码…;
- decimals ``2.5`` → 二点五; integers ``10`` → 十, ``105`` → 一百零五, ``2000`` → 两千 (两 for a
  leading 2 before 千/万/亿, and for 2 before a measure word: 2个 → 两个, 2天 → 两天, 第2次 → 第二次);
- whitespace collapsed.

    >>> speakable("我的电话是13812345678（叹气），欠费128.5元")
    '我的电话是幺三八幺二三四五六七八，欠费一百二十八元五角'
"""
from __future__ import annotations

import re

DIGITS = "零一二三四五六七八九"

# Brackets whose content has something besides digits and separators are stage directions.
STAGE = re.compile(r"（(?![\d\s\-]*）)[^（）]*）|\((?![\d\s\-]*\))[^()]*\)|【[^【】]*】|\[(?![\d\s\-]*\])[^\[\]]*\]")
DATE_YMD = re.compile(r"(?<!\d)(\d{4})(?:年(\d{1,2})月(\d{1,2})[日号]?|([-/.])(\d{1,2})\4(\d{1,2})(?!\d))")
YEAR = re.compile(r"(?<!\d)(\d{4})(?=年(?!级|纪|龄|代))")
DATE_MD = re.compile(r"(?<!\d)(\d{1,2})月(\d{1,2})([日号])")
TIME = re.compile(r"(?<![\d:：])([01]?\d|2[0-4])[:：]([0-5]\d)(?![\d:：])")
MONEY = re.compile(r"[¥￥]\s*(\d+(?:\.\d{1,2})?)(?:元)?|(?<![\d.])(\d+(?:\.\d{1,2})?)\s*(元|块钱|块)")
PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*[%％]")
FRACTION = re.compile(r"(?<![\d/])(\d+)/(\d+)(?![\d/])")
_NOT_A_UNIT = r"(?![\d个位张台件天周本块条遍种份次分秒元人米斤号万千百亿年月日岁辆部层楼])"
PHONE = re.compile(
    r"(?<![\dA-Za-z])("
    r"1[3-9]\d[- ]?\d{4}[- ]?\d{4}"                       # mobile, also 138 1234 5678
    r"|0\d{2,3}[- ]?\d{7,8}"                              # landline with area code
    r"|[48]00[- ]?\d{3}[- ]?\d{4}"                        # 400 / 800 numbers
    r"|\d{3}-\d{3,4}-\d{4}"
    r"|(?:95\d{3,4}|100\d\d|12\d{3})" + _NOT_A_UNIT +     # 95588, 10086, 12345
    r"|(?<=[打拨报警线话])(?:110|119|120|122|114)"          # 打110, 拨打120, 报警110
    r")(?![\dA-Za-z])")
AREA_CODE = re.compile(r"[（(]\s*(0\d{2,3})\s*[）)][\s-]*(\d{7,8})(?!\d)")     # (010) 62345678
LABELLED = re.compile(r"(尾号|分机|号码|账号|帐号|账户|单号|卡号|编号|工号|户号|证号|密码|验证码|序列号|型号)"
                      r"(是|为|：|:)?\s*([A-Za-z\d][A-Za-z\d\-]{2,})")
PHONE_LABELS = ("尾号", "分机", "号码")
LONG_ID = re.compile(r"(?<![\dA-Za-z.])([A-Za-z]{1,4}-?\d[A-Za-z\d\-]*|0\d{2,}|\d{7,}[A-Za-z\d\-]*"
                     r"|\d+[A-Za-z][A-Za-z\d\-]*)(?![\dA-Za-z])")
DECIMAL = re.compile(r"(?<![\d.])(\d+)\.(\d+)(?![\d.])")
INTEGER = re.compile(r"\d+")
TWO_BEFORE_MEASURE = re.compile(
    r"(?<![\d.第])2(?=[个位张台件天周本块条遍种份次分秒人斤辆部瓶盒包箱层米万千亿]|年(?!级)|岁|小时|分钟|星期|公里|毫升)")


def stage_directions(text: str) -> list[str]:
    """The directions in a scripted line, e.g. ['很小声', '叹气']."""
    return [m.group(0)[1:-1].strip() for m in STAGE.finditer(text or "")]


def digits(number: str, *, phone: bool = False) -> str:
    """Digit by digit; on the phone 1 is read 幺 so it is not confused with 7. Letters are kept
    (upper case) and separators dropped."""
    out = []
    for ch in number:
        if ch.isdigit():
            out.append("幺" if phone and ch == "1" else DIGITS[int(ch)])
        elif ch.isascii() and ch.isalpha():
            out.append(ch.upper())
    return "".join(out)


def integer(n: int) -> str:
    """Cardinal number: 10 -> 十, 105 -> 一百零五, 2000 -> 两千, 30000 -> 三万."""
    if n < 0:
        return "负" + integer(-n)
    if n == 0:
        return "零"
    if n >= 10**12:
        return digits(str(n))
    text, gap = "", False
    for unit_value, unit in ((10**8, "亿"), (10**4, "万"), (1, "")):
        chunk = (n // unit_value) % 10**4
        if not chunk:
            gap = bool(text)
            continue
        if text and (gap or chunk < 1000):
            text += "零"
        words = _below_10000(chunk, leading=not text)
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
        elif d == 2 and (value == 1000 or (value == 100 and not out)):
            out += "两" + unit   # 两千, 两百
        else:
            out += DIGITS[d] + unit
    return out


def _decimal(whole: str, frac: str) -> str:
    return integer(int(whole)) + "点" + digits(frac)


def _money(match: re.Match) -> str:
    value = match.group(1) or match.group(2)
    unit = "元" if match.group(1) else match.group(3)
    whole, _, frac = value.partition(".")
    n = int(whole)
    text = ("两" if n == 2 else integer(n)) + unit
    if not frac.strip("0"):
        return text
    if unit != "元":                         # 2.5块 -> 两块五
        return text + digits(frac.rstrip("0"))
    jiao, fen = int((frac + "0")[0]), int((frac + "0")[1])
    small = (DIGITS[jiao] + "角" if jiao else "") + (DIGITS[fen] + "分" if fen else "")
    if n == 0:
        return small
    return text + ("" if jiao else "零") + small


def _time(match: re.Match) -> str:
    hour, minute = int(match.group(1)), int(match.group(2))
    spoken = ("两" if hour == 2 else integer(hour)) + "点"
    if minute == 0:
        return spoken + "整"
    return spoken + ("零" if minute < 10 else "") + integer(minute) + "分"


def _date_ymd(match: re.Match) -> str:
    month, day = (match.group(2), match.group(3)) if match.group(2) else (match.group(5), match.group(6))
    if not (1 <= int(month) <= 12 and 1 <= int(day) <= 31):
        return match.group(0)
    return f"{digits(match.group(1))}年{integer(int(month))}月{integer(int(day))}日"


def _labelled(match: re.Match) -> str:
    label, joiner, number = match.groups()
    if number.isdigit() and len(number) < 3:
        return match.group(0)
    return label + (joiner or "") + digits(number, phone=label in PHONE_LABELS)


def speakable(text: str) -> str:
    """The line as the caller says it (see the module's rules)."""
    text = STAGE.sub("", text or "")
    text = DATE_YMD.sub(_date_ymd, text)
    text = YEAR.sub(lambda m: digits(m.group(1)), text)
    text = DATE_MD.sub(lambda m: f"{integer(int(m.group(1)))}月{integer(int(m.group(2)))}{m.group(3)}", text)
    text = TIME.sub(_time, text)
    text = MONEY.sub(_money, text)
    text = PERCENT.sub(lambda m: "百分之" + (_decimal(*m.group(1).split(".")) if "." in m.group(1)
                                             else integer(int(m.group(1)))), text)
    text = FRACTION.sub(lambda m: f"{integer(int(m.group(2)))}分之{integer(int(m.group(1)))}", text)
    text = AREA_CODE.sub(lambda m: digits(m.group(1) + m.group(2), phone=True), text)
    text = LABELLED.sub(_labelled, text)
    text = PHONE.sub(lambda m: digits(m.group(1), phone=True), text)
    text = LONG_ID.sub(lambda m: digits(m.group(1)), text)
    text = TWO_BEFORE_MEASURE.sub("两", text)
    text = DECIMAL.sub(lambda m: _decimal(m.group(1), m.group(2)), text)
    text = INTEGER.sub(lambda m: integer(int(m.group(0))) if len(m.group(0)) <= 12 else digits(m.group(0)), text)
    return re.sub(r"\s+", " ", text).strip()
