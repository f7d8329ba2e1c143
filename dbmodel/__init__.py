"""The one SQLAlchemy declarative base of the project, free of Flask.

Domain packages (``exams``) declare their tables on ``Base`` and take a ``Session`` from their
caller, so they import and run without the web app. The web app's Flask-SQLAlchemy is built on this
base (``SQLAlchemy(model_class=Base)``), so its ``db.Model`` shares this registry and ``metadata``:
every table lives in one metadata (Alembic autogenerate sees them all) and relationships resolve by
class name across both.
"""
from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints keep Alembic migrations portable between SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
