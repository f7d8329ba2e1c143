"""The trainee's side of a live call: microphone audio kept durably, voice activity found as it
arrives, and recognition of each utterance done later, off the request path.

``AgentAudio.receive`` is cheap (an fsync'd append and a few VAD frames) and returns the voice-activity
events at once, so turn-taking never waits for the recogniser. Recognition work goes into a queue of
jobs that a worker thread runs (``run_job``); tests run them inline.

Two recogniser kinds:
- engines with true streaming (Vosk) get every chunk and are flushed at the end of each utterance;
- the others (Whisper) send each utterance's audio span, once it ended, to the process's recognition
  service (``grading.asr.service``: one model, finals of all calls decoded in batches, in-process or on
  Redis workers) and wait for its transcript; the utterance in progress is captioned about once a
  second, at lower priority. A final that fails or is not back within ``ASR_JOB_TIMEOUT_S`` counts as
  recognised as nothing, so the call goes on (the turn is judged as one with no words) and never hangs.
"""
from __future__ import annotations

import collections
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from grading.asr.vad import SpeechEnded, SpeechPaused, SpeechStarted, VadSettings, VoiceActivity

if TYPE_CHECKING:
    from grading.asr.base import StreamSession

log = logging.getLogger(__name__)
_DEFAULT = object()
SAMPLE_RATE = 16000
BYTES_PER_SECOND = SAMPLE_RATE * 2
CAPTION_EVERY_S = 1.0


@dataclass(frozen=True)
class Job:
    kind: str                      # "final" | "caption" | "feed" (streaming engines)
    index: int = -1                # the utterance
    start: int = 0                 # sample range
    end: int = 0
    pcm: bytes = b""
    early: Any = None              # finals: the early decode of exactly this span, already submitted


@dataclass
class EarlyDecode:
    key: tuple[int, int, int]      # utterance, sample span
    future: Any = None
    dropped: bool = False          # the speaker went on: nobody will use it


@dataclass(frozen=True)
class Recognised:
    """The transcript of utterance ``index`` (segments in stream seconds)."""
    index: int
    segments: list


@dataclass(frozen=True)
class Caption:
    text: str


class AgentAudio:
    def __init__(self, directory: Path, recognizer, *, vad: VadSettings | None = None, durable: bool = True,
                 service=_DEFAULT, call_id: str = ""):
        self.path = Path(directory) / "stream.pcm"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.recognizer = recognizer
        self.streaming = bool(getattr(recognizer, "streaming", False) or getattr(recognizer, "engine", "") == "vosk")
        self.durable = durable
        self._file = open(self.path, "ab")
        self._pcm = bytearray()
        self._pcm_lock = threading.Lock()
        self.vad = VoiceActivity(vad)
        self._jobs: collections.deque[Job] = collections.deque()
        self._jobs_ready = threading.Condition()
        self._run_lock = threading.Lock()     # whoever takes a job runs it before the next is taken
        self.t0: float | None = None           # call time of the stream's first sample
        self._stream: StreamSession | None = None  # streaming engines: one session for the whole call
        self._stream_finals: list = []         # their finals since the last utterance end
        self._open_start: int | None = None    # sample where the utterance in progress began
        self._last_caption_at = 0
        self.closed = False
        self.call_id = call_id
        if service is _DEFAULT:
            from grading.asr.service import service_for
            service = None if self.streaming else service_for(recognizer)
        self.service = service                 # None: decode on this thread with the recogniser itself
        self._caption_future = None            # the caption waiting in the service, cancelled by a final
        self._early: EarlyDecode | None = None  # the utterance in progress, decoded at its pause
        self._in_flight_s = 0.0                # the final waiting in the service (part of the backlog)
        self.failed_finals = 0

    # ---- the request path ---------------------------------------------------------------------

    @property
    def samples(self) -> int:
        return len(self._pcm) // 2

    @property
    def seconds(self) -> float:
        return self.samples / SAMPLE_RATE

    def heard_until(self) -> float | None:
        """Call time up to which the agent's audio has arrived (None before the first chunk)."""
        return None if self.t0 is None else round(self.t0 + self.seconds, 3)

    def receive(self, pcm: bytes) -> list:
        """Keep ``pcm`` on disk (durable before it is acknowledged) and return its voice-activity
        events, with times in stream seconds."""
        if self.closed:
            return []
        self._file.write(pcm)
        self._file.flush()
        if self.durable:
            os.fsync(self._file.fileno())
        with self._pcm_lock:
            self._pcm.extend(pcm)
        if self.streaming:
            self._put(Job("feed", pcm=pcm))
        events = self.vad.feed(np.frombuffer(pcm, dtype="<i2").astype("float32") / 32768.0)
        for event in events:
            self._on_activity(event)
        if (not self.streaming and self._open_start is not None
                and self.samples - self._last_caption_at >= CAPTION_EVERY_S * SAMPLE_RATE and not self._jobs):
            self._last_caption_at = self.samples
            self._put(Job("caption", index=self.vad.index, start=self._open_start, end=self.samples))
        return events

    def close_utterance(self) -> list:
        """The trainee pressed "done": the utterance in progress ends now."""
        events = self.vad.close()
        for event in events:
            self._on_activity(event)
        return events

    def _on_activity(self, event) -> None:
        if isinstance(event, SpeechStarted):
            self._open_start = int(event.start * SAMPLE_RATE)
            self._last_caption_at = self.samples
            self._drop_early()
        elif isinstance(event, SpeechPaused):
            self._decode_early(event)
        elif isinstance(event, SpeechEnded):
            self._open_start = None
            caption = self._caption_future
            if caption is not None:
                caption.cancel()               # the final matters now, not a caption of it
            start, end = event.span(self.samples)
            early = None
            if self._early is not None and self._early.key == (event.index, start, end):
                early = self._early.future
            else:
                self._drop_early()
            self._early = None
            with self._jobs_ready:            # captions still queued are of the utterance now over
                self._jobs = collections.deque(j for j in self._jobs if j.kind != "caption")
            self._put(Job("final", index=event.index, start=start, end=end, early=early))

    def _decode_early(self, event: SpeechPaused) -> None:
        """A pause long enough to end the utterance may follow: when the recognition service has a decoder
        free, the utterance is decoded now, so its final is ready when the pause is confirmed. If the
        speaker goes on, the early decode is thrown away (it is only ever used for the identical span).
        A busy service gets no speculative work: it would delay other calls' finals."""
        self._drop_early()
        if not self._service_spare():
            return
        start, end = event.span(self.samples)
        if end - start < SAMPLE_RATE * 0.2:
            return
        from grading.asr.service import AsrJob
        early = EarlyDecode((event.index, start, end))
        early.future = self.service.submit(AsrJob("final", self.slice(start, end), start / SAMPLE_RATE,
                                                  call_id=self.call_id, wanted=lambda: not early.dropped))
        self._early = early

    def _service_spare(self) -> bool:
        spare = getattr(self.service, "spare", None)
        return spare is not None and spare()

    def _drop_early(self) -> None:
        if self._early is not None:
            self._early.dropped = True
            self._early.future.cancel()
            self._early = None

    # ---- the worker ---------------------------------------------------------------------------

    def slice(self, start: int, end: int) -> np.ndarray:
        with self._pcm_lock:
            raw = bytes(self._pcm[start * 2:end * 2])
        return np.frombuffer(raw, dtype="<i2").astype("float32") / 32768.0

    def pcm_slice(self, start_s: float, end_s: float) -> np.ndarray:
        a, b = max(0, int(start_s * SAMPLE_RATE)), min(self.samples, int(end_s * SAMPLE_RATE))
        with self._pcm_lock:
            raw = bytes(self._pcm[a * 2:max(a, b) * 2])
        return np.frombuffer(raw, dtype="<i2")

    def run_job(self, job: Job) -> list:
        """Recognition work; returns ``Recognised`` and ``Caption`` results."""
        if job.kind == "feed":
            return self._feed_stream(job.pcm)
        if job.kind == "caption":
            return self._caption(job)
        if self.streaming:
            return self._flush_stream(job.index)
        return [Recognised(job.index, self._decode(job))]

    def _put(self, job: Job) -> None:
        with self._jobs_ready:
            self._jobs.append(job)
            self._jobs_ready.notify_all()

    def backlog_s(self) -> float:
        """Seconds of the agent's speech waiting to be recognised."""
        with self._jobs_ready:
            return round(self._in_flight_s + sum((j.end - j.start) / SAMPLE_RATE if j.kind == "final"
                                                 else len(j.pcm) / BYTES_PER_SECOND
                                                 for j in self._jobs if j.kind != "caption"), 3)

    def pending_jobs(self) -> int:
        with self._jobs_ready:
            return len(self._jobs)

    def run_next(self, timeout: float, apply=None) -> bool:
        """Worker side: wait up to ``timeout`` for a job, run it, hand its results to ``apply``.
        False when there was nothing to do."""
        with self._jobs_ready:
            if not self._jobs:
                self._jobs_ready.wait(timeout)
            if not self._jobs:
                return False
        with self._run_lock:
            with self._jobs_ready:
                if not self._jobs:
                    return True
                job = self._jobs.popleft()
            self._run_and_apply(job, apply)
        return True

    def run_ready(self, apply=None) -> bool:
        """Request side: if the next job is a final whose early decode is already back, finish it now, so
        the answer to the chunk that ended the utterance carries its transcript (the worker thread would
        have it a moment later, and the trainee would see it with the next chunk, 250 ms on). Never waits:
        False when the worker is busy or the next job would need the recogniser."""
        if not self._run_lock.acquire(blocking=False):
            return False
        try:
            with self._jobs_ready:
                head = self._jobs[0] if self._jobs else None
                if head is None or head.kind != "final" or head.early is None or not head.early.done() \
                        or head.early.cancelled():
                    return False
                self._jobs.popleft()
            self._run_and_apply(head, apply)
            return True
        finally:
            self._run_lock.release()

    def run_pending(self, apply=None) -> list:
        """Run every queued job now, in order (tests, and finishing a call)."""
        out: list = []
        with self._run_lock:
            while True:
                with self._jobs_ready:
                    if not self._jobs:
                        break
                    job = self._jobs.popleft()
                out.extend(self._run_and_apply(job, apply))
        return out

    def _run_and_apply(self, job: Job, apply) -> list:
        """Run ``job`` (the run lock held) and hand what it found to ``apply``."""
        results = self.run_job(job)
        if apply is not None and results:
            apply(results)
        return results

    def _decode(self, job: Job) -> list:
        samples = self.slice(job.start, job.end)
        if samples.size < SAMPLE_RATE * 0.2:
            return []
        offset = job.start / SAMPLE_RATE
        if self.service is not None:
            from grading.asr.service import AsrJob
            future = job.early if job.early is not None and not job.early.cancelled() else None
            if future is None:
                future = self.service.submit(AsrJob("final", samples, offset, call_id=self.call_id))
            self._in_flight_s = samples.size / SAMPLE_RATE
            try:
                return future.result(timeout=self.service.settings.job_timeout_s)
            except Exception as exc:        # timeout, a worker's error: the utterance counts as no words
                future.cancel()
                self.failed_finals += 1
                log.warning("call %s: utterance %d not recognised (%s)", self.call_id, job.index,
                            type(exc).__name__ or exc)
                return []
            finally:
                self._in_flight_s = 0.0
        decode = getattr(self.recognizer, "decode", None)
        if decode is not None:
            # VAD already cut the utterance; the recogniser's own filter would only shift the times.
            return decode(samples, offset=offset, vad_filter=False)
        from grading.audio import Audio
        pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
        transcript = self.recognizer.transcribe(Audio(samples=pcm, sample_rate=SAMPLE_RATE,
                                                      duration_s=pcm.size / SAMPLE_RATE))
        return [_shifted(s, offset) for s in transcript.segments]

    def _caption(self, job: Job) -> list:
        busy = getattr(self.recognizer, "busy", None)
        decode = getattr(self.recognizer, "decode", None)
        with self._jobs_ready:
            final_waiting = any(j.kind == "final" for j in self._jobs)
        if final_waiting or self._open_start is None:
            return []                  # the utterance is over: its final matters, not a caption
        if self.service is not None:
            return self._service_caption(job)
        if decode is None or busy is None or not busy.acquire(blocking=False):
            return []                  # captions only when the model is idle: never delay a final
        busy.release()
        segments = decode(self.slice(job.start, job.end), offset=job.start / SAMPLE_RATE, beam_size=1, words=False,
                          vad_filter=False)
        text = "".join(s.text for s in segments).strip()
        return [Caption(text)] if text else []

    def _caption_wanted(self) -> bool:
        with self._jobs_ready:
            final_waiting = any(j.kind == "final" for j in self._jobs)
        return not final_waiting and self._open_start is not None and not self.closed

    def _service_caption(self, job: Job) -> list:
        from grading.asr.service import AsrJob
        if not self._service_spare():
            # Captions are a courtesy: on a loaded service they would take the decoders the finals need
            # (measured at 20 calls on 2 cores: final p95 4.5 s with captions always sent, 2.6 s without).
            return []
        wait = 2 * CAPTION_EVERY_S
        future = self.service.submit(AsrJob("caption", self.slice(job.start, job.end), job.start / SAMPLE_RATE,
                                            call_id=self.call_id, wanted=self._caption_wanted,
                                            expires_at=time.time() + wait))
        self._caption_future = future
        try:
            segments = future.result(timeout=wait)
        except Exception:                   # cancelled by a final, late or failed: captions are best effort
            future.cancel()
            return []
        finally:
            self._caption_future = None
        text = "".join(s.text for s in segments).strip()
        return [Caption(text)] if text else []

    def _feed_stream(self, pcm: bytes) -> list:
        from grading.asr import Final, Partial
        if self._stream is None:
            self._stream = self.recognizer.stream()
        out: list = []
        for event in self._stream.feed(pcm):
            if isinstance(event, Final):
                self._stream_finals.append(event.segment)
            elif isinstance(event, Partial) and event.text:
                out.append(Caption(event.text))
        return out

    def _flush_stream(self, index: int) -> list:
        if self._stream is not None:
            self._stream_finals.extend(e.segment for e in self._stream.flush())
        segments, self._stream_finals = self._stream_finals, []
        return [Recognised(index, segments)]

    def close(self) -> None:
        self.closed = True
        if not self._file.closed:
            self._file.close()


def _shifted(segment, offset: float):
    from grading.asr import Segment, Word
    return Segment(segment.text, round(segment.start + offset, 3), round(segment.end + offset, 3), segment.confidence,
                   [Word(w.text, round(w.start + offset, 3), round(w.end + offset, 3), w.confidence)
                    for w in segment.words])
