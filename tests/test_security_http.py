"""HTTP-level hardening: security headers (CSP with a nonce, HSTS, no-store), request size limits and odd
requests, the public certificate check, malformed input answered 400 in Chinese."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask_migrate import upgrade

from exams import attempts as exam
from simulator import config as config_module
from simulator import create_app
from simulator.auth.models import Role
from simulator.extensions import db
from simulator.sittings import service
from simulator.sittings.models import utcnow
from tests.conftest import PASSWORD
from tests.helpers import csrf_token, login

TEMPLATES_WITH_SCRIPTS = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)


def _signed_in(app, role: Role):
    client = app.test_client()
    assert login(client, f"{role.value}1", PASSWORD).status_code == 302
    return client


# ---- headers ----------------------------------------------------------------------------------------------

def test_csp_with_a_fresh_nonce_and_no_inline_handlers(app, users):
    client = _signed_in(app, Role.TRAINEE)
    first = client.get("/trainee")
    csp = first.headers["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert "object-src 'none'" in csp and "frame-ancestors 'self'" in csp and "base-uri 'self'" in csp
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    second = client.get("/trainee").headers["Content-Security-Policy"]
    assert nonce not in second, "a new nonce per response"
    # every inline <script> in a page carries the response's nonce
    for tag in TEMPLATES_WITH_SCRIPTS.findall(first.get_data(as_text=True)):
        assert f'nonce="{nonce}"' in tag, tag
    assert client.get("/login").headers.get("Content-Security-Policy")


def test_templates_have_no_inline_event_handlers_or_unnonced_scripts():
    from pathlib import Path
    root = Path(__file__).resolve().parents[1] / "templates"
    offenders = []
    for path in root.rglob("*.html"):
        text = path.read_text("utf-8")
        if re.search(r"\son[a-z]+\s*=", text) or re.search(r"javascript:", text, re.I):
            offenders.append(str(path))
        for tag in TEMPLATES_WITH_SCRIPTS.findall(text):
            if "csp_nonce()" not in tag:
                offenders.append(f"{path}: {tag}")
    assert offenders == []


def test_authenticated_pages_are_not_cached_and_hsts_only_with_secure_cookies(app, users, tmp_path):
    client = _signed_in(app, Role.TRAINEE)
    for url in ("/trainee", "/theory/", "/practical/", "/progress"):
        resp = client.get(url)
        assert resp.status_code == 200, url
        assert "no-store" in resp.headers.get("Cache-Control", ""), url
    assert "Strict-Transport-Security" not in client.get("/trainee").headers
    secure = create_app(config_module.for_tests(tmp_path / "s", SESSION_COOKIE_SECURE=True))
    (tmp_path / "s").mkdir(exist_ok=True)
    with secure.app_context():
        upgrade()
        resp = secure.test_client().get("/login", base_url="https://localhost")
        assert "max-age=" in resp.headers["Strict-Transport-Security"]
        db.session.remove()


# ---- request limits ---------------------------------------------------------------------------------------

def test_large_json_body_gets_413_in_chinese(app, users):
    client = _signed_in(app, Role.TRAINEE)
    token = csrf_token(client, "/trainee")
    body = '{"position": 0, "response": "' + "啊" * (app.config["MAX_JSON_BYTES"] // 2) + '"}'
    resp = client.post("/theory/attempts/1/answer", data=body, content_type="application/json",
                       headers={"X-CSRFToken": token})
    assert resp.status_code == 413
    assert "过大" in resp.get_json()["message"]


def test_long_host_label_is_a_400_not_a_500(client):
    for host in ("a" * 300 + ".example.com", "x" * 70 + ".localhost"):
        resp = client.get("/login", headers={"Host": host})
        assert resp.status_code == 400, host
        resp = client.get("/no-such-page", headers={"Host": host})
        assert resp.status_code == 400, host


# ---- override scores ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("points", ["sNaN", "NaN", "inf", "-Infinity", "1e999", "abc"])
def test_override_with_an_odd_number_is_refused(app, users, content, points):
    start = utcnow() - timedelta(minutes=5)
    sitting = service.create_sitting(users[Role.ASSESSOR], name="第1期", level=4, opens_at=start,
                                     closes_at=start + timedelta(hours=3))
    candidate = service.enrol(sitting, [users[Role.TRAINEE]], users[Role.ASSESSOR])[0]
    call = service.start_practical(candidate, 0, users[Role.TRAINEE])
    call.status, call.result = "finished", {"total": 50, "items": [{"id": "x", "label": "x", "points_possible": 100,
                                                                     "points_earned": 50.0}]}
    db.session.commit()
    assessor = _signed_in(app, Role.ASSESSOR)
    review = f"/sittings/{sitting.id}/candidates/{candidate.id}"
    token = csrf_token(assessor, review)
    resp = assessor.post(f"{review}/calls/{call.id}/override",
                         data={"csrf_token": token, "item_id": "x", "points": points, "reason": "复核后调整分数"})
    assert resp.status_code == 400 and "请填写 0–100 之间的分数" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert not db.session.get(type(call), call.id).overrides


# ---- /verify --------------------------------------------------------------------------------------------------

@pytest.fixture
def certified(app, users, content):
    start = utcnow() - timedelta(minutes=5)
    sitting = service.create_sitting(users[Role.ASSESSOR], name="第2期", level=4, opens_at=start,
                                     closes_at=start + timedelta(hours=3))
    users[Role.TRAINEE].display_name = "张晓明"
    candidate = service.enrol(sitting, [users[Role.TRAINEE]], users[Role.ASSESSOR])[0]
    attempt = service.start_theory(candidate)
    exam.submit(attempt)
    attempt.score, attempt.passed = 82.5, True
    for index, _ in enumerate(candidate.practical_plan):
        call = service.start_practical(candidate, index, users[Role.TRAINEE])
        call.status, call.result = "finished", {"total": 91, "items": [
            {"id": "x", "label": "x", "points_possible": 100, "points_earned": 91.0}]}
    db.session.commit()
    service.publish(sitting, users[Role.ASSESSOR])
    return candidate


def test_verify_shows_only_what_verifies_a_certificate(client, certified):
    number = certified.certificate_number
    text = client.get(f"/verify/{number}").get_data(as_text=True)
    assert "证书有效" in text and "张晓明" in text and "四级" in text
    assert certified.sitting.opens_at.strftime("%Y-%m-%d") in text
    assert "82.5" not in text and "91.0" not in text and "成绩" not in text.split("<main")[1], "no scores"
    form = client.get("/verify")
    assert form.status_code == 200 and 'name="number"' in form.get_data(as_text=True)
    typed = client.get(f"/verify?number={number.lower()}", follow_redirects=True)
    assert typed.status_code == 200 and "张晓明" in typed.get_data(as_text=True)
    assert client.get("/verify?number=HJ0000", follow_redirects=True).status_code == 404


def test_verify_is_rate_limited_per_address(app, client, certified):
    limit = app.config["VERIFY_PER_MINUTE"]
    for i in range(limit):
        assert client.get(f"/verify/HJ{i:06d}", environ_base={"REMOTE_ADDR": "10.5.5.5"}).status_code == 404
    blocked = client.get(f"/verify/{certified.certificate_number}", environ_base={"REMOTE_ADDR": "10.5.5.5"})
    assert blocked.status_code == 429 and "频繁" in blocked.get_data(as_text=True)
    other = client.get(f"/verify/{certified.certificate_number}", environ_base={"REMOTE_ADDR": "10.6.6.6"})
    assert other.status_code == 200
