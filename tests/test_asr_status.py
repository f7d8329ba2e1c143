"""The recognition service reports its health: the in-process queue, or Redis and its workers, through
/healthz and ``python -m grading status``. Real model, real redis-server, a real worker process."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from grading import load_audio
from grading.asr import get_recognizer
from grading.asr.service import AsrJob, BatchingService, ServiceSettings, close_service_for, service_for
from tests.audio_fixtures import HUMAN_DIR

ROOT = Path(__file__).resolve().parent.parent
HEARTBEAT_TTL_S = "3"          # short, so a killed worker's heartbeat is gone within seconds
SCALE_OUT_VARS = ("REDIS_URL", "ASR_WORKERS", "ASR_HEARTBEAT_TTL_S")


@pytest.fixture(scope="module")
def whisper():
    return get_recognizer("whisper")


def clip(name: str) -> np.ndarray:
    return load_audio(HUMAN_DIR / name).float32


def test_in_process_status_shows_queued_jobs_then_the_batches_run(whisper):
    service = BatchingService(whisper, ServiceSettings(batch_max=8, batch_wait_s=0.0), start=False, decoders=1)
    samples = clip("masr_test.wav")
    futures = [service.submit(AsrJob("final", samples)), service.submit(AsrJob("final", samples)),
               service.submit(AsrJob("caption", samples))]
    assert service.status() == {"running": False, "queued": {"finals": 2, "captions": 1}, "decoding": 0,
                                "decoders": 1, "batches_run": 0, "last_batches": []}
    service.start()
    for future in futures:
        future.result(timeout=900)
    after = service.status()
    service.close()
    assert after["running"] is True and after["queued"] == {"finals": 0, "captions": 0}
    assert after["batches_run"] == 2 and not after["decoding"]
    assert after["last_batches"] == [{"kind": "final", "size": 2}, {"kind": "caption", "size": 1}]


def test_healthz_reports_this_processes_in_process_service(client, whisper, monkeypatch):
    for name in SCALE_OUT_VARS:
        monkeypatch.delenv(name, raising=False)
    close_service_for(whisper)                 # no live call has needed recognition yet in this process
    try:
        before = client.get("/healthz").get_json()["recognition"]
        assert before["mode"] == "in-process" and before["ok"] is True and before["started"] is False
        service = service_for(whisper)
        assert isinstance(service, BatchingService)
        service.submit(AsrJob("final", clip("masr_test.wav"))).result(timeout=900)
        response = client.get("/healthz")
        assert response.status_code == 200
        recognition = response.get_json()["recognition"]
        assert recognition["started"] is True and recognition["ok"] is True
        assert recognition["queued"] == {"finals": 0, "captions": 0}
        assert recognition["batches_run"] == 1 and recognition["last_batches"] == [{"kind": "final", "size": 1}]
    finally:
        close_service_for(whisper)


@pytest.fixture
def redis_server():
    from tests.redisserver import RedisServer
    with RedisServer() as server:
        yield server


def start_worker(url: str, name: str, log: Path) -> subprocess.Popen:
    env = dict(os.environ, REDIS_URL=url, ASR_THREADS="1", ASR_HEARTBEAT_TTL_S=HEARTBEAT_TTL_S)
    return subprocess.Popen([sys.executable, "-m", "grading", "worker", "--name", name], cwd=ROOT, env=env,
                            stdout=open(log, "w"), stderr=subprocess.STDOUT)


def wait_until(condition, what: str, timeout: float, proc: subprocess.Popen | None = None, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while not (got := condition()):
        if proc is not None:
            assert proc.poll() is None, log.read_text() if log else "the worker exited"
        assert time.monotonic() < deadline, what
        time.sleep(0.05)
    return got


def grading_status(url: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, REDIS_URL=url, ASR_WORKERS="1", ASR_HEARTBEAT_TTL_S=HEARTBEAT_TTL_S)
    return subprocess.run([sys.executable, "-m", "grading", "status"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)


def test_redis_status_follows_a_worker_that_is_killed_and_redis_that_stops(client, redis_server, tmp_path,
                                                                            monkeypatch):
    import redis

    from grading.asr.redis_queue import FINALS, GROUP, RedisService, worker_decoders
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    monkeypatch.setenv("ASR_WORKERS", "1")
    monkeypatch.setenv("ASR_HEARTBEAT_TTL_S", HEARTBEAT_TTL_S)
    raw = redis.Redis.from_url(redis_server.url)
    log = tmp_path / "w1.log"
    worker = start_worker(redis_server.url, "w1", log)
    try:
        wait_until(lambda: raw.exists("asr:worker:w1"), "the worker did not start", 300, worker, log)
        response = client.get("/healthz")
        assert response.status_code == 200
        alive = response.get_json()["recognition"]
        assert alive["mode"] == "redis" and alive["ok"] is True and alive["reachable"] is True
        assert [w["name"] for w in alive["workers"]] == ["w1"] and 0 <= alive["workers"][0]["last_heartbeat_s"] <= 3
        assert alive["workers"][0]["decoders"] == worker_decoders()   # one per core it may use
        assert alive["workers_alive"] == 1 and alive["workers_all_alive"] is True and alive["workers_missing"] == []
        assert (alive["finals_waiting"], alive["jobs_pending"], alive["oldest_pending_idle_s"]) == (0, 0, None)

        # The worker takes a long final and is killed holding it; a second final then waits for anyone.
        service = RedisService(redis_server.url, ServiceSettings(redis_url=redis_server.url, workers=1))
        long_final = np.concatenate([clip("masr_test.wav"), clip("aishell1_BAC009S0764W0124.wav")])
        service.submit(AsrJob("final", long_final))
        wait_until(lambda: raw.xpending(FINALS, GROUP)["pending"], "the worker never took the job", 120, worker, log)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
        killed_at = time.monotonic()
        service.submit(AsrJob("final", clip("masr_test.wav")))
        degraded = wait_until(lambda: (r := client.get("/healthz").get_json())["recognition"]["workers_alive"] == 0
                              and r, "the killed worker's heartbeat never expired", 30)
        gone_after = time.monotonic() - killed_at
        assert gone_after <= float(HEARTBEAT_TTL_S) + 2, "the heartbeat expired with its TTL"
        assert degraded["status"] == "degraded"
        recognition = degraded["recognition"]
        assert recognition["ok"] is False and recognition["reachable"] is True and recognition["workers"] == []
        assert recognition["workers_all_alive"] is False
        # reported as the process, whichever of its decoders (w1#0, w1#1 ...) held the job
        assert [(m["name"], m["holds"]) for m in recognition["workers_missing"]] == [("w1", 1)]
        assert recognition["finals_waiting"] == 1 and recognition["jobs_pending"] == 1
        assert recognition["oldest_pending_idle_s"] >= 1.0
        assert any("no recognition worker is alive" in p for p in recognition["problems"])
        printed = grading_status(redis_server.url)
        assert printed.returncode == 1 and "DEGRADED" in printed.stdout, printed.stderr
        assert "w1: MISSING" in printed.stdout and "holds 1 job" in printed.stdout
        assert "finals waiting: 1, jobs pending: 1" in printed.stdout
        service.close()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=30)
        raw.close()

    redis_server.stop()
    secret_url = f"redis://:s3cret-pw@127.0.0.1:{redis_server.port}/0"
    monkeypatch.setenv("REDIS_URL", secret_url)
    response = client.get("/healthz")
    assert response.status_code == 200, "the web still serves without Redis"
    body = response.get_json()
    assert body["status"] == "degraded"
    assert body["recognition"]["reachable"] is False and body["recognition"]["ok"] is False
    assert "无法连接 Redis" in body["recognition"]["error"] and "unreachable" in body["recognition"]["error"]
    assert "s3cret-pw" not in response.get_data(as_text=True)
    printed = grading_status(secret_url)
    assert printed.returncode == 1 and "UNREACHABLE" in printed.stdout
    assert "s3cret-pw" not in printed.stdout + printed.stderr and ":***@" in printed.stdout


def test_healthz_reports_a_bad_scale_out_setting_instead_of_failing(client, monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("ASR_WORKERS", "two")
    response = client.get("/healthz")
    assert response.status_code == 200
    recognition = response.get_json()["recognition"]
    assert recognition["ok"] is False and "状态未知" in recognition["error"] and "ValueError" in recognition["error"]
