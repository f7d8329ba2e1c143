from __future__ import annotations

import pytest
from flask import Blueprint

from simulator import config as config_module
from simulator import create_app
from simulator.auth.access import PUBLIC, access_rule, roles_required
from simulator.auth.models import Role

from .conftest import PASSWORD
from .helpers import login

# Endpoints anyone may open. Every other endpoint must require a sign-in.
EXPECTED_PUBLIC = {"auth.login", "main.index", "main.healthz", "sittings.verify", "sittings.verify_form"}


def test_every_endpoint_declares_who_may_open_it(app):
    undeclared = [name for name, view in app.view_functions.items()
                  if name != "static" and access_rule(view) is None]
    assert undeclared == []


def test_only_the_expected_endpoints_are_public(app):
    public = {name for name, view in app.view_functions.items() if access_rule(view) == PUBLIC}
    assert public == EXPECTED_PUBLIC


def test_a_view_without_a_declaration_is_refused(tmp_path):
    app = create_app(config_module.for_tests(tmp_path))
    forgotten = Blueprint("forgotten", __name__)

    @forgotten.route("/forgotten")
    def page():
        return "secret"

    app.register_blueprint(forgotten)
    response = app.test_client().get("/forgotten")
    assert response.status_code == 403
    assert b"secret" not in response.data


ROLE_PAGES = {
    "/trainee": {Role.TRAINEE},
    "/assessor": {Role.ASSESSOR},
    "/trainer": {Role.TRAINER},
    "/admin": {Role.ADMIN},
    "/admin/users": {Role.ADMIN},
    "/admin/users/new": {Role.ADMIN},
    "/admin/users/import": {Role.ADMIN},
    "/admin/users/import/template.xlsx": {Role.ADMIN},
}


@pytest.mark.parametrize("role", list(Role))
def test_role_pages_allow_exactly_their_roles(app, users, role):
    client = app.test_client()
    login(client, users[role].username, PASSWORD)
    for path, allowed in ROLE_PAGES.items():
        status = client.get(path).status_code
        if role in allowed:
            assert status == 200, (role, path, status)
        else:
            assert status == 403, (role, path, status)


def test_forbidden_page_is_friendly_chinese(client, users):
    login(client, "trainee1", PASSWORD)
    response = client.get("/assessor")
    assert response.status_code == 403
    assert "没有权限" in response.get_data(as_text=True)


def test_anonymous_users_are_sent_to_login(client):
    for path in ROLE_PAGES:
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_anonymous_api_calls_get_401_json(client):
    response = client.get("/admin/users", headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert response.get_json()["status"] == 401


def test_roles_required_rejects_empty_role_list():
    with pytest.raises(ValueError):
        roles_required()
