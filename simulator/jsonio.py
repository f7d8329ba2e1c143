"""Reading JSON request bodies and query numbers safely. Every JSON endpoint parses through these, so
malformed input (a string where a number belongs, a list where an object belongs, NaN, a number too
large for the database) answers 400 with a Chinese message instead of failing somewhere deeper."""
from __future__ import annotations

import math

from flask import request
from werkzeug.exceptions import BadRequest

# Fits a signed 64-bit column (PostgreSQL BIGINT); Python ints are unbounded.
MAX_INT = 2 ** 63 - 1


class InvalidInput(BadRequest):
    """400 with a message for the user (errors.py answers it as JSON with ``error`` set)."""

    def __init__(self, message: str):
        super().__init__(description=message)
        self.message = message


def json_object(*, allow_empty: bool = False) -> dict:
    """The request's JSON body, which must be an object (``allow_empty``: no body at all is {})."""
    if allow_empty and not request.get_data(cache=True):
        return {}
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InvalidInput("请求格式不正确：需要一个 JSON 对象。")
    return data


def _to_int(value, name: str, minimum: int, maximum: int) -> int:
    if isinstance(value, bool):
        raise InvalidInput(f"参数 {name} 应为整数。")
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise InvalidInput(f"参数 {name} 应为整数。")
        value = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if not (text.isascii() and text.lstrip("-").isdigit()) or len(text) > 20:
            raise InvalidInput(f"参数 {name} 应为整数。")
        value = int(text)
    elif not isinstance(value, int):
        raise InvalidInput(f"参数 {name} 应为整数。")
    if not minimum <= value <= maximum:
        raise InvalidInput(f"参数 {name} 超出范围（{minimum}–{maximum}）。")
    return value


def int_field(data: dict, name: str, default: int | None = None, *, required: bool = False, minimum: int = 0,
              maximum: int = MAX_INT) -> int | None:
    """An integer member of a JSON object (numeric strings accepted); missing/null gives ``default``."""
    value = data.get(name)
    if value is None:
        if required:
            raise InvalidInput(f"缺少参数 {name}。")
        return default
    return _to_int(value, name, minimum, maximum)


def str_field(data: dict, name: str, default: str = "", *, max_length: int = 10_000) -> str:
    value = data.get(name, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise InvalidInput(f"参数 {name} 应为文字。")
    if len(value) > max_length:
        raise InvalidInput(f"参数 {name} 过长（不超过 {max_length} 个字符）。")
    return value


def query_int(name: str, default: int | None = None, *, minimum: int = 0, maximum: int = MAX_INT) -> int | None:
    """An integer from the query string; absent or empty gives ``default``."""
    value = request.args.get(name)
    if value is None or value == "":
        return default
    return _to_int(value, name, minimum, maximum)
