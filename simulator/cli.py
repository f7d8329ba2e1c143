"""Commands registered on the app: ``flask --app simulator <command>``."""
from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from flask_migrate import upgrade

from .auth import importer
from .auth.models import MIN_PASSWORD_LENGTH, Role, User
from .extensions import db
from .seeding import seed_all

users_cli = AppGroup("users", help="Manage user accounts.")


@users_cli.command("create")
@click.argument("username")
@click.option("--name", "display_name", required=True, help="姓名 (display name)")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.TRAINEE.value)
@click.option("--organisation", default="")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help=f"at least {MIN_PASSWORD_LENGTH} characters")
def users_create(username, display_name, role, organisation, password):
    """Create one account."""
    username = username.strip().lower()
    if not importer.USERNAME_RE.match(username):
        raise click.ClickException("username: letters, digits and _ . @ -, 3 to 64 characters")
    if db.session.query(User.id).filter_by(username=username).first():
        raise click.ClickException(f"user {username!r} already exists")
    user = User(username=username, display_name=display_name, role=role, organisation=organisation)
    try:
        user.set_password(password)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.add(user)
    db.session.commit()
    click.echo(f"created {username} ({role})")


@users_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def users_import(path: Path):
    """Import accounts from an .xlsx or .csv sheet (all rows or none)."""
    try:
        rows = importer.read_rows(path.name, path.read_bytes())
    except importer.ImportFileError as exc:
        raise click.ClickException(str(exc)) from exc
    result = importer.import_users(rows)
    if not result.ok:
        for error in result.errors:
            click.echo(str(error), err=True)
        raise click.ClickException(f"{len(result.errors)} problem(s); nothing was imported")
    for username, name, generated in result.created:
        click.echo(f"{username}\t{name}\t{generated or '(password from file)'}")
    click.echo(f"imported {len(result.created)} account(s)")


@users_cli.command("list")
@click.option("--role", type=click.Choice([r.value for r in Role]))
def users_list(role):
    """List accounts."""
    query = db.select(User).order_by(User.role, User.username)
    if role:
        query = query.where(User.role == role)
    for user in db.session.scalars(query):
        state = "" if user.active else "\t(disabled)"
        click.echo(f"{user.username}\t{user.role}\t{user.display_name}{state}")


@click.command("seed")
@click.option("--demo/--no-demo", default=None, help="create the demo accounts (default: SEED_DEMO_ACCOUNTS)")
def seed_command(demo):
    """Load content from the data files and create demo accounts (idempotent)."""
    report = seed_all(current_app, demo=demo)
    for key, value in report.items():
        click.echo(f"{key}: {value if value else 'nothing new'}")


@click.command("setup")
def setup_command():
    """Apply database migrations, then seed: what run.py does before serving."""
    upgrade()
    report = seed_all(current_app)
    click.echo(f"database at head; seeded: {report}")


bank_cli = AppGroup("bank", help="Theory question bank: import, export, validate, statistics.")


@bank_cli.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
def bank_import(path: Path):
    """Import a bank folder, a bank YAML file or an Excel sheet (all questions or none)."""
    from exams import bank_io

    try:
        report = bank_io.import_path(db.session, path)
    except bank_io.ImportRejected as exc:
        for problem in exc.problems:
            click.echo(f"{problem.place}: {problem.message}", err=True)
        raise click.ClickException(f"{len(exc.problems)} problem(s); nothing was imported") from exc
    click.echo("imported: " + ", ".join(f"{k} {v}" for k, v in report.as_dict().items()))


@bank_cli.command("export")
@click.argument("path", type=click.Path(path_type=Path))
def bank_export(path: Path):
    """Export every question to an .xlsx file, a .yaml file, or a folder of per-area YAML files."""
    from exams import bank_io

    click.echo(f"exported {bank_io.export_to_path(db.session, path)} questions to {path}")


@bank_cli.command("validate")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
def bank_validate(path: Path | None):
    """Check the bank files (default exams/bank/) against the schema and the blueprints."""
    from exams import BANK_DIR, load_bank

    bank = load_bank(path or BANK_DIR)
    for problem in bank.problems:
        click.echo(str(problem), err=problem.severity == "error")
    click.echo(f"{len(bank.questions)} questions, {len(bank.errors)} error(s)")
    if bank.errors:
        raise SystemExit(1)


@bank_cli.command("stats")
def bank_stats():
    """Questions in the database per area, level and type, and how many are retired."""
    from exams import load_blueprints
    from exams.models import BankQuestion

    blueprints = load_blueprints()
    rows = db.session.query(BankQuestion.area, BankQuestion.level, BankQuestion.qtype, BankQuestion.retired,
                            db.func.count()).group_by(BankQuestion.area, BankQuestion.level, BankQuestion.qtype,
                                                      BankQuestion.retired).all()
    total = retired = 0
    for area, level, qtype, is_retired, n in sorted(rows):
        click.echo(f"{blueprints.areas.get(area, area)}\tL{level}\t{blueprints.types.get(qtype, qtype)}\t{n}"
                   + ("\t(retired)" if is_retired else ""))
        total += n
        retired += n if is_retired else 0
    click.echo(f"total {total}, retired {retired}")


@click.command("sweep")
def sweep_command():
    """Submit every theory attempt and grade every practical task whose time is up (the server also
    does this every 30 s)."""
    from exams.attempts import finalize_overdue

    from .practical.service import close_overdue_tasks

    click.echo(f"submitted {finalize_overdue(db.session)} overdue attempt(s)")
    click.echo(f"graded {close_overdue_tasks()} practical task(s) whose time was up")


def register_cli(app) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(bank_cli)
    app.cli.add_command(sweep_command)
    app.cli.add_command(seed_command)
    app.cli.add_command(setup_command)
