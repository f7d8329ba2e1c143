"""Scenario authoring in a real browser: an empty required field is refused with its own Chinese
message (static/js/app.js under the page's CSP), not the browser's English tooltip, and
「只检查不保存」 checks the new-scenario form without saving it."""
from __future__ import annotations

import re

import pytest

from .conftest import sign_in

pytestmark = pytest.mark.browser

# As the role tour: Python reprs, English framework text, repository file names.
INTERNALS = re.compile(r"Traceback|\bNone\b|\[\'|\'\]|<class |Internal Server Error|This field is required"
                       r"|docs/[\w-]+\.md|[\w-]+/[\w-]+\.ya?ml\b")


def test_required_fields_speak_chinese_and_check_only_saves_nothing(page, live_server):
    sign_in(page, live_server, "trainer", "trainer123")
    page.goto(live_server + "/scenarios/new")
    page.fill("#n-title", "")
    page.click("#n-save_fields")
    assert page.url == live_server + "/scenarios/new", "the browser kept the form"
    assert page.eval_on_selector("#n-title", "el => el.validationMessage") == "请填写标题"
    page.fill("#n-title", "浏览器里写的场景")
    assert page.eval_on_selector("#n-title", "el => el.validationMessage") == "", "typing clears it"
    page.fill("#n-id", "l5-browser-checked")
    with page.expect_navigation():
        page.click("#n-check_fields")
    assert "检查通过" in page.inner_text("body")
    assert page.input_value("#n-title") == "浏览器里写的场景", "the form keeps what was typed"
    assert page.eval_on_selector("#n-brief", "el => getComputedStyle(el).fontFamily") == \
        page.eval_on_selector("body", "el => getComputedStyle(el).fontFamily"), "textareas use the page font"
    assert page.goto(live_server + "/scenarios/l5-browser-checked").status == 404, "nothing was saved"


def test_help_and_edit_pages_show_no_internals(page, live_server):
    sign_in(page, live_server, "trainer", "trainer123")
    for path in ("/scenarios/help", "/scenarios/l4-transfer-success/edit"):
        response = page.goto(live_server + path)
        assert response is not None and response.status == 200, path
        leak = INTERNALS.search(page.inner_text("body"))
        assert not leak, f"{path} shows internals: {leak.group(0)!r}"
    assert page.input_value("#f-line") and page.eval_on_selector(
        "#f-line", "el => el.options[el.selectedIndex].text") == "正常线路"
