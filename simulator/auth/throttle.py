"""Login throttling: too many failed logins lock the account name (and the address) for a while.

Failures are stored in the database, so the lock holds across threads, processes and restarts.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func

from ..extensions import db
from .models import LoginFailure, utcnow


def _window(now: datetime) -> datetime:
    return now - timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"])


def seconds_locked(username: str, ip: str, now: datetime | None = None) -> int:
    """How long until this username/address may try again; 0 if not locked."""
    now = now or utcnow()
    since = _window(now)
    checks = (
        (LoginFailure.username == username.lower(), current_app.config["LOGIN_MAX_FAILURES"]),
        (LoginFailure.ip == ip, current_app.config["LOGIN_MAX_FAILURES_PER_IP"]),
    )
    wait = 0
    for condition, limit in checks:
        count, oldest_relevant = _failures(condition, since, limit)
        if count >= limit:
            unlock = oldest_relevant + timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"])
            wait = max(wait, int((unlock - now).total_seconds()) + 1)
    return wait


def _failures(condition, since: datetime, limit: int):
    """Failures in the window; and the time of the failure that, once expired, lifts the lock."""
    rows = (db.session.query(LoginFailure.at).filter(condition, LoginFailure.at > since)
            .order_by(LoginFailure.at.desc()).limit(limit).all())
    count = db.session.query(func.count(LoginFailure.id)).filter(condition, LoginFailure.at > since).scalar()
    oldest_relevant = rows[-1][0] if rows else None
    return count, oldest_relevant


def record_failure(username: str, ip: str, now: datetime | None = None) -> None:
    db.session.add(LoginFailure(username=username.lower()[:64], ip=ip[:64], at=now or utcnow()))
    db.session.commit()


def clear_failures(username: str) -> None:
    LoginFailure.query.filter_by(username=username.lower()).delete()
    db.session.commit()
