"""Local time for people, UTC for the database: the ``localtime`` Jinja filter shows a stored (naive
UTC) time in the configured ``TIME_ZONE``; ``LocalDateTimeField`` takes local time in a form and hands
the view naive UTC."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from flask import current_app
from wtforms import DateTimeLocalField

DEFAULT_ZONE = "Asia/Shanghai"
ZONE_NAMES = {"Asia/Shanghai": "北京时间", "UTC": "UTC"}


def zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("TIME_ZONE") or DEFAULT_ZONE)


def zone_label() -> str:
    name = current_app.config.get("TIME_ZONE") or DEFAULT_ZONE
    return ZONE_NAMES.get(name, name)


def to_local(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(zone())


def to_utc(value: datetime | None) -> datetime | None:
    """A local wall-clock time typed by a user, as the naive UTC the models store."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone())
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    local = to_local(value)
    return "" if local is None else local.strftime(fmt)


class LocalDateTimeField(DateTimeLocalField):
    """<input type="datetime-local"> in the configured zone; ``data`` is naive UTC both ways."""

    def __init__(self, label=None, validators=None, format="%Y-%m-%dT%H:%M", **kwargs):
        kwargs.setdefault("invalid_value_message", "请按“年-月-日 时:分”填写时间")
        super().__init__(label, validators, format=format, **kwargs)

    def _value(self):
        if self.raw_data:
            return " ".join(self.raw_data)
        local = to_local(self.data)
        return local.strftime(self.format[0]) if local else ""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None:
            self.data = to_utc(self.data)


def register(app) -> None:
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.globals["zone_label"] = zone_label
