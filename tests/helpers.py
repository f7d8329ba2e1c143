"""Small helpers shared by the tests: real forms, real CSRF tokens."""
from __future__ import annotations

import json
import re

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client, url: str) -> str:
    page = client.get(url)
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {url} (status {page.status_code})"
    return match.group(1)


def submit(client, url: str, data: dict, *, form_url: str | None = None, **kwargs):
    """POST ``data`` to ``url`` with the CSRF token of the form shown at ``form_url`` (default: url)."""
    payload = dict(data)
    payload["csrf_token"] = csrf_token(client, form_url or url)
    return client.post(url, data=payload, **kwargs)


def login(client, username: str, password: str, **kwargs):
    return submit(client, "/login", {"username": username, "password": password}, **kwargs)


# The token the paper's JavaScript sends with its API calls (the page's <meta>, not a form field).
META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def signed_in(app, user):
    """A new client of ``app`` signed in as ``user`` (made with the tests' shared password)."""
    from tests.conftest import PASSWORD

    client = app.test_client()
    login(client, user.username, PASSWORD)
    return client


def start_mock(client, level=5):
    """Start a mock theory paper from the theory page; returns its URL, its page and its API token."""
    resp = submit(client, "/theory/start/mock", {"level": str(level)}, form_url="/theory/")
    assert resp.status_code == 302
    attempt_url = resp.headers["Location"]
    page = client.get(attempt_url)
    assert page.status_code == 200
    token = META_CSRF.search(page.get_data(as_text=True)).group(1)
    return attempt_url, page, token


def post_json(client, url, body, token):
    return client.post(url, data=json.dumps(body), content_type="application/json",
                       headers={"X-CSRFToken": token, "Accept": "application/json"})


def pass_device_check(client, cache_dir) -> str:
    """Pass the microphone check the way the page does: upload a spoken sentence (the product voice)
    to the check's route, which recognises it with the product ASR. Returns the recognised text."""
    from softphone_sim import render_line

    page = client.get("/practical/device").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    line = render_line("您好，很高兴为您服务。", persona="calm", cache_dir=cache_dir)
    with open(line.path, "rb") as fh:
        resp = client.post("/practical/device/test", headers={"X-CSRFToken": token},
                           data={"audio": (fh, "device-test.wav")}, content_type="multipart/form-data")
    assert resp.status_code == 200 and resp.get_json()["passed"], resp.get_data(as_text=True)
    return resp.get_json()["text"]
