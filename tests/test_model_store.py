"""The speech-model resolver: each location in order, downloads with checksums, clear messages."""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import http.server
import json
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest

from grading import model_store
from grading.engine_choice import asr_status, choose_engine
from grading.model_store import ModelNotFound, RemoteFile

SPEC = model_store.VOSK_SMALL_CN


def make_model(folder: Path, spec=SPEC) -> Path:
    for rel in spec.required_files:
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(b"model bytes for " + rel.encode())
    return folder


@pytest.fixture
def project(tmp_path):
    """A project folder with a shared/ folder beside it, as on a real checkout."""
    root = tmp_path / "checkout"
    root.mkdir()
    (tmp_path / "shared" / "models").mkdir(parents=True)
    return root


def test_env_variable_comes_first(project, tmp_path):
    custom = make_model(tmp_path / "custom")
    make_model(project / "models" / SPEC.name)
    res = model_store.locate(SPEC, env={SPEC.env_var: str(custom)}, project_root=project)
    assert (res.source, res.path) == ("env", custom.resolve())


def test_project_models_folder_comes_second(project):
    make_model(project / "models" / SPEC.name)
    make_model(project.parent / "shared" / "models" / SPEC.name)
    res = model_store.locate(SPEC, env={}, project_root=project)
    assert res.source == "project"


def test_shared_models_folder_comes_third(project):
    make_model(project.parent / "shared" / "models" / SPEC.name)
    res = model_store.locate(SPEC, env={}, project_root=project)
    assert res.source == "shared"


def test_incomplete_folder_is_not_a_model(project):
    folder = project / "models" / SPEC.name
    make_model(folder)
    (folder / "am" / "final.mdl").unlink()
    with pytest.raises(ModelNotFound):
        model_store.locate(SPEC, env={}, project_root=project)


def test_nothing_found_gives_a_clear_message_naming_every_place(project):
    with pytest.raises(ModelNotFound) as excinfo:
        model_store.locate(SPEC, env={}, project_root=project)
    message = str(excinfo.value)
    assert SPEC.name in message and SPEC.env_var in message
    assert str(project / "models" / SPEC.name) in message
    assert str(project.parent / "shared" / "models" / SPEC.name) in message


def test_a_wrong_env_path_is_reported_not_silently_replaced(project, tmp_path):
    make_model(project / "models" / SPEC.name)
    with pytest.raises(ModelNotFound, match="VOSK_MODEL_PATH=.*missing: am/final.mdl"):
        model_store.locate(SPEC, env={SPEC.env_var: str(tmp_path / "nowhere")}, project_root=project)


def test_the_real_whisper_model_is_found_in_shared():
    res = model_store.locate(model_store.WHISPER_BASE, env={})
    assert res.source in {"project", "shared"}
    assert (res.path / "model.bin").stat().st_size == 145217532


# ---- downloads from a local HTTP server ------------------------------------------------------------

@pytest.fixture
def http_root(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _zip_model(served: Path, tmp_path: Path) -> tuple[str, str]:
    folder = make_model(tmp_path / "build" / SPEC.name)
    archive = served / "model.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in folder.rglob("*"):
            zf.write(path, path.relative_to(folder.parent))
    return archive.name, hashlib.sha256(archive.read_bytes()).hexdigest()


def test_download_of_a_zip_verifies_and_unpacks(project, http_root, tmp_path):
    served, base = http_root
    name, digest = _zip_model(served, tmp_path)
    spec = dataclasses.replace(SPEC, archive=RemoteFile(base + name, digest))
    res = model_store.ensure(spec, env={}, project_root=project, quiet=True)
    assert res.source == "download"
    assert res.path == (project / "models" / SPEC.name).resolve()
    assert spec.is_model_dir(res.path)
    again = model_store.ensure(spec, env={}, project_root=project, quiet=True)
    assert again.source == "project"  # second run finds it, no download


def test_download_file_by_file(project, http_root):
    served, base = http_root
    spec = model_store.WHISPER_BASE
    remotes = []
    for rel in spec.required_files:
        body = f"content of {rel}".encode()
        (served / rel).write_bytes(body)
        remotes.append(RemoteFile(base + rel, hashlib.sha256(body).hexdigest(), len(body), rel))
    spec = dataclasses.replace(spec, files=tuple(remotes))
    res = model_store.ensure(spec, env={}, project_root=project, quiet=True)
    assert (res.path / "config.json").read_text() == "content of config.json"


def test_checksum_mismatch_leaves_nothing_behind(project, http_root, tmp_path):
    served, base = http_root
    name, _ = _zip_model(served, tmp_path)
    spec = dataclasses.replace(SPEC, archive=RemoteFile(base + name, "0" * 64))
    with pytest.raises(ModelNotFound, match="checksum mismatch"):
        model_store.ensure(spec, env={}, project_root=project, quiet=True)
    leftovers = [p.name for p in (project / "models").iterdir()]
    assert leftovers == [".download-failures.json"]


def test_missing_file_on_server_and_failure_is_remembered(project, http_root):
    _, base = http_root
    spec = dataclasses.replace(SPEC, archive=RemoteFile(base + "absent.zip", "0" * 64))
    clock = [1000.0]
    with pytest.raises(ModelNotFound, match="HTTP 404"):
        model_store.ensure(spec, env={}, project_root=project, quiet=True, now=lambda: clock[0])
    log = json.loads((project / "models" / ".download-failures.json").read_text())
    assert log[SPEC.name]["at"] == 1000.0
    # within a day the failure is reported from the log, without a new attempt
    clock[0] += 60
    with pytest.raises(ModelNotFound, match="could not be downloaded"):
        model_store.ensure(spec, env={}, project_root=project, quiet=True, now=lambda: clock[0])
    assert json.loads((project / "models" / ".download-failures.json").read_text())[SPEC.name]["at"] == 1000.0
    # after a day, or with retry, it tries again
    with pytest.raises(ModelNotFound):
        model_store.ensure(spec, env={}, project_root=project, quiet=True, retry=True, now=lambda: clock[0])
    assert json.loads((project / "models" / ".download-failures.json").read_text())[SPEC.name]["at"] == 1060.0


def test_unreachable_host_fails_fast_with_one_line(project):
    spec = dataclasses.replace(SPEC, archive=RemoteFile("http://127.0.0.1:9/none.zip", "0" * 64))
    with pytest.raises(ModelNotFound) as excinfo:
        model_store.ensure(spec, env={}, project_root=project, quiet=True)
    assert "\n" not in str(excinfo.value) and "ConnectionError" in str(excinfo.value)


# ---- engine choice ------------------------------------------------------------------------------

def test_auto_prefers_vosk_when_its_model_exists(project):
    make_model(project / "models" / model_store.VOSK_SMALL_CN.name, model_store.VOSK_SMALL_CN)
    make_model(project / "models" / model_store.WHISPER_BASE.name, model_store.WHISPER_BASE)
    chosen, _ = choose_engine("auto", env={}, project_root=project)
    assert chosen.engine == "vosk"


def test_auto_falls_back_to_whisper_without_vosk_model(project):
    make_model(project / "models" / model_store.WHISPER_BASE.name, model_store.WHISPER_BASE)
    status = asr_status("auto", env={}, project_root=project)
    assert (status["engine"], status["streaming"]) == ("whisper", "emulated")


def test_no_engine_when_no_model(project):
    status = asr_status("vosk", env={}, project_root=project)
    assert status["engine"] is None and status["checked"][0]["problem"] == "model not found"
    with pytest.raises(ValueError):
        asr_status("kaldi", env={}, project_root=project)


def test_cli_ensure_reports_each_model_in_one_line():
    out = subprocess.run([sys.executable, "-m", "grading", "models", "ensure", "--quiet"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stdout.splitlines() if line.startswith("[models]")]
    assert any(line.startswith("[models] faster-whisper-base:") for line in lines)
    assert sum(model_store.VOSK_SMALL_CN.name in line for line in lines) == 1
    assert lines[-1].startswith("[models] speech recognition:")
