"""Server-side session records: the cookie names a session row, and logging out revokes that row.

Flask's session is a signed cookie; on its own, a copy taken before logout would still sign in.
Each login creates a ``UserSession`` whose id travels inside Flask-Login's user id (session and
remember cookie); the user loader accepts a cookie only while its row is not revoked. Logging out
ends only this browser's session — the user's other devices stay signed in. A password change or
disabling the account (``session_version``) ends all of them.
"""
from __future__ import annotations

import secrets

from flask import current_app
from flask_login import login_user, logout_user
from sqlalchemy import or_

from ..extensions import db
from .models import User, UserSession, utcnow


def start(user: User, *, remember: bool = False) -> None:
    # The user's ended sessions, and ones older than any cookie lives, are no longer needed.
    config = current_app.config
    horizon = utcnow() - max(config["REMEMBER_COOKIE_DURATION"], config["PERMANENT_SESSION_LIFETIME"])
    (db.session.query(UserSession).filter(UserSession.user_id == user.id)
     .filter(or_(UserSession.revoked_at.is_not(None), UserSession.created_at < horizon))
     .delete(synchronize_session=False))
    row = UserSession(id=secrets.token_urlsafe(32), user_id=user.id)
    db.session.add(row)
    db.session.commit()
    user.session_id = row.id
    login_user(user, remember=remember)


def end(user: User | None) -> None:
    if user is not None and getattr(user, "session_id", None):
        db.session.query(UserSession).filter_by(id=user.session_id, revoked_at=None).update({"revoked_at": utcnow()})
        db.session.commit()
    logout_user()


def load(cookie_id: str) -> User | None:
    """Flask-Login's user loader: "<user id>:<session version>:<session id>"."""
    user_id, version, session_id = (cookie_id.split(":") + ["", "", ""])[:3]
    if not user_id.isdigit() or not session_id:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or str(user.session_version) != version:
        return None
    row = db.session.get(UserSession, session_id)
    if row is None or row.user_id != user.id or row.revoked_at is not None:
        return None
    user.session_id = session_id
    return user
