"""Rendering a caller's line to audio, cached by content and settings so a call never waits.

The cache key covers everything that changes the sound: the voice (engine, model, version), the
spoken text after normalisation, the persona's settings, the line condition and its seed. Files are
written under a temporary name and moved into place, so concurrent renders never expose half a file.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .line import apply_condition, canonical, parse_condition
from .personas import Persona, get_persona
from .speech_text import speakable, stage_directions
from .voice import SAMPLE_RATE, get_voice, voice_class

FORMAT_VERSION = 1
PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class RenderedLine:
    path: Path
    duration_s: float
    text: str                      # as scripted
    spoken_text: str               # what the voice said ("" for silence)
    stage_directions: tuple[str, ...]
    persona: str
    condition: str
    engine: str
    cache_hit: bool


def cache_dir(path: Path | str | None = None) -> Path:
    folder = Path(path or os.environ.get("TTS_CACHE_DIR") or PROJECT_ROOT / "instance" / "tts-cache")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _key(voice_id: str, spoken: str, persona: Persona, condition: str, seed: int, silence_s: float | None) -> str:
    payload = json.dumps([FORMAT_VERSION, voice_id, spoken, persona.as_dict(), condition, seed, silence_s],
                         ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def _write_wav_atomic(path: Path, samples: np.ndarray) -> None:
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    fd, tmp = tempfile.mkstemp(prefix=".render-", suffix=".wav", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh, wave.open(fh, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(SAMPLE_RATE)
            w.writeframes(pcm)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _duration(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def render_line(text: str, *, persona: str | Persona = "calm", condition="none", engine: str = "auto",
                cache: Path | str | None = None, seed: int = 0, silence_s: float | None = None) -> RenderedLine:
    """``silence_s`` (or a text with nothing to say, or the ``silent`` condition) renders an open,
    silent line of that length without synthesis."""
    persona = get_persona(persona)
    condition = canonical(condition)
    steps = dict(parse_condition(condition))
    spoken = speakable(text)
    silent = "silent" in steps or not spoken
    if silent:
        seconds = silence_s or steps.get("silent", {}).get("seconds") or 3.0
        voice_id, spoken = "silence", ""
    else:
        voice_cls = voice_class(engine)
        voice_id, seconds = voice_cls.CACHE_ID, silence_s
    folder = cache_dir(cache)
    path = folder / f"{_key(voice_id, spoken, persona, condition, seed, seconds if silent else None)}.wav"
    hit = path.exists()
    if not hit:
        if silent:
            samples = apply_condition(np.zeros(int(seconds * SAMPLE_RATE), np.float32), f"silent:seconds={seconds}",
                                      seed=seed)
        else:
            voice = get_voice(voice_cls.name)
            samples = voice.synthesize(spoken, speed=persona.speed, pitch_semitones=persona.pitch_semitones,
                                       pause_s=persona.pause_s)
            samples = samples * 10 ** (persona.gain_db / 20)
            samples = apply_condition(samples, condition, seed=seed)
        _write_wav_atomic(path, samples)
    return RenderedLine(path, round(_duration(path), 3), text, spoken, tuple(stage_directions(text)), persona.name,
                        condition, "silence" if silent else voice_cls.name, hit)


def prerender(lines, **options) -> list[RenderedLine]:
    """Render a scenario's lines ahead of the call: ``lines`` are (text, persona, condition) tuples."""
    return [render_line(text, persona=persona, condition=condition, **options) for text, persona, condition in lines]
