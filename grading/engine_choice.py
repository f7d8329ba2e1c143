"""Which speech-recognition engine serves this process, decided from configuration and what is installed.

``ASR_ENGINE=auto`` prefers Vosk (the streaming engine) wherever its Chinese model is present and falls
back to Whisper otherwise, as on machines where the Vosk model cannot be downloaded.
"""
from __future__ import annotations

import importlib.util
from dataclasses import asdict, dataclass
from typing import Mapping

from .model_store import VOSK_SMALL_CN, WHISPER_BASE, ModelNotFound, ModelSpec, locate

ENGINE_MODELS: dict[str, tuple[ModelSpec, str]] = {
    # engine: (model, Python module that runs it)
    "vosk": (VOSK_SMALL_CN, "vosk"),
    "whisper": (WHISPER_BASE, "faster_whisper"),
}
CHOICES = ("auto", "vosk", "whisper")


@dataclass(frozen=True)
class EngineCheck:
    engine: str
    model: str
    model_found: bool
    model_path: str | None
    model_source: str | None
    library_installed: bool
    problem: str | None

    @property
    def usable(self) -> bool:
        return self.model_found and self.library_installed


def check_engine(engine: str, *, env: Mapping[str, str] | None = None, project_root=None) -> EngineCheck:
    spec, module = ENGINE_MODELS[engine]
    library = importlib.util.find_spec(module) is not None
    try:
        res = locate(spec, env=env, project_root=project_root)
        path, source, problem = str(res.path), res.source, None
    except ModelNotFound:
        # Kept short: /healthz is public and must not reveal file-system paths.
        path, source, problem = None, None, "model not found"
    if problem is None and not library:
        problem = f"Python package for {engine} is not installed"
    return EngineCheck(engine, spec.name, path is not None, path, source, library, problem)


def choose_engine(requested: str = "auto", *, env: Mapping[str, str] | None = None,
                  project_root=None) -> tuple[EngineCheck | None, list[EngineCheck]]:
    """Return (the engine to use or None, every engine checked)."""
    if requested not in CHOICES:
        raise ValueError(f"ASR_ENGINE must be one of {', '.join(CHOICES)}, not {requested!r}")
    order = ["vosk", "whisper"] if requested == "auto" else [requested]
    checks = [check_engine(e, env=env, project_root=project_root) for e in order]
    chosen = next((c for c in checks if c.usable), None)
    return chosen, checks


def asr_status(requested: str = "auto", *, env: Mapping[str, str] | None = None,
               project_root=None) -> dict:
    """A JSON-ready summary for /healthz and set-up."""
    chosen, checks = choose_engine(requested, env=env, project_root=project_root)
    return {
        "requested": requested,
        "engine": chosen.engine if chosen else None,
        "model": chosen.model if chosen else None,
        "model_found": chosen is not None,
        "model_source": chosen.model_source if chosen else None,
        "streaming": ("native" if chosen.engine == "vosk" else "emulated") if chosen else None,
        "checked": [
            {k: v for k, v in asdict(c).items() if k != "model_path"} for c in checks
        ],
    }
