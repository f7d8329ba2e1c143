"""The live calls of this server process, the threads that recognise their audio, and the sweep that
closes calls nobody attends to.

A request bringing microphone audio is answered as soon as the chunk is on disk and its voice activity
is known (turn-taking needs nothing more); each call's worker thread runs the recognition. On a small
server the recogniser is the bottleneck: finals then queue behind each other, and only the caller's
answer waits for them, never the turn-taking.

Audio arrives in numbered chunks. A chunk already received is acknowledged again (the browser retries
after a lost connection); a chunk from the future is refused with the number expected, so the browser
resends what is missing and nothing said is lost or doubled. Audio faster than real time is refused:
one trainee cannot flood the recogniser.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from .listener import BYTES_PER_SECOND
from .runtime import LiveCall

log = logging.getLogger(__name__)
MAX_CHUNK_BYTES = BYTES_PER_SECOND * 5          # 5 s of audio per request at most
RESYNC_GAP_S = 2.0                              # a longer gap in the audio means the trainee was cut off
AHEAD_ALLOWANCE_S = 30.0                        # audio may run this far ahead of the clock (a burst of resends
                                                # after a stall); more is a client flooding the recogniser


class ChunkOutOfOrder(Exception):
    def __init__(self, expected: int):
        self.expected = expected
        super().__init__(f"expected chunk {expected}")


class AudioTooFast(Exception):
    """More audio than the time the call has been live: a client replaying or flooding."""


class TooManyCalls(Exception):
    def __init__(self, call_ids: list[str]):
        self.call_ids = call_ids
        super().__init__("too many live calls")


@dataclass
class _Entry:
    call: LiveCall
    user_id: int
    next_seq: int = 0
    received_bytes: int = 0
    first_chunk_at: float | None = None
    worker: threading.Thread | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)   # one call's chunks, one at a time


class CallRegistry:
    def __init__(self, *, idle_timeout_s: float = 600.0, max_calls_per_user: int = 1,
                 on_abandoned: Callable[[LiveCall], None] | None = None, sweep_every_s: float = 30.0):
        self._calls: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self.idle_timeout_s = idle_timeout_s
        self.max_calls_per_user = max_calls_per_user
        self.on_abandoned = on_abandoned
        self.sweep_every_s = sweep_every_s
        self._sweeper: threading.Thread | None = None
        self._closed = threading.Event()

    # ---- calls ------------------------------------------------------------------------------

    def calls_of(self, user_id: int) -> list[str]:
        with self._lock:
            return [cid for cid, e in self._calls.items() if e.user_id == user_id]

    def add(self, call: LiveCall, user_id: int) -> None:
        """Hold ``call`` and start its recognition worker. Raises ``TooManyCalls`` when the user
        already has as many live calls as allowed (the caller decides what to do with those)."""
        with self._lock:
            mine = [cid for cid, e in self._calls.items() if e.user_id == user_id]
            if len(mine) >= self.max_calls_per_user:
                raise TooManyCalls(mine)
            entry = _Entry(call, user_id)
            self._calls[call.call_id] = entry
        entry.worker = threading.Thread(target=self._work, args=(entry,), name=f"call-{call.call_id[:8]}",
                                        daemon=True)
        entry.worker.start()
        self._ensure_sweeper()

    def get(self, call_id: str) -> LiveCall | None:
        entry = self._calls.get(call_id)
        return entry.call if entry is not None else None

    def owner(self, call_id: str) -> int | None:
        entry = self._calls.get(call_id)
        return entry.user_id if entry else None

    def next_seq(self, call_id: str) -> int:
        entry = self._calls.get(call_id)
        return entry.next_seq if entry else 0

    def receive(self, call_id: str, seq: int, pcm: bytes, *, resync: bool = False) -> int:
        """Take chunk ``seq``: on disk and its voice activity applied when this returns. Returns the
        next sequence number expected. ``resync``: the first chunk of a new recording on a call that
        was already streaming (the page was reloaded): the time the browser was away is filled with
        silence so the agent's audio stays on the call's clock. Without it chunks are contiguous audio,
        however late they arrive (a slow network's backlog must not be pushed later in time)."""
        entry = self._calls[call_id]
        call = entry.call
        with entry.lock:
            if seq < entry.next_seq:
                return entry.next_seq                   # a retry of something we have
            if seq > entry.next_seq:
                raise ChunkOutOfOrder(entry.next_seq)
            now = call.call.now()
            parts = []
            if entry.first_chunk_at is None:
                entry.first_chunk_at = max(0.0, now - len(pcm) / BYTES_PER_SECOND)
                call.stream_t0 = entry.first_chunk_at
            else:
                covered = entry.first_chunk_at + (entry.received_bytes + len(pcm)) / BYTES_PER_SECOND
                if covered - now > AHEAD_ALLOWANCE_S:
                    raise AudioTooFast()
                behind = now - covered
                if resync and behind > RESYNC_GAP_S:
                    gap = int(behind * BYTES_PER_SECOND) // 2 * 2
                    parts.append(bytes(gap))
                    entry.received_bytes += gap
            parts.append(pcm)
            entry.received_bytes += len(pcm)
            entry.next_seq += 1
            # Under the call's lock: its chunks are applied in order even when two requests race
            # (a retry beside the next chunk).
            for part in parts:
                call.receive_audio(part)
        return entry.next_seq

    def backlog_s(self, call_id: str) -> float:
        entry = self._calls.get(call_id)
        return 0.0 if entry is None else entry.call.audio.backlog_s()

    def drain(self, call_id: str, timeout: float = 60.0) -> None:
        """Wait until the worker has recognised everything queued (before finishing the call)."""
        entry = self._calls.get(call_id)
        if entry is None:
            return
        deadline = time.monotonic() + timeout
        while (entry.call.audio.pending_jobs() and time.monotonic() < deadline
               and entry.worker is not None and entry.worker.is_alive()):
            time.sleep(0.05)

    def remove(self, call_id: str) -> None:
        with self._lock:
            entry = self._calls.pop(call_id, None)
        if entry is not None:
            entry.stop.set()
            entry.call.close()

    def live_count(self) -> int:
        return len(self._calls)

    def threads(self) -> int:
        return sum(1 for e in list(self._calls.values()) if e.worker is not None and e.worker.is_alive())

    # ---- abandoned calls ----------------------------------------------------------------------

    def sweep(self) -> list[str]:
        """Close every call with no audio and no action for ``idle_timeout_s``: the record is kept and
        marked abandoned, threads and files are released. Returns their ids."""
        now = time.monotonic()
        with self._lock:
            idle = [e for e in self._calls.values() if now - e.call.last_activity >= self.idle_timeout_s]
        closed = []
        for entry in idle:
            try:
                entry.call.abandon("idle")
                if self.on_abandoned is not None:
                    self.on_abandoned(entry.call)
            except Exception:
                log.exception("call %s: closing an abandoned call failed", entry.call.call_id)
            self.remove(entry.call.call_id)
            closed.append(entry.call.call_id)
        return closed

    def _ensure_sweeper(self) -> None:
        with self._lock:
            if self._sweeper is not None and self._sweeper.is_alive():
                return
            self._sweeper = threading.Thread(target=self._sweep_loop, name="call-sweeper", daemon=True)
            self._sweeper.start()

    def _sweep_loop(self) -> None:
        while not self._closed.wait(self.sweep_every_s):
            try:
                self.sweep()
            except Exception:
                log.exception("sweeping live calls failed")
            with self._lock:
                if not self._calls:         # nothing to watch: the next call starts a sweeper again
                    self._sweeper = None
                    return

    def shutdown(self) -> None:
        self._closed.set()
        for call_id in list(self._calls):
            self.remove(call_id)

    @staticmethod
    def _work(entry: _Entry) -> None:
        while not entry.stop.is_set():
            try:
                entry.call.run_next_recognition(timeout=0.5)
            except Exception:            # one bad job must not stop the call's recognition
                log.exception("call %s: recognition failed", entry.call.call_id)
