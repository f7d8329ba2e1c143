"""The Flask web app of the call-center service staff (呼叫服务员) assessment simulator."""
from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
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

    from . import admin, authoring, bank, main, practical, progress, sittings, theory
    from .auth.access import enforce_access
    from .auth.views import bp as auth_bp
    from .cli import register_cli
    from .errors import register_error_handlers

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
    register_error_handlers(app)
    register_cli(app)
    _register_template_helpers(app)

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    return app


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
    from .auth.access import wants_role
    from .auth.models import Role

    app.jinja_env.globals.update(has_role=wants_role, Role=Role)


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
