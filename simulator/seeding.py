"""Seed the database: demo accounts (one per role) and content from the project's data files."""
from __future__ import annotations

from dataclasses import dataclass

from .auth.models import Role, User
from .extensions import db


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    display_name: str
    role: Role


# Documented in the README; disable with SEED_DEMO_ACCOUNTS=0 for a real deployment. Their passwords are
# published, so each must be changed at its first login (must_change_password).
DEMO_ACCOUNTS = (
    DemoAccount("trainee", "trainee123", "演示学员", Role.TRAINEE),
    DemoAccount("assessor", "assessor123", "演示考评员", Role.ASSESSOR),
    DemoAccount("trainer", "trainer123", "演示培训师", Role.TRAINER),
    DemoAccount("admin", "admin1234", "系统管理员", Role.ADMIN),
)


def seed_demo_accounts() -> list[str]:
    """Create the demo accounts that do not exist yet; never touches an existing account."""
    created = []
    for demo in DEMO_ACCOUNTS:
        if db.session.query(User.id).filter_by(username=demo.username).first():
            continue
        user = User(username=demo.username, display_name=demo.display_name, role=demo.role.value,
                    organisation="演示单位")
        user.set_password(demo.password, temporary=True)
        db.session.add(user)
        created.append(demo.username)
    db.session.commit()
    return created


def seed_question_bank(app) -> dict:
    """Load exams/bank/*.yaml. An invalid bank is refused as a whole (logged), never half-loaded."""
    from exams import bank_io

    try:
        return bank_io.sync_from_files(db.session).as_dict()
    except bank_io.ImportRejected as exc:
        for problem in exc.problems[:20]:
            app.logger.error("question bank: %s", problem)
        return {"rejected": len(exc.problems)}


def seed_scenarios(app) -> dict:
    """Load scenarios/library/ into versioned rows; a file that does not validate is refused (logged)."""
    from .practical.library import sync_library

    report = sync_library()
    for problem in report.pop("problems", [])[:50]:
        app.logger.error("scenario library: %s", problem)
    return report


def seed_all(app, *, demo: bool | None = None) -> dict:
    """Everything ``run.py`` and ``flask seed`` load; idempotent."""
    demo = app.config["SEED_DEMO_ACCOUNTS"] if demo is None else demo
    report = {"demo_accounts": seed_demo_accounts() if demo else [],
              "question_bank": seed_question_bank(app),
              "scenarios": seed_scenarios(app)}
    return report
