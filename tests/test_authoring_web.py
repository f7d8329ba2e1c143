"""Scenario authoring for trainers: versions, the form and YAML editors, validation messages, caller-line
preview, try-it, import/export and who may do it."""
from __future__ import annotations

import io
import re
import wave
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from simulator.extensions import db
from simulator.practical.library import sync_library
from simulator.practical.models import PracticalCall, ScenarioVersion
from tests.helpers import csrf_token, login

FIXTURES = Path(__file__).resolve().parent / "data" / "scenarios"
SID = "test-runtime-lookup"
SOURCE = (FIXTURES / "runtime-lookup.yaml").read_text("utf-8")


@pytest.fixture
def trainer(app, client, users):
    sync_library(FIXTURES)
    login(client, "trainer1", "correct-horse-1")
    return client


def form_post(client, url, data, prefix_token="y-csrf_token"):
    page = client.get(url).get_data(as_text=True)
    token = re.search(r'name="(?:[yfn]-)?csrf_token"[^>]*value="([^"]+)"', page).group(1)
    return client.post(url, data={**data, prefix_token: token})


class _FormReader(HTMLParser):
    """The values a browser would submit from a page's form controls (first form with the testid)."""

    def __init__(self, testid):
        super().__init__()
        self.testid, self.inside, self.values, self._textarea, self._select = testid, False, {}, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("data-testid") == self.testid:
            self.inside = True
        if not self.inside:
            return
        if tag == "input" and a.get("type") not in ("submit", "button") and a.get("name"):
            self.values[a["name"]] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a["name"]
            self.values[self._textarea] = ""
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select and ("selected" in a or self._select not in self.values):
            self.values[self._select] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self.inside and self._textarea:
            self.values[self._textarea] += data


def form_values(page: str, testid: str) -> dict:
    reader = _FormReader(testid)
    reader.feed(page)
    # A browser drops the one newline that follows <textarea>.
    return {k: v[1:] if v.startswith("\n") else v for k, v in reader.values.items()}


def test_list_detail_and_line_preview(trainer):
    page = trainer.get("/scenarios/").get_data(as_text=True)
    assert "话费查询（运行时测试）" in page and "查询并保留通话" in page
    detail = trainer.get(f"/scenarios/{SID}").get_data(as_text=True)
    assert "你好，我想查一下我这个月的话费。" in detail and "第 1 版" in detail
    audio = trainer.get(f"/scenarios/{SID}/lines/1/t1.wav")
    assert audio.status_code == 200 and audio.mimetype == "audio/wav"
    with wave.open(io.BytesIO(audio.data)) as w:
        assert w.getnframes() / w.getframerate() > 0.8, "the line is real speech"
    assert trainer.get(f"/scenarios/{SID}/lines/1/t9.wav").status_code == 404


def test_editing_the_form_creates_a_new_version_and_keeps_old_calls(app, trainer):
    first = ScenarioVersion.latest(SID)
    db.session.add(PracticalCall(id="c1", user_id=1, scenario_version_id=first.id, call_dir="/tmp/x"))
    db.session.commit()
    resp = form_post(trainer, f"/scenarios/{SID}/edit", {
        "f-title": "话费查询（修订）", "f-level": "4", "f-situation": "lookup_hold", "f-difficulty": "2",
        "f-brief": "你是客服坐席，工号 1035。", "f-agent_number": "1035", "f-voice": "elderly", "f-line": "telephone",
        "f-save_fields": "保存表单"}, prefix_token="f-csrf_token")
    assert resp.status_code == 302
    latest = ScenarioVersion.latest(SID)
    assert latest.version == 2 and latest.title == "话费查询（修订）" and latest.level == 4
    assert latest.data["persona"]["voice"] == "elderly" and latest.data["line"] == "telephone"
    assert latest.origin == "trainer"
    assert db.session.get(PracticalCall, "c1").scenario.version == 1, "a taken call keeps its version"
    assert "第 2 版" in trainer.get(f"/scenarios/{SID}").get_data(as_text=True)


def test_yaml_editor_reports_problems_like_the_cli(trainer):
    broken = SOURCE.replace("points: 30, ask_before", "points: 25, ask_before")
    resp = form_post(trainer, f"/scenarios/{SID}/edit", {"y-yaml_text": broken, "y-save_yaml": "保存 YAML"})
    assert resp.status_code == 422
    assert "rubric.items: 各项分值之和应为 100，现为 95" in resp.get_data(as_text=True)
    resp = form_post(trainer, f"/scenarios/{SID}/edit", {"y-yaml_text": "id: [", "y-save_yaml": "保存 YAML"})
    assert resp.status_code == 422 and "不是有效的 YAML" in resp.get_data(as_text=True)
    renamed = SOURCE.replace(f"id: {SID}", "id: another-id")
    resp = form_post(trainer, f"/scenarios/{SID}/edit", {"y-yaml_text": renamed, "y-save_yaml": "保存 YAML"})
    assert "不能修改 id" in resp.get_data(as_text=True)
    assert ScenarioVersion.latest(SID).version == 1, "nothing invalid is saved"
    changed = SOURCE.replace("好的，我等一下。", "好的，我等着。")
    resp = form_post(trainer, f"/scenarios/{SID}/edit", {"y-yaml_text": changed, "y-save_yaml": "保存 YAML"})
    assert resp.status_code == 302 and ScenarioVersion.latest(SID).version == 2


def test_new_scenario_from_the_form_and_yaml_and_duplicate_ids(trainer):
    values = form_values(trainer.get("/scenarios/new").get_data(as_text=True), "new-form")
    assert values["n-line"] == "none" and values["n-voice"] == "calm"
    assert not re.search(r"^(id|title):", values["n-yaml_text"], re.M), "the form holds the common fields"
    values.update({"n-id": "l5-form-made", "n-title": "表单新建的<场景>", "n-line": "telephone+noisy:snr=5",
                   "n-voice": "elderly", "n-agent_number": "1001", "n-save_fields": "保存"})
    resp = trainer.post("/scenarios/new", data=values)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    saved = ScenarioVersion.latest("l5-form-made")
    assert saved.version == 1 and saved.title == "表单新建的<场景>" and saved.data["line"] == "telephone+noisy:snr=5"
    assert saved.data["persona"]["voice"] == "elderly" and saved.data["persona"]["gender"] == "女"
    assert list(saved.data)[:2] == ["id", "title"], "the stored YAML starts with the common fields"
    detail = trainer.get("/scenarios/l5-form-made").get_data(as_text=True)
    assert "表单新建的&lt;场景&gt;" in detail and "表单新建的<场景>" not in detail, "user text is escaped"
    resp = trainer.post("/scenarios/new", data={**values, "n-title": "又一个"})
    assert resp.status_code == 422 and "l5-form-made 已存在" in resp.get_data(as_text=True)
    assert ScenarioVersion.latest("l5-form-made").title == "表单新建的<场景>"


def test_copy_prefills_the_form_with_the_source(trainer):
    values = form_values(trainer.get(f"/scenarios/new?copy={SID}").get_data(as_text=True), "new-form")
    assert values["n-id"] == f"{SID}-copy" and values["n-title"] == "话费查询（运行时测试）"
    assert "script:" in values["n-yaml_text"] and "title:" not in values["n-yaml_text"]
    resp = trainer.post("/scenarios/new", data={**values, "n-save_fields": "保存"})
    assert resp.status_code == 302 and ScenarioVersion.latest(f"{SID}-copy").data["script"] == \
        ScenarioVersion.latest(SID).data["script"]


def test_check_without_saving_gives_the_same_messages_and_saves_nothing(trainer):
    values = form_values(trainer.get("/scenarios/new").get_data(as_text=True), "new-form")
    values.update({"n-id": "l5-checked-only"})
    resp = trainer.post("/scenarios/new", data={**values, "n-check_fields": "只检查不保存"})
    assert resp.status_code == 200 and "检查通过" in resp.get_data(as_text=True)
    assert ScenarioVersion.latest("l5-checked-only") is None, "checking saves nothing"
    broken = values["n-yaml_text"].replace("points: 40", "points: 35")
    checked = trainer.post("/scenarios/new", data={**values, "n-yaml_text": broken, "n-check_fields": "只检查不保存"})
    saved = trainer.post("/scenarios/new", data={**values, "n-yaml_text": broken, "n-save_fields": "保存"})
    message = "rubric.items: 各项分值之和应为 100，现为 95"
    assert checked.status_code == saved.status_code == 422
    assert message in checked.get_data(as_text=True) and message in saved.get_data(as_text=True)
    assert "检查通过" not in checked.get_data(as_text=True)
    assert ScenarioVersion.latest("l5-checked-only") is None
    resp = trainer.post("/scenarios/new", data={**values, "n-yaml_text": "script: [", "n-check_fields": "只检查不保存"})
    assert resp.status_code == 422 and "不是有效的 YAML" in resp.get_data(as_text=True)
    for odd in ("- a\n- b\n", "42", "persona: [1, 2]\n"):
        resp = trainer.post("/scenarios/new", data={**values, "n-yaml_text": odd, "n-check_fields": "只检查不保存"})
        assert resp.status_code == 422, odd
    edit_page = form_post(trainer, f"/scenarios/{SID}/edit",
                          {"y-yaml_text": "persona: 平静\ntitle: [1]\n", "y-check_yaml": "只检查不保存"})
    assert edit_page.status_code == 422
    # On the edit page both forms check without saving, too.
    changed = SOURCE.replace("好的，我等一下。", "好的，我等着。")
    resp = form_post(trainer, f"/scenarios/{SID}/edit", {"y-yaml_text": changed, "y-check_yaml": "只检查不保存"})
    assert resp.status_code == 200 and "检查通过" in resp.get_data(as_text=True)
    edit = form_values(trainer.get(f"/scenarios/{SID}/edit").get_data(as_text=True), "fields-form")
    resp = trainer.post(f"/scenarios/{SID}/edit",
                        data={**edit, "f-title": "只是看看", "f-check_fields": "只检查不保存"})
    assert resp.status_code == 200 and "检查通过" in resp.get_data(as_text=True)
    assert ScenarioVersion.latest(SID).version == 1 and ScenarioVersion.latest(SID).title != "只是看看"


def test_bad_field_values_get_chinese_messages_and_keep_what_was_typed(trainer):
    values = form_values(trainer.get("/scenarios/new").get_data(as_text=True), "new-form")
    values.update({"n-id": "Bad Id", "n-title": "保留这个标题", "n-line": "bogus:x=1", "n-save_fields": "保存"})
    page = trainer.post("/scenarios/new", data=values).get_data(as_text=True)
    assert "只能用小写字母、数字和 -" in page and "请从列表中选择线路条件" in page
    assert "Not a valid choice" not in page and "This field is required" not in page
    assert form_values(page, "new-form")["n-title"] == "保留这个标题"
    page = trainer.post("/scenarios/new", data={**values, "n-id": "l5-ok-id", "n-line": "none", "n-title": ""}
                        ).get_data(as_text=True)
    assert "请填写标题" in page and form_values(page, "new-form")["n-id"] == "l5-ok-id"


def test_an_invalid_yaml_save_keeps_the_form_beside_it(trainer):
    broken = (SOURCE.replace("points: 30, ask_before", "points: 25, ask_before").replace("工号 1035", "工号 2046")
              .replace('agent_number: "1035"', 'agent_number: "2046"').replace("\nline: none\n", "\nline: noisy\n"))
    assert broken.count("2046") >= 2 and "line: noisy" in broken
    resp = form_post(trainer, f"/scenarios/{SID}/edit", {"y-yaml_text": broken, "y-save_yaml": "保存 YAML"})
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    fields = form_values(page, "fields-form")
    assert fields["f-title"] == "话费查询（运行时测试）" and "2046" in fields["f-brief"], "the posted YAML's values"
    assert fields["f-agent_number"] == "2046" and fields["f-line"] == "noisy", "what was typed, not what is stored"
    assert form_values(page, "yaml-form")["y-yaml_text"] == broken, "the YAML as typed"
    resp = form_post(trainer, f"/scenarios/{SID}/edit", {"y-yaml_text": "id: [", "y-save_yaml": "保存 YAML"})
    fields = form_values(resp.get_data(as_text=True), "fields-form")
    assert resp.status_code == 422 and fields["f-title"] == "话费查询（运行时测试）", "unreadable YAML: stored values"


def test_authoring_pages_speak_words_not_internals(trainer):
    detail = trainer.get(f"/scenarios/{SID}").get_data(as_text=True)
    assert "（随后：挂机）" in detail and "随后：保持通话 10 秒" in detail
    assert "['hangup']" not in detail and "{&#39;hold&#39;" not in detail
    assert "<dd>平静（" in detail and "calm" not in detail
    assert "<dd>正常线路</dd>" in detail
    assert "<dd>《呼叫中心设计与服务规范》</dd>" in detail and ".txt" not in detail, "sources by title, not file"
    assert "说到“请稍等”等 →" in detail and "asks_to_wait" not in detail, "branches in the trainee's words"
    assert "规范用语" in detail and "<td>phrase</td>" not in detail
    edit = trainer.get(f"/scenarios/{SID}/edit").get_data(as_text=True)
    assert '<option selected value="calm">平静</option>' in edit and "calm（" not in edit
    assert '<option selected value="none">正常线路</option>' in edit
    assert "docs/" not in edit and "python -m" not in edit


def test_format_help_is_in_the_app_without_repository_file_names(app, client, users, trainer):
    page = trainer.get("/scenarios/help")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "线路条件" in text and "reference_answers" in text and "评分标准" in text
    assert not re.search(r"docs/[\w-]+\.md|[\w-]+/[\w-]+\.ya?ml\b|grading/|softphone_sim/", text)
    for url in ("/scenarios/", "/scenarios/new", f"/scenarios/{SID}/edit", "/scenarios/import"):
        assert 'href="/scenarios/help"' in trainer.get(url).get_data(as_text=True), url
    trainer.post("/logout", data={"csrf_token": csrf_token(trainer, "/scenarios/")})
    login(client, "trainee1", "correct-horse-1")
    assert client.get("/scenarios/help").status_code == 403


def test_required_fields_carry_their_chinese_message_for_the_browser(trainer):
    page = trainer.get("/scenarios/new").get_data(as_text=True)
    assert re.search(r'<input[^>]*data-required-message="请填写标题"[^>]*name="n-title"[^>]*required', page)
    assert re.search(r'<textarea[^>]*data-required-message="请填写说明"[^>]*required', page)
    assert '<script src="/static/js/app.js"></script>' in page, "the one script that speaks for every page's checks"
    script = trainer.get("/static/js/app.js").get_data(as_text=True)
    assert "setCustomValidity" in script and "requiredMessage" in script
    assert "onclick" not in page and "oninvalid" not in page, "no inline handlers (CSP)"
    upload = trainer.get("/scenarios/import").get_data(as_text=True)
    assert re.search(r'<input[^>]*data-required-message="请选择文件"[^>]*required[^>]*type="file"', upload)


def test_import_is_all_or_nothing_and_export_round_trips(trainer):
    good = SOURCE.replace(SID, "imported-one")
    bad = SOURCE.replace(SID, "imported-two").replace("level: 5", "level: 7")
    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, "w") as zf:
        zf.writestr("a/good.yaml", good)
        zf.writestr("a/bad.yaml", bad)
    token = csrf_token(trainer, "/scenarios/import")
    resp = trainer.post("/scenarios/import",
                        data={"csrf_token": token, "file": (io.BytesIO(bundle.getvalue()), "s.zip")},
                        content_type="multipart/form-data")
    assert resp.status_code == 422 and "a/bad.yaml: level: 等级必须是 5、4 或 3" in resp.get_data(as_text=True)
    assert ScenarioVersion.latest("imported-one") is None
    token = csrf_token(trainer, "/scenarios/import")
    resp = trainer.post("/scenarios/import",
                        data={"csrf_token": token, "file": (io.BytesIO(good.encode()), "good.yaml")},
                        content_type="multipart/form-data")
    assert resp.status_code == 302 and ScenarioVersion.latest("imported-one") is not None
    token = csrf_token(trainer, "/scenarios/import")
    resp = trainer.post("/scenarios/import",
                        data={"csrf_token": token, "file": (io.BytesIO(b"PK\x03\x04junk"), "x.zip")},
                        content_type="multipart/form-data")
    assert resp.status_code == 422 and "不是有效的 zip" in resp.get_data(as_text=True)

    exported = trainer.get("/scenarios/export.zip")
    with zipfile.ZipFile(io.BytesIO(exported.data)) as zf:
        names = set(zf.namelist())
        assert {"level5/imported-one.yaml", f"level5/{SID}.yaml", "level4/test-typing-workorder.yaml"} <= names
        assert yaml.safe_load(zf.read(f"level5/{SID}.yaml")) == yaml.safe_load(SOURCE)
    one = trainer.get(f"/scenarios/{SID}/export.yaml")
    assert yaml.safe_load(one.data) == yaml.safe_load(SOURCE)


def test_try_it_starts_a_practice_call_and_retire_hides_the_scenario(app, trainer):
    token = csrf_token(trainer, f"/scenarios/{SID}")
    resp = trainer.post(f"/scenarios/{SID}/try", data={"csrf_token": token})
    assert resp.status_code == 302 and "/practical/calls/" in resp.headers["Location"]
    assert trainer.get(resp.headers["Location"]).status_code == 200
    token = csrf_token(trainer, f"/scenarios/{SID}")
    trainer.post(f"/scenarios/{SID}/retire", data={"csrf_token": token})
    assert ScenarioVersion.latest(SID).retired
    assert SID not in [v.scenario_id for v in ScenarioVersion.current()]


def test_only_trainers_and_admins_author(app, client, users):
    sync_library(FIXTURES)
    login(client, "trainee1", "correct-horse-1")
    for url in ("/scenarios/", f"/scenarios/{SID}", f"/scenarios/{SID}/edit", "/scenarios/export.zip",
                f"/scenarios/{SID}/lines/1/t1.wav"):
        assert client.get(url).status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/practical/")})
    login(client, "trainer1", "correct-horse-1")
    assert client.post(f"/scenarios/{SID}/retire").status_code == 400, "CSRF token required"


def test_invalid_yaml_save_keeps_the_form_fields_and_check_does_not_save(trainer):
    broken = SOURCE.replace("title: 话费查询（运行时测试）", "title: 我改过的标题").replace("level: 5", "level: 9")
    broken = re.sub(r"(?m)^brief: .*$", "brief: 我改过的说明，工号 2046。", broken)
    resp = form_post(trainer, f"/scenarios/{SID}/edit", {"y-yaml_text": broken, "y-save_yaml": "保存 YAML"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "level" in page
    assert 'value="我改过的标题"' in page and "我改过的说明，工号 2046。" in page, "the form shows what was typed"
    assert ScenarioVersion.latest(SID).version == 1

    ok = SOURCE.replace("title: 话费查询（运行时测试）", "title: 只检查的标题")
    checked = form_post(trainer, f"/scenarios/{SID}/edit", {"y-yaml_text": ok, "y-check_yaml": "只检查，不保存"})
    assert "检查通过" in checked.get_data(as_text=True) and ScenarioVersion.latest(SID).version == 1, "nothing saved"
    bad = form_post(trainer, f"/scenarios/{SID}/edit", {"y-yaml_text": broken, "y-check_yaml": "只检查，不保存"})
    assert "检查通过" not in bad.get_data(as_text=True) and "level" in bad.get_data(as_text=True)


@pytest.mark.parametrize("scenario_id, words", [
    ("test-review-opening", ["录音评析", "录音内容", "这段录音中坐席有哪些不规范的地方",
                             "坐席没有报工号，还说了不知道"]),
    ("test-typing-workorder", ["工单录入", "录入原文", "客户王先生来电反映"]),
    ("test-case-repeat-complaint", ["案例处理", "案例材料", "请写出处理这起投诉的步骤和要点", "先安抚客户"]),
])
def test_detail_pages_of_tasks_without_a_call_show_the_task(trainer, scenario_id, words):
    """A recording review, a typing task and a case have no caller script (nor, some, a caller voice):
    their pages show what the trainee is given instead of failing."""
    resp = trainer.get(f"/scenarios/{scenario_id}")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'data-testid="task-content"' in page
    for expected in words:
        assert expected in page, expected
    assert "来电者话轮" not in page and "<dt>工号</dt>" not in page and "<dt>线路</dt>" not in page


def test_every_library_scenario_has_a_detail_page(app, client, users):
    from scenarios import LIBRARY_DIR

    assert sync_library(LIBRARY_DIR)["rejected"] == 0
    login(client, "trainer1", "correct-horse-1")
    ids = [v.scenario_id for v in ScenarioVersion.current()]
    assert len(ids) > 40
    broken = [sid for sid in ids if client.get(f"/scenarios/{sid}").status_code != 200]
    assert not broken


@pytest.mark.parametrize("scenario_id", ["test-review-opening", "test-typing-workorder", "test-case-repeat-complaint"])
def test_try_it_opens_a_practice_task_for_tasks_without_a_call(app, trainer, scenario_id):
    assert "以学员身份试做" in trainer.get(f"/scenarios/{scenario_id}").get_data(as_text=True)
    token = csrf_token(trainer, f"/scenarios/{scenario_id}")
    resp = trainer.post(f"/scenarios/{scenario_id}/try", data={"csrf_token": token})
    assert resp.status_code == 302 and "/practical/tasks/" in resp.headers["Location"]
    assert trainer.get(resp.headers["Location"]).status_code == 200
    row = db.session.get(PracticalCall, resp.headers["Location"].rsplit("/", 1)[-1])
    assert row.mode == "practice" and row.scenario.scenario_id == scenario_id
