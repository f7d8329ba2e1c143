from __future__ import annotations

import pytest
from openpyxl import Workbook

from simulator.seeding import DEMO_ACCOUNTS

from .conftest import sign_in

pytestmark = pytest.mark.browser

TITLES = {"trainee": "学员工作台", "assessor": "考评员工作台", "trainer": "培训师工作台", "admin": "管理工作台"}


@pytest.mark.parametrize("demo", DEMO_ACCOUNTS, ids=lambda d: d.username)
def test_each_demo_account_lands_on_its_dashboard(page, live_server, demo):
    sign_in(page, live_server, demo.username, demo.password)
    page.wait_for_url(f"{live_server}/{demo.role.value}")
    assert page.text_content("[data-testid=dashboard-title]") == TITLES[demo.role.value]
    assert demo.display_name in page.text_content("[data-testid=current-user]")
    page.click("text=退出")
    page.wait_for_url(f"{live_server}/login")


def test_trainee_opening_an_assessor_page_gets_403(page, live_server):
    sign_in(page, live_server, "trainee", "trainee123")
    page.wait_for_url(f"{live_server}/trainee")
    response = page.goto(f"{live_server}/assessor")
    assert response.status == 403
    assert "没有权限" in page.text_content("h1")
    response = page.goto(f"{live_server}/admin/users")
    assert response.status == 403


def test_form_posted_without_csrf_token_is_rejected(page, live_server):
    page.goto(live_server + "/login")
    page.eval_on_selector("input[name=csrf_token]", "el => el.remove()")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "admin1234")
    with page.expect_navigation() as nav:
        page.click("input[type=submit]")
    assert nav.value.status == 400
    assert "页面已过期" in page.content()
    assert page.goto(live_server + "/admin").url.startswith(live_server + "/login")  # not signed in


def test_admin_imports_trainees_from_excel_in_the_browser(page, live_server, tmp_path):
    workbook = Workbook()
    workbook.active.append(["用户名", "姓名", "单位"])
    workbook.active.append(["browser01", "浏览器学员", "一部"])
    path = tmp_path / "名单.xlsx"
    workbook.save(path)
    sign_in(page, live_server, "admin", "admin1234")
    page.wait_for_url(f"{live_server}/admin")
    page.click("text=批量导入学员")
    page.set_input_files("input[type=file]", str(path))
    page.click("input[type=submit]")
    result = page.text_content("[data-testid=import-result]")
    assert "已导入 1 个账号" in result and "browser01" in result
    page.goto(live_server + "/admin/users?q=browser01")
    assert "浏览器学员" in page.text_content("[data-testid=user-table]")
