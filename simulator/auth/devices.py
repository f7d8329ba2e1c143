"""Device cookies (OWASP "Slow Down Online Guessing Attacks with Device Cookies"): a browser that has
signed in successfully as a user keeps a signed cookie saying so, and login throttling counts that
browser on its own for that user (see throttle.begin). A shared exam-room PC keeps entries for the
last few users who signed in on it."""
from __future__ import annotations

import secrets

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "device"
MAX_AGE_DAYS = 180
MAX_ENTRIES = 8


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="device-cookie")


def _entries() -> list:
    raw = request.cookies.get(COOKIE)
    if not raw or len(raw) > 4096:
        return []
    try:
        data = _serializer().loads(raw, max_age=MAX_AGE_DAYS * 86400)
    except BadSignature:
        return []
    return [e for e in data if isinstance(e, list) and len(e) == 2 and all(isinstance(x, str) for x in e)] \
        if isinstance(data, list) else []


def trusted(username: str) -> str | None:
    """This browser's device id for ``username``, if it signed in as that user before."""
    return next((device for name, device in _entries() if name == username), None)


def remember(response, username: str):
    """After a successful login: (re)issue the cookie with an entry for this user."""
    entries = [e for e in _entries() if e[0] != username]
    entries.append([username, trusted(username) or secrets.token_urlsafe(12)])
    response.set_cookie(COOKIE, _serializer().dumps(entries[-MAX_ENTRIES:]), max_age=MAX_AGE_DAYS * 86400,
                        httponly=True, samesite="Lax", secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
                        path="/login")
    return response
