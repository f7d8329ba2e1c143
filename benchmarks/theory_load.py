"""Load benchmark: N candidates sit theory papers at once against a real server on SQLite or PostgreSQL.

Starts ``run.py`` (waitress) on a throw-away database — a SQLite file, or with ``--database postgresql``
a throw-away PostgreSQL server (tests/pgcluster.py: Debian's postgresql, a cluster in a temporary
folder, stopped at the end), or any ``--database-url`` — creates N trainee accounts, then each
simulated candidate logs in, starts a mock paper, loads it and answers questions one by one — every
answer an autosave request with the answer's revision, as the browser sends them. Prints autosave
latency percentiles and errors.

    .venv/bin/python benchmarks/theory_load.py [--candidates 300] [--answers 20] [--think 0.5]
                                               [--database sqlite|postgresql | --database-url URL]
"""
from __future__ import annotations

import argparse
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CSRF_FORM = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
QUESTION = re.compile(r'data-position="(\d+)" data-type="(\w+)"\s+data-revision="(\d+)"')
PASSWORD = "bench-password-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db_url: str, threads: int, log_path: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = dict(os.environ, PORT=str(port), DATABASE_URL=db_url, SECRET_KEY="bench", SEED_DEMO_ACCOUNTS="0",
               WAITRESS_THREADS=str(threads))
    # The server's log goes to a file: an unread pipe fills up and stalls the server.
    log = open(log_path, "w")
    proc = subprocess.Popen([sys.executable, "run.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if requests.get(base + "/healthz", timeout=2).ok:
                return proc, base
        except requests.ConnectionError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not start:\n" + log_path.read_text())


def create_candidates(db_url: str, n: int) -> list[str]:
    from simulator import config, create_app
    from simulator.auth.models import User
    from simulator.extensions import db

    app = create_app({**config.from_env(Path(tempfile.gettempdir()), env={"SECRET_KEY": "bench"}),
                      "SQLALCHEMY_DATABASE_URI": db_url})
    names = [f"bench{i:04d}" for i in range(n)]
    with app.app_context():
        template = User(username="x", display_name="x", role="trainee")
        template.set_password(PASSWORD)           # hash once: hashing is not what is measured
        db.session.add_all(User(username=u, display_name=u, role="trainee", password_hash=template.password_hash)
                           for u in names)
        db.session.commit()
    return names


class Candidate(threading.Thread):
    def __init__(self, base, username, answers, think, barrier, results, delay=0.0):
        super().__init__(daemon=True)
        self.delay = delay
        self.base, self.username, self.answers, self.think = base, username, answers, think
        self.barrier, self.results = barrier, results

    def run(self):
        s = requests.Session()
        rng = random.Random(self.username)
        time.sleep(self.delay)    # candidates arrive over the ramp, as they do at a real sitting
        try:
            page = s.get(self.base + "/login", timeout=60).text
            s.post(self.base + "/login", data={"username": self.username, "password": PASSWORD,
                                               "csrf_token": CSRF_FORM.search(page).group(1)}, timeout=60)
            home = s.get(self.base + "/theory/", timeout=60).text
            resp = s.post(self.base + "/theory/start/mock",
                          data={"level": "5", "csrf_token": CSRF_FORM.search(home).group(1)}, timeout=120)
            paper = resp.text
            token = CSRF_META.search(paper).group(1)
            questions = QUESTION.findall(paper)
            url = resp.url + "/answer"
        except Exception as exc:  # a failed start counts as an error, the run goes on
            self.results["start_errors"].append(f"{self.username}: {exc!r}")
            self.barrier.wait()
            return
        self.barrier.wait()       # then everyone answers at the same time
        for position, qtype, revision in questions[: self.answers]:
            time.sleep(rng.uniform(0, self.think))
            response = [rng.choice("TF")] if qtype == "judge" else (
                sorted(rng.sample("ABCD", 2)) if qtype == "multiple" else [rng.choice("ABCD")])
            started = time.perf_counter()
            try:
                r = s.post(url, json={"position": int(position), "response": response, "base": int(revision)},
                           headers={"X-CSRFToken": token}, timeout=60)
                elapsed = time.perf_counter() - started
                if r.status_code == 200 and r.json().get("ok"):
                    self.results["latencies"].append(elapsed)
                else:
                    self.results["errors"].append(f"{r.status_code} {r.text[:80]}")
            except Exception as exc:
                self.results["errors"].append(repr(exc))


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=300)
    parser.add_argument("--answers", type=int, default=20, help="answers (autosaves) per candidate")
    parser.add_argument("--think", type=float, default=0.5, help="max seconds between two answers")
    parser.add_argument("--server-threads", type=int, default=16)
    parser.add_argument("--ramp", type=float, default=120.0,
                        help="seconds over which candidates log in and open their papers")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite",
                        help="a throw-away SQLite file, or a throw-away PostgreSQL server started for the run")
    parser.add_argument("--database-url", help="an existing, empty database instead (SQLAlchemy URL)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="theory-load-"))
    cluster = None
    if args.database_url:
        db_url = args.database_url
    elif args.database == "postgresql":
        from tests.pgcluster import Cluster
        cluster = Cluster(durable=True).start()   # fsync on, as in production
        db_url = cluster.create_database("theory_load")
    else:
        db_url = f"sqlite:///{tmp / 'load.sqlite3'}"
    dialect = db_url.split(":", 1)[0].split("+", 1)[0]
    try:
        proc, base = start_server(db_url, args.server_threads, tmp / "server.log")
    except BaseException:
        if cluster is not None:
            cluster.stop()
        raise
    try:
        names = create_candidates(db_url, args.candidates)
        results = {"latencies": [], "errors": [], "start_errors": []}
        barrier = threading.Barrier(args.candidates)
        threads = [Candidate(base, u, args.answers, args.think, barrier, results, i * args.ramp / len(names))
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
        if cluster is not None:
            cluster.stop()
    lat = results["latencies"]
    total = len(lat) + len(results["errors"])
    print(f"theory autosave load: {args.candidates} candidates (arriving over {args.ramp:g} s) x {args.answers} "
          f"answers, think <= {args.think}s, "
          f"{dialect}, waitress {args.server_threads} threads, {os.cpu_count()} CPU cores")
    print(f"  paper starts failed: {len(results['start_errors'])}")
    if lat:
        print(f"  autosaves ok: {len(lat)}/{total}  errors: {len(results['errors'])}")
        print(f"  latency ms: p50 {1000 * percentile(lat, 50):.0f}  p95 {1000 * percentile(lat, 95):.0f}  "
              f"p99 {1000 * percentile(lat, 99):.0f}  max {1000 * max(lat):.0f}  "
              f"mean {1000 * statistics.mean(lat):.0f}")
        print(f"  wall time {wall:.1f}s (includes login, paper start and load)")
    for err in (results["start_errors"] + results["errors"])[:5]:
        print("  example error:", err)
    return 1 if results["errors"] or results["start_errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
