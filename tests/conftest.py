from __future__ import annotations

import copy
import itertools
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from flask.testing import FlaskClient
from flask_migrate import upgrade

from exams import bank_io
from scenarios import from_data as scenario_from_data
from simulator import config as config_module
from simulator import create_app
from simulator.auth.models import Role, User
from simulator.extensions import db
from simulator.practical.library import add_version
from simulator.sittings import service
from simulator.sittings.models import utcnow
from tests.bank_factory import write_bank

PASSWORD = "correct-horse-1"


class IsolatedClient(FlaskClient):
    """Each request gets its own app context (fresh ``g`` and DB session), as in production.

    Without this, requests would share the test's app context, and Flask-Login's per-context
    user cache would leak from one client to another.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


# Test modules that write the database run once on SQLite and once on a real PostgreSQL server
# (tests/pgcluster.py). Speech-model-heavy modules stay on SQLite only: what they test is not SQL.
BOTH_DATABASES = {
    "test_theory_web", "test_theory_engine", "test_theory_concurrency", "test_sittings", "test_lockdown",
    "test_auth", "test_admin_users", "test_progress", "test_practical_web", "test_cli_and_setup",
    "test_authoring_web", "test_exams_standalone", "test_enemy_groups",
    "test_difficulty_from_data", "test_theory_feedback_web", "test_calibration",
    "test_assessor_pages", "test_attitude_decisions",
    "test_certificate", "test_appeals", "test_trainee_pages",
}
TEMPLATE_DB = "migrated_template"
_numbers = itertools.count(1)


# Modules whose tests load a speech model or play calls in real time (marked ``slow``; see pytest.ini).
SLOW_MODULES = {"test_asr_whisper", "test_asr_vosk", "test_closed_loop", "test_live_call_turn_taking",
                "test_live_call_durability", "test_softphone_voice", "test_practical_device", "test_practical_runtime"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.module is not None and item.module.__name__.rsplit(".", 1)[-1] in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
        elif "browser" in item.keywords:
            item.add_marker(pytest.mark.slow)


def pytest_generate_tests(metafunc):
    module = metafunc.module.__name__.rpartition(".")[2]
    if "database" in metafunc.fixturenames and module in BOTH_DATABASES:
        metafunc.parametrize("database", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture(scope="session")
def pg_cluster():
    """One PostgreSQL server for the whole run, started on first use. The migrations run once into a
    template database that every test clones. If PostgreSQL cannot start, the tests fail (never skip)."""
    from tests.pgcluster import Cluster

    cluster = Cluster()
    try:
        cluster.start()
        url = cluster.create_database(TEMPLATE_DB)
        template_app = create_app(config_module.for_tests(cluster.root, SQLALCHEMY_DATABASE_URI=url))
        with template_app.app_context():
            upgrade()
            db.session.remove()
            db.engine.dispose()     # a template must have no open connections to be cloned
    except Exception as exc:
        cluster.stop()
        pytest.fail(f"PostgreSQL test server could not be started: {exc}", pytrace=False)
    yield cluster
    cluster.stop()


@pytest.fixture
def database(request, monkeypatch):
    """The database backend of this test: "sqlite" (default) or "postgresql" (a fresh database cloned
    from the migrated template). ``config.for_tests`` follows TEST_DATABASE_URL, so apps a test builds
    itself (e.g. a "restarted" server) use the same database."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        monkeypatch.delenv("TEST_DATABASE_URL", raising=False)
        yield backend
        return
    cluster = request.getfixturevalue("pg_cluster")
    name = f"t{next(_numbers)}"
    monkeypatch.setenv("TEST_DATABASE_URL", cluster.create_database(name, template=TEMPLATE_DB))
    yield backend
    cluster.drop_database(name)


@pytest.fixture
def app(tmp_path, database):
    app = create_app(config_module.for_tests(tmp_path))
    app.test_client_class = IsolatedClient
    with app.app_context():
        upgrade()  # the real migrations, as production runs them (on PostgreSQL: already in the template)
        yield app
        registry = app.extensions.get("practical_calls")
        if registry is not None:       # no call thread of this app outlives it (nor its database)
            registry.shutdown()
        db.session.remove()
        db.engine.dispose()


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


# ---- certification content shared by the sitting, lockdown, progress and security tests -------------

FIXTURES = Path(__file__).resolve().parent / "data" / "scenarios"


def scenario_fixture(name: str) -> dict:
    """A scenario of tests/data/scenarios as data."""
    return yaml.safe_load((FIXTURES / f"{name}.yaml").read_text("utf-8"))


@pytest.fixture(scope="module")
def bank_dir(tmp_path_factory):
    return write_bank(tmp_path_factory.mktemp("bank"), extra=1)


@pytest.fixture
def content(app, bank_dir):
    """A theory bank and the level-4 practical pool: two calls (one of level 4), a review, a typing task."""
    bank_io.sync_from_files(db.session, bank_dir)
    call = scenario_fixture("runtime-lookup")
    call4 = copy.deepcopy(call)
    call4.update(id="test-runtime-lookup-4", level=4, title="话费查询（四级）")
    others = [scenario_fixture(name) for name in ("review-fixture", "typing-fixture", "case-fixture")]
    for data in (call, call4, *others):
        add_version(scenario_from_data(data, name=data["id"]))
    db.session.commit()


@pytest.fixture
def sitting(app, users, content):
    start = utcnow() - timedelta(minutes=5)
    return service.create_sitting(users[Role.ASSESSOR], name="2026年第4期四级鉴定", level=4, opens_at=start,
                                  closes_at=start + timedelta(hours=3), access_code="8848")


def publish_with_candidate(users, sitting, name: str, item_label: str = "规范"):
    """Enrol the trainee as ``name``, pass the theory paper (82) and every practical task (90, one item
    labelled ``item_label``), publish the sitting and return the candidate."""
    from exams import attempts as exam
    from simulator.sittings.models import SittingCandidate

    trainee = users[Role.TRAINEE]
    trainee.display_name = name
    candidate = service.enrol(sitting, [trainee], users[Role.ASSESSOR])[0]
    attempt = service.start_theory(candidate)
    exam.submit(attempt)
    attempt.score, attempt.passed = 82.0, True
    for index, _ in enumerate(candidate.practical_plan):
        call = service.start_practical(candidate, index, trainee)
        call.status, call.result = "finished", {"total": 90, "items": [
            {"id": "x", "label": item_label, "points_possible": 100, "points_earned": 90.0}]}
    db.session.commit()
    service.publish(sitting, users[Role.ASSESSOR])
    return db.session.get(SittingCandidate, candidate.id)
