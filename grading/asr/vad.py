"""Voice activity on audio as it arrives: the Silero detector shipped with faster-whisper, run frame by
frame with its recurrent state carried over, and a small hysteresis that turns frame probabilities
into utterances.

The live call decides turn-taking from this (is the trainee speaking, did they stop), which costs a
few milliseconds per 250 ms chunk; recognition of the utterances it finds runs later and elsewhere.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from ..audio import SAMPLE_RATE

_vad_model = None
_vad_lock = threading.Lock()


def silero_session():
    global _vad_model
    with _vad_lock:
        if _vad_model is None:
            from faster_whisper.vad import get_vad_model
            _vad_model = get_vad_model()
        return _vad_model.session


class StreamingVad:
    """Silero VAD over 32 ms frames with its recurrent state kept between calls."""
    FRAME = 512
    CONTEXT = 64

    def __init__(self):
        self.session = silero_session()
        self.h = np.zeros((1, 1, 128), dtype="float32")
        self.c = np.zeros((1, 1, 128), dtype="float32")
        self.context = np.zeros((1, self.CONTEXT), dtype="float32")
        self.pending = np.zeros(0, dtype="float32")

    def probabilities(self, samples: np.ndarray) -> list[float]:
        self.pending = np.concatenate([self.pending, samples])
        probs = []
        while self.pending.size >= self.FRAME:
            frame, self.pending = self.pending[: self.FRAME], self.pending[self.FRAME:]
            batch = np.concatenate([self.context, frame[None, :]], axis=1)
            out, self.h, self.c = self.session.run(None, {"input": batch, "h": self.h, "c": self.c})
            self.context = frame[None, -self.CONTEXT:]
            probs.append(float(np.asarray(out).reshape(-1)[0]))
        return probs


@dataclass(frozen=True)
class SpeechStarted:
    index: int          # the utterance's number in the stream, from 0
    start: float        # stream seconds where speech began


@dataclass(frozen=True)
class SpeechEnded:
    index: int
    start: float
    end: float          # stream seconds where speech stopped (before the closing silence)
    forced: bool = False  # cut because it grew too long, not because the speaker paused


@dataclass
class VadSettings:
    speech_threshold: float = 0.5
    silence_threshold: float = 0.35
    min_speech_s: float = 0.25      # shorter bursts (a click, a breath) are not speech
    utterance_gap_s: float = 0.6    # silence that closes an utterance (what the recogniser decodes)
    max_utterance_s: float = 25.0   # Whisper sees at most 30 s at once


class VoiceActivity:
    """Feed 16 kHz float32 samples; get ``SpeechStarted`` / ``SpeechEnded`` events in stream time."""

    def __init__(self, settings: VadSettings | None = None):
        self.settings = s = settings or VadSettings()
        self.vad = StreamingVad()
        frame_s = StreamingVad.FRAME / SAMPLE_RATE
        self.min_speech_frames = max(1, round(s.min_speech_s / frame_s))
        self.gap_frames = max(1, round(s.utterance_gap_s / frame_s))
        self.max_frames = round(s.max_utterance_s / frame_s)
        self.frames = 0                 # frames seen
        self.in_speech = False
        self.run_speech = 0             # consecutive speech frames before an utterance starts
        self.run_silence = 0            # consecutive silent frames inside an utterance
        self.start_frame = 0
        self.index = 0

    @property
    def speaking(self) -> bool:
        return self.in_speech

    @property
    def position_s(self) -> float:
        return self.frames * StreamingVad.FRAME / SAMPLE_RATE

    def current_start_s(self) -> float | None:
        return self._t(self.start_frame) if self.in_speech else None

    @staticmethod
    def _t(frame: int) -> float:
        return round(frame * StreamingVad.FRAME / SAMPLE_RATE, 3)

    def feed(self, samples: np.ndarray) -> list:
        s = self.settings
        events: list = []
        for prob in self.vad.probabilities(samples):
            self.frames += 1
            if not self.in_speech:
                self.run_speech = self.run_speech + 1 if prob >= s.speech_threshold else 0
                if self.run_speech >= self.min_speech_frames:
                    self.in_speech, self.run_silence = True, 0
                    self.start_frame = self.frames - self.run_speech
                    events.append(SpeechStarted(self.index, self._t(self.start_frame)))
                continue
            self.run_silence = self.run_silence + 1 if prob < s.silence_threshold else 0
            if self.run_silence >= self.gap_frames:
                events.append(self._close(self.frames - self.run_silence, forced=False))
            elif self.frames - self.start_frame >= self.max_frames:
                events.append(self._close(self.frames, forced=True))
                # speech goes on: the next utterance starts where this one was cut
                self.in_speech, self.start_frame, self.run_silence = True, self.frames, 0
                events.append(SpeechStarted(self.index, self._t(self.start_frame)))
        return events

    def close(self) -> list:
        """End of the stream (or the speaker pressed "done"): close an open utterance now."""
        if not self.in_speech:
            return []
        return [self._close(self.frames - self.run_silence, forced=True)]

    def _close(self, end_frame: int, *, forced: bool) -> SpeechEnded:
        event = SpeechEnded(self.index, self._t(self.start_frame), self._t(max(end_frame, self.start_frame + 1)),
                            forced=forced)
        self.index += 1
        self.in_speech, self.run_speech, self.run_silence = False, 0, 0
        return event


def has_speech(samples: np.ndarray) -> bool:
    from faster_whisper.vad import VadOptions, get_speech_timestamps
    return bool(get_speech_timestamps(samples, VadOptions(min_speech_duration_ms=150)))
