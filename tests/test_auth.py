from __future__ import annotations

from datetime import timedelta

import pytest

from simulator.auth import throttle
from simulator.auth.models import Role, utcnow
from simulator.extensions import db

from .conftest import PASSWORD
from .helpers import login, submit

DASHBOARDS = {Role.TRAINEE: "/trainee", Role.ASSESSOR: "/assessor", Role.TRAINER: "/trainer", Role.ADMIN: "/admin"}


@pytest.mark.parametrize("role", list(Role))
def test_each_role_lands_on_its_dashboard(client, users, role):
    response = login(client, users[role].username, PASSWORD)
    assert response.status_code == 302
    home = client.get("/")
    assert home.status_code == 302 and home.headers["Location"].endswith(DASHBOARDS[role])
    page = client.get(DASHBOARDS[role])
    assert page.status_code == 200
    assert users[role].display_name in page.get_data(as_text=True)


def test_password_is_stored_hashed(users):
    user = users[Role.TRAINEE]
    assert PASSWORD not in user.password_hash
    assert user.password_hash.startswith(("scrypt:", "pbkdf2:"))
    assert user.check_password(PASSWORD) and not user.check_password(PASSWORD + "x")


def test_wrong_password_is_refused_without_saying_which_part(client, users):
    response = login(client, "trainee1", "wrong-password")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)
    unknown = login(client, "nobody", "wrong-password")
    assert unknown.status_code == 401
    assert client.get("/trainee").status_code == 302  # still signed out


def test_username_is_case_insensitive(client, users):
    assert login(client, "TRAINEE1", PASSWORD).status_code == 302


def test_repeated_failures_lock_the_account_then_expire(app, client, users, monkeypatch):
    now = utcnow()
    monkeypatch.setattr(throttle, "utcnow", lambda: now)
    for i in range(app.config["LOGIN_MAX_FAILURES"]):  # distinct guesses: a retyped one counts once
        assert login(client, "trainee1", f"wrong-password-{i}").status_code == 401
    locked = login(client, "trainee1", PASSWORD)  # even the right password waits
    assert locked.status_code == 429
    assert "分钟后再试" in locked.get_data(as_text=True)
    later = now + timedelta(minutes=app.config["LOGIN_LOCK_MINUTES"], seconds=1)
    monkeypatch.setattr(throttle, "utcnow", lambda: later)
    # Failures are stored with their own time; move them into the past instead of sleeping.
    for failure in throttle.LoginFailure.query.all():
        failure.at = failure.at - timedelta(minutes=app.config["LOGIN_LOCK_MINUTES"], seconds=1)
    db.session.commit()
    assert login(client, "trainee1", PASSWORD).status_code == 302


def test_success_clears_earlier_failures(app, client, users):
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        login(client, "trainee1", "wrong-password")
    assert login(client, "trainee1", PASSWORD).status_code == 302
    assert throttle.LoginFailure.query.filter_by(username="trainee1").count() == 0


def test_lock_is_per_account_name(app, client, users):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        login(client, "trainee1", "wrong-password")
    assert login(client, "assessor1", PASSWORD).status_code == 302


def test_disabled_user_cannot_log_in_and_open_sessions_end(app, client, users):
    assert login(client, "trainee1", PASSWORD).status_code == 302
    assert client.get("/trainee").status_code == 200
    users[Role.TRAINEE].disable()
    db.session.commit()
    assert client.get("/trainee").status_code == 302  # the session no longer loads a user
    response = login(client, "trainee1", PASSWORD)
    assert response.status_code == 403 and "已停用" in response.get_data(as_text=True)


def test_password_change_ends_other_sessions(app, users):
    first, second = app.test_client(), app.test_client()
    login(first, "trainee1", PASSWORD)
    login(second, "trainee1", PASSWORD)
    response = submit(first, "/account/password",
                      {"current": PASSWORD, "new": "brand-new-pass", "confirm": "brand-new-pass"})
    assert response.status_code == 302
    assert first.get("/trainee").status_code == 200  # the browser that changed it stays in
    assert second.get("/trainee").status_code == 302
    assert login(second, "trainee1", "brand-new-pass").status_code == 302


def test_change_password_validates(client, users):
    login(client, "trainee1", PASSWORD)
    wrong = submit(client, "/account/password", {"current": "nope-nope", "new": "brand-new-pass",
                                                 "confirm": "brand-new-pass"})
    assert wrong.status_code == 200 and "当前密码不正确" in wrong.get_data(as_text=True)
    short = submit(client, "/account/password", {"current": PASSWORD, "new": "short", "confirm": "short"})
    assert "至少 8 位" in short.get_data(as_text=True)
    mismatch = submit(client, "/account/password", {"current": PASSWORD, "new": "brand-new-pass",
                                                    "confirm": "brand-new-pazz"})
    assert "不一致" in mismatch.get_data(as_text=True)


def test_temporary_password_forces_a_change_first(client, make_user):
    user = make_user("newbie")
    user.set_password("temporary-pw", temporary=True)
    db.session.commit()
    response = login(client, "newbie", "temporary-pw")
    assert response.headers["Location"].endswith("/account/password")
    assert client.get("/trainee").headers["Location"].endswith("/account/password")
    submit(client, "/account/password", {"current": "temporary-pw", "new": "my-own-password",
                                         "confirm": "my-own-password"})
    assert client.get("/trainee").status_code == 200


def test_login_redirects_only_to_same_site_next(client, users):
    ok = login(client, "trainee1", PASSWORD, form_url="/login?next=/trainee", query_string={"next": "/trainee"})
    assert ok.headers["Location"].endswith("/trainee")
    client.post("/logout", data={"csrf_token": _token(client)})
    evil = login(client, "trainee1", PASSWORD, query_string={"next": "https://evil.example/x"})
    assert "evil.example" not in evil.headers["Location"]
    client.post("/logout", data={"csrf_token": _token(client)})
    evil2 = login(client, "trainee1", PASSWORD, query_string={"next": "//evil.example/x"})
    assert "evil.example" not in evil2.headers["Location"]


def _token(client):
    from .helpers import csrf_token
    return csrf_token(client, "/trainee")


def test_logout_needs_post_with_csrf(client, users):
    login(client, "trainee1", PASSWORD)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no token
    assert client.get("/trainee").status_code == 200
    assert client.post("/logout", data={"csrf_token": _token(client)}).status_code == 302
    assert client.get("/trainee").status_code == 302


def test_session_cookie_flags(client, users):
    response = login(client, "trainee1", PASSWORD)
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_secure_cookie_flag_follows_configuration(tmp_path, monkeypatch):
    from simulator import config as config_module
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "1")
    settings = config_module.from_env(tmp_path)
    assert settings["SESSION_COOKIE_SECURE"] is True and settings["REMEMBER_COOKIE_SECURE"] is True
