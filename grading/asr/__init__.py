"""Offline speech recognition: one interface (file and streaming modes), two engines.

``get_recognizer("auto")`` gives Vosk where the Chinese Vosk model is present (native streaming) and
Whisper otherwise (streaming emulated with voice-activity detection).
"""
from __future__ import annotations

import threading

from .base import Final, Partial, Recognizer, Segment, StreamSession, Transcript, Word


class NoEngineAvailable(RuntimeError):
    pass


_shared: dict[str, Recognizer] = {}
_lock = threading.Lock()


def get_recognizer(engine: str = "auto", **options) -> Recognizer:
    """The recogniser for ``engine`` (auto | vosk | whisper). Without options it is shared per process."""
    from ..engine_choice import choose_engine

    chosen, checks = choose_engine(engine)
    if chosen is None:
        problems = "; ".join(f"{c.engine}: {c.problem}" for c in checks)
        raise NoEngineAvailable(f"no speech-recognition engine is usable ({problems})")
    if options:
        return _build(chosen.engine, chosen.model_path, **options)
    with _lock:
        if chosen.engine not in _shared:
            _shared[chosen.engine] = _build(chosen.engine, chosen.model_path)
        return _shared[chosen.engine]


def _build(engine: str, model_path: str | None, **options) -> Recognizer:
    if engine == "vosk":
        from .vosk_engine import MODEL_NAME, VoskRecognizer
        return VoskRecognizer(model_path, model_name=MODEL_NAME, **options)
    from .whisper_engine import WhisperRecognizer
    return WhisperRecognizer(model_path, **options)


__all__ = ["Final", "NoEngineAvailable", "Partial", "Recognizer", "Segment", "StreamSession", "Transcript", "Word",
           "get_recognizer"]
