"""Small helpers shared by the tests: real forms, real CSRF tokens."""
from __future__ import annotations

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
