"""A tour of each role's main pages in a real browser: every page opens, speaks Chinese, shows no
internals (raw ids, Python reprs, English framework messages), and leaves a screenshot in
test-artifacts/screenshots/ (kept by CI) so a reviewer can look at the product without running it."""
from __future__ import annotations

import re

import pytest

from .conftest import ARTIFACTS, sign_in

pytestmark = pytest.mark.browser

SHOTS = ARTIFACTS / "screenshots"
TOUR = {
    "trainee": ("trainee123", ["/trainee", "/theory/", "/practical/", "/progress", "/my/sittings",
                               "/practical/device"]),
    "assessor": ("assessor123", ["/assessor", "/sittings/", "/sittings/new", "/analytics"]),
    "trainer": ("trainer123", ["/trainer", "/bank/", "/bank/new", "/bank/analysis", "/bank/import", "/scenarios/",
                               "/scenarios/new", "/scenarios/import", "/scenarios/l4-transfer-success"]),
    "admin": ("admin1234", ["/admin", "/admin/users", "/admin/users/new", "/admin/users/import"]),
}
# What a page must never show its user: Python reprs and values, raw English framework text, the
# repository's file names.
INTERNALS = re.compile(r"Traceback|\bNone\b|\[\'|\'\]|<class |Internal Server Error|This field is required"
                       r"|docs/[\w-]+\.md|[\w-]+/[\w-]+\.ya?ml\b")


@pytest.mark.parametrize("role", list(TOUR))
def test_each_roles_main_pages_open_cleanly_and_are_captured(page, live_server, role):
    password, paths = TOUR[role]
    sign_in(page, live_server, role, password)
    page.wait_for_url(f"{live_server}/{role}")
    SHOTS.mkdir(parents=True, exist_ok=True)
    for path in paths:
        response = page.goto(live_server + path)
        assert response is not None and response.status == 200, f"{role} {path}: {response and response.status}"
        body = page.inner_text("body")
        assert re.search(r"[\u4e00-\u9fff]", body), f"{path} shows no Chinese text"
        leak = INTERNALS.search(body)
        assert not leak, f"{role} {path} shows internals: {leak.group(0)!r}"
        assert page.locator("html[lang^=zh]").count() == 1, f"{path} is not marked as Chinese"
        name = path.strip("/").replace("/", "-") or "home"
        page.screenshot(path=str(SHOTS / f"{role}-{name}.png"), full_page=True)
