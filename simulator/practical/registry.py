"""The live calls of this server process and the threads that feed them audio.

Each call gets a worker thread: the request that brings a chunk of microphone audio only queues it
and answers at once, while the worker runs speech recognition. On a small server the recogniser is
the bottleneck; finals then queue behind each other instead of tying up the web server's threads.

Audio arrives in numbered chunks. A chunk already received is acknowledged again (the browser retries
after a lost connection); a chunk from the future is refused with the number expected, so the browser
resends what is missing and nothing said is lost or doubled.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field

from .runtime import BYTES_PER_SECOND, LiveCall

log = logging.getLogger(__name__)
MAX_CHUNK_BYTES = BYTES_PER_SECOND * 5          # 5 s of audio per request at most
RESYNC_GAP_S = 2.0                              # a longer gap in the audio means the trainee was cut off


class ChunkOutOfOrder(Exception):
    def __init__(self, expected: int):
        self.expected = expected
        super().__init__(f"expected chunk {expected}")


@dataclass
class _Entry:
    call: LiveCall
    user_id: int
    next_seq: int = 0
    received_bytes: int = 0
    first_chunk_at: float | None = None
    inbox: queue.Queue = field(default_factory=queue.Queue)
    worker: threading.Thread | None = None
    last_seen: float = field(default_factory=time.monotonic)


class CallRegistry:
    def __init__(self):
        self._calls: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def add(self, call: LiveCall, user_id: int) -> None:
        entry = _Entry(call, user_id)
        entry.worker = threading.Thread(target=self._work, args=(entry,), name=f"call-{call.call_id[:8]}",
                                        daemon=True)
        with self._lock:
            self._calls[call.call_id] = entry
        entry.worker.start()

    def get(self, call_id: str) -> LiveCall | None:
        entry = self._calls.get(call_id)
        if entry is None:
            return None
        entry.last_seen = time.monotonic()
        return entry.call

    def owner(self, call_id: str) -> int | None:
        entry = self._calls.get(call_id)
        return entry.user_id if entry else None

    def next_seq(self, call_id: str) -> int:
        entry = self._calls.get(call_id)
        return entry.next_seq if entry else 0

    def receive(self, call_id: str, seq: int, pcm: bytes) -> int:
        """Queue chunk ``seq``; returns the next sequence number expected."""
        entry = self._calls[call_id]
        entry.last_seen = time.monotonic()
        with self._lock:
            if seq < entry.next_seq:
                return entry.next_seq                   # a retry of something we have
            if seq > entry.next_seq:
                raise ChunkOutOfOrder(entry.next_seq)
            parts = []
            call = entry.call
            if entry.first_chunk_at is None:
                entry.first_chunk_at = max(0.0, call.call.now() - len(pcm) / BYTES_PER_SECOND)
                call.stream_t0 = entry.first_chunk_at
            else:
                # The browser was away (network, reload): keep the agent's audio on the call's clock.
                behind = call.call.now() - len(pcm) / BYTES_PER_SECOND - (
                    entry.first_chunk_at + entry.received_bytes / BYTES_PER_SECOND)
                if behind > RESYNC_GAP_S:
                    gap = int(behind * BYTES_PER_SECOND) // 2 * 2
                    parts.append(bytes(gap))
                    entry.received_bytes += gap
            parts.append(pcm)
            entry.received_bytes += len(pcm)
            entry.next_seq += 1
        for part in parts:
            entry.inbox.put(part)
        return entry.next_seq

    def backlog_s(self, call_id: str) -> float:
        entry = self._calls.get(call_id)
        return 0.0 if entry is None else entry.inbox.qsize() * 0.25

    def drain(self, call_id: str, timeout: float = 30.0) -> None:
        """Wait until the worker has processed every queued chunk (before finishing the call)."""
        entry = self._calls.get(call_id)
        if entry is not None:
            done = threading.Event()
            entry.inbox.put(done)
            done.wait(timeout)

    def remove(self, call_id: str) -> None:
        with self._lock:
            entry = self._calls.pop(call_id, None)
        if entry is not None:
            entry.inbox.put(None)
            entry.call.close()

    def live_count(self) -> int:
        return len(self._calls)

    @staticmethod
    def _work(entry: _Entry) -> None:
        while True:
            item = entry.inbox.get()
            if item is None:
                return
            if isinstance(item, threading.Event):
                item.set()
                continue
            try:
                entry.call.feed_audio(item)
            except Exception:            # one bad chunk must not stop the call's recognition
                log.exception("call %s: audio chunk failed", entry.call.call_id)
