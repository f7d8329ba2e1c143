"""A trainee sits a mock theory paper in Chromium: answers, closes the page, returns, submits."""
from __future__ import annotations

import re

import pytest

from .conftest import sign_in

pytestmark = pytest.mark.browser


def test_mock_paper_survives_closing_the_page_and_shows_the_breakdown(browser, live_server):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    sign_in(page, live_server, "trainee", "trainee123")
    page.wait_for_url(f"{live_server}/trainee")
    page.get_by_role("link", name="理论考试与练习", exact=True).click()
    page.select_option("[data-testid=mock-form] select[name=level]", "5")
    page.click("[data-testid=mock-form] button[type=submit]")
    page.wait_for_url(re.compile(r".*/theory/attempts/\d+$"))
    attempt_url = page.url
    assert re.match(r"剩余 \d\d:\d\d", page.text_content("[data-testid=timer]").strip())

    chosen = {}
    for number in range(1, 8):
        question = page.locator(f"[data-testid=question-{number}]")
        option = question.locator(".options input").nth(number % 2)
        option.check()
        chosen[number] = option.get_attribute("value")
        page.wait_for_function("() => document.getElementById('save-state').textContent === '已保存'")
    page.locator("[data-testid=question-3] .flag").check()
    page.wait_for_function("() => document.getElementById('save-state').textContent === '已保存'")
    assert page.text_content("[data-testid=answered-count]") == "7"
    page.close()                                   # the candidate closes the tab mid-exam

    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(live_server + "/theory/")
    page.get_by_role("link", name="继续作答", exact=True).click()
    page.wait_for_url(attempt_url)
    assert page.text_content("[data-testid=answered-count]") == "7"
    for number, value in chosen.items():
        checked = page.locator(f"[data-testid=question-{number}] .options input:checked")
        assert checked.count() == 1 and checked.get_attribute("value") == value
    assert "flagged" in page.get_attribute("[data-testid=palette-3]", "class")
    assert "answered" in page.get_attribute("[data-testid=palette-1]", "class")
    assert "answered" not in page.get_attribute("[data-testid=palette-20]", "class")

    page.click("[data-testid=open-submit]")
    note = page.text_content("#unanswered-note")
    assert "还有 93 道题未作答" in note and "第 8、9、10" in note
    page.click("[data-testid=confirm-submit]")
    page.wait_for_url(attempt_url + "/result")
    score = float(page.text_content("[data-testid=theory-score]").replace("分", "").strip())
    assert 0 <= score <= 7
    assert "不合格" in page.text_content("[data-testid=theory-verdict]")
    rows = page.locator("[data-testid=area-breakdown] tbody tr")
    assert rows.count() == 11                      # every level-5 knowledge area
    assert "服务礼仪与规范用语" in page.text_content("[data-testid=area-breakdown]")
    page.screenshot(path="test-artifacts/theory_result.png", full_page=True)
    context.close()


def test_two_tabs_the_stale_tab_shows_the_current_answer_and_can_answer_again(browser, live_server):
    """The server orders answers: a tab that did not see the other tab's answer is told, shown the
    stored answer, and its next answer (from that revision) is saved."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    tab_a = context.new_page()
    tab_a.set_default_timeout(15000)
    sign_in(tab_a, live_server, "trainee", "trainee123")
    tab_a.goto(live_server + "/theory/")
    tab_a.select_option("[data-testid=practice-form] select[name=level]", "5")
    tab_a.fill("[data-testid=practice-form] input[name=count]", "10")
    tab_a.click("[data-testid=practice-form] button[type=submit]")
    tab_a.wait_for_url(re.compile(r".*/theory/attempts/\d+$"))
    tab_b = context.new_page()
    tab_b.set_default_timeout(15000)
    tab_b.goto(tab_a.url)                          # both tabs show question 1 unanswered
    saved = "() => document.getElementById('save-state').textContent === '已保存'"

    q1_a = tab_a.locator("[data-testid=question-1] .options input")
    first = q1_a.nth(0).get_attribute("value")
    q1_a.nth(0).check()
    tab_a.wait_for_function(saved)

    q1_b = tab_b.locator("[data-testid=question-1] .options input")
    q1_b.nth(1).check()                            # from the stale view
    conflict = tab_b.locator("[data-testid=question-1] .conflict")
    conflict.wait_for()
    assert "另一窗口" in conflict.text_content() and "已按最新答案显示" in conflict.text_content()
    checked = tab_b.locator("[data-testid=question-1] .options input:checked")
    assert checked.count() == 1 and checked.get_attribute("value") == first

    q1_b.nth(1).check()                            # the candidate answers again, now from the current answer
    tab_b.wait_for_function(saved)
    assert tab_b.locator("[data-testid=question-1] .conflict").count() == 0
    tab_a.reload()
    checked = tab_a.locator("[data-testid=question-1] .options input:checked")
    assert checked.count() == 1 and checked.get_attribute("value") == q1_b.nth(1).get_attribute("value")

    tab_a.click("[data-testid=open-submit]")       # leave no paper open for other tests
    tab_a.click("[data-testid=confirm-submit]")
    tab_a.wait_for_url(re.compile(r".*/result$"))
    context.close()
