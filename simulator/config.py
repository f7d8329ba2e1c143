"""Configuration from environment variables, with an embedded default (SQLite under instance/)."""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Mapping

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def database_url(raw: str | None, instance_path: Path) -> str:
    if not raw:
        return f"sqlite:///{instance_path / 'simulator.sqlite3'}"
    # Hosting platforms often hand out the deprecated scheme, which SQLAlchemy 2 rejects.
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw[len("postgres://"):]
    return raw


def engine_options(url: str, given: Mapping | None = None) -> dict:
    """A server database drops idle connections (restarts, timeouts): each is checked on checkout. A
    SQLite file cannot drop one, and the check was one more query on every request (each live-call audio
    chunk, four a second per call)."""
    return {"pool_pre_ping": not url.startswith("sqlite"), **(given or {})}


def persistent_secret_key(instance_path: Path) -> str:
    """A random key kept in instance/ so sessions survive restarts without configuration."""
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def from_env(instance_path: Path, env: Mapping[str, str] | None = None) -> dict:
    env = os.environ if env is None else env
    return {
        "SECRET_KEY": env.get("SECRET_KEY") or persistent_secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": database_url(env.get("DATABASE_URL"), instance_path),
        "SQLALCHEMY_ENGINE_OPTIONS": {},     # completed by engine_options() for the database in use
        # Upload limit for imports and answer audio; larger bodies get a friendly 413.
        "MAX_CONTENT_LENGTH": int(env.get("MAX_UPLOAD_MB", "50")) * 1024 * 1024,
        # JSON API bodies (answers, drafts, call actions) are small; a larger one is refused with 413.
        "MAX_JSON_BYTES": int(env.get("MAX_JSON_KB", "1024")) * 1024,
        # Public certificate checks per client address per minute (then 429).
        "VERIFY_PER_MINUTE": int(env.get("VERIFY_PER_MINUTE", "20")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _flag(env.get("SESSION_COOKIE_SECURE"), False),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _flag(env.get("SESSION_COOKIE_SECURE"), False),
        "REMEMBER_COOKIE_DURATION": timedelta(days=7),
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=int(env.get("SESSION_HOURS", "10"))),
        # The CSRF token lives as long as the session: a long exam must not expire its own forms.
        "WTF_CSRF_TIME_LIMIT": None,
        "LOGIN_MAX_FAILURES": int(env.get("LOGIN_MAX_FAILURES", "5")),
        "LOGIN_LOCK_MINUTES": int(env.get("LOGIN_LOCK_MINUTES", "15")),
        "LOGIN_MAX_FAILURES_PER_IP": int(env.get("LOGIN_MAX_FAILURES_PER_IP", "30")),
        # Reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host are believed (ProxyFix).
        # 0: the headers are ignored (a client cannot fake its address to dodge login throttling).
        "TRUSTED_PROXIES": int(env.get("TRUSTED_PROXIES", "0")),
        "SEED_DEMO_ACCOUNTS": _flag(env.get("SEED_DEMO_ACCOUNTS"), True),
        # Temporary passwords of a bulk import: kept here until downloaded once, or for this long.
        "IMPORT_PASSWORDS_DIR": env.get("IMPORT_PASSWORDS_DIR") or str(instance_path / "import-passwords"),
        "IMPORT_PASSWORDS_MINUTES": float(env.get("IMPORT_PASSWORDS_MINUTES", "15")),
        "ASR_ENGINE": env.get("ASR_ENGINE", "auto"),
        "TTS_ENGINE": env.get("TTS_ENGINE", "auto"),
        # Practical calls: one folder per call (record.json, both sides' audio, grade.json).
        "CALLS_DIR": env.get("CALLS_DIR") or str(instance_path / "calls"),
        # Several web processes behind a proxy: this one's number 0-255, written into the ids of the live
        # calls it holds (the proxy routes a call's requests by it; docs/deployment.md). Unset: one process.
        "WEB_NODE": int(env["WEB_NODE"]) if (env.get("WEB_NODE") or "").strip() else None,
        "TTS_CACHE_DIR": env.get("TTS_CACHE_DIR") or str(instance_path / "tts-cache"),
        # Live calls: quiet that ends the trainee's turn (pauses inside an answer are shorter), and
        # how long a call with no audio and no action stays open before it is closed as abandoned.
        "END_OF_TURN_PAUSE_S": float(env.get("END_OF_TURN_PAUSE_S", "1.6")),
        "CALL_IDLE_TIMEOUT_S": float(env.get("CALL_IDLE_TIMEOUT_S", "600")),
        # Practical tasks: slack after a task's time limit before the server refuses drafts and submits,
        # and the longest spoken answer accepted (refused by its probed duration, before recognition).
        "PRACTICAL_TASK_GRACE_S": float(env.get("PRACTICAL_TASK_GRACE_S", "30")),
        "PRACTICAL_MAX_ANSWER_S": float(env.get("PRACTICAL_MAX_ANSWER_S", "180")),
        # Item difficulty re-labelled from the bank page (and `python -m exams difficulty`): an item
        # needs this many responses in submitted papers before its facility decides its label.
        "DIFFICULTY_MIN_RESPONSES": int(env.get("DIFFICULTY_MIN_RESPONSES", "30")),
        # People enter and read times in this zone; the database keeps UTC.
        "TIME_ZONE": env.get("TIME_ZONE") or "Asia/Shanghai",
        # Certificates: who issues them, the occupation code (4-04-05-03 = 呼叫中心服务员 in the 2015
        # edition of the occupational classification, as the 2021 national skill standard cites it; see
        # README), optional seal and signature images, and the public address their QR code names.
        "CERT_ORGANISATION": env.get("CERT_ORGANISATION") or "呼叫服务员职业技能鉴定站",
        "OCCUPATION_CODE": env.get("OCCUPATION_CODE") or "4-04-05-03",
        "CERT_SEAL_IMAGE": env.get("CERT_SEAL_IMAGE") or "",
        "CERT_SIGNATURE_IMAGE": env.get("CERT_SIGNATURE_IMAGE") or "",
        "PUBLIC_BASE_URL": (env.get("PUBLIC_BASE_URL") or "").rstrip("/"),
        # Candidates may appeal a published item for this many days.
        "APPEAL_WINDOW_DAYS": int(env.get("APPEAL_WINDOW_DAYS", "7")),
    }


def for_tests(tmp_dir: Path, **overrides) -> dict:
    """A test configuration: a throwaway SQLite file (or the database in TEST_DATABASE_URL, which the
    test fixtures set to a fresh PostgreSQL database), fixed secret, CSRF still enforced."""
    config = from_env(tmp_dir, env={"SECRET_KEY": "test-secret-key"})
    config.update(
        TESTING=True,
        SQLALCHEMY_DATABASE_URI=os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_dir / 'test.sqlite3'}",
        SEED_DEMO_ACCOUNTS=False,
        # Real hashing, with a work factor that keeps hundreds of test logins fast (production: scrypt).
        PASSWORD_HASH_METHOD="pbkdf2:sha256:1000",
        CALLS_DIR=str(tmp_dir / "calls"),
        # Rendered caller lines are content-addressed, so tests share the project's cache.
        TTS_CACHE_DIR=os.environ.get("TTS_CACHE_DIR") or str(PROJECT_ROOT / "instance" / "tts-cache"),
    )
    config.update(overrides)
    return config
