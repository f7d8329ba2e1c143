"""Grading: audio intake, speech recognition, Chinese text normalisation, rubric engine and scoring.

Public surface:
- audio intake: ``load_audio``, ``Audio``, ``AudioError`` and its specific subclasses
- speech recognition: ``get_recognizer`` (file and streaming modes), ``Transcript``
- text: ``normalize_transcript``, ``for_matching``, ``cer``
- models and engines: ``asr_status``, ``choose_engine``, ``ensure_model``, ``find_model``, ``locate_model``
"""
from .asr import NoEngineAvailable, Transcript, get_recognizer
from .audio import (
                    Audio,
                    AudioError,
                    AudioFormatError,
                    AudioTooLarge,
                    AudioTooLong,
                    CorruptAudio,
                    EmptyAudio,
                    NotAudio,
                    VideoNotAllowed,
                    load_audio,
)
from .engine_choice import asr_status, choose_engine
from .metrics import cer
from .model_store import ModelNotFound
from .model_store import ensure as ensure_model
from .model_store import find as find_model
from .model_store import locate as locate_model
from .textnorm import for_matching, normalize_transcript

__all__ = ["Audio", "AudioError", "AudioFormatError", "AudioTooLarge", "AudioTooLong", "CorruptAudio", "EmptyAudio",
           "ModelNotFound", "NoEngineAvailable", "NotAudio", "Transcript", "VideoNotAllowed", "asr_status", "cer",
           "choose_engine", "ensure_model", "find_model", "for_matching", "get_recognizer", "load_audio",
           "locate_model", "normalize_transcript"]
