"""Live-call benchmark: N simulated trainees take practical calls at once against a real server.

Starts ``run.py`` (waitress) on a throw-away SQLite database (library scenarios seeded). Each trainee
is the responsive simulated trainee of the tests (tests/simulated_trainee.py): it logs in, starts a
call, answers at the second ring and gives the scenario's excellent answer turn by turn, waiting for
each caller line to finish and pausing like a person, one answer spoken with pauses inside, streaming
250 ms chunks of 16 kHz PCM in real time exactly as the browser does. Reported per load: from the end
of the trainee's speech, the delay until the final transcript arrives and until the caller's next
line starts (p50/p95), the largest audio backlog a call had (speech not yet recognised), and the
turn-taking errors found in the records (no-reply while the trainee spoke, a line started over the
trainee, a line repeated after a reply, a reply attached to the wrong line).

    .venv/bin/python benchmarks/live_calls.py [--calls 1,5,10] [--ramp 10] [--scenario l5-consult-billing]
        [--workers N [--pin]]

Recognition runs in the server process (the embedded batching service) unless ``--workers N``: then a
private redis-server is started and N ``python -m grading worker`` processes decode for the server
(``--pin``: worker i pinned to core i with one inference thread, as if each were its own machine).
The load average is printed with every figure: figures taken on a busy machine are not capacity.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.theory_load import PASSWORD, create_candidates, percentile, start_server  # noqa: E402
from tests.simulated_trainee import SimulatedTrainee, answers_from_reference, turn_taking_errors  # noqa: E402


def reference_of(scenario_id: str) -> tuple[dict, dict]:
    from scenarios import load_scenario
    data = load_scenario(ROOT / "scenarios" / "library" / f"level{scenario_id[1]}" / f"{scenario_id}.yaml").data
    return data, next(a for a in data["reference_answers"] if a["band"] == "excellent")


def one_call(base, calls_dir, username, scenario_id, reference, seed, delay, results, lock):
    time.sleep(delay)
    trainee = SimulatedTrainee(base, username, PASSWORD, seed=seed, timeout_s=600)
    try:
        trainee.login()
        call_id = trainee.start(scenario_id)
        long_turn = max(range(len(reference["turns"])), key=lambda i: len(str(reference["turns"][i])))
        trainee.take_call(answers_from_reference(reference, {long_turn: "pauses"}),
                          rings=int(reference.get("rings", 2)), after_call_work_order=reference.get("work_order"))
        record = json.loads((calls_dir / call_id / "record.json").read_text("utf-8"))
        errors = turn_taking_errors(record, trainee)
        delays = trainee.delays()
        with lock:
            results["final"].extend(delays["final"])
            results["reply"].extend(delays["reply"])
            results["backlog"].append(trainee.max_backlog)
            results["turn_errors"].extend(f"{username}: {e}" for e in errors)
    except Exception as exc:
        with lock:
            results["failed"].append(f"{username}: {exc!r}")


def run_load(base, calls_dir, names, n, ramp, scenario_id, reference) -> dict:
    results: dict = {"final": [], "reply": [], "backlog": [], "turn_errors": [], "failed": []}
    lock = threading.Lock()
    threads = [threading.Thread(target=one_call, daemon=True,
                                args=(base, calls_dir, names[i], scenario_id, reference, i, i * ramp / max(1, n),
                                      results, lock)) for i in range(n)]
    t0 = time.perf_counter()
    load_before = os.getloadavg()[0]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results["wall"] = time.perf_counter() - t0
    results["load"] = (load_before, os.getloadavg()[0])
    return results


def report(n: int, r: dict) -> None:
    line = [f"{n:>3} concurrent calls (load {r['load'][0]:.2f} -> {r['load'][1]:.2f})"]
    for name, label in (("final", "speech end -> final"), ("reply", "speech end -> caller's next line")):
        v = r[name]
        if v:
            line.append(f"{label} p50 {percentile(v, 50):.2f} s / p95 {percentile(v, 95):.2f} s (n={len(v)})")
    worst = max(r["backlog"]) if r["backlog"] else 0.0
    # speech waiting for recognition, the utterance that just ended included (up to its length)
    line.append(f"max speech awaiting recognition {worst:.2f} s")
    line.append(f"turn-taking errors {len(r['turn_errors'])}")
    line.append(f"failed {len(r['failed'])}")
    line.append(f"wall {r['wall']:.0f} s")
    print("  " + "; ".join(line), flush=True)
    for err in (r["turn_errors"] + r["failed"])[:5]:
        print("      ", err)
    if r["reply"]:
        print(f"      mean reply {statistics.mean(r['reply']):.2f} s", flush=True)


def start_workers(n: int, pin: bool, url: str, tmp: Path) -> list:
    import subprocess
    procs = []
    for i in range(n):
        cmd = [sys.executable, "-m", "grading", "worker", "--name", f"bench-w{i}"]
        if pin:
            cmd += ["--cpu", str(i % (os.cpu_count() or 1))]
        log = open(tmp / f"worker{i}.log", "w")
        procs.append(subprocess.Popen(cmd, cwd=ROOT, env=dict(os.environ, REDIS_URL=url), stdout=log,
                                      stderr=subprocess.STDOUT))
    import redis
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 600
    while len(list(client.scan_iter("asr:worker:*"))) < n:      # every worker has its model loaded
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            raise SystemExit(f"workers did not start; see {tmp}/worker*.log")
        time.sleep(0.2)
    return procs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", default="1,5,10", help="comma-separated loads, run one after the other")
    parser.add_argument("--ramp", type=float, default=10.0, help="seconds over which a load's calls start")
    parser.add_argument("--scenario", default="l5-consult-billing")
    parser.add_argument("--server-threads", type=int, default=16)
    parser.add_argument("--workers", type=int, default=0, help="recognition in N Redis worker processes")
    parser.add_argument("--pin", action="store_true", help="pin worker i to CPU core i (one thread each)")
    args = parser.parse_args()
    loads = [int(x) for x in args.calls.split(",") if x.strip()]

    tmp = Path(tempfile.mkdtemp(prefix="live-calls-"))
    db_url = f"sqlite:///{tmp / 'calls.sqlite3'}"
    calls_dir = tmp / "calls"
    os.environ["CALLS_DIR"] = str(calls_dir)
    redis_server, workers = None, []
    if args.workers:
        from tests.redisserver import RedisServer
        redis_server = RedisServer().start()
        os.environ.update(REDIS_URL=redis_server.url, ASR_WORKERS=str(args.workers))
        workers = start_workers(args.workers, args.pin, redis_server.url, tmp)
    proc, base = start_server(db_url, args.server_threads, tmp / "server.log")
    failed = False
    try:
        names = create_candidates(db_url, sum(loads))
        _data, reference = reference_of(args.scenario)
        print(f"live calls on {args.scenario}: excellent answer, one answer with pauses inside, real-time "
              f"250 ms chunks; {os.cpu_count()} CPU cores; end-of-turn pause "
              f"{os.environ.get('END_OF_TURN_PAUSE_S', '1.6')} s (inside the reply delay); "
              f"server log {tmp / 'server.log'}",
              flush=True)
        where = "in-process batching"
        if args.workers:
            where = f"{args.workers} Redis worker(s)" + (" pinned one per core" if args.pin else "")
        print(f"recognition: {where}; ASR_MIN_WINDOW_S {os.environ.get('ASR_MIN_WINDOW_S', 'default')}, "
              f"ASR_BATCH_MAX {os.environ.get('ASR_BATCH_MAX', 'default')}", flush=True)
        offset = 0
        for n in loads:
            r = run_load(base, calls_dir, names[offset:offset + n], n, args.ramp, args.scenario, reference)
            offset += n
            report(n, r)
            failed = failed or bool(r["failed"] or r["turn_errors"])
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        for w in workers:
            w.terminate()
            w.wait(timeout=30)
        if redis_server is not None:
            redis_server.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
