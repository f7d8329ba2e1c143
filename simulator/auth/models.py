"""Accounts and the record of failed logins."""
from __future__ import annotations

import enum
from datetime import datetime, timezone

from flask import current_app, has_app_context
from flask_login import UserMixin
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Role(str, enum.Enum):
    TRAINEE = "trainee"
    ASSESSOR = "assessor"
    TRAINER = "trainer"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]

    @classmethod
    def parse(cls, text: str) -> "Role":
        """Accept the English value or the Chinese label (as typed in an import sheet)."""
        text = (text or "").strip()
        for role in cls:
            if text.lower() == role.value or text == role.label:
                return role
        raise ValueError(text)


ROLE_LABELS = {
    Role.TRAINEE: "学员",
    Role.ASSESSOR: "考评员",
    Role.TRAINER: "培训师",
    Role.ADMIN: "管理员",
}

MIN_PASSWORD_LENGTH = 8

def password_problem(user, password: str) -> str | None:
    """What is wrong with a new password the user chose, in Chinese; None if it may be used."""
    from ..seeding import DEMO_ACCOUNTS

    if len(password) < MIN_PASSWORD_LENGTH:
        return f"密码至少 {MIN_PASSWORD_LENGTH} 位"
    if len(set(password)) < 4:
        return "密码过于简单：请至少使用 4 个不同的字符"
    if user.username and user.username.lower() in password.lower():
        return "密码不能包含用户名"
    if password in {d.password for d in DEMO_ACCOUNTS}:
        return "这是公开的演示密码，请换一个只有您知道的密码"
    return None


# Checked instead of a real hash when the username is unknown, so that an unknown name costs the same
# hash work as a known one and login timing does not tell which usernames exist.
_DUMMY_HASHES: dict[str, str] = {}
DEFAULT_HASH_METHOD = "scrypt"


def _hash_method() -> str:
    """werkzeug's method string; the test configuration sets a cheap one (PASSWORD_HASH_METHOD)."""
    return current_app.config.get("PASSWORD_HASH_METHOD", DEFAULT_HASH_METHOD) if has_app_context() \
        else DEFAULT_HASH_METHOD


def check_dummy_password(password: str) -> bool:
    method = _hash_method()
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = generate_password_hash("no-such-user: this never matches", method=method)
    check_password_hash(_DUMMY_HASHES[method], password)
    return False


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(64), unique=True, nullable=False, index=True)
    display_name = db.Column(db.String(64), nullable=False)
    role = db.Column(db.String(16), nullable=False, index=True)
    organisation = db.Column(db.String(128), nullable=False, default="")
    password_hash = db.Column(db.String(256), nullable=False)
    active = db.Column(db.Boolean, nullable=False, default=True)
    must_change_password = db.Column(db.Boolean, nullable=False, default=False)
    # Bumped on password change or disabling, which logs out every existing session of the user.
    session_version = db.Column(db.Integer, nullable=False, default=1)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    last_login_at = db.Column(db.DateTime)

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def role_label(self) -> str:
        return self.role_enum.label

    @property
    def is_active(self) -> bool:  # used by Flask-Login
        return bool(self.active)

    # The server-side session (UserSession.id) this login belongs to; set by auth.sessions.start.
    session_id = None

    def get_id(self) -> str:
        # "<id>:<version>:<session>" goes into the session cookie and the remember cookie: a password
        # change ends every session (version), a logout ends this one (the session row is revoked).
        return f"{self.id}:{self.session_version}:{self.session_id or ''}"

    def set_password(self, password: str, *, temporary: bool = False) -> None:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise ValueError(f"密码至少 {MIN_PASSWORD_LENGTH} 位")
        self.password_hash = generate_password_hash(password, method=_hash_method())
        self.must_change_password = temporary
        self.session_version = (self.session_version or 0) + 1

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def disable(self) -> None:
        self.active = False
        self.session_version = (self.session_version or 0) + 1

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class LoginFailure(db.Model):
    __tablename__ = "login_failures"

    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(64), nullable=False, index=True)
    ip = db.Column(db.String(64), nullable=False, index=True)
    at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True)
    # 16 bits of a keyed hash of (username, password): enough to recognise the same wrong password typed
    # again (counted once), far too little to be of any use for guessing the password.
    fingerprint = db.Column(db.String(8))


class UserSession(db.Model):
    """One signed-in browser. Logging out revokes its row, so a copy of its cookies no longer works;
    other browsers of the same user keep their own rows."""
    __tablename__ = "user_sessions"

    id = db.Column(db.String(64), primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    revoked_at = db.Column(db.DateTime)


class ThrottleCounter(db.Model):
    """A login-throttling counter: per (account, address) pair or per address. Rows are updated with
    single conditional UPDATE statements, so parallel requests cannot exceed a limit."""
    __tablename__ = "login_throttle"

    key = db.Column(db.String(200), primary_key=True)
    failures = db.Column(db.Integer, nullable=False, default=0)
    window_started = db.Column(db.DateTime, nullable=False)
    locked_until = db.Column(db.DateTime)
