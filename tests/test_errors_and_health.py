from __future__ import annotations

from simulator import config as config_module
from simulator import create_app
from simulator.auth.access import public

from .conftest import PASSWORD
from .helpers import login


def test_404_page_is_friendly(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "页面不存在" in response.get_data(as_text=True)


def test_api_errors_are_json(client):
    response = client.get("/api/no-such-thing")
    assert response.status_code == 404
    assert response.get_json() == {"error": "页面不存在", "message": response.get_json()["message"], "status": 404}


def test_csrf_failure_explains_itself(client, users):
    response = client.post("/login", data={"username": "trainee1", "password": PASSWORD})
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "页面已过期" in text
    assert client.get("/trainee").status_code == 302  # not signed in


def test_csrf_token_from_another_session_is_rejected(app, users):
    from .helpers import csrf_token
    alice, mallory = app.test_client(), app.test_client()
    token = csrf_token(mallory, "/login")
    response = alice.post("/login", data={"username": "trainee1", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 400


def test_oversized_upload_gets_413(tmp_path, make_user):
    app = create_app(config_module.for_tests(tmp_path, MAX_CONTENT_LENGTH=1024))
    from flask_migrate import upgrade
    with app.app_context():
        upgrade()
        from simulator.auth.models import User
        from simulator.extensions import db
        admin = User(username="root1", display_name="root", role="admin")
        admin.set_password(PASSWORD)
        db.session.add(admin)
        db.session.commit()
        client = app.test_client()
        login(client, "root1", PASSWORD)
        response = client.post("/admin/users/import", data={"file": (__import__("io").BytesIO(b"x" * 5000), "a.csv")},
                               content_type="multipart/form-data")
        assert response.status_code == 413
        assert "文件太大" in response.get_data(as_text=True)


def test_unexpected_errors_give_the_500_page_and_are_logged(tmp_path, caplog):
    app = create_app(config_module.for_tests(tmp_path))

    @app.route("/boom")
    @public
    def boom():
        raise RuntimeError("kaboom")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert "系统出错了" in response.get_data(as_text=True)
    assert "kaboom" not in response.get_data(as_text=True)
    assert any("unhandled error" in r.message for r in caplog.records)


def test_healthz_reports_database_asr_and_tts(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["database"] == {"ok": True, "dialect": "sqlite"}
    for key in ("engine", "model", "model_found", "checked"):
        assert key in body["asr"]
    for key in ("engine", "checked"):
        assert key in body["tts"]
    # On this project's machines Whisper is present in ../shared/models and Vosk's Chinese model is not.
    assert body["asr"]["engine"] in {"vosk", "whisper"}
    assert body["asr"]["model_found"] is True
    assert "/" not in str(body["asr"])  # no file-system paths on a public endpoint


def test_healthz_follows_asr_engine_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("VOSK_MODEL_PATH", "")
    app = create_app(config_module.for_tests(tmp_path, ASR_ENGINE="whisper"))
    from flask_migrate import upgrade
    with app.app_context():
        upgrade()
    body = app.test_client().get("/healthz").get_json()
    assert body["asr"]["requested"] == "whisper"
    assert [c["engine"] for c in body["asr"]["checked"]] == ["whisper"]


def test_security_headers(client):
    response = client.get("/login")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
