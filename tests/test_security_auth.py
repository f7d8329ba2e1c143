"""Accounts under attack: login throttling per (account, address) behind a trusted proxy, parallel
guesses counted atomically, no username timing oracle, sessions that end on logout, forced password
change for seeded accounts."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from flask_migrate import upgrade

from simulator import config as config_module
from simulator import create_app
from simulator.auth import models as auth_models
from simulator.auth import throttle
from simulator.auth.models import Role, User, utcnow
from simulator.extensions import db
from simulator.seeding import DEMO_ACCOUNTS, seed_all
from tests.conftest import PASSWORD, IsolatedClient
from tests.helpers import CSRF_RE, csrf_token, login, submit

A, B = "10.1.0.1", "10.2.0.2"


@pytest.fixture
def verifications(monkeypatch):
    """Counts real password-hash verifications (the real function still runs)."""
    calls = []
    lock = threading.Lock()
    real = auth_models.check_password_hash

    def counting(pwhash, password):
        with lock:
            calls.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr(auth_models, "check_password_hash", counting)
    return calls


def _login_from(client, address, username, password, headers=None):
    return login(client, username, password, environ_base={"REMOTE_ADDR": address}, headers=headers or {})


# ---- username timing ----------------------------------------------------------------------------------

def test_unknown_username_costs_one_hash_check_like_a_known_one(client, users, verifications):
    assert login(client, "nobody-here", "wrong-password").status_code == 401
    assert len(verifications) == 1, "an unknown name is checked against a dummy hash"
    assert login(client, "trainee1", "wrong-password").status_code == 401
    assert len(verifications) == 2
    assert verifications[0].split("$")[0] == verifications[1].split("$")[0], "same hash method and cost"


# ---- throttling -----------------------------------------------------------------------------------------

def test_failures_lock_only_the_attacking_address_for_that_account(app, users):
    attacker, owner = app.test_client(), app.test_client()
    for i in range(app.config["LOGIN_MAX_FAILURES"]):
        assert _login_from(attacker, A, "trainee1", f"guess-{i}").status_code == 401
    locked = _login_from(attacker, A, "trainee1", PASSWORD)
    assert locked.status_code == 429 and "分钟后再试" in locked.get_data(as_text=True)
    assert _login_from(owner, B, "trainee1", PASSWORD).status_code == 302, "the owner elsewhere is not locked out"
    assert _login_from(app.test_client(), A, "assessor1", PASSWORD).status_code == 302, \
        "other accounts from the attacking address still sign in"


def test_retyping_the_same_wrong_password_counts_once(app, users):
    client = app.test_client()
    for _ in range(app.config["LOGIN_MAX_FAILURES"] * 2):
        assert _login_from(client, A, "trainee1", "my-old-password").status_code == 401
    assert _login_from(client, A, "trainee1", PASSWORD).status_code == 302


def test_spraying_from_one_address_does_not_lock_unattacked_accounts(app, users, verifications):
    sprayer = app.test_client()
    per_ip = app.config["LOGIN_MAX_FAILURES_PER_IP"]
    for i in range(per_ip + 10):
        assert _login_from(sprayer, A, f"user{i:03d}", "Password1").status_code == 401
    # the admin in the same exam room (same NAT address) signs in with the right password
    assert _login_from(app.test_client(), A, "admin1", PASSWORD).status_code == 302
    # but an account already guessed at from this hot address gets no second guess from it
    assert _login_from(sprayer, A, "trainee1", "Password1").status_code == 401
    checked = len(verifications)
    assert _login_from(sprayer, A, "trainee1", "Password2").status_code == 429
    assert len(verifications) == checked, "a locked attempt is refused before any password is checked"
    assert _login_from(app.test_client(), B, "trainee1", PASSWORD).status_code == 302


def test_a_browser_that_signed_in_before_is_not_locked_out_by_a_neighbour(app, users):
    owner = app.test_client()
    assert _login_from(owner, A, "trainee1", PASSWORD).status_code == 302
    page = owner.get("/trainee", environ_base={"REMOTE_ADDR": A}).get_data(as_text=True)
    token = CSRF_RE.search(page).group(1)
    assert owner.post("/logout", data={"csrf_token": token}, environ_base={"REMOTE_ADDR": A}).status_code == 302
    attacker = app.test_client()  # same exam-room NAT address
    for i in range(app.config["LOGIN_MAX_FAILURES"]):
        assert _login_from(attacker, A, "trainee1", f"guess-{i}").status_code == 401
    assert _login_from(attacker, A, "trainee1", PASSWORD).status_code == 429
    forged = app.test_client()
    forged.set_cookie("device", "W1sidHJhaW5lZTEiLCJ4eXoiXV0.forged", path="/login")
    assert _login_from(forged, A, "trainee1", PASSWORD).status_code == 429, "a forged device cookie is ignored"
    assert _login_from(owner, A, "trainee1", PASSWORD).status_code == 302, "the owner's own browser still signs in"


def test_lock_expires_after_the_lock_time(app, users, monkeypatch):
    now = utcnow()
    monkeypatch.setattr(throttle, "utcnow", lambda: now)
    client = app.test_client()
    for i in range(app.config["LOGIN_MAX_FAILURES"]):
        _login_from(client, A, "trainee1", f"guess-{i}")
    assert _login_from(client, A, "trainee1", PASSWORD).status_code == 429
    later = now + timedelta(minutes=app.config["LOGIN_LOCK_MINUTES"], seconds=1)
    monkeypatch.setattr(throttle, "utcnow", lambda: later)
    assert _login_from(client, A, "trainee1", PASSWORD).status_code == 302


def test_parallel_guesses_are_counted_atomically(app, users, verifications):
    limit = app.config["LOGIN_MAX_FAILURES"]
    clients = [app.test_client() for _ in range(20)]
    tokens = [csrf_token(c, "/login") for c in clients]
    start = threading.Barrier(len(clients))
    statuses = []

    def guess(i):
        start.wait()
        resp = clients[i].post("/login", data={"username": "trainee1", "password": f"parallel-{i}",
                                               "csrf_token": tokens[i]}, environ_base={"REMOTE_ADDR": A})
        statuses.append(resp.status_code)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(statuses) == 20 and set(statuses) <= {401, 429}, statuses
    assert len(verifications) <= limit, f"{len(verifications)} passwords checked, limit {limit}"
    assert statuses.count(401) == len(verifications)


@pytest.fixture
def proxied_app(tmp_path):
    app = create_app(config_module.for_tests(tmp_path, TRUSTED_PROXIES=1))
    app.test_client_class = IsolatedClient
    with app.app_context():
        upgrade()
        user = User(username="trainee1", display_name="t", role=Role.TRAINEE.value)
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
        yield app
        db.session.remove()


def test_behind_a_trusted_proxy_each_client_address_counts_separately(proxied_app):
    app = proxied_app
    proxy = "192.168.0.1"
    attacker = app.test_client()
    for i in range(app.config["LOGIN_MAX_FAILURES"]):
        assert _login_from(attacker, proxy, "trainee1", f"guess-{i}", {"X-Forwarded-For": A}).status_code == 401
    assert _login_from(attacker, proxy, "trainee1", PASSWORD, {"X-Forwarded-For": A}).status_code == 429
    assert _login_from(app.test_client(), proxy, "trainee1", PASSWORD, {"X-Forwarded-For": B}).status_code == 302


def test_without_trusted_proxies_forwarded_for_is_ignored(app, users):
    client = app.test_client()
    for i in range(app.config["LOGIN_MAX_FAILURES"]):
        # a client that invents a new X-Forwarded-For per guess still shares its real address's counter
        _login_from(client, A, "trainee1", f"guess-{i}", {"X-Forwarded-For": f"10.9.9.{i}"})
    assert _login_from(client, A, "trainee1", PASSWORD, {"X-Forwarded-For": "10.9.9.99"}).status_code == 429


def test_trusted_proxies_setting_is_read_from_the_environment(tmp_path):
    assert config_module.from_env(tmp_path, env={"SECRET_KEY": "x"})["TRUSTED_PROXIES"] == 0
    assert config_module.from_env(tmp_path, env={"SECRET_KEY": "x", "TRUSTED_PROXIES": "2"})["TRUSTED_PROXIES"] == 2


# ---- sessions ---------------------------------------------------------------------------------------------

def _cookie(client):
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def test_session_cookie_is_dead_after_logout_but_other_devices_stay(app, users):
    laptop, phone = app.test_client(), app.test_client()
    assert login(laptop, "trainee1", PASSWORD).status_code == 302
    assert login(phone, "trainee1", PASSWORD).status_code == 302
    assert laptop.get("/trainee").status_code == 200
    stolen = _cookie(laptop)
    token = csrf_token(laptop, "/trainee")
    assert laptop.post("/logout", data={"csrf_token": token}).status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    resp = replay.get("/trainee")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"], "the old cookie no longer signs in"
    assert phone.get("/trainee").status_code == 200, "the other device stays signed in"


def test_remember_cookie_is_dead_after_logout(app, users):
    client = app.test_client()
    submit(client, "/login", {"username": "trainee1", "password": PASSWORD, "remember": "y"}, form_url="/login")
    remember = client.get_cookie("remember_token")
    assert remember is not None
    token = csrf_token(client, "/trainee")
    client.post("/logout", data={"csrf_token": token})
    replay = app.test_client()
    replay.set_cookie("remember_token", remember.value)
    assert replay.get("/trainee").status_code == 302


# ---- seeded accounts -------------------------------------------------------------------------------------

def test_seeded_demo_accounts_must_change_their_published_password(app):
    seed_all(app, demo=True)
    demo = next(d for d in DEMO_ACCOUNTS if d.role == Role.ADMIN)
    client = app.test_client()
    resp = login(client, demo.username, demo.password)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/account/password")
    for url in ("/admin", "/admin/users", "/"):
        r = client.get(url)
        assert r.status_code == 302 and r.headers["Location"].endswith("/account/password"), url
    # CSRF is required
    assert client.post("/account/password", data={"current": demo.password, "new": "x" * 12,
                                                  "confirm": "x" * 12}).status_code == 400
    bad = submit(client, "/account/password", {"current": demo.password, "new": demo.username + "-2026!",
                                               "confirm": demo.username + "-2026!"})
    assert bad.status_code == 200 and "用户名" in bad.get_data(as_text=True)
    other_demo = next(d for d in DEMO_ACCOUNTS if d.role == Role.TRAINEE).password
    bad = submit(client, "/account/password", {"current": demo.password, "new": other_demo, "confirm": other_demo})
    assert "公开" in bad.get_data(as_text=True)
    ok = submit(client, "/account/password", {"current": demo.password, "new": "N3w-pass-2026",
                                              "confirm": "N3w-pass-2026"})
    assert ok.status_code == 302
    assert client.get("/admin").status_code == 200


def test_production_setting_seeds_no_accounts(tmp_path):
    app = create_app(config_module.for_tests(tmp_path, **{
        k: v for k, v in config_module.from_env(tmp_path, env={"SECRET_KEY": "x", "SEED_DEMO_ACCOUNTS": "0"}).items()
        if k == "SEED_DEMO_ACCOUNTS"}))
    with app.app_context():
        upgrade()
        report = seed_all(app)
        assert report["demo_accounts"] == [] and db.session.query(User).count() == 0
        db.session.remove()
