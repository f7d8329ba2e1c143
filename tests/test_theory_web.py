"""Theory exam pages: closed book, autosave API, submit, resume, access; trainer bank tools."""
from __future__ import annotations

import io
import json
import re

import pytest
import yaml
from openpyxl import Workbook, load_workbook

from exams import attempts as exam
from exams import bank_io
from exams.models import Attempt, BankQuestion
from simulator import config as config_module
from simulator import create_app
from simulator.auth.models import Role
from simulator.extensions import db
from tests.bank_factory import write_bank
from tests.conftest import PASSWORD, IsolatedClient
from tests.helpers import META_CSRF, csrf_token, login, post_json, signed_in, start_mock, submit


@pytest.fixture(scope="session")
def bank_dir(tmp_path_factory):
    return write_bank(tmp_path_factory.mktemp("bank"), extra=2)


@pytest.fixture
def bank(app, bank_dir):
    bank_io.sync_from_files(db.session, bank_dir)
    return bank_dir


def _secrets_of(attempt: Attempt) -> list[str]:
    """Strings that would give the key away if the browser ever received them."""
    rows = db.session.query(BankQuestion).filter(BankQuestion.id.in_([d["q"] for d in attempt.paper])).all()
    return [r.explanation for r in rows]


def test_closed_book_nothing_revealing_reaches_the_browser(app, bank, users):
    client = signed_in(app, users[Role.TRAINEE])
    url, page, token = start_mock(client)
    with app.app_context():
        attempt = db.session.query(Attempt).one()
        secrets = _secrets_of(attempt)
        paper = attempt.paper
    bodies = [page.get_data(as_text=True)]
    for position in range(5):
        response = ["T"] if paper[position]["type"] == "judge" else ["A"]
        resp = post_json(client, url + "/answer", {"position": position, "response": response, "seq": position + 1},
                          token)
        assert resp.status_code == 200, resp.get_data(as_text=True)
        bodies.append(resp.get_data(as_text=True))
    bodies.append(client.get(url + "/state").get_data(as_text=True))
    refused = post_json(client, url + "/check", {"position": 0}, token)
    assert refused.status_code == 400
    bodies.append(refused.get_data(as_text=True))
    bodies.append(client.get(url + "/result", follow_redirects=True).get_data(as_text=True))
    bodies.append(client.get("/theory/").get_data(as_text=True))
    for body in bodies:
        assert not any(secret in body for secret in secrets)
        assert "正确答案" not in body and '"key"' not in body and '"correct"' not in body
    # the bank letters never appear as data on the page: only shuffled display letters
    assert "data-correct" not in bodies[0] and 'data-answer="' not in bodies[0] and "data-key" not in bodies[0]


def test_submit_then_score_breakdown_and_explanations(app, bank, users):
    client = signed_in(app, users[Role.TRAINEE])
    url, page, token = start_mock(client)
    with app.app_context():
        attempt = db.session.query(Attempt).one()
        keys = []
        for position in range(len(attempt.paper)):
            item = exam.items(attempt)[position]
            key = db.session.get(BankQuestion, item.question_id).answer
            keys.append(list(key) if item.qtype == "judge" else
                        sorted(chr(ord("A") + item.order.index(k)) for k in key))
    for position in range(70):
        assert post_json(client, url + "/answer", {"position": position, "response": keys[position]}, token).json["ok"]
    resp = client.post(url + "/submit", data={"csrf_token": token})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/result")
    result = client.get(url + "/result").get_data(as_text=True)
    assert "70.0 分" in result and "合格" in result
    assert "服务礼仪与规范用语" in result                      # area breakdown by name
    assert "解析：" in result                                  # explanations after submission
    late = post_json(client, url + "/answer", {"position": 80, "response": ["A"]}, token)
    assert late.status_code == 409 and late.json["closed"]
    again = client.post(url + "/submit", data={"csrf_token": token})   # double submit is harmless
    assert again.status_code == 302
    with app.app_context():
        assert db.session.query(Attempt).one().score == 70


def test_answers_survive_a_server_restart(app, bank, users, tmp_path):
    client = signed_in(app, users[Role.TRAINEE])
    url, page, token = start_mock(client)
    with app.app_context():
        paper = db.session.query(Attempt).one().paper
    position = next(i for i, d in enumerate(paper) if d["type"] == "multiple")
    post_json(client, url + "/answer", {"position": position, "response": ["A", "C"], "flagged": True}, token)
    # a new app instance on the same database file, as after a restart; the cookie still works
    restarted = create_app(config_module.for_tests(tmp_path))
    restarted.test_client_class = IsolatedClient
    client2 = restarted.test_client()
    login(client2, users[Role.TRAINEE].username, PASSWORD)
    page = client2.get(url).get_data(as_text=True)
    block = page.split(f'id="q-{position}"')[1].split("</section>")[0]
    assert re.search(r'value="A"\s+checked', block) and re.search(r'value="C"\s+checked', block)
    assert 'class="flag" checked' in block
    assert f'data-testid="palette-{position + 1}"\n         class="answered flagged' in page


def test_autosave_needs_csrf_and_valid_json(app, bank, users):
    client = signed_in(app, users[Role.TRAINEE])
    url, page, token = start_mock(client)
    no_token = client.post(url + "/answer", data=json.dumps({"position": 0, "response": ["A"]}),
                           content_type="application/json")
    assert no_token.status_code == 400
    garbage = client.post(url + "/answer", data="not json", content_type="application/json",
                          headers={"X-CSRFToken": token})
    assert garbage.status_code == 400 and garbage.json["ok"] is False


def test_other_trainees_and_other_roles_cannot_open_an_attempt(app, bank, users, make_user):
    client = signed_in(app, users[Role.TRAINEE])
    url, _, _ = start_mock(client)
    other = make_user("other-trainee", Role.TRAINEE)
    assert signed_in(app, other).get(url).status_code == 404
    assert signed_in(app, users[Role.TRAINER]).get(url).status_code == 403
    assert signed_in(app, users[Role.ASSESSOR]).get("/theory/").status_code == 403


def test_practice_with_immediate_feedback_in_the_browser_api(app, bank, users):
    client = signed_in(app, users[Role.TRAINEE])
    resp = submit(client, "/theory/start/practice", {"level": "4", "area": "complaint", "count": "10",
                                                     "feedback": "immediate"}, form_url="/theory/")
    url = resp.headers["Location"]
    token = META_CSRF.search(client.get(url).get_data(as_text=True)).group(1)
    with app.app_context():
        attempt = db.session.query(Attempt).one()
        assert attempt.mode == "practice" and attempt.deadline is None
        first_type = attempt.paper[0]["type"]
    response = {"judge": ["T"], "multiple": ["A", "B"]}.get(first_type, ["A"])
    post_json(client, url + "/answer", {"position": 0, "response": response}, token)
    feedback = post_json(client, url + "/check", {"position": 0}, token).json["feedback"]
    assert feedback["explanation"] and feedback["source"].startswith("《") and ".txt" not in feedback["source"]
    assert "key" in feedback
    page = client.get(url).get_data(as_text=True)
    assert feedback["explanation"] in page          # shown again after a reload, and only for that item


# ---- trainer tools ---------------------------------------------------------------------------

def test_trainer_edits_and_retires_a_question(app, bank, users):
    client = signed_in(app, users[Role.TRAINER])
    listing = client.get("/bank/?area=kpi&level=5&type=single").get_data(as_text=True)
    assert "kpi-5-001" in listing
    form = client.get("/bank/kpi-5-001/edit").get_data(as_text=True)
    assert "kpi-5-001" in form
    data = {"area": "kpi", "level": "5", "qtype": "single", "difficulty": "2",
            "stem": "修改后的题干：服务水平指标的含义是（　　）。", "option_a": "甲", "option_b": "乙",
            "option_c": "丙", "option_d": "丁", "option_e": "", "answer": "C", "explanation": "修改后的解析说明。",
            "source": "《商务中心与客服部服务规范》"}
    resp = submit(client, "/bank/kpi-5-001/edit", data)
    assert resp.status_code == 302
    bad = submit(client, "/bank/kpi-5-001/edit", {**data, "answer": "E"})
    assert "不在选项之中" in bad.get_data(as_text=True)
    with app.app_context():
        row = db.session.get(BankQuestion, "kpi-5-001")
        assert row.answer == ["C"] and row.version == 2 and row.edited_by_id == users[Role.TRAINER].id
    token = csrf_token(client, "/bank/")
    assert client.post("/bank/kpi-5-001/retire", data={"csrf_token": token}).status_code == 302
    with app.app_context():
        assert db.session.get(BankQuestion, "kpi-5-001").retired


def test_trainee_cannot_use_bank_tools(app, bank, users):
    client = signed_in(app, users[Role.TRAINEE])
    for url in ("/bank/", "/bank/export.xlsx", "/bank/analysis", "/bank/kpi-5-001/edit"):
        assert client.get(url).status_code == 403


def _xlsx(rows):
    wb = Workbook()
    ws = wb.active
    ws.append(bank_io.XLSX_COLUMNS)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_xlsx_import_is_all_or_nothing_with_row_numbers(app, bank, users):
    client = signed_in(app, users[Role.TRAINER])
    good = ["", "投诉处理", "四级", "单项选择题", 2, "导入题：受理投诉时首先应当（　　）。", "争辩", "耐心倾听",
            "转给同事", "挂断", "", "B", "先倾听才能了解诉求。", "《商务中心与客服部服务规范》"]
    bad = ["", "投诉处理", "四级", "判断题", 1, "导入题：可以与客户争辩。", "", "", "", "", "", "也许", "不应争辩。",
           "《商务中心与客服部服务规范》"]
    before = None
    with app.app_context():
        before = db.session.query(BankQuestion).count()
    token = csrf_token(client, "/bank/import")
    resp = client.post("/bank/import", data={"csrf_token": token, "file": (io.BytesIO(_xlsx([good, bad])), "q.xlsx")},
                       content_type="multipart/form-data")
    body = resp.get_data(as_text=True)
    assert "第3行" in body and "没有导入任何试题" in body
    with app.app_context():
        assert db.session.query(BankQuestion).count() == before
    token = csrf_token(client, "/bank/import")
    resp = client.post("/bank/import", data={"csrf_token": token, "file": (io.BytesIO(_xlsx([good])), "q.xlsx")},
                       content_type="multipart/form-data")
    assert "新增 1 题" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(BankQuestion).count() == before + 1
        new = db.session.query(BankQuestion).filter(BankQuestion.stem.like("导入题%")).one()
        assert new.id.startswith("complaint-4-") and new.answer == ["B"] and new.origin == "trainer"


def test_export_xlsx_round_trips_and_template_downloads(app, bank, users):
    client = signed_in(app, users[Role.TRAINER])
    exported = client.get("/bank/export.xlsx")
    assert exported.status_code == 200
    sheet = load_workbook(io.BytesIO(exported.data)).active
    assert [c.value for c in sheet[1]] == bank_io.XLSX_COLUMNS
    with app.app_context():
        assert sheet.max_row - 1 == db.session.query(BankQuestion).count()
        questions = bank_io.read_xlsx(exported.data, db.session)
        originals = {q.id: q for q in bank_io.all_questions(db.session)}
        assert all(originals[q.id].answer == q.answer and originals[q.id].options == q.options for q in questions)
    template = client.get("/bank/template.xlsx")
    assert template.status_code == 200 and load_workbook(io.BytesIO(template.data)).active.max_row == 2
    yaml_export = client.get("/bank/export.yaml").get_data(as_text=True)
    assert len(list(yaml.safe_load_all(yaml_export))) == 12


def test_item_analysis_page_shows_submitted_attempts(app, bank, users, make_user):
    with app.app_context():
        for n in range(12):
            trainee = make_user(f"cand{n}", Role.TRAINEE)
            attempt = exam.start_attempt(db.session, trainee.id, mode="mock", level=5, seed=77)
            for position in range(n * 8):
                item = exam.items(attempt)[position]
                key = db.session.get(BankQuestion, item.question_id).answer
                exam.save_answer(attempt, position, list(key) if item.qtype == "judge" else
                                 sorted(chr(ord("A") + item.order.index(k)) for k in key))
            exam.submit(attempt)
    page = signed_in(app, users[Role.TRAINER]).get("/bank/analysis").get_data(as_text=True)
    assert 'data-testid="analysis-chart"' in page and "<circle" in page
    assert "12</td>" in page       # twelve responses per item of the shared paper


def test_trainer_adds_a_question_with_the_next_free_id(app, bank, users):
    client = signed_in(app, users[Role.TRAINER])
    data = {"area": "crm", "level": "4", "qtype": "judge", "difficulty": "1",
            "stem": "新增判断题：客户生命周期包括吸引、获得、管理、保持四个阶段。", "answer": "正确",
            "explanation": "依据文件中对客户生命周期的划分。", "source": "《客服中心服务问答与规范用语》"}
    with app.app_context():
        before = [r.id for r in db.session.query(BankQuestion).filter(BankQuestion.id.like("crm-4-%"))]
    resp = submit(client, "/bank/new", data)
    assert resp.status_code == 302
    with app.app_context():
        new = db.session.query(BankQuestion).filter(BankQuestion.stem.like("新增判断题%")).one()
        assert new.id == f"crm-4-{max(int(i[-3:]) for i in before) + 1:03d}" and new.answer == ["T"]
    again = submit(client, "/bank/new", data)          # the same stem a second time is refused
    assert again.status_code == 200 and "题干与" in again.get_data(as_text=True)


def test_xlsx_template_offers_valid_values_and_rows_get_one_message_per_field(app, bank, users):
    client = signed_in(app, users[Role.TRAINER])
    book = load_workbook(io.BytesIO(client.get("/bank/template.xlsx").data))
    sheet = book["题库"]
    rules = {str(rule.sqref).split(":")[0][0]: rule for rule in sheet.data_validations.dataValidation}
    assert set(rules) == {"B", "C", "D", "E", "N"}, "area, level, type, difficulty and source are drop-downs"
    values = book["可选值"]
    assert values.sheet_state == "hidden"
    column = [c.value for c in values["B"][1:] if c.value is not None]
    assert column == ["五级", "四级", "三级"] and rules["C"].formula1.endswith("$B$2:$B$4")
    assert "《呼叫中心设计与服务规范》" in [c.value for c in values["E"][1:]]
    row = ["", "投诉", "六级", "单项选择题", 2, "导入题：受理投诉时首先应当（　　）。", "争辩", "耐心倾听",
           "转给同事", "挂断", "", "B", "先倾听才能了解诉求。", "《商务中心与客服部服务规范》"]
    token = csrf_token(client, "/bank/import")
    body = client.post("/bank/import", data={"csrf_token": token, "file": (io.BytesIO(_xlsx([row])), "q.xlsx")},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "知识领域：无法识别 「投诉」" in body and "等级：无法识别 「六级」" in body
    assert "题型：" not in body, "a recognised field gets no message"


def test_xlsx_import_row_errors_name_values_as_typed_and_state_the_minimum(app, bank, users):
    """Every problem of a row gets its own message: a one-letter multiple-choice answer is shown as the
    trainer typed it (A), never as a Python list (['A']); too-short texts say how long they must be."""
    client = signed_in(app, users[Role.TRAINER])
    row = ["", "服务礼仪与规范用语", "五级", "多项选择题", 2, "短题干", "争辩", "耐心倾听", "转给同事", "挂断", "",
           "A", "太短", "《商务中心与客服部服务规范》"]
    token = csrf_token(client, "/bank/import")
    resp = client.post("/bank/import", data={"csrf_token": token, "file": (io.BytesIO(_xlsx([row])), "q.xlsx")},
                       content_type="multipart/form-data")
    body = resp.get_data(as_text=True)
    assert resp.status_code in (200, 422) and db.session.query(BankQuestion).filter(
        BankQuestion.stem == "短题干").count() == 0
    assert "答案：多选题答案必须列出至少两个不同的选项字母，现为 「A」" in body
    assert "题干：缺失或过短（至少 6 个字）" in body and "解析：缺失或过短（至少 6 个字）" in body
    assert "[&#39;A&#39;]" not in body and "['A']" not in body
    assert "发现 3 处问题" in body

    row[1], row[3] = "礼仪", "多选"          # an unreadable area hides none of the row's other problems
    token = csrf_token(client, "/bank/import")
    body = client.post("/bank/import", data={"csrf_token": token, "file": (io.BytesIO(_xlsx([row])), "q.xlsx")},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "知识领域：无法识别 「礼仪」" in body and "发现 4 处问题" in body
    assert "至少两个不同的选项字母，现为 「A」" in body and "题干：缺失或过短（至少 6 个字）" in body
    assert "编号：" not in body, "no id complaint caused by the unreadable area"
    row[3] = "问答题"                         # an unreadable type: its options and answer cannot be checked
    token = csrf_token(client, "/bank/import")
    body = client.post("/bank/import", data={"csrf_token": token, "file": (io.BytesIO(_xlsx([row])), "q.xlsx")},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "题型：无法识别 「问答题」" in body and "题干：缺失或过短" in body and "解析：缺失或过短" in body
    assert "single" not in re.sub(r"(?s)<script.*?</script>", "", body) and "答案：" not in body
