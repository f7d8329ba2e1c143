"""Recognition workers on Redis (scale-out): Redis streams with a consumer group.

Why streams (redis-py) rather than RQ or Dramatiq: a worker here is one long-lived process that keeps
the model loaded and wants *several* jobs at once to batch them (``XREADGROUP COUNT n``), with latency of
a few milliseconds per hop; RQ forks or runs one job at a time, Dramatiq delivers one message per actor
call. A job a worker took and did not acknowledge stays in the group's pending list, and another worker
takes it over with ``XAUTOCLAIM`` once it has been idle for ``ASR_CLAIM_IDLE_MS`` (the worker died, was
killed or lost its machine): no utterance is lost.

The audio travels inside the job (16-bit PCM, ~32 kB per second of speech), so a worker needs only the
Redis address, not the web process's disk. The transcript comes back on a list per job
(``asr:result:<id>``, ``BLPOP`` by the waiting call, expiring after a few minutes).

Keys: ``asr:finals`` and ``asr:captions`` (streams, group ``asr``), ``asr:result:<id>`` (lists),
``asr:worker:<name>`` (heartbeat, expiring), ``asr:cancel:<id>`` (a job its caller no longer wants),
``asr:captioning`` (the worker whose turn it is to decode captions).
"""
from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import asdict

import numpy as np

from .service import CAPTION_BATCH_MAX, AsrJob, ServiceSettings, decode_jobs

log = logging.getLogger(__name__)

FINALS, CAPTIONS, GROUP = "asr:finals", "asr:captions", "asr"
RESULT_TTL_S = 300
HEARTBEAT_PREFIX = "asr:worker:"
CANCEL_PREFIX = "asr:cancel:"
CAPTIONING = "asr:captioning"  # held by the one worker decoding captions now
CAPTION_TURN_MS = 5000         # ... and given up by itself if that worker dies
WORKERS_CACHE_S = 2.0          # how long the web process trusts its count of live workers


def _connect(url: str):
    import redis
    return redis.Redis.from_url(url, socket_keepalive=True, health_check_interval=30)


def _segments_to_json(segments: list) -> str:
    return json.dumps([asdict(s) for s in segments], ensure_ascii=False)


def _segments_from_json(data: str) -> list:
    from .base import Segment
    return [Segment.from_dict(d) for d in json.loads(data)]


class RedisFuture:
    """The transcript of one job: ``result(timeout)`` waits for the worker's answer. Cancelling also tells
    the workers, which skip a cancelled job they have not started (an early decode whose speaker went on,
    a caption whose utterance ended)."""

    def __init__(self, client, job_id: str):
        self.client, self.key = client, f"asr:result:{job_id}"
        self.job_id = job_id
        self._cancelled = threading.Event()
        self._reply: dict | None = None

    def cancel(self) -> bool:
        if not self._cancelled.is_set():
            self._cancelled.set()
            try:
                self.client.set(CANCEL_PREFIX + self.job_id, "1", px=RESULT_TTL_S * 1000)
            except Exception:        # Redis unreachable: the worker decodes it and nobody reads the result
                log.debug("could not mark %s cancelled", self.job_id)
        return True

    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def done(self) -> bool:
        """The worker's answer is here (taken off Redis and kept, without waiting)."""
        if self._reply is None and not self._cancelled.is_set():
            try:
                raw = self.client.lpop(self.key)
            except Exception:
                return False
            if raw is not None:
                self._reply = json.loads(raw)
        return self._reply is not None

    def result(self, timeout: float | None = None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._reply is None and not self._cancelled.is_set():
            left = 0.25 if deadline is None else min(0.25, deadline - time.monotonic())
            if left <= 0:
                raise TimeoutError(f"no transcript for {self.key} within {timeout} s")
            got = self.client.blpop([self.key], timeout=max(0.01, left))
            if got is not None:
                self._reply = json.loads(got[1])
        if self._reply is None:
            from concurrent.futures import CancelledError
            raise CancelledError()
        if self._reply.get("error"):
            raise RuntimeError(self._reply["error"])
        return _segments_from_json(self._reply["segments"])


class RedisService:
    """The web process's side: jobs into Redis, transcripts back."""

    def __init__(self, url: str, settings: ServiceSettings | None = None):
        self.url = url
        self.settings = settings or ServiceSettings.from_env()
        self.client = _connect(url)
        ensure_groups(self.client)
        self._workers_seen = (0.0, 0)     # (monotonic time, live workers then)

    def submit(self, job: AsrJob) -> RedisFuture:
        job_id = uuid.uuid4().hex
        pcm = (np.clip(job.samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        fields = {"id": job_id, "kind": job.kind, "pcm": pcm, "offset": repr(float(job.offset)),
                  "call": job.call_id, "expires": repr(job.expires_at or 0.0)}
        # Captions are best effort: only the latest few are kept.
        self.client.xadd(CAPTIONS if job.caption else FINALS, fields,
                         maxlen=200 if job.caption else 100_000, approximate=True)
        return RedisFuture(self.client, job_id)

    def spare(self) -> bool:
        """Fewer finals waiting or being decoded (acknowledged finals are deleted from the stream) than
        live workers: a worker is free for work that may be thrown away or is only nice to have (an early
        decode, a caption). An unreachable Redis has no spare capacity."""
        try:
            return int(self.client.xlen(FINALS)) < self._live_workers()
        except Exception:
            return False

    def _live_workers(self) -> int:
        """Decoders of the live worker processes (cached briefly: every chunk of every call asks)."""
        seen_at, count = self._workers_seen
        if time.monotonic() - seen_at > WORKERS_CACHE_S:
            keys = list(self.client.scan_iter(HEARTBEAT_PREFIX + "*"))
            count = sum(parse_heartbeat(v)[1] for v in (self.client.mget(keys) if keys else []) if v is not None)
            self._workers_seen = (time.monotonic(), count)
        return count

    def close(self) -> None:
        self.client.close()


def parse_heartbeat(value: bytes | str) -> tuple[float | None, int]:
    """(time of the beat, decoders of the beating process) from a heartbeat's value ``"<time> <decoders>"``:
    None for a time that is not one, 1 decoder when the count is absent or unreadable."""
    parts = (value.decode() if isinstance(value, bytes) else value).split()
    try:
        beat: float | None = float(parts[0])
    except (IndexError, ValueError):
        beat = None
    try:
        decoders = max(1, int(parts[1]))
    except (IndexError, ValueError):
        decoders = 1
    return beat, decoders


def default_worker_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def ensure_groups(client) -> None:
    import redis
    for stream in (FINALS, CAPTIONS):
        try:
            client.xgroup_create(stream, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise


class RedisWorker:
    """One worker process: the model loaded once, finals in batches, captions when no final waits, and
    the jobs of dead workers taken over."""

    def __init__(self, url: str, recognizer, *, name: str | None = None, settings: ServiceSettings | None = None,
                 claim_idle_ms: int | None = None, consumer: str | None = None, decoders: int = 1,
                 beats: bool = True):
        self.client = _connect(url)
        self.recognizer = recognizer
        self.settings = settings or ServiceSettings.from_env()
        self.name = name or default_worker_name()
        # A process with several decoders reads the streams through one consumer per decoder
        # (``name#i``); its one heartbeat (``beats``) says how many decoders it has.
        self.consumer = consumer or self.name
        self.decoders = max(1, int(decoders))
        self.beats = beats
        self.claim_idle_ms = int(claim_idle_ms or os.environ.get("ASR_CLAIM_IDLE_MS") or 10_000)
        self.stop = threading.Event()
        self.done = 0
        self.skipped = 0            # cancelled jobs not decoded
        ensure_groups(self.client)

    def heartbeat(self) -> None:
        # The value is the time of the beat (status reports its age) and the process's decoders; the key
        # expires with the worker.
        self.client.set(HEARTBEAT_PREFIX + self.name, f"{time.time()!r} {self.decoders}",
                        px=int(self.settings.heartbeat_ttl_s * 1000))

    def run(self) -> None:
        log.info("ASR worker %s ready (batch up to %d)", self.consumer, self.settings.batch_max)
        beat_every = self.settings.heartbeat_ttl_s / 3
        # an idle worker blocks on the streams between beats: never longer than a beat interval
        block_ms = max(50, min(1000, int(beat_every * 1000)))
        last_beat = 0.0
        while not self.stop.is_set():
            if self.beats and time.monotonic() - last_beat > beat_every:
                self.heartbeat()
                last_beat = time.monotonic()
            self.step(block_ms=block_ms)

    def step(self, block_ms: int = 1000) -> int:
        """Take and decode one batch; returns how many jobs were finished."""
        s = self.settings
        # 1. finals a dead worker held (idle longer than claim_idle_ms): before anything new
        _next, claimed, *_ = self.client.xautoclaim(FINALS, GROUP, self.consumer, self.claim_idle_ms, "0-0",
                                                    count=s.batch_max)
        finals = [m for m in claimed if m[1]]
        if claimed:
            log.warning("worker %s took over %d final(s) of a dead worker", self.consumer, len(finals))
        captions: list = []
        if not finals:
            # 2. new work: block on both streams; finals first when both have some
            got = self.client.xreadgroup(GROUP, self.consumer, {FINALS: ">", CAPTIONS: ">"}, count=s.batch_max,
                                         block=block_ms) or []
            for stream, messages in got:
                (finals if _name(stream) == FINALS else captions).extend(messages)
            if finals and len(finals) < s.batch_max and s.batch_wait_s > 0:
                time.sleep(s.batch_wait_s)           # dynamic batching: let other calls' finals join
                more = self.client.xreadgroup(GROUP, self.consumer, {FINALS: ">"}, count=s.batch_max - len(finals))
                for _stream, messages in more or []:
                    finals.extend(messages)
        if captions:
            # Captions are never retried: acknowledge at once; stale ones are dropped unseen.
            self.client.xack(CAPTIONS, GROUP, *[mid for mid, _ in captions])
            if finals:
                captions = []                        # a final is waiting: no caption now
        if finals:
            return self._run(FINALS, finals)
        fresh = [(mid, f) for mid, f in captions if float(f.get(b"expires") or 0) == 0 or
                 float(f[b"expires"]) > time.time()][-CAPTION_BATCH_MAX:]
        if not fresh:
            return 0
        # One caption batch at a time over all workers, so the others stay free for finals; a worker that
        # cannot have the turn drops its captions (they are a courtesy, and a newer one follows).
        if not self.client.set(CAPTIONING, self.consumer, nx=True, px=CAPTION_TURN_MS):
            return 0
        try:
            return self._run(CAPTIONS, fresh)
        finally:
            self.client.delete(CAPTIONING)

    def _without_cancelled(self, stream: str, messages: list) -> list:
        """Drop the jobs their caller cancelled (acknowledged, not decoded, no reply: nobody waits)."""
        flags = self.client.mget([CANCEL_PREFIX + f[b"id"].decode() for _mid, f in messages])
        dropped = [mid for (mid, _f), flag in zip(messages, flags, strict=True) if flag]
        if dropped and stream == FINALS:
            self.client.pipeline(transaction=False).xack(FINALS, GROUP, *dropped).xdel(FINALS, *dropped).execute()
        self.skipped += len(dropped)
        return [(mid, f) for (mid, f), flag in zip(messages, flags, strict=True) if not flag]

    def _run(self, stream: str, messages: list) -> int:
        messages = self._without_cancelled(stream, messages)
        if not messages:
            return 0
        jobs = [AsrJob("caption" if stream == CAPTIONS else "final",
                       np.frombuffer(f[b"pcm"], dtype="<i2").astype("float32") / 32768.0,
                       float(f[b"offset"]), call_id=f.get(b"call", b"").decode()) for _mid, f in messages]
        try:
            results = [_segments_to_json(segs) for segs in decode_jobs(self.recognizer, jobs)]
            replies = [json.dumps({"segments": r}) for r in results]
        except Exception as exc:
            log.exception("worker %s: batch of %d failed", self.consumer, len(jobs))
            replies = [json.dumps({"error": f"{type(exc).__name__}: {exc}"})] * len(jobs)
        pipe = self.client.pipeline(transaction=False)
        for (_mid, f), reply in zip(messages, replies, strict=True):
            key = f"asr:result:{f[b'id'].decode()}"
            pipe.rpush(key, reply)
            pipe.expire(key, RESULT_TTL_S)
        ids = [mid for mid, _ in messages]
        if stream == FINALS:
            pipe.xack(FINALS, GROUP, *ids)
            pipe.xdel(FINALS, *ids)
        pipe.execute()
        self.done += len(messages)
        return len(messages)


def _name(stream) -> str:
    return stream.decode() if isinstance(stream, bytes) else stream


def worker_decoders() -> int:
    """Decoders of one worker process: ``ASR_DECODERS``, else one per core this process may run on
    (``--cpu`` pins it), at most 8 — a worker uses its machine without one process per core."""
    if os.environ.get("ASR_DECODERS"):
        return max(1, int(os.environ["ASR_DECODERS"]))
    return max(1, min(8, len(os.sched_getaffinity(0))))


def worker_pool(url: str, recognizer, *, name: str | None = None, decoders: int = 1,
                settings: ServiceSettings | None = None) -> list[RedisWorker]:
    """The consumers of one worker process: one per decoder, sharing the recogniser; the first beats
    for the process."""
    base = name or default_worker_name()
    settings = settings or ServiceSettings.from_env()
    n = max(1, decoders)
    return [RedisWorker(url, recognizer, name=base, consumer=f"{base}#{i}" if n > 1 else None, decoders=n,
                        beats=i == 0, settings=settings) for i in range(n)]


def run_worker(url: str, *, name: str | None = None, decoders: int | None = None) -> int:
    """``python -m grading worker``: load the model once, then serve until interrupted: ``decoders``
    threads share the model, each taking and decoding one batch at a time."""
    from . import get_recognizer
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    n = decoders or worker_decoders()
    pool = worker_pool(url, get_recognizer("whisper", decoders=n), name=name, decoders=n)
    first = pool[0]
    threads = [threading.Thread(target=w.run, name=w.consumer, daemon=True) for w in pool[1:]]
    for t in threads:
        t.start()
    print(f"ASR worker {first.name} ready on {url} ({n} decoder(s), batch up to {first.settings.batch_max}, "
          f"claim after {first.claim_idle_ms} ms idle)", flush=True)
    try:
        first.run()
    except KeyboardInterrupt:
        pass
    finally:
        for w in pool:
            w.stop.set()
    return 0
