"""The live call's browser side on the server (issue 14): the microphone check a trainee passes before a
call rings (practice and certification), and the required work order that can be skipped only on
purpose, with the record saying so."""
from __future__ import annotations

import io
import json
import re
import wave
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import yaml

from scenarios import from_data as scenario_from_data
from simulator.extensions import db
from simulator.practical.library import add_version, sync_library
from simulator.practical.models import PracticalCall
from softphone_sim import render_line
from tests.conftest import PASSWORD
from tests.helpers import csrf_token, login, pass_device_check

FIXTURES = Path(__file__).resolve().parent / "data" / "scenarios"
SCENARIO_ID = "test-runtime-lookup"
META = re.compile(r'name="csrf-token" content="([^"]+)"')


def wav_bytes(samples: np.ndarray) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(samples.astype("<i2").tobytes())
    return buf.getvalue()


def start_call(client, scenario_id: str = SCENARIO_ID) -> str:
    token = csrf_token(client, "/practical/")
    resp = client.post(f"/practical/start/{scenario_id}", data={"csrf_token": token})
    assert resp.status_code == 302 and "/practical/calls/" in resp.headers["Location"]
    return resp.headers["Location"].rsplit("/", 1)[-1]


def upload(client, token: str, data: bytes, name: str = "device-test.webm"):
    return client.post("/practical/device/test", headers={"X-CSRFToken": token},
                       data={"audio": (io.BytesIO(data), name)}, content_type="multipart/form-data")


@pytest.fixture
def trainee(app, client, users):
    sync_library(FIXTURES)
    login(client, "trainee1", PASSWORD)
    return client


def test_the_call_page_sends_a_trainee_to_the_microphone_check_first(app, trainee, tmp_path):
    call_id = start_call(trainee)
    resp = trainee.get(f"/practical/calls/{call_id}")
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/practical/device?next=/practical/calls/{call_id}")
    page = trainee.get(resp.headers["Location"]).get_data(as_text=True)
    assert "请说一句话" in page and "允许使用麦克风" in page and f'href="/practical/calls/{call_id}"' in page
    token = META.search(page).group(1)

    assert trainee.post("/practical/device/test", data={"audio": (io.BytesIO(b"x"), "a.webm")},
                        content_type="multipart/form-data").status_code == 400, "CSRF is required"
    resp = trainee.post("/practical/device/test", headers={"X-CSRFToken": token})
    assert resp.status_code == 400 and "没有收到录音" in resp.get_json()["error"]
    resp = upload(trainee, token, b"definitely not audio" * 40)
    assert resp.status_code == 422 and "不是音频" in resp.get_json()["error"]
    resp = upload(trainee, token, wav_bytes(np.zeros(16000 * 3)), "silence.wav")
    assert resp.status_code == 422 and "没有录到声音" in resp.get_json()["error"]
    t = np.arange(16000 * 3) / 16000
    resp = upload(trainee, token, wav_bytes(3000 * np.sin(2 * np.pi * 440 * t)), "tone.wav")
    assert resp.status_code == 422 and "没有识别出您说的话" in resp.get_json()["error"]
    assert trainee.get(f"/practical/calls/{call_id}").status_code == 302, "a failed check does not pass"

    line = render_line("您好，很高兴为您服务。", persona="calm", cache_dir=tmp_path)
    resp = upload(trainee, token, Path(line.path).read_bytes(), "speech.wav")
    body = resp.get_json()
    assert resp.status_code == 200 and body["passed"] and re.search(r"您好|服务", body["text"]), body
    assert body["level_dbfs"] > -50
    page = trainee.get(f"/practical/calls/{call_id}")
    assert page.status_code == 200 and "客户正在说话" in page.get_data(as_text=True)
    assert "显示客户原话" in page.get_data(as_text=True), "practice calls offer the caller's words"
    second = start_call(trainee)
    assert trainee.get(f"/practical/calls/{second}").status_code == 200, "passed once per session"
    again = trainee.get("/practical/device").get_data(as_text=True)
    assert "本次登录已通过检测" in again


def test_the_check_belongs_to_the_account_and_next_stays_on_the_site(app, client, users, make_user):
    sync_library(FIXTURES)
    login(client, "trainee1", PASSWORD)
    pass_device_check(client, Path(app.config["TTS_CACHE_DIR"]))
    client.post("/logout", data={"csrf_token": csrf_token(client, "/practical/")})
    make_user("trainee2")
    login(client, "trainee2", PASSWORD)
    call_id = start_call(client)
    assert client.get(f"/practical/calls/{call_id}").status_code == 302, "another account checks again"
    for bad in ("https://example.com/x", "//example.com/x", "/practical/../../etc", "javascript:alert(1)"):
        page = client.get("/practical/device", query_string={"next": bad}).get_data(as_text=True)
        assert 'data-next-url="/practical/"' in page, bad


def test_trainers_trying_a_scenario_are_not_held_up(app, client, users):
    sync_library(FIXTURES)
    login(client, "trainer1", PASSWORD)
    call_id = start_call(client)
    assert client.get(f"/practical/calls/{call_id}").status_code == 200


def test_a_certification_call_needs_the_check_and_never_shows_the_callers_words(app, client, users):
    from simulator.auth.models import Role
    from simulator.sittings import service as sittings
    from simulator.sittings.models import SittingCandidate, utcnow

    sync_library(FIXTURES)
    call4 = yaml.safe_load((FIXTURES / "runtime-lookup.yaml").read_text("utf-8"))
    call4.update(id="test-runtime-lookup-4", level=4, title="话费查询（四级）")
    add_version(scenario_from_data(call4, name=call4["id"]))
    db.session.commit()
    opens = utcnow() - timedelta(minutes=5)
    sitting = sittings.create_sitting(users[Role.ASSESSOR], name="2026年第9期四级鉴定", level=4, opens_at=opens,
                                      closes_at=opens + timedelta(hours=3))
    sittings.enrol(sitting, [users[Role.TRAINEE]], users[Role.ASSESSOR])
    plan = db.session.query(SittingCandidate).filter_by(sitting_id=sitting.id).one().practical_plan
    index = next(i for i, p in enumerate(plan) if p["type"] == "live_call")

    login(client, "trainee1", PASSWORD)
    token = csrf_token(client, f"/my/sittings/{sitting.id}")
    resp = client.post(f"/my/sittings/{sitting.id}/practical/{index}", data={"csrf_token": token})
    call_url = resp.headers["Location"]
    assert "/practical/calls/" in call_url
    resp = client.get(call_url)
    assert resp.status_code == 302 and "/practical/device" in resp.headers["Location"]
    pass_device_check(client, Path(app.config["TTS_CACHE_DIR"]))
    page = client.get(call_url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "客户正在说话" in html and "显示客户原话" not in html, "certification: the indicator only"
    headers = {"X-CSRFToken": META.search(html).group(1)}
    call_id = call_url.rsplit("/", 1)[-1]
    begin = client.post(f"/practical/calls/{call_id}/action", json={"action": "begin"}, headers=headers)
    assert begin.status_code == 200
    from simulator.practical import service
    service.registry().get(call_id).call.t0 -= 8.0
    client.post(f"/practical/calls/{call_id}/action", json={"action": "answer"}, headers=headers)
    service.registry().get(call_id).call.t0 -= 7.0          # the caller starts after the opening wait
    events = client.get(f"/practical/calls/{call_id}/state").get_json()["events"]
    lines = [e for e in events if e["type"] == "caller_line"]
    assert lines and all("text" not in e for e in lines), "no caller words in certification"


# ---- the required work order --------------------------------------------------------------------------

def _to_wrap_up(client) -> tuple[str, dict]:
    call_id = start_call(client)
    page = client.get(f"/practical/calls/{call_id}").get_data(as_text=True)
    headers = {"X-CSRFToken": META.search(page).group(1)}
    from simulator.practical import service
    begin = client.post(f"/practical/calls/{call_id}/action", json={"action": "begin"}, headers=headers)
    assert begin.status_code == 200
    service.registry().get(call_id).call.t0 -= 8.0          # it rang meanwhile
    assert client.post(f"/practical/calls/{call_id}/action", json={"action": "answer"},
                       headers=headers).get_json()["view"]["state"] == "talking"
    return call_id, headers


def _record(call_id: str) -> dict:
    db.session.expire_all()
    row = db.session.get(PracticalCall, call_id)
    return json.loads((Path(row.call_dir) / "record.json").read_text("utf-8"))


def test_a_required_work_order_is_skipped_only_on_purpose(app, trainee):
    pass_device_check(trainee, Path(app.config["TTS_CACHE_DIR"]))
    call_id, headers = _to_wrap_up(trainee)
    invalid = trainee.post(f"/practical/calls/{call_id}/work-order", json={"type": "查询", "summary": "短"},
                           headers=headers).get_json()
    assert invalid["saved"] and not invalid["valid"]
    hangup = trainee.post(f"/practical/calls/{call_id}/action", json={"action": "hangup"}, headers=headers)
    assert hangup.status_code == 200
    resp = trainee.post(f"/practical/calls/{call_id}/finish", json={}, headers=headers)
    body = resp.get_json()
    assert resp.status_code == 409 and body["work_order_missing"]
    assert "工单" in body["error"] and "确认" in body["error"]
    resp = trainee.post(f"/practical/calls/{call_id}/finish", data="[1, 2",
                        headers={**headers, "Content-Type": "application/json"})
    assert resp.status_code == 400 and "格式" in resp.get_json()["error"]
    resp = trainee.post(f"/practical/calls/{call_id}/finish", json=["skip"], headers=headers)
    assert resp.status_code == 400
    resp = trainee.post(f"/practical/calls/{call_id}/finish", json={"skip_work_order": "yes"}, headers=headers)
    assert resp.status_code == 409, "only an explicit true skips"
    assert db.session.get(PracticalCall, call_id).status == "live"
    resp = trainee.post(f"/practical/calls/{call_id}/finish", json={"skip_work_order": True}, headers=headers)
    assert resp.status_code == 200 and resp.get_json()["finished"]
    record = _record(call_id)
    assert record["work_order_skipped"] is True
    assert db.session.get(PracticalCall, call_id).status == "finished"


def test_a_valid_work_order_submits_without_a_question(app, trainee):
    pass_device_check(trainee, Path(app.config["TTS_CACHE_DIR"]))
    call_id, headers = _to_wrap_up(trainee)
    saved = trainee.post(f"/practical/calls/{call_id}/work-order", headers=headers, json={
        "type": "查询", "summary": "客户查询本月话费，已告知结果", "contact": "13812345678",
        "callback_time": "", "wrapup_code": "resolved"}).get_json()
    assert saved["valid"], saved
    trainee.post(f"/practical/calls/{call_id}/action", json={"action": "hangup"}, headers=headers)
    resp = trainee.post(f"/practical/calls/{call_id}/finish", json={}, headers=headers)
    assert resp.status_code == 200
    assert "work_order_skipped" not in _record(call_id)
