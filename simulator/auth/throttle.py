"""Login throttling (OWASP Authentication / Credential Stuffing guidance), stored in the database so it
holds across threads, processes and restarts.

Rules (also in the README's configuration table):

* **Per (account, address) pair**: ``LOGIN_MAX_FAILURES`` distinct wrong passwords for one username
  from one client address within ``LOGIN_LOCK_MINUTES`` lock that pair for ``LOGIN_LOCK_MINUTES``.
  The same account from any other address, and any other account from that address, are unaffected:
  an attacker cannot lock the owner out, nor the admin sitting in the same exam room.
* **Per address**: ``LOGIN_MAX_FAILURES_PER_IP`` distinct failures from one address (password
  spraying across many names) make the address *hot* for ``LOGIN_LOCK_MINUTES``: from a hot address,
  an account gets a single wrong guess before its pair locks. A correct password of an account that has
  not failed from there still signs in.
* "Distinct": the same wrong password typed again for the same name counts once.
* Each attempt reserves its place in the pair's counter *before* the password is checked, with one
  conditional UPDATE: of N parallel guesses at most the limit are checked, the rest get 429 unchecked.
  A success clears the pair.
* The client address is ``request.remote_addr``; behind reverse proxies set ``TRUSTED_PROXIES`` to the
  number of proxies in front of the app, so that werkzeug's ``ProxyFix`` takes the address from
  ``X-Forwarded-For`` (with the default 0 the header is ignored and cannot be spoofed).
* **Trusted devices** (OWASP "device cookies"): a successful login leaves a signed cookie naming the
  user; a browser that presents it for that user is counted on its own (its own pair, same limits),
  and address locks and hot addresses do not apply to it. The owner's usual browser is never locked
  out by someone else's guessing, even from the same address.
* Unknown usernames go through the same path (and a dummy hash check), so a lock or its absence tells
  nothing about which names exist.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, or_, update

from ..extensions import db
from .models import LoginFailure, ThrottleCounter, utcnow


@dataclass(frozen=True)
class Attempt:
    """A reserved, not yet decided login attempt."""
    username: str
    ip: str
    source: str      # what the pair is keyed on: the address, or "device:<id>" for a trusted device
    pair_key: str
    at: datetime


class Locked(Exception):
    def __init__(self, seconds: int):
        super().__init__(seconds)
        self.seconds = max(1, seconds)


def _lock_time() -> timedelta:
    return timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"])


def _pair_key(username: str, ip: str) -> str:
    return f"pair:{username[:64]} {ip[:64]}"


def _address_key(ip: str) -> str:
    return f"addr:{ip[:64]}"


def _ensure(key: str, now: datetime) -> None:
    """Create the counter row if missing (concurrent creators: one wins, none fails)."""
    values = {"key": key, "failures": 0, "window_started": now, "locked_until": None}
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    db.session.execute(insert(ThrottleCounter).values(**values).on_conflict_do_nothing(index_elements=["key"]))


def _expire(key: str, now: datetime) -> None:
    """Start a fresh window where the lock ran out, or the window passed without a lock."""
    window = now - _lock_time()
    db.session.execute(
        update(ThrottleCounter).where(ThrottleCounter.key == key, or_(
            and_(ThrottleCounter.locked_until.is_not(None), ThrottleCounter.locked_until <= now),
            and_(ThrottleCounter.locked_until.is_(None), ThrottleCounter.window_started <= window)))
        .values(failures=0, window_started=now, locked_until=None))


def _address_is_hot(ip: str, now: datetime) -> bool:
    row = db.session.get(ThrottleCounter, _address_key(ip))
    return (row is not None and row.window_started > now - _lock_time()
            and row.failures >= current_app.config["LOGIN_MAX_FAILURES_PER_IP"])


def begin(username: str, ip: str, device: str | None = None) -> Attempt:
    """Reserve an attempt for (username, ip) or raise ``Locked`` with the seconds to wait.

    ``device``: the id of a device cookie this browser got at an earlier successful login *as this
    user*. Such a browser is counted on its own (OWASP "device cookies"): locks on the address and a hot
    address do not apply to it, so an attacker behind the same NAT cannot lock the owner out."""
    now = utcnow()
    username = username.lower()
    source = f"device:{device}" if device else ip
    key = _pair_key(username, source)
    db.session.commit()  # start from a clean transaction: the first statement below writes
    _ensure(key, now)
    _expire(key, now)
    hot = not device and _address_is_hot(ip, now)
    limit = 1 if hot else current_app.config["LOGIN_MAX_FAILURES"]
    reserved = db.session.execute(
        update(ThrottleCounter).where(ThrottleCounter.key == key, ThrottleCounter.locked_until.is_(None),
                                      ThrottleCounter.failures < limit)
        .values(failures=ThrottleCounter.failures + 1)).rowcount
    db.session.commit()
    if reserved:
        return Attempt(username, ip, source, key, now)
    row = db.session.get(ThrottleCounter, key)
    db.session.refresh(row)
    until = row.locked_until or (row.window_started + _lock_time())
    raise Locked(int((until - now).total_seconds()) + 1)


def _fingerprint(username: str, password: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(secret, f"{username}\x00{password}".encode(), hashlib.sha256).hexdigest()
    return digest[:4]


def failed(attempt: Attempt, password: str) -> None:
    """A wrong password: keep the reservation as a failure (a repeat of the same wrong password is
    refunded), count it for the address, lock the pair at the limit."""
    now = utcnow()
    fingerprint = _fingerprint(attempt.username, password)
    repeat = (db.session.query(LoginFailure.id)
              .filter(LoginFailure.username == attempt.username[:64], LoginFailure.ip == attempt.source[:64],
                      LoginFailure.fingerprint == fingerprint, LoginFailure.at > now - _lock_time()).first())
    if repeat:
        db.session.execute(update(ThrottleCounter).where(ThrottleCounter.key == attempt.pair_key,
                                                         ThrottleCounter.failures > 0)
                           .values(failures=ThrottleCounter.failures - 1))
    else:
        db.session.add(LoginFailure(username=attempt.username[:64], ip=attempt.source[:64], at=now,
                                    fingerprint=fingerprint))
        address = _address_key(attempt.ip)
        _ensure(address, now)
        _expire(address, now)
        db.session.execute(update(ThrottleCounter).where(ThrottleCounter.key == address)
                           .values(failures=ThrottleCounter.failures + 1))
        db.session.execute(
            update(ThrottleCounter).where(ThrottleCounter.key == attempt.pair_key,
                                          ThrottleCounter.locked_until.is_(None),
                                          ThrottleCounter.failures >= current_app.config["LOGIN_MAX_FAILURES"])
            .values(locked_until=now + _lock_time()))
    _forget_old(now)
    db.session.commit()


def _forget_old(now: datetime) -> None:
    """Failures and counters from long-expired windows tell nothing any more (a spraying attacker
    would otherwise grow the tables without bound)."""
    horizon = now - max(_lock_time() * 4, timedelta(days=1))
    db.session.query(LoginFailure).filter(LoginFailure.at < horizon).delete(synchronize_session=False)
    db.session.query(ThrottleCounter).filter(
        ThrottleCounter.window_started < horizon,
        or_(ThrottleCounter.locked_until.is_(None), ThrottleCounter.locked_until < now),
    ).delete(synchronize_session=False)


def succeeded(attempt: Attempt) -> None:
    """The right password: the pair starts afresh."""
    db.session.execute(update(ThrottleCounter).where(ThrottleCounter.key == attempt.pair_key)
                       .values(failures=0, window_started=utcnow(), locked_until=None))
    LoginFailure.query.filter_by(username=attempt.username[:64], ip=attempt.source[:64]).delete()
    db.session.commit()


def released(attempt: Attempt) -> None:
    """Neither right nor wrong (e.g. a disabled account with its right password): give the slot back."""
    db.session.execute(update(ThrottleCounter).where(ThrottleCounter.key == attempt.pair_key,
                                                     ThrottleCounter.failures > 0)
                       .values(failures=ThrottleCounter.failures - 1))
    db.session.commit()


def hit(key: str, limit: int, window: timedelta) -> bool:
    """A fixed-window rate limit (e.g. certificate checks per address): count one request for ``key``;
    False once ``limit`` requests fell in the current window. Atomic like the login counters."""
    now = utcnow()
    db.session.commit()
    _ensure(key, now)
    db.session.execute(update(ThrottleCounter).where(ThrottleCounter.key == key,
                                                     ThrottleCounter.window_started <= now - window)
                       .values(failures=0, window_started=now, locked_until=None))
    counted = db.session.execute(update(ThrottleCounter).where(ThrottleCounter.key == key,
                                                               ThrottleCounter.failures < limit)
                                 .values(failures=ThrottleCounter.failures + 1)).rowcount
    db.session.commit()
    return bool(counted)
