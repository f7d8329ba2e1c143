"""Live-call benchmark: N simulated trainees take practical calls at once against a real server.

Starts ``run.py`` (waitress) on a throw-away SQLite database with the runtime test scenario, then each
simulated trainee logs in, starts a call, answers when it rings and speaks two turns (synthesised with
the product's voice), streaming 250 ms chunks of 16 kHz PCM in real time exactly as the browser does.
For every turn it measures, from the end of the trainee's speech, the delay until the final transcript
arrives and until the caller's next line starts; and it reports whether the server kept up (audio
backlog per call).

    .venv/bin/python benchmarks/live_calls.py [--calls 30] [--ramp 10]
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import threading
import time
import wave
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.theory_load import CSRF_FORM, CSRF_META, PASSWORD, create_candidates, percentile, start_server  # noqa: E402

SCENARIO_DIR = ROOT / "tests" / "data" / "scenarios"
SCENARIO_ID = "test-runtime-lookup"
TURNS = ["您好，工号1035，很高兴为您服务。", "请您稍等，我帮您查询一下。"]
CHUNK_S = 0.25
CHUNK_BYTES = int(16000 * CHUNK_S) * 2


def load_scenario(db_url: str) -> None:
    from simulator import config, create_app
    from simulator.practical.library import sync_library

    app = create_app({**config.from_env(Path(tempfile.gettempdir()), env={"SECRET_KEY": "bench"}),
                      "SQLALCHEMY_DATABASE_URI": db_url})
    with app.app_context():
        report = sync_library(SCENARIO_DIR)
        if report["rejected"]:
            raise SystemExit(f"benchmark scenario rejected: {report['problems']}")


def speech_pcm() -> list[bytes]:
    from softphone_sim import render_line
    out = []
    for text in TURNS:
        line = render_line(text, persona="calm")
        with wave.open(str(line.path)) as w:
            out.append(w.readframes(w.getnframes()))
    return out


class Trainee(threading.Thread):
    def __init__(self, base, username, speech, results, delay):
        super().__init__(daemon=True)
        self.base, self.username, self.speech, self.results, self.delay = base, username, speech, results, delay
        self.s = requests.Session()
        self.seq = 0
        self.since = 0
        self.max_backlog = 0.0

    def _apply(self, payload, seen):
        self.max_backlog = max(self.max_backlog, payload["view"].get("backlog_s", 0.0))
        for e in payload["events"]:
            self.since = max(self.since, e["id"])
            seen.append((time.perf_counter(), e))

    def _send(self, chunk: bytes, seen) -> None:
        r = self.s.post(f"{self.url}/audio?seq={self.seq}&since={self.since}", data=chunk, timeout=60,
                        headers={"X-CSRFToken": self.token, "Content-Type": "application/octet-stream"})
        r.raise_for_status()
        self.seq += 1
        self._apply(r.json(), seen)

    def run(self):
        time.sleep(self.delay)
        try:
            page = self.s.get(self.base + "/login", timeout=60).text
            self.s.post(self.base + "/login", data={"username": self.username, "password": PASSWORD,
                                                    "csrf_token": CSRF_FORM.search(page).group(1)}, timeout=60)
            home = self.s.get(self.base + "/practical/", timeout=60).text
            resp = self.s.post(f"{self.base}/practical/start/{SCENARIO_ID}",
                               data={"csrf_token": CSRF_FORM.search(home).group(1)}, timeout=120)
            self.token = CSRF_META.search(resp.text).group(1)
            self.url = resp.url
            seen: list = []
            while not any(e["type"] == "ring" for _t, e in seen):
                time.sleep(0.4)
                self._apply(self.s.get(f"{self.url}/state?since={self.since}", timeout=60).json(), seen)
            r = self.s.post(self.url + "/action", json={"action": "answer", "since": self.since},
                            headers={"X-CSRFToken": self.token}, timeout=60)
            r.raise_for_status()
            self._apply(r.json(), seen)
            for n, pcm in enumerate(self.speech, start=1):
                self._turn(pcm, n, seen)
            self.s.post(self.url + "/action", json={"action": "hangup"}, headers={"X-CSRFToken": self.token},
                        timeout=60)
            r = self.s.post(self.url + "/finish", json={}, headers={"X-CSRFToken": self.token}, timeout=300)
            r.raise_for_status()
            self.results["backlog"].append(self.max_backlog)
        except Exception as exc:
            self.results["errors"].append(f"{self.username}: {exc!r}")

    def _turn(self, pcm: bytes, n: int, seen: list) -> None:
        """Speak in real time, then stay on the line (silence) until the caller answers."""
        start = time.perf_counter()
        chunks = [pcm[i:i + CHUNK_BYTES] for i in range(0, len(pcm), CHUNK_BYTES)]
        finals_before = sum(1 for _t, e in seen if e["type"] == "caption" and e.get("final"))
        lines_before = sum(1 for _t, e in seen if e["type"] == "caller_line")
        k = 0
        speech_end = None
        while True:
            due = start + k * CHUNK_S
            now = time.perf_counter()
            if due > now:
                time.sleep(due - now)
            chunk = chunks[k] if k < len(chunks) else bytes(CHUNK_BYTES)
            self._send(chunk, seen)
            k += 1
            if k == len(chunks):
                speech_end = start + len(pcm) / 32000
            finals = [t for t, e in seen if e["type"] == "caption" and e.get("final")]
            lines = [(t, e) for t, e in seen if e["type"] == "caller_line"]
            if speech_end and len(finals) > finals_before and len(lines) > lines_before:
                self.results["final"].append(finals[finals_before] - speech_end)
                self.results["reply"].append(lines[lines_before][0] - speech_end)
                # let the caller finish the line before the next turn
                time.sleep(lines[lines_before][1]["duration_s"])
                return
            if k * CHUNK_S > 90:
                raise TimeoutError(f"turn {n}: no caller reply within 90 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--ramp", type=float, default=10.0, help="seconds over which the calls start")
    parser.add_argument("--server-threads", type=int, default=16)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="live-calls-"))
    db_url = f"sqlite:///{tmp / 'calls.sqlite3'}"
    speech = speech_pcm()
    os.environ["CALLS_DIR"] = str(tmp / "calls")
    proc, base = start_server(db_url, args.server_threads, tmp / "server.log")
    try:
        load_scenario(db_url)
        names = create_candidates(db_url, args.calls)
        results = {"final": [], "reply": [], "errors": [], "backlog": []}
        threads = [Trainee(base, u, speech, results, i * args.ramp / max(1, len(names)))
                   for i, u in enumerate(names)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(f"live calls: {args.calls} concurrent calls (starting over {args.ramp:g} s), {len(TURNS)} trainee turns each, "
          f"audio streamed in real time in {int(CHUNK_S * 1000)} ms chunks; {os.cpu_count()} CPU cores; "
          f"server log {tmp / 'server.log'}")
    for name, label in (("final", "end of speech -> final transcript"), ("reply", "end of speech -> caller's next line")):
        v = results[name]
        if v:
            print(f"  {label}: n={len(v)}  p50 {percentile(v, 50):.2f} s  p95 {percentile(v, 95):.2f} s  "
                  f"max {max(v):.2f} s  mean {statistics.mean(v):.2f} s")
    if results["backlog"]:
        worst = max(results["backlog"])
        print(f"  audio backlog per call (queued, not yet recognised): max {worst:.2f} s -> "
              f"{'kept up' if worst <= 2.0 and percentile(results['reply'], 95) <= 5.0 else 'DID NOT keep up'}")
    print(f"  calls failed: {len(results['errors'])}  wall {wall:.1f} s")
    for err in results["errors"][:5]:
        print("  example error:", err)
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
