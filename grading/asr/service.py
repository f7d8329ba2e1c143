"""Recognition as a shared service: the utterances of every live call go to one queue, and a worker that
keeps the model loaded decodes whatever is waiting as one batch.

Two back ends with one interface (``submit(job) -> future``):
- ``BatchingService`` (the embedded default): one thread in the web process.
- ``grading.asr.redis_queue.RedisService`` when ``REDIS_URL`` and ``ASR_WORKERS`` are set: the jobs go to
  Redis and ``python -m grading worker`` processes (on this machine or others) decode them.

Finals come first: a batch of finals is taken whenever one is waiting (``ASR_BATCH_MAX`` at most, after
waiting ``ASR_BATCH_WAIT_MS`` for others to join); captions run only when no final is waiting, with a
greedy search and no word timings, and a caption nobody wants any more is dropped unseen.
Streaming engines (Vosk) do not come here: they keep their own per-call streaming path.
"""
from __future__ import annotations

import collections
import logging
import os
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

log = logging.getLogger(__name__)

DEFAULT_BATCH_MAX = 8
DEFAULT_BATCH_WAIT_MS = 20
MAX_BATCH_WAIT_MS = 100
CAPTION_BATCH_MAX = 2      # a caption batch started just before a final arrives delays it: keep it small
# Captions are shown while the trainee speaks and replaced by the final: the shortest encoder window
# (half the cost of the finals' 10 s) is good enough for them.
CAPTION_MIN_WINDOW_S = 5.0


@dataclass(frozen=True)
class ServiceSettings:
    batch_max: int = DEFAULT_BATCH_MAX
    batch_wait_s: float = DEFAULT_BATCH_WAIT_MS / 1000
    job_timeout_s: float = 30.0            # a final not back by then counts as recognised as nothing
    redis_url: str = ""
    workers: int = 0                       # > 0 with redis_url: recognition runs in worker processes
    heartbeat_ttl_s: float = 15.0          # a worker whose heartbeat is older than this counts as gone

    @classmethod
    def from_env(cls, env=None) -> "ServiceSettings":
        env = os.environ if env is None else env
        wait_ms = min(MAX_BATCH_WAIT_MS, max(0.0, float(env.get("ASR_BATCH_WAIT_MS") or DEFAULT_BATCH_WAIT_MS)))
        return cls(batch_max=max(1, int(env.get("ASR_BATCH_MAX") or DEFAULT_BATCH_MAX)), batch_wait_s=wait_ms / 1000,
                   job_timeout_s=float(env.get("ASR_JOB_TIMEOUT_S") or 30.0),
                   redis_url=(env.get("REDIS_URL") or "").strip(), workers=int(env.get("ASR_WORKERS") or 0),
                   heartbeat_ttl_s=max(1.0, float(env.get("ASR_HEARTBEAT_TTL_S") or 15.0)))

    @property
    def scale_out(self) -> bool:
        return bool(self.redis_url) and self.workers > 0


@dataclass
class AsrJob:
    kind: str                               # "final" | "caption"
    samples: np.ndarray                     # float32, 16 kHz mono
    offset: float = 0.0                     # stream seconds of the first sample (segment times are shifted)
    call_id: str = ""
    wanted: Callable[[], bool] | None = None  # asked right before decoding (in-process only): False drops it
    expires_at: float | None = None         # captions: wall-clock time after which nobody wants it
    queued_at: float = field(default_factory=time.monotonic)

    @property
    def caption(self) -> bool:
        return self.kind == "caption"

    def stale(self) -> bool:
        if self.expires_at is not None and time.time() > self.expires_at:
            return True
        return self.wanted is not None and not self.wanted()


def decode_jobs(recognizer, jobs: list[AsrJob]) -> list[list]:
    """One batch of jobs of one kind through the recogniser (segments per job)."""
    items = [(j.samples, j.offset) for j in jobs]
    if jobs and jobs[0].caption:
        return recognizer.decode_batch(items, beam_size=1, words=False, min_window_s=CAPTION_MIN_WINDOW_S)
    return recognizer.decode_batch(items)


class BatchingService:
    """In-process dynamic batching over one loaded model: ``decoders`` threads (one per decode the model
    runs at once) take batches from one queue, so a long batch does not hold up every other call."""

    def __init__(self, recognizer, settings: ServiceSettings | None = None, *, start: bool = True,
                 decoders: int | None = None):
        self.recognizer = recognizer
        self.settings = settings or ServiceSettings.from_env()
        self.decoders = max(1, decoders or int(getattr(recognizer, "decoders", 1) or 1))
        self._finals: collections.deque[tuple[AsrJob, Future]] = collections.deque()
        self._captions: collections.deque[tuple[AsrJob, Future]] = collections.deque()
        self._ready = threading.Condition()
        self._closed = False
        self.batches: list[tuple[str, int]] = []      # (kind, size) of the last batches run, for tests and stats
        self.batches_run = 0                          # all batches since start (``batches`` keeps only the last)
        self._decoding = 0                            # batches being decoded now
        self._captioning = 0                          # of which caption batches (at most one)
        self._threads = [threading.Thread(target=self._loop, name=f"asr-batcher-{i}", daemon=True)
                         for i in range(self.decoders)]
        if start:
            self.start()

    def start(self) -> None:
        """Start decoding (a service built with ``start=False`` only queues)."""
        for thread in self._threads:
            thread.start()

    def submit(self, job: AsrJob) -> Future:
        future: Future = Future()
        with self._ready:
            if self._closed:
                future.set_exception(RuntimeError("recognition service closed"))
                return future
            (self._captions if job.caption else self._finals).append((job, future))
            self._ready.notify_all()
        return future

    def pending(self) -> int:
        with self._ready:
            return len(self._finals) + len(self._captions)

    def spare(self) -> bool:
        """No final waiting and a decoder free: capacity for work that may be thrown away or is only nice to
        have (an early decode, a caption), without delaying any call's final."""
        with self._ready:
            return not self._finals and self._decoding < self.decoders

    def status(self, last: int = 5) -> dict:
        """What an operator wants to see of this service: queue depths, whether a batch is being decoded,
        how many batches ran and the sizes of the last ``last`` ones. Takes only the queue lock."""
        with self._ready:
            return {"running": any(t.is_alive() for t in self._threads) and not self._closed,
                    "queued": {"finals": len(self._finals), "captions": len(self._captions)},
                    "decoding": self._decoding, "decoders": self.decoders, "batches_run": self.batches_run,
                    "last_batches": [{"kind": kind, "size": size} for kind, size in self.batches[-last:]]}

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify_all()

    def _caption_allowed(self) -> bool:
        """A caption batch may start: none is running, and (with several decoders) another decoder stays
        free for a final that arrives meanwhile, so a caption never makes a final wait. Lock held."""
        return self._captioning == 0 and (self.decoders == 1 or self._decoding + 1 < self.decoders)

    def _take(self) -> list[tuple[AsrJob, Future]]:
        s = self.settings
        with self._ready:
            while not self._finals and not (self._captions and self._caption_allowed()):
                if self._closed:
                    return []
                self._ready.wait(1.0)
            if self._finals:
                # Dynamic batching: a final waits a moment for finals of other calls to share its batch.
                deadline = self._finals[0][0].queued_at + s.batch_wait_s
                while len(self._finals) < s.batch_max and not self._closed:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._ready.wait(remaining)
                queue = self._finals
            else:
                queue = self._captions
            limit = s.batch_max if queue is self._finals else min(s.batch_max, CAPTION_BATCH_MAX)
            batch: list[tuple[AsrJob, Future]] = []
            while queue and len(batch) < limit:
                batch.append(queue.popleft())
            if queue is self._captions:
                self._captioning += 1
        return batch

    def _loop(self) -> None:
        while True:
            batch = self._take()
            if not batch:
                with self._ready:
                    if self._closed:
                        return
                continue
            caption = batch[0][0].caption
            try:
                self._run(batch)
            finally:
                with self._ready:
                    if caption:
                        self._captioning -= 1
                    self._ready.notify_all()          # a decoder is free: a waiting caption may go

    def _run(self, batch: list[tuple[AsrJob, Future]]) -> None:
        live = []
        for job, future in batch:
            if not future.set_running_or_notify_cancel():
                continue                       # cancelled while waiting
            if job.stale():
                future.set_result([])          # nobody wants it now (an ended utterance's caption, an
                continue                       # early decode whose speaker went on)
            live.append((job, future))
        if not live:
            return
        with self._ready:
            self.batches = (self.batches + [(live[0][0].kind, len(live))])[-200:]
            self.batches_run += 1
            self._decoding += 1
        try:
            results = decode_jobs(self.recognizer, [j for j, _ in live])
        except Exception as exc:       # one bad batch fails its jobs, not the service
            log.exception("recognition batch of %d failed", len(live))
            for _job, future in live:
                future.set_exception(exc)
            return
        finally:
            with self._ready:
                self._decoding -= 1
        for (_job, future), segments in zip(live, results, strict=True):
            future.set_result(segments)


_services: dict[int, Any] = {}        # BatchingService | RedisService
_services_lock = threading.Lock()


def service_for(recognizer, settings: ServiceSettings | None = None):
    """The process's recognition service for ``recognizer`` (None for engines that stream on their own).
    Redis when scale-out is configured, else the embedded batching thread."""
    if getattr(recognizer, "decode_batch", None) is None:
        return None
    settings = settings or ServiceSettings.from_env()
    key = id(getattr(recognizer, "model", recognizer))
    with _services_lock:
        service = _services.get(key)
        if service is None:
            if settings.scale_out:
                from .redis_queue import RedisService
                service = RedisService(settings.redis_url, settings)
            else:
                service = BatchingService(recognizer, settings)
            _services[key] = service
        return service


def running_services() -> list:
    """The recognition services this process has created (one per loaded model), for status reports."""
    with _services_lock:
        return list(_services.values())


def close_service_for(recognizer) -> None:
    """Close and forget the process's service for ``recognizer`` (tests; a process that unloads a model)."""
    with _services_lock:
        service = _services.pop(id(getattr(recognizer, "model", recognizer)), None)
    if service is not None:
        service.close()
