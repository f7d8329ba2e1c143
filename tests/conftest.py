from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from flask_migrate import upgrade

from simulator import config as config_module
from simulator import create_app
from simulator.auth.models import Role, User
from simulator.extensions import db

PASSWORD = "correct-horse-1"


class IsolatedClient(FlaskClient):
    """Each request gets its own app context (fresh ``g`` and DB session), as in production.

    Without this, requests would share the test's app context, and Flask-Login's per-context
    user cache would leak from one client to another.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def app(tmp_path):
    app = create_app(config_module.for_tests(tmp_path))
    app.test_client_class = IsolatedClient
    with app.app_context():
        upgrade()  # the real migrations, as production runs them
        yield app
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_user(app):
    def make(username: str, role: Role = Role.TRAINEE, password: str = PASSWORD, **fields) -> User:
        user = User(username=username, display_name=fields.pop("display_name", username), role=Role(role).value,
                    **fields)
        user.set_password(password)
        db.session.add(user)
        db.session.commit()
        return user
    return make


@pytest.fixture
def users(make_user):
    """One account per role."""
    return {role: make_user(f"{role.value}1", role) for role in Role}
