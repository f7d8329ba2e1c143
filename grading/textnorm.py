"""Chinese text normalisation for transcripts and for matching.

``normalize_transcript`` is for display: simplified characters, half-width ASCII, Chinese punctuation.
``for_matching`` is for comparison: no punctuation or spaces, lower-case Latin, and digits written
one way, so "工号1035" and "工号一零三五" and "工號１０３５" compare equal.
"""
from __future__ import annotations

import re
import unicodedata

import zhconv

_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_FULLWIDTH[0x3000] = 0x20
# ASCII and full-width punctuation an ASR or a typist produces, mapped to the Chinese forms.
_PUNCT_TO_CN = str.maketrans({",": "，", ".": "。", "?": "？", "!": "！", ":": "：", ";": "；", "(": "（", ")": "）"})
_CJK = r"\u3400-\u9fff"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")
_ANY_PUNCT_OR_SPACE = re.compile(r"[\s\W_]+", re.UNICODE)
# Digits as a caller says them: 幺 is "one" in phone numbers. 两 is left alone: 两千 is not 二千 in
# every phrase the rubric looks for, and both spellings appear in prescribed wording.
_DIGITS = str.maketrans({"0": "零", "1": "一", "2": "二", "3": "三", "4": "四", "5": "五", "6": "六", "7": "七",
                         "8": "八", "9": "九", "〇": "零", "幺": "一"})


def to_simplified(text: str) -> str:
    return zhconv.convert(text or "", "zh-cn")


def to_halfwidth(text: str) -> str:
    return (text or "").translate(_FULLWIDTH)


def normalize_transcript(text: str) -> str:
    """For display and storage: simplified, half-width ASCII, Chinese punctuation, no stray spaces."""
    text = to_halfwidth(to_simplified(unicodedata.normalize("NFKC", text or "")))
    text = text.translate(_PUNCT_TO_CN)
    text = _SPACE_BETWEEN_CJK.sub("", text)
    text = re.sub(r"(?<=[，。？！：；、])\s+|\s+(?=[，。？！：；、])", "", text)
    return re.sub(r"\s{2,}", " ", text).strip()


def for_matching(text: str) -> str:
    """For comparison only: simplified, no punctuation or spaces, lower-case, digits as characters."""
    text = to_halfwidth(to_simplified(unicodedata.normalize("NFKC", text or ""))).lower()
    text = _ANY_PUNCT_OR_SPACE.sub("", text)
    return text.translate(_DIGITS)
