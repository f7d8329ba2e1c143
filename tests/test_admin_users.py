from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook

from simulator.auth import importer
from simulator.auth.models import Role, User
from simulator.extensions import db

from .conftest import PASSWORD
from .helpers import login, submit


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


def test_generated_passwords_download_once_as_a_file(admin_client, app, make_user):
    import csv
    import re

    response = _upload(admin_client, "名单.csv", "用户名,姓名\nstu101,孙一\nstu102,=HYPERLINK(1)\n".encode())
    html = response.get_data(as_text=True)
    action = re.search(r'action="(/admin/users/import/passwords/[^"]+)"', html).group(1)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    assert admin_client.post(action, data={}).status_code == 400, "CSRF"
    make_user("admin2", Role.ADMIN)
    other = app.test_client()
    login(other, "admin2", PASSWORD)
    other_token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"',
                            other.get("/admin/users/import").get_data(as_text=True)).group(1)
    assert other.post(action, data={"csrf_token": other_token}).status_code == 302, "only the importing admin"

    first = admin_client.post(action, data={"csrf_token": token})
    assert first.status_code == 200 and first.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(first.data.decode("utf-8-sig"))))
    assert rows[0] == ["用户名", "姓名", "临时密码"] and [r[0] for r in rows[1:]] == ["stu101", "stu102"]
    assert rows[2][1] == "'=HYPERLINK(1)", "a formula-like name stays text"
    trainee = app.test_client()
    assert login(trainee, "stu101", rows[1][2]).status_code == 302, "the file's password signs in"
    again = admin_client.post(action, data={"csrf_token": token}, follow_redirects=True)
    assert "只能下载一次" in again.get_data(as_text=True) and "text/html" in again.headers["Content-Type"]


def test_import_template_has_drop_downs_and_every_error_of_a_row_is_listed(admin_client):
    book = load_workbook(io.BytesIO(admin_client.get("/admin/users/import/template.xlsx").data))
    validations = {str(v.sqref): v for v in book.active.data_validations.dataValidation}
    role = validations["E2:E5001"]
    assert role.type == "list" and role.formula1 == '"学员,考评员,培训师,管理员"' and role.showErrorMessage
    assert validations["A2:A5001"].type == "textLength" and validations["C2:C5001"].formula1 == "8"
    html = _upload(admin_client, "名单.csv", "用户名,姓名,初始密码,单位,角色\n,,short,一部,校长\n".encode()).get_data(as_text=True)
    for message in ("第 2 行 [用户名]：不能为空", "第 2 行 [姓名]：不能为空", "第 2 行 [初始密码]：至少 8 位",
                    "第 2 行 [角色]：无法识别“校长”"):
        assert message in html, message
