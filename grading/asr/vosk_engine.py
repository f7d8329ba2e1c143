"""Vosk (Kaldi) — the product's native streaming engine wherever the Chinese Vosk model is present.

The model is loaded once per process and shared; each stream gets its own recogniser. Closed prompts
(IVR-style answers) may pass a grammar: the list of phrases the recogniser may return.
"""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from ..audio import SAMPLE_RATE, Audio
from ..textnorm import normalize_transcript
from .base import Final, Partial, Recognizer, Segment, StreamSession, Transcript, Word, as_audio

MODEL_NAME = "vosk-model-small-cn-0.22"
CHUNK_BYTES = 8000            # 0.25 s of 16 kHz 16-bit audio per AcceptWaveform call in file mode

_models: dict[str, object] = {}
_lock = threading.Lock()


def shared_model(path: str):
    import vosk

    vosk.SetLogLevel(-1)
    with _lock:
        if path not in _models:
            if not Path(path, "am").is_dir() and not Path(path, "final.mdl").exists():
                raise FileNotFoundError(f"no Vosk model in {path}")
            _models[path] = vosk.Model(path)
        return _models[path]


def _segment(result: dict) -> Segment | None:
    words = [Word(normalize_transcript(w["word"]), round(w["start"], 3), round(w["end"], 3),
                  round(float(w.get("conf", 1.0)), 3)) for w in result.get("result", [])]
    # Chinese Vosk models put spaces between words; they are not part of the text.
    text = normalize_transcript(result.get("text", ""))
    if not text:
        return None
    confidence = round(sum(w.confidence or 0.0 for w in words) / len(words), 3) if words else None
    start = words[0].start if words else 0.0
    end = words[-1].end if words else 0.0
    return Segment(text, start, end, confidence, words)


class VoskRecognizer(Recognizer):
    engine = "vosk"

    def __init__(self, model_path: str | Path | None = None, grammar: list[str] | None = None, *,
                 model_name: str | None = None):
        if model_path is None:
            from ..model_store import VOSK_SMALL_CN, locate
            model_path = locate(VOSK_SMALL_CN).path
        self.model_path = str(model_path)
        self.model_name = model_name or (MODEL_NAME if model_path is None else Path(self.model_path).name)
        self.model = shared_model(self.model_path)
        self.grammar = grammar

    def _recognizer(self):
        import vosk

        if self.grammar:
            # ensure_ascii=False: with \\u escapes Vosk finds none of the words in its vocabulary.
            rec = vosk.KaldiRecognizer(self.model, SAMPLE_RATE, json.dumps(self.grammar, ensure_ascii=False))
        else:
            rec = vosk.KaldiRecognizer(self.model, SAMPLE_RATE)
        rec.SetWords(True)
        return rec

    def transcribe(self, source) -> Transcript:
        audio: Audio = as_audio(source)
        stream = self.stream()
        started = time.perf_counter()
        pcm = audio.pcm16()
        for i in range(0, len(pcm), CHUNK_BYTES):
            stream.feed(pcm[i:i + CHUNK_BYTES])
        transcript = stream.finish()
        transcript.decode_s = round(time.perf_counter() - started, 3)
        return transcript

    def stream(self, on_partial=None) -> "VoskStream":
        return VoskStream(self, on_partial)


class VoskStream(StreamSession):
    def __init__(self, recognizer: VoskRecognizer, on_partial=None):
        super().__init__(on_partial)
        self.recognizer = recognizer
        self.rec = recognizer._recognizer()
        self.decode_s = 0.0
        self.last_partial = ""

    def _feed(self, pcm: bytes) -> list:
        started = time.perf_counter()
        events: list[Final | Partial] = []
        if self.rec.AcceptWaveform(pcm):
            segment = _segment(json.loads(self.rec.Result()))
            if segment:
                events.append(Final(segment))
            self.last_partial = ""
        else:
            partial = normalize_transcript(json.loads(self.rec.PartialResult()).get("partial", ""))
            if partial and partial != self.last_partial:
                self.last_partial = partial
                events.append(Partial(partial))
        self.decode_s += time.perf_counter() - started
        return events

    @property
    def speaking(self) -> bool:
        return bool(self.last_partial)

    def _flush(self) -> list:
        self.last_partial = ""
        segment = _segment(json.loads(self.rec.FinalResult()))
        return [Final(segment)] if segment else []

    def _finish(self) -> list:
        segment = _segment(json.loads(self.rec.FinalResult()))
        return [Final(segment)] if segment else []

    def _transcript(self) -> Transcript:
        text = normalize_transcript("，".join(s.text for s in self.segments))
        return Transcript(text=text, engine="vosk", model=self.recognizer.model_name,
                          duration_s=round(self.duration_s, 3), decode_s=round(self.decode_s, 3),
                          segments=list(self.segments))
