"""How the recognition service is doing, for ``/healthz`` and ``python -m grading status``.

Cheap by design: it reads the queues of this process's in-process service, or asks Redis a handful of
questions; it never loads a model and never waits long (short socket timeouts, no retries).

In-process mode reports what *this* process holds (every web process has its own queue). Redis mode
reports the shared state: which workers beat recently (``asr:worker:<name>``, value = time of the beat,
expiring after ``ASR_HEARTBEAT_TTL_S``), finals not yet taken, finals taken and not yet answered (the
group's pending list), and workers that were seen recently or hold jobs but beat no more ("missing").
"""
from __future__ import annotations

import logging
import time
from urllib.parse import urlsplit, urlunsplit

from .service import BatchingService, ServiceSettings, running_services

log = logging.getLogger(__name__)

# A consumer of the group that read within this many seconds but has no heartbeat is reported missing;
# older ones are leftovers of workers stopped long ago (each restart adds a host-pid name).
RECENTLY_SEEN_S = 600
PENDING_SCAN = 100          # pending jobs inspected for the oldest idle time (normally workers × batch size)


def recognition_status(settings: ServiceSettings | None = None) -> dict:
    """The status of the recognition service this process would use. ``ok`` is False when scale-out is
    configured and Redis cannot be reached or no worker is alive; errors are reported, never raised."""
    try:
        settings = settings or ServiceSettings.from_env()
        if settings.scale_out:
            return {"mode": "redis", **redis_status(settings)}
        return {"mode": "in-process", **in_process_status()}
    except Exception as exc:      # a health report must not fail: say what broke instead
        log.exception("recognition status failed")
        return {"mode": "unknown", "ok": False,
                "error": f"识别服务状态未知 / status unavailable: {type(exc).__name__}",
                "problems": ["识别服务状态无法读取（配置有误？）/ recognition status could not be read "
                             "(check ASR_WORKERS, REDIS_URL, ASR_HEARTBEAT_TTL_S)"]}


def in_process_status() -> dict:
    """The in-process batching services of this process, summed (normally one: one loaded model)."""
    statuses = [s.status() for s in running_services() if isinstance(s, BatchingService)]
    if not statuses:
        # No live call has needed recognition yet: the service starts with the first one.
        return {"ok": True, "started": False, "queued": {"finals": 0, "captions": 0}, "decoding": 0,
                "decoders": 0, "batches_run": 0, "last_batches": [], "problems": []}
    return {"ok": True, "started": True,
            "queued": {kind: sum(s["queued"][kind] for s in statuses) for kind in ("finals", "captions")},
            "decoding": sum(s["decoding"] for s in statuses),
            "decoders": sum(s["decoders"] for s in statuses),
            "batches_run": sum(s["batches_run"] for s in statuses),
            "last_batches": [b for s in statuses for b in s["last_batches"]][-5:],
            "problems": []}


def redis_status(settings: ServiceSettings) -> dict:
    """The shared queue on Redis and its workers."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    from .redis_queue import FINALS, GROUP, HEARTBEAT_PREFIX, parse_heartbeat

    expected = settings.workers
    base = {"workers_expected": expected, "heartbeat_ttl_s": settings.heartbeat_ttl_s}
    client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=1.0, socket_timeout=2.0,
                                  retry=Retry(NoBackoff(), 0))
    try:
        client.ping()
        now = time.time()
        keys = list(client.scan_iter(HEARTBEAT_PREFIX + "*", count=100))
        workers: list[dict] = []
        for key, value in zip(keys, client.mget(keys) if keys else [], strict=True):
            if value is None:
                continue                                   # expired between the scan and the read
            beat, decoders = parse_heartbeat(value)
            age = None if beat is None else round(max(0.0, now - beat), 1)
            workers.append({"name": key.decode().removeprefix(HEARTBEAT_PREFIX), "last_heartbeat_s": age,
                            "decoders": decoders})
        workers.sort(key=lambda w: w["name"])
        alive = {w["name"] for w in workers}
        in_stream = client.xlen(FINALS)
        try:
            summary = client.xpending(FINALS, GROUP)
            held = client.xpending_range(FINALS, GROUP, min="-", max="+", count=PENDING_SCAN)
            consumers = client.xinfo_consumers(FINALS, GROUP)
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            summary, held, consumers = {"pending": 0}, [], []  # nothing was ever queued
    except redis.RedisError as exc:
        return {**base, "ok": False, "reachable": False,
                "error": f"无法连接 Redis / Redis unreachable: {type(exc).__name__}",
                "problems": ["无法连接 Redis：识别任务无法排队，通话中的回答会按“未识别”处理 / "
                             "Redis unreachable: recognition cannot be queued"]}
    finally:
        client.close()

    pending = int(summary["pending"])
    oldest_idle = max((float(h["time_since_delivered"]) for h in held), default=None)
    # a process with several decoders reads through consumers name#0, name#1 ...: reported as one process
    processes: dict[str, dict] = {}
    for consumer in consumers:
        name = _text(consumer["name"]).split("#")[0]
        seen_s = float(consumer.get("idle") or 0) / 1000
        p = processes.setdefault(name, {"name": name, "last_seen_s": seen_s, "holds": 0})
        p["last_seen_s"] = min(p["last_seen_s"], seen_s)
        p["holds"] += int(consumer.get("pending", 0))
    missing = sorted(({**p, "last_seen_s": round(p["last_seen_s"], 1)} for name, p in processes.items()
                      if name not in alive and (p["holds"] or p["last_seen_s"] < RECENTLY_SEEN_S)),
                     key=lambda m: m["name"])
    problems = []
    if not workers:
        problems.append("没有存活的识别进程：通话中的回答不会被识别 / no recognition worker is alive")
    elif len(workers) < expected:
        problems.append(f"应有 {expected} 个识别进程，存活 {len(workers)} 个 / "
                        f"{len(workers)} of {expected} recognition workers alive")
    if any(m["holds"] for m in missing):
        problems.append("已停止的识别进程还占着任务，等待其他进程接手 / "
                        "a stopped worker holds jobs until another worker takes them over")
    return {**base, "ok": bool(workers), "reachable": True,
            "workers": workers, "workers_alive": len(workers), "workers_all_alive": len(workers) >= expected,
            "workers_missing": missing,
            # finals are deleted once answered: what is in the stream is either waiting or held
            "finals_waiting": max(0, in_stream - pending),
            "jobs_pending": pending,
            "oldest_pending_idle_s": None if oldest_idle is None else round(oldest_idle / 1000, 1),
            "problems": problems}


def redacted_url(url: str) -> str:
    """``url`` with its password replaced, for printing where the status came from."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
