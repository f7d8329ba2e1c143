"""Rendering a caller's line to audio, cached by content and settings so a call never waits.

``render_line`` writes a 16 kHz mono 16-bit PCM WAV file named by the SHA-256 of everything that
changes the sound: the output format version, the voice (engine, model, version: ``Voice.engine_id``),
the spoken text after normalisation, the persona's settings, the line condition (canonical form) and
its seed. The cache folder is the ``cache_dir`` argument, else ``TTS_CACHE_DIR``, else
``instance/tts-cache`` in the project. A cached line is found without loading the voice.

Files are written under a temporary name in the same folder and moved into place with
``os.replace``, so concurrent renders (threads or processes) never expose half a file; within one
process, renders of the same line wait for each other instead of synthesising twice.

Levels: synthesised speech is brought to ``SPEECH_DBFS`` (RMS over the frames that carry speech)
before the persona's gain and the line condition, so personas and conditions mean the same dB on every
engine.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import threading
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .line import active_rms, apply_condition, canonical, parse_condition
from .personas import Persona, get_persona
from .speech_text import speakable, stage_directions
from .voice import SAMPLE_RATE, get_voice, voice_class

FORMAT_VERSION = 2
SPEECH_DBFS = -22.0
DEFAULT_SILENCE_S = 3.0
PROJECT_ROOT = Path(__file__).resolve().parent.parent
_LOCKS = [threading.Lock() for _ in range(64)]


@dataclass(frozen=True)
class RenderedLine:
    path: Path                     # 16 kHz mono 16-bit PCM WAV
    duration_s: float
    text: str                      # as scripted
    spoken_text: str               # what the voice said ("" for silence)
    stage_directions: tuple[str, ...]
    persona: str
    condition: str                 # canonical spec, e.g. "noisy:snr=5+telephone"
    engine: str                    # "neural", "pyttsx3" or "silence"
    cache_hit: bool
    key: str = ""


def default_cache_dir(path: Path | str | None = None) -> Path:
    """The cache folder (created when missing): ``path``, else ``TTS_CACHE_DIR``, else instance/tts-cache."""
    folder = Path(path or os.environ.get("TTS_CACHE_DIR") or PROJECT_ROOT / "instance" / "tts-cache")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def cache_key(voice_id: str, spoken: str, persona: Persona, condition: str, seed: int,
              silence_s: float | None = None) -> str:
    payload = json.dumps([FORMAT_VERSION, voice_id, spoken, persona.as_dict(), canonical(condition), seed, silence_s],
                         ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def estimated_duration(spoken: str, persona: Persona) -> float:
    """How long the caller would have taken to say ``spoken`` (for a silent line standing in for it)."""
    syllables = len(re.findall(r"[\u4e00-\u9fff]|[A-Za-z]", spoken))
    if not syllables:
        return DEFAULT_SILENCE_S
    return round(max(1.0, syllables / (4.5 * persona.speed) + 0.4), 2)


def write_wav_atomic(path: Path, samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
    pcm = (np.clip(np.nan_to_num(samples), -1.0, 1.0) * 32767).round().astype("<i2").tobytes()
    fd, tmp = tempfile.mkstemp(prefix=".render-", suffix=".wav.tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            with wave.open(fh, "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(sample_rate)
                w.writeframes(pcm)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _duration(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def _level(samples: np.ndarray, gain_db: float) -> np.ndarray:
    level = active_rms(samples)
    if level > 0:
        samples = samples * (10 ** (SPEECH_DBFS / 20) / level)
    return (samples * 10 ** (gain_db / 20)).astype(np.float32)


def render_line(text: str, *, persona: str | Persona = "calm", condition="none", engine: str | None = "auto",
                cache_dir: Path | str | None = None, seed: int = 0, silence_s: float | None = None,
                cache: Path | str | None = None) -> RenderedLine:
    """Speak ``text`` as ``persona`` through ``condition`` into a cached WAV file.

    A ``silent`` condition (or a line with nothing to say, e.g. only ``（沉默）``) needs no synthesis:
    it renders an open line of ``silence_s`` seconds, else ``silent:seconds=``, else as long as the
    caller would have taken to say the text (3 s for no text). ``cache`` is an older name for
    ``cache_dir``. Raises ValueError for an unknown persona or condition."""
    persona = get_persona(persona)
    condition = canonical(condition)
    steps = dict(parse_condition(condition))
    spoken = speakable(text)
    silent = "silent" in steps or not re.search(r"\w", spoken)
    if silent:
        seconds = silence_s or steps.get("silent", {}).get("seconds") or estimated_duration(spoken, persona)
        voice_id, spoken, voice_cls = "silence", "", None
    else:
        seconds = None
        voice_cls = voice_class(engine)
        voice_id = voice_cls.engine_id()
    folder = default_cache_dir(cache_dir or cache)
    key = cache_key(voice_id, spoken, persona, condition, seed, seconds)
    path = folder / f"{key}.wav"
    hit = path.exists()
    if not hit:
        with _LOCKS[int(key[:8], 16) % len(_LOCKS)]:
            hit = path.exists()            # another thread may have rendered it while we waited
            if not hit:
                if silent:
                    chain = [{"name": name, **{k: v for k, v in p.items() if v is not None}}
                             for name, p in parse_condition(condition) if name != "silent"]
                    samples = apply_condition(np.zeros(0, np.float32), SAMPLE_RATE,
                                              [{"name": "silent", "seconds": seconds}, *chain], seed=seed)
                else:
                    assert voice_cls is not None   # set for every spoken line above
                    voice = get_voice(voice_cls.name)
                    samples = voice.synthesize(spoken, speed=persona.speed, pitch_semitones=persona.pitch_semitones,
                                               pause_s=persona.pause_s)
                    samples = apply_condition(_level(samples, persona.gain_db), SAMPLE_RATE, condition, seed=seed)
                write_wav_atomic(path, samples)
    return RenderedLine(path, round(_duration(path), 3), text, spoken, tuple(stage_directions(text)), persona.name,
                        condition, voice_cls.name if voice_cls else "silence", hit, key)


def prerender(lines, **options) -> list[RenderedLine]:
    """Render a scenario's lines ahead of the call (e.g. when the scenario is saved).

    ``lines``: (text, persona, condition) tuples (persona and condition may be left off), plain
    strings, or dicts with ``text`` and optional ``persona``, ``condition``, ``seed``, ``silence_s``.
    ``options`` (engine, cache_dir, seed ...) apply to every line. Everything is checked before
    anything is synthesised, so a bad persona or condition fails fast."""
    jobs: list[dict] = []
    for line in lines:
        if isinstance(line, str):
            job: dict = {"text": line}
        elif isinstance(line, dict):
            job = dict(line)
        else:
            job = dict(zip(("text", "persona", "condition"), line, strict=False))   # persona, condition optional
        job = {**options, **job}
        get_persona(job.get("persona", "calm"))
        parse_condition(job.get("condition", "none"))
        jobs.append(job)
    return [render_line(job.pop("text"), **job) for job in jobs]
