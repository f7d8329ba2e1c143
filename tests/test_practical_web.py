"""The practical-call pages and JSON API: who may open what, what the browser is told, bad input."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulator.extensions import db
from simulator.practical.library import sync_library
from simulator.practical.models import PracticalCall, ScenarioVersion
from tests.helpers import csrf_token, login, pass_device_check

FIXTURES = Path(__file__).resolve().parent / "data" / "scenarios"
SCENARIO_ID = "test-runtime-lookup"


@pytest.fixture
def library(app):
    report = sync_library(FIXTURES)
    assert report["created"] >= 1 and report["rejected"] == 0
    return report


def start(client) -> tuple[str, str]:
    token = csrf_token(client, "/practical/")
    resp = client.post(f"/practical/start/{SCENARIO_ID}", data={"csrf_token": token})
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"])
    if page.status_code == 302 and "/practical/device" in page.headers["Location"]:
        pass_device_check(client, Path(client.application.config["TTS_CACHE_DIR"]))   # once per session
        page = client.get(resp.headers["Location"])
    assert page.status_code == 200
    call_id = resp.headers["Location"].rstrip("/").split("/")[-1]
    meta = page.get_data(as_text=True).split('name="csrf-token" content="')[1].split('"')[0]
    return call_id, meta


def test_library_sync_versions_changed_scenarios(app, tmp_path):
    src = (FIXTURES / "runtime-lookup.yaml").read_text("utf-8")
    (tmp_path / "a.yaml").write_text(src, "utf-8")
    assert sync_library(tmp_path)["created"] == 1
    assert sync_library(tmp_path) == {"created": 0, "unchanged": 1, "rejected": 0, "problems": []}
    (tmp_path / "a.yaml").write_text(src.replace("话费查询（运行时测试）", "话费查询（第二版）"), "utf-8")
    assert sync_library(tmp_path)["created"] == 1
    latest = ScenarioVersion.latest(SCENARIO_ID)
    assert latest.version == 2 and latest.title == "话费查询（第二版）"
    (tmp_path / "b.yaml").write_text("id: broken\nlevel: 9\n", "utf-8")
    report = sync_library(tmp_path)
    assert report["rejected"] == 1 and report["problems"]
    assert ScenarioVersion.latest("broken") is None, "an invalid scenario is never loaded"


def test_trainee_takes_a_call_through_the_api(app, client, users, library):
    login(client, "trainee1", "correct-horse-1")
    home = client.get("/practical/").get_data(as_text=True)
    assert "话费查询（运行时测试）" in home
    call_id, token = start(client)
    headers = {"X-CSRFToken": token}
    state = client.get(f"/practical/calls/{call_id}/state").get_json()
    assert state["view"]["state"] == "queued" and state["view"]["started"] is False
    from simulator.practical import service
    service.registry().get(call_id).call.t0 -= 10.0    # the trainee is still switching the microphone on
    state = client.get(f"/practical/calls/{call_id}/state").get_json()
    assert not [e for e in state["events"] if e["type"] == "ring"], "nothing rings before the microphone is live"
    resp = client.post(f"/practical/calls/{call_id}/action", json={"action": "begin"}, headers=headers)
    assert resp.status_code == 200 and resp.get_json()["view"]["started"] is True
    resp = client.post(f"/practical/calls/{call_id}/action", json={"action": "answer"}, headers=headers)
    assert resp.status_code == 409 and "振铃" in resp.get_json()["error"], "nothing rings yet"
    resp = client.post(f"/practical/calls/{call_id}/action", json={"action": "fly"}, headers=headers)
    assert resp.status_code == 400
    resp = client.post(f"/practical/calls/{call_id}/audio?seq=0", data=b"\x00" * 8000, headers=headers)
    assert resp.status_code == 200 and resp.get_json()["view"]["next_seq"] == 1
    resp = client.post(f"/practical/calls/{call_id}/audio?seq=3", data=b"\x00" * 8000, headers=headers)
    assert resp.status_code == 409 and resp.get_json()["expected"] == 1
    resp = client.post(f"/practical/calls/{call_id}/audio?seq=1", data=b"\x00" * 7, headers=headers)
    assert resp.status_code == 400 and "PCM" in resp.get_json()["error"]
    resp = client.post(f"/practical/calls/{call_id}/audio?seq=1", data=b"\x00" * (32000 * 6), headers=headers)
    assert resp.status_code == 400
    resp = client.post(f"/practical/calls/{call_id}/work-order", json={"type": "查询"}, headers=headers)
    assert resp.status_code == 409, "no work order before the call is answered"
    service.registry().get(call_id).call.t0 -= 5.0     # five seconds later, without waiting for them
    state = client.get(f"/practical/calls/{call_id}/state").get_json()
    assert state["view"]["state"] == "ringing" and [e["n"] for e in state["events"] if e["type"] == "ring"] == [1, 2]
    resp = client.post(f"/practical/calls/{call_id}/action", json={"action": "answer"}, headers=headers)
    assert resp.status_code == 200 and resp.get_json()["view"]["state"] == "talking"
    cti = [e for e in resp.get_json()["events"] if e["type"] == "cti"]
    assert cti and cti[0]["customer"]["name"] == "王建国"
    resp = client.post(f"/practical/calls/{call_id}/work-order", json={"type": "查询", "summary": "短"},
                       headers=headers)
    body = resp.get_json()
    assert body["saved"] and not body["valid"] and "summary" in body["errors"] and "contact" in body["errors"]
    resp = client.post(f"/practical/calls/{call_id}/finish", json={}, headers=headers)
    assert resp.status_code == 409 and "结束通话" in resp.get_json()["error"]
    row = db.session.get(PracticalCall, call_id)
    assert row.status == "live" and row.scenario.scenario_id == SCENARIO_ID


def test_nothing_secret_reaches_the_trainee(app, client, users, library):
    login(client, "trainee1", "correct-horse-1")
    call_id, _token = start(client)
    page = client.get(f"/practical/calls/{call_id}").get_data(as_text=True)
    state = json.dumps(client.get(f"/practical/calls/{call_id}/state").get_json(), ensure_ascii=False)
    for secret in ("我想查一下我这个月的话费", "asks_to_wait", "请稍等", "规范开头语", "reference", "不知道，你自己查"):
        assert secret not in page and secret not in state
    assert client.get(f"/practical/calls/{call_id}/files/caller/01-t1.wav").status_code == 404, \
        "a caller line is not served before it is spoken"
    assert client.get(f"/practical/calls/{call_id}/files/recording.wav").status_code == 404
    assert client.get(f"/practical/calls/{call_id}/files/../record.json").status_code == 404
    assert client.get(f"/practical/calls/{call_id}/result").status_code == 302


def test_calls_are_private_and_roles_are_checked(app, client, users, make_user, library):
    login(client, "trainee1", "correct-horse-1")
    call_id, token = start(client)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/practical/")})
    make_user("trainee2")
    login(client, "trainee2", "correct-horse-1")
    for url in (f"/practical/calls/{call_id}", f"/practical/calls/{call_id}/state",
                f"/practical/calls/{call_id}/result"):
        assert client.get(url).status_code == 404
    client.post("/logout", data={"csrf_token": csrf_token(client, "/practical/")})
    login(client, "assessor1", "correct-horse-1")
    assert client.get("/practical/").status_code == 403


def test_api_posts_need_the_csrf_token(app, client, users, library):
    login(client, "trainee1", "correct-horse-1")
    call_id, _token = start(client)
    assert client.post(f"/practical/calls/{call_id}/action", json={"action": "hangup"}).status_code == 400
    assert client.post(f"/practical/calls/{call_id}/audio?seq=0", data=b"\x00" * 100).status_code == 400


def test_a_call_lost_with_the_server_is_marked_interrupted(app, client, users, library):
    from simulator.practical import service
    login(client, "trainee1", "correct-horse-1")
    call_id, _token = start(client)
    service.registry().remove(call_id)          # what a restart does to the in-memory call
    resp = client.get(f"/practical/calls/{call_id}/state")
    body = resp.get_json()
    assert resp.status_code == 410 and "重启" in body["error"] and body["status"] == "interrupted"
    row = db.session.get(PracticalCall, call_id)
    assert row.status == "interrupted" and row.provisional and row.result["interrupted"]
    page = client.get(f"/practical/calls/{call_id}", follow_redirects=True).get_data(as_text=True)
    assert "因服务器重启而中断" in page, "the trainee is told, on the call's result"


def test_a_trainee_has_one_live_call_and_calls_left_alone_are_closed(app, client, users, library):
    """Forty calls started and left: no threads, files or streams stay behind."""
    from simulator.practical import service
    login(client, "trainee1", "correct-horse-1")
    reg = service.registry()
    first = None
    for _ in range(40):
        call_id, _token = start(client)
        first = first or call_id
        assert reg.live_count() == 1 and reg.threads() == 1, "a new call closes the one left open"
    with app.app_context():
        rows = db.session.query(PracticalCall).all()
        assert len(rows) == 40
        assert sum(r.status == "abandoned" for r in rows) == 39
        assert json.loads((Path(db.session.get(PracticalCall, first).call_dir) / "record.json")
                          .read_text("utf-8"))["status"] == "abandoned", "the record is kept and marked"
    live = reg.get(call_id)
    live.last_activity -= app.config["CALL_IDLE_TIMEOUT_S"] + 1     # ten minutes without audio or action
    assert reg.sweep() == [call_id]
    assert reg.live_count() == 0
    assert live.audio.closed, "the audio file is released"
    import time
    for _ in range(40):
        if reg.threads() == 0:
            break
        time.sleep(0.05)
    assert reg.threads() == 0
    with app.app_context():
        assert db.session.get(PracticalCall, call_id).status == "abandoned"
    resp = client.get(f"/practical/calls/{call_id}/state")
    assert resp.status_code == 410 and "无操作" in resp.get_json()["error"]


def test_audio_faster_than_real_time_is_refused(app, client, users, library):
    login(client, "trainee1", "correct-horse-1")
    call_id, token = start(client)
    headers = {"X-CSRFToken": token}
    five_seconds = b"\x00" * 32000 * 5
    codes = [client.post(f"/practical/calls/{call_id}/audio?seq={i}", data=five_seconds, headers=headers).status_code
             for i in range(24)]
    assert codes[:6] == [200] * 6 and 429 in codes, "two minutes of audio pushed at once are not taken"


def test_calls_speak_with_the_configured_voice(app, client, users, library):
    """TTS_ENGINE is the voice calls use, as /healthz reports it (not always the default)."""
    from simulator.practical import service
    app.config["TTS_ENGINE"] = "pyttsx3"
    login(client, "trainee1", "correct-horse-1")
    call_id, token = start(client)
    headers = {"X-CSRFToken": token}
    assert client.post(f"/practical/calls/{call_id}/action", json={"action": "begin"},
                       headers=headers).status_code == 200
    live = service.registry().get(call_id)
    live.call.t0 -= 5.0
    assert client.post(f"/practical/calls/{call_id}/action", json={"action": "answer"},
                       headers=headers).status_code == 200
    live.call.t0 -= 7.0                      # no opening: the caller starts after opening_wait_s
    client.get(f"/practical/calls/{call_id}/state")
    lines = [e for e in live.record()["events"] if e["type"] == "caller_utterance"]
    assert lines and lines[0]["voice"] == "pyttsx3"


def test_with_several_web_processes_a_call_id_names_the_process_that_holds_it(app, client, users, library):
    """Call affinity: the proxy routes a call's requests by the two node digits of its id; a web
    process starting up closes only the interrupted calls of its own node, never another's live call."""
    from simulator.practical import service
    app.config["WEB_NODE"] = 7
    login(client, "trainee1", "correct-horse-1")
    call_id, _token = start(client)
    assert call_id.startswith("07") and len(call_id) == 36
    service.registry().remove(call_id)           # as if node 7 held it and this were another process
    app.config["WEB_NODE"] = 8
    assert service.recover_interrupted() == 0
    assert db.session.get(PracticalCall, call_id).status == "live", "node 8 left node 7's call alone"
    app.config["WEB_NODE"] = 7                   # node 7 restarts: its lost call is closed on its record
    assert service.recover_interrupted() == 1
    db.session.expire_all()
    assert db.session.get(PracticalCall, call_id).status == "interrupted"
