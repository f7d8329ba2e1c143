from __future__ import annotations

import csv
import html as html_lib
import io
import os
import re
import time
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from simulator.auth import importer
from simulator.auth.models import Role, User
from simulator.extensions import db

from .conftest import PASSWORD
from .helpers import csrf_token, login, submit


@pytest.fixture
def admin_client(app, users):
    client = app.test_client()
    login(client, "admin1", PASSWORD)
    return client


def _xlsx(rows: list[list]) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _upload(client, filename: str, data: bytes):
    return submit(client, "/admin/users/import", {"file": (io.BytesIO(data), filename)},
                  content_type="multipart/form-data")


def _usernames() -> set[str]:
    db.session.expire_all()
    return {u for (u,) in db.session.query(User.username)}


def test_admin_creates_a_user_who_must_change_password(admin_client, app):
    response = submit(admin_client, "/admin/users/new", {
        "username": "Wang.Li", "display_name": "王丽", "role": "assessor", "organisation": "一部",
        "password": "initial-pass"})
    assert response.status_code == 302
    user = db.session.query(User).filter_by(username="wang.li").one()
    assert user.role == "assessor" and user.must_change_password
    fresh = app.test_client()
    assert login(fresh, "wang.li", "initial-pass").headers["Location"].endswith("/account/password")


def test_create_user_rejects_duplicates_and_bad_names(admin_client):
    dup = submit(admin_client, "/admin/users/new", {"username": "trainee1", "display_name": "x",
                                                   "role": "trainee", "password": "initial-pass"})
    assert "已存在" in dup.get_data(as_text=True)
    bad = submit(admin_client, "/admin/users/new", {"username": "a b", "display_name": "x",
                                                   "role": "trainee", "password": "initial-pass"})
    assert "只能包含" in bad.get_data(as_text=True)
    assert "a b" not in _usernames()


def test_admin_edits_disables_and_enables(admin_client, users, app):
    trainee = users[Role.TRAINEE]
    page = f"/admin/users/{trainee.id}"
    submit(admin_client, page, {"display_name": "改名", "role": "trainer", "organisation": "二部"})
    db.session.expire_all()
    assert (trainee.display_name, trainee.role, trainee.organisation) == ("改名", "trainer", "二部")
    submit(admin_client, f"{page}/active", {}, form_url=page)
    db.session.expire_all()
    assert not trainee.active
    submit(admin_client, f"{page}/active", {}, form_url=page)
    db.session.expire_all()
    assert trainee.active


def test_admin_cannot_disable_or_demote_self(admin_client, users):
    me = users[Role.ADMIN]
    submit(admin_client, f"/admin/users/{me.id}/active", {}, form_url=f"/admin/users/{me.id}")
    db.session.expire_all()
    assert me.active
    response = submit(admin_client, f"/admin/users/{me.id}", {"display_name": "x", "role": "trainee"})
    assert "不能取消自己的管理员角色" in response.get_data(as_text=True)


def test_password_reset_shows_a_temporary_password_once(admin_client, users, app):
    trainee = users[Role.TRAINEE]
    response = submit(admin_client, f"/admin/users/{trainee.id}/reset-password", {},
                      form_url=f"/admin/users/{trainee.id}")
    html = response.get_data(as_text=True)
    temporary = html.split('data-testid="temporary-password">')[1].split("<")[0]
    assert len(temporary) >= 8
    fresh = app.test_client()
    assert login(fresh, "trainee1", PASSWORD).status_code == 401
    assert login(fresh, "trainee1", temporary).headers["Location"].endswith("/account/password")


def test_user_list_search_and_filter(admin_client, make_user):
    make_user("zhang3", display_name="张三", organisation="客服一部")
    make_user("li4", Role.TRAINER, display_name="李四")
    by_name = admin_client.get("/admin/users", query_string={"q": "张三"}).get_data(as_text=True)
    assert "zhang3" in by_name and "li4" not in by_name
    by_role = admin_client.get("/admin/users", query_string={"role": "trainer"}).get_data(as_text=True)
    assert "li4" in by_role and "zhang3" not in by_role


def test_import_from_xlsx_creates_every_row(admin_client):
    data = _xlsx([["用户名", "姓名", "初始密码", "单位"],
                  ["stu001", "赵一", "pass-word-1", "一部"],
                  [20240002, "钱二", None, "二部"],  # a typed number, as Excel stores exam numbers
                  [None, None, None, None]])
    response = _upload(admin_client, "名单.xlsx", data)
    assert response.status_code == 200, response.get_data(as_text=True)
    html = response.get_data(as_text=True)
    assert "已导入 2 个账号" in html
    assert {"stu001", "20240002"} <= _usernames()
    generated = db.session.query(User).filter_by(username="20240002").one()
    assert generated.must_change_password and generated.role == "trainee"


def test_import_with_bad_rows_imports_nothing_and_names_each_row(admin_client, users):
    before = _usernames()
    data = _xlsx([["用户名", "姓名", "初始密码"],
                  ["good01", "好", ""],
                  ["trainee1", "已存在", ""],        # row 3: exists
                  ["good01", "重复", ""],            # row 4: duplicate of row 2
                  ["x", "太短", ""],                 # row 5: bad username
                  ["good02", "", ""],                # row 6: no name
                  ["good03", "密码短", "123"]])       # row 7: short password
    response = _upload(admin_client, "bad.xlsx", data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "没有导入任何账号" in html
    for row in (3, 4, 5, 6, 7):
        assert f"<li>第 {row} 行" in html
    assert "<li>第 2 行" not in html
    assert _usernames() == before


def test_import_csv_in_gbk_with_role_column(admin_client):
    text = "用户名,姓名,角色\nkf01,孙三,学员\nkf02,周四,考评员\n"
    response = _upload(admin_client, "list.csv", text.encode("gb18030"))
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.query(User).filter_by(username="kf02").one().role == "assessor"


@pytest.mark.parametrize("filename,data,message", [
    ("broken.xlsx", b"PK\x03\x04 this is not really a workbook", "无法读取 Excel"),
    ("empty.csv", b"", "文件为空"),
    ("noheader.csv", "姓名\n张三\n".encode(), "缺少列：用户名"),
    ("list.txt", b"username,display_name\n", "只支持"),
])
def test_import_rejects_bad_files_clearly(admin_client, filename, data, message):
    before = _usernames()
    response = _upload(admin_client, filename, data)
    assert message in response.get_data(as_text=True)
    assert _usernames() == before


def test_import_templates_download_and_round_trip(admin_client):
    xlsx = admin_client.get("/admin/users/import/template.xlsx")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert [c.value for c in sheet[1]][:2] == ["用户名", "姓名"]
    (roles,) = sheet.data_validations.dataValidation
    assert roles.type == "list" and "E2" in roles.sqref and all(r.label in roles.formula1 for r in Role)
    csv_file = admin_client.get("/admin/users/import/template.csv")
    rows = importer.read_rows("t.csv", csv_file.data)
    assert rows == [(2, {"username": "zhangsan01", "display_name": "张三", "password": "",
                         "organisation": "客服一部", "role": "学员"})]
    assert admin_client.get("/admin/users/import/template.exe").status_code == 404


def test_import_caps_the_number_of_rows(monkeypatch):
    monkeypatch.setattr(importer, "MAX_ROWS", 3)
    data = ("用户名,姓名\n" + "".join(f"u{i:03d},n{i}\n" for i in range(4))).encode()
    with pytest.raises(importer.ImportFileError, match="最多导入 3 行"):
        importer.read_rows("a.csv", data)


def _sheet_form(html: str) -> tuple[str, str]:
    """The download form of an import result: its action and CSRF token."""
    action = re.search(r'<form method="post" action="([^"]+)"[^>]*\s+data-testid="sheet-download"', html).group(1)
    token = re.search(r'name="dl-csrf_token"[^>]*value="([^"]+)"', html).group(1)
    return action, token


def _sheet_files(app) -> list[Path]:
    folder = Path(app.config["IMPORT_PASSWORDS_DIR"])
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def test_import_passwords_are_downloaded_once_as_a_file_and_work(admin_client, app):
    rows = [["用户名", "姓名", "初始密码"], ["stu101", '=HYPERLINK("http://x","点我")', ""], ["@stu102", "钱二", ""],
            ["stu103", "孙三", "given-pass-3"]]
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    response = _upload(admin_client, "名单.csv", out.getvalue().encode())
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "只能下载一次" in html and "15 分钟" in html
    (pending,) = _sheet_files(app)
    assert pending.stat().st_mode & 0o077 == 0, "readable by the app's user only"
    action, token = _sheet_form(html)
    sheet = admin_client.post(action, data={"dl-csrf_token": token, "format": "csv"})
    assert sheet.status_code == 200 and "attachment" in sheet.headers["Content-Disposition"]
    assert sheet.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(sheet.data.decode("utf-8-sig"))))
    assert rows[0] == ["用户名", "姓名", "临时密码"] and len(rows) == 3, "only generated passwords"
    by_user = {r[0]: r for r in rows[1:]}
    assert by_user["stu101"][1] == "'=HYPERLINK(\"http://x\",\"点我\")", "a formula stays text"
    assert "'@stu102" in by_user, "a leading @ is quoted too"
    for row in rows[1:]:
        assert row[2] not in html, "passwords never reach the page"
    fresh = app.test_client()
    assert login(fresh, "stu101", by_user["stu101"][2]).headers["Location"].endswith("/account/password")
    assert _sheet_files(app) == [], "deleted once downloaded"
    again = admin_client.post(action, data={"dl-csrf_token": token, "format": "xlsx"})
    assert again.status_code == 410 and "已经下载过" in again.get_data(as_text=True)


def test_import_password_sheet_in_excel_keeps_text_and_belongs_to_its_admin(admin_client, app, make_user):
    make_user("admin2", Role.ADMIN)
    html = _upload(admin_client, "名单.csv", "用户名,姓名\nstu201,=1+2\n".encode()).get_data(as_text=True)
    action, token = _sheet_form(html)
    other = app.test_client()
    login(other, "admin2", PASSWORD)
    other_token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"',
                            other.get("/admin/users/import").get_data(as_text=True)).group(1)
    assert other.post(action, data={"dl-csrf_token": other_token, "format": "xlsx"}).status_code == 410
    assert len(_sheet_files(app)) == 1, "another admin's request leaves it in place"
    assert admin_client.post(action, data={"format": "xlsx"}).status_code == 400, "CSRF token required"
    sheet = admin_client.post(action, data={"dl-csrf_token": token, "format": "xlsx"})
    assert sheet.status_code == 200
    cells = load_workbook(io.BytesIO(sheet.data)).active["B2"]
    assert cells.value == "=1+2" and cells.data_type == "s" and cells.quotePrefix
    trainee = app.test_client()
    login(trainee, "trainee1", PASSWORD)
    trainee_token = csrf_token(trainee, "/practical/")
    assert trainee.post(action, data={"dl-csrf_token": trainee_token, "csrf_token": trainee_token,
                                      "format": "csv"}).status_code == 403


def test_an_unfetched_password_sheet_is_deleted_after_its_time(admin_client, app):
    html = _upload(admin_client, "a.csv", "用户名,姓名\nstu301,李一\n".encode()).get_data(as_text=True)
    action, token = _sheet_form(html)
    (pending,) = _sheet_files(app)
    old = time.time() - (app.config["IMPORT_PASSWORDS_MINUTES"] * 60 + 5)
    os.utime(pending, (old, old))
    response = admin_client.post(action, data={"dl-csrf_token": token, "format": "csv"})
    assert response.status_code == 410 and "自动删除" in response.get_data(as_text=True)
    assert not pending.exists()


def test_import_reports_every_error_of_a_row(admin_client, users):
    data = _xlsx([["用户名", "姓名", "初始密码", "单位", "角色"],
                  ["x", "", "123", "部" * 129, "厨师"]])
    html = _upload(admin_client, "bad.xlsx", data).get_data(as_text=True)
    for column, message in (("用户名", "长度 3–64"), ("姓名", "不能为空"), ("初始密码", "至少 8 位，现为 3 位"),
                            ("单位", "超过 128 个字"), ("角色", "无法识别“厨师”")):
        assert f"<li>第 2 行 [{column}]：" in html and message in html, column
    assert "发现 5 处问题" in html


def test_user_list_pages_keep_the_filter_and_escape_names(admin_client, make_user):
    for i in range(55):
        make_user(f"kf{i:03d}", display_name=f"客服{i}", organisation="二部")
    make_user("zz.evil", display_name="<b>x</b>", organisation="二部")
    first = admin_client.get("/admin/users", query_string={"q": "二部", "role": "trainee"}).get_data(as_text=True)
    assert first.count('href="/admin/users/') - first.count('href="/admin/users/new') \
        - first.count('href="/admin/users/import') == 50
    assert "第 1 / 2 页，共 56 人" in first
    next_link = html_lib.unescape(re.search(r'<a href="([^"]+)">下一页</a>', first).group(1))
    assert "q=" in next_link and "role=trainee" in next_link and "page=2" in next_link
    second = admin_client.get(next_link).get_data(as_text=True)
    assert "第 2 / 2 页" in second and "&lt;b&gt;x&lt;/b&gt;" in second and "<b>x</b>" not in second
    nobody = admin_client.get("/admin/users", query_string={"q": "二部", "role": "assessor"}).get_data(as_text=True)
    assert "没有符合条件的用户" in nobody
