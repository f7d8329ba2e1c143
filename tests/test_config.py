"""Configuration decided from the environment and the database in use."""
from __future__ import annotations

from simulator import config as config_module
from simulator import create_app


def test_connections_are_checked_on_checkout_only_for_a_server_database(tmp_path):
    settings = config_module.from_env(tmp_path, env={"SECRET_KEY": "x"})
    sqlite_app = create_app({**settings, "TESTING": True})
    assert sqlite_app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is False
    server_app = create_app({**settings, "TESTING": True,
                             "SQLALCHEMY_DATABASE_URI": "postgresql://app:pw@db.invalid/assess"})
    assert server_app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True
    explicit = create_app({**settings, "TESTING": True, "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True}})
    assert explicit.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True, "an explicit setting wins"
