"""Scenario authoring for trainers: versions, the form and YAML editors, validation messages, caller-line
preview, try-it, import/export and who may do it."""
from __future__ import annotations

import io
import re
import wave
import zipfile
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
    token = re.search(r'name="(?:[yf]-)?csrf_token"[^>]*value="([^"]+)"', client.get(url).get_data(as_text=True)).group(1)
    return client.post(url, data={**data, prefix_token: token})


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


def test_new_scenario_from_the_template_and_duplicate_ids(trainer):
    template = trainer.get("/scenarios/new").get_data(as_text=True)
    text = re.search(r'<textarea name="y-yaml_text"[^>]*>(.*?)</textarea>', template, re.S).group(1)
    import html
    text = html.unescape(text)
    resp = form_post(trainer, "/scenarios/new", {"y-yaml_text": text, "y-save_yaml": "保存 YAML"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    assert ScenarioVersion.latest("l5-new-scenario").version == 1
    resp = form_post(trainer, "/scenarios/new", {"y-yaml_text": text, "y-save_yaml": "保存 YAML"})
    assert resp.status_code == 422 and "已存在" in resp.get_data(as_text=True)


def test_import_is_all_or_nothing_and_export_round_trips(trainer):
    good = SOURCE.replace(SID, "imported-one")
    bad = SOURCE.replace(SID, "imported-two").replace("level: 5", "level: 7")
    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, "w") as zf:
        zf.writestr("a/good.yaml", good)
        zf.writestr("a/bad.yaml", bad)
    token = csrf_token(trainer, "/scenarios/import")
    resp = trainer.post("/scenarios/import", data={"csrf_token": token, "file": (io.BytesIO(bundle.getvalue()), "s.zip")},
                        content_type="multipart/form-data")
    assert resp.status_code == 422 and "a/bad.yaml: level: 等级必须是 5、4 或 3" in resp.get_data(as_text=True)
    assert ScenarioVersion.latest("imported-one") is None
    token = csrf_token(trainer, "/scenarios/import")
    resp = trainer.post("/scenarios/import", data={"csrf_token": token, "file": (io.BytesIO(good.encode()), "good.yaml")},
                        content_type="multipart/form-data")
    assert resp.status_code == 302 and ScenarioVersion.latest("imported-one") is not None
    token = csrf_token(trainer, "/scenarios/import")
    resp = trainer.post("/scenarios/import", data={"csrf_token": token, "file": (io.BytesIO(b"PK\x03\x04junk"), "x.zip")},
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


def test_form_shows_words_not_internals(trainer):
    page = trainer.get(f"/scenarios/{SID}/edit").get_data(as_text=True)
    assert "calm（" not in page and "elderly（" not in page, "voices by their Chinese names only"
    assert re.search(r'<select[^>]*name="f-line"', page), "line condition is a choice, not free text"
    assert ">电话音质<" in page and ">正常<" in page
    detail = trainer.get(f"/scenarios/{SID}").get_data(as_text=True)
    assert "['" not in detail and "none" not in re.sub(r"<[^>]+>", "", detail)
    help_page = trainer.get("/scenarios/help").get_data(as_text=True)
    assert 'data-testid="format-help"' in help_page and "<h2" in help_page and "Rubric" in help_page
    assert "docs/scenarios.md" not in trainer.get(f"/scenarios/{SID}/edit").get_data(as_text=True)


def test_new_scenario_from_the_common_fields_form(trainer):
    page = trainer.get("/scenarios/new").get_data(as_text=True)
    assert 'data-testid="new-fields-form"' in page and 'data-testid="yaml-form"' in page
    resp = form_post(trainer, "/scenarios/new", {
        "f-scenario_id": "l4-form-made", "f-title": "表单创建的场景", "f-level": "4", "f-situation": "consultation",
        "f-difficulty": "2", "f-brief": "你是客服热线坐席，工号 2077。请接听来电。", "f-agent_number": "2077",
        "f-voice": "calm", "f-line": "telephone+low_volume", "f-save_fields": "按表单创建"}, prefix_token="f-csrf_token")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    row = ScenarioVersion.latest("l4-form-made")
    assert row.title == "表单创建的场景" and row.level == 4 and row.data["line"] == "telephone+low_volume"
    assert row.data["agent_number"] == "2077" and "2077" in row.data["reference_answers"][0]["turns"][0]
    bad = form_post(trainer, "/scenarios/new", {
        "f-scenario_id": "Bad Id", "f-title": "x", "f-level": "4", "f-situation": "consultation", "f-difficulty": "1",
        "f-brief": "说明", "f-voice": "calm", "f-line": "none", "f-save_fields": "按表单创建"}, prefix_token="f-csrf_token")
    assert "场景编号只能用小写字母" in bad.get_data(as_text=True)
