from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from simulator import config as config_module
from simulator.auth.models import User
from simulator.extensions import db
from simulator.seeding import DEMO_ACCOUNTS, seed_all


def test_migrations_match_the_models(app):
    """A model change without a migration would leave production databases behind."""
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert diff == []


def test_seed_creates_demo_accounts_once_and_they_log_in(app):
    first = seed_all(app, demo=True)
    assert first["demo_accounts"] == [d.username for d in DEMO_ACCOUNTS]
    assert seed_all(app, demo=True)["demo_accounts"] == []
    for demo in DEMO_ACCOUNTS:
        user = db.session.query(User).filter_by(username=demo.username).one()
        assert user.role == demo.role.value and user.check_password(demo.password)


def test_seed_never_overwrites_a_changed_demo_password(app):
    seed_all(app, demo=True)
    user = db.session.query(User).filter_by(username="admin").one()
    user.set_password("changed-by-admin")
    db.session.commit()
    seed_all(app, demo=True)
    assert db.session.query(User).filter_by(username="admin").one().check_password("changed-by-admin")


def test_cli_users_create_list_and_import(app, tmp_path):
    runner = app.test_cli_runner()
    out = runner.invoke(args=["users", "create", "Kaoping01", "--name", "考评员甲", "--role", "assessor",
                              "--password", "long-enough-pw"])
    assert out.exit_code == 0, out.output
    dup = runner.invoke(args=["users", "create", "kaoping01", "--name", "x", "--password", "long-enough-pw"])
    assert dup.exit_code != 0 and "already exists" in dup.output
    short = runner.invoke(args=["users", "create", "kp02", "--name", "x", "--password", "short"])
    assert short.exit_code != 0
    sheet = tmp_path / "list.csv"
    sheet.write_text("用户名,姓名\nxy001,学员一\nxy002,学员二\n", encoding="utf-8")
    imported = runner.invoke(args=["users", "import", str(sheet)])
    assert imported.exit_code == 0 and "imported 2 account(s)" in imported.output
    bad = tmp_path / "bad.csv"
    bad.write_text("用户名,姓名\nxy003,学员三\nxy001,重复\n", encoding="utf-8")
    refused = runner.invoke(args=["users", "import", str(bad)])
    assert refused.exit_code != 0 and "第 3 行" in refused.output
    assert db.session.query(User).filter_by(username="xy003").count() == 0
    listing = runner.invoke(args=["users", "list", "--role", "assessor"])
    assert "kaoping01" in listing.output and "xy001" not in listing.output


def test_cli_setup_and_seed(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["setup"]).exit_code == 0
    out = runner.invoke(args=["seed", "--demo"])
    assert out.exit_code == 0 and "demo_accounts" in out.output
    assert db.session.query(User).count() == len(DEMO_ACCOUNTS)


def test_database_url_default_and_postgres_scheme(tmp_path):
    assert config_module.database_url(None, tmp_path) == f"sqlite:///{tmp_path / 'simulator.sqlite3'}"
    assert config_module.database_url("postgres://u:p@h/db", tmp_path) == "postgresql://u:p@h/db"
    assert config_module.database_url("postgresql+psycopg2://h/db", tmp_path) == "postgresql+psycopg2://h/db"


def test_secret_key_is_generated_once_and_kept(tmp_path):
    first = config_module.from_env(tmp_path, env={})["SECRET_KEY"]
    second = config_module.from_env(tmp_path, env={})["SECRET_KEY"]
    assert first == second and len(first) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert config_module.from_env(tmp_path, env={"SECRET_KEY": "given"})["SECRET_KEY"] == "given"
