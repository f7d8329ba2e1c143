"""The Flask web app of the call-center service staff (呼叫服务员) assessment simulator."""
from __future__ import annotations

import logging
import secrets
from pathlib import Path

from flask import Flask, current_app, g, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

from . import config as config_module
from .extensions import csrf, db, login_manager, migrate

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"


def create_app(config: dict | None = None) -> Flask:
    """App factory. ``config`` overrides the environment-derived configuration (tests pass theirs)."""
    app = Flask(__name__, template_folder=str(PROJECT_ROOT / "templates"),
                static_folder=str(PROJECT_ROOT / "static"), instance_path=str(PROJECT_ROOT / "instance"))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if config is None:
        app.config.from_mapping(config_module.from_env(Path(app.instance_path)))
    else:
        app.config.from_mapping(config)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = config_module.engine_options(
        app.config["SQLALCHEMY_DATABASE_URI"], app.config.get("SQLALCHEMY_ENGINE_OPTIONS"))
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        app.logger.setLevel(logging.INFO)

    if app.config.get("TRUSTED_PROXIES", 0) > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)
    csrf.init_app(app)
    _init_login(app)

    from . import admin, authoring, bank, calibration, main, practical, progress, sittings, theory
    from .auth.access import enforce_access
    from .auth.views import bp as auth_bp
    from .cli import register_cli
    from .errors import register_error_handlers

    app.before_request(_limit_json_body)
    app.before_request(enforce_access)
    app.register_blueprint(auth_bp)
    app.register_blueprint(main.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(theory.bp)
    app.register_blueprint(bank.bp)
    app.register_blueprint(practical.bp)
    app.register_blueprint(authoring.bp)
    app.register_blueprint(sittings.bp)
    app.register_blueprint(progress.bp)
    app.register_blueprint(calibration.bp)
    register_error_handlers(app)
    register_cli(app)
    _register_template_helpers(app)

    _warn_about_public_url(app)
    app.after_request(_security_headers)
    app.jinja_env.globals["csp_nonce"] = _csp_nonce

    return app


def _warn_about_public_url(app: Flask) -> None:
    """Certificates print and encode the verification address; a loopback one is useless on paper."""
    if app.testing or app.debug:
        return
    from urllib.parse import urlsplit
    host = urlsplit(app.config.get("PUBLIC_BASE_URL") or "").hostname or ""
    if not host or host in ("localhost", "127.0.0.1", "::1") or host.startswith("127."):
        app.logger.warning("PUBLIC_BASE_URL is not set to a public address (now %r): certificates will name the "
                           "address of each request; set it to the address the public uses, e.g. https://jd.example.cn",
                           app.config.get("PUBLIC_BASE_URL") or "")


def _limit_json_body():
    """JSON bodies have their own, small limit (MAX_JSON_BYTES); uploads keep MAX_CONTENT_LENGTH."""
    if request.mimetype == "application/json" or request.is_json:
        limit = current_app.config["MAX_JSON_BYTES"]
        if request.content_length is not None and request.content_length > limit:
            from .errors import _respond
            return _respond(413, f"提交的数据过大（JSON 不超过 {limit // 1024} KB）。")
        request.max_content_length = limit  # a chunked body without a length is cut off at the limit
    return None


def _csp_nonce() -> str:
    """The nonce of this response's Content-Security-Policy, for an inline <script nonce="...">."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def _security_headers(response):
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    headers.setdefault("Referrer-Policy", "same-origin")
    # Scripts only from our own static files or with this response's nonce: no inline handlers, no
    # injected <script>. Inline style attributes stay allowed (charts size their bars with them).
    headers.setdefault("Content-Security-Policy", "; ".join((
        "default-src 'self'", f"script-src 'self' 'nonce-{_csp_nonce()}'", "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:", "media-src 'self' blob: data:", "connect-src 'self'", "worker-src 'self' blob:",
        "object-src 'none'", "base-uri 'self'", "form-action 'self'", "frame-ancestors 'self'")))
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    # Exam papers, results, reviews and every other signed-in page: never kept by the browser or a proxy
    # (the back button on a shared exam-room PC must not show the previous candidate's pages).
    exam_area = request.path.startswith(("/theory/", "/practical/", "/sittings/", "/my/"))
    if request.endpoint != "static" and (_signed_in() or exam_area):
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    return response


def _signed_in() -> bool:
    from flask_login import current_user
    try:
        return bool(current_user.is_authenticated)
    except Exception:  # no user could be loaded (e.g. the request never got routed)
        return False


def _init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录。"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(cookie_id: str):
        from .auth import sessions
        return sessions.load(cookie_id)


def _register_template_helpers(app: Flask) -> None:
    from . import labels, localtime
    from .auth.access import wants_role
    from .auth.models import Role

    app.jinja_env.globals.update(has_role=wants_role, Role=Role, awaiting_review=_awaiting_review)
    app.context_processor(labels.context)
    localtime.register(app)


def _awaiting_review(candidate) -> int:
    """How many of a sitting candidate's calls wait for the assessor (attitude flags not yet settled)."""
    from .extensions import db
    from .practical.models import PracticalCall

    ids = [p.get("call_id") for p in candidate.practical_plan or [] if p.get("call_id")]
    calls = db.session.query(PracticalCall).filter(PracticalCall.id.in_(ids)).all() if ids else []
    return sum(1 for c in calls if c.awaiting_review)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """SQLite: enforce foreign keys; WAL and a busy timeout so autosaves from many candidates queue
    instead of failing with 'database is locked'."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


__all__ = ["create_app", "db"]
