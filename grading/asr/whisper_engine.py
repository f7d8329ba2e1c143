"""Whisper (faster-whisper, CTranslate2 int8) — the engine wherever the Chinese Vosk model is absent.

Whisper decodes whole windows, so streaming is emulated: a Silero voice-activity detector (shipped
with faster-whisper, run frame by frame with its state carried over) finds where speech starts and
ends; while the trainee speaks, the utterance so far is re-decoded greedily about once a second for
captions (skipped when the model is busy: captions are best effort); when 0.6 s of silence follows
speech, the utterance is decoded properly (beam 5, word timings) and becomes final.
"""
from __future__ import annotations

import math
import os
import re
import threading
import time
from pathlib import Path

import numpy as np

from ..audio import SAMPLE_RATE, Audio
from ..textnorm import normalize_transcript
from .base import Final, Partial, Recognizer, Segment, StreamSession, Transcript, Word, as_audio
from .vad import StreamingVad, has_speech

MODEL_NAME = "faster-whisper-base"
FULL_WINDOW_S = 30.0          # what Whisper was trained on; faster-whisper always pads to it
WINDOW_STEP_S = 2.5           # fitted windows grow in steps, so similar utterances share a shape
WINDOW_MARGIN_S = 1.0         # room after the last word for the end-of-text timestamp
DEFAULT_MIN_WINDOW_S = 10.0   # measured: shorter windows lost accuracy (docs/speech.md, "Encoder windows")
# Whisper was trained on subtitles: on silence or noise it may "hear" these credits. Dropped.
HALLUCINATIONS = re.compile(r"(字幕|订阅|点赞|转发|打赏|明镜|栏目|amara|谢谢观看|感谢观看|请不吝)", re.I)
NO_SPEECH_PROB = 0.6
LOOP = re.compile(r"(.{1,8}?)\1{5,}")     # the same few characters six times in a row: the decoder looped
MIN_AVG_LOGPROB = -1.0

_models: dict[tuple[str, int, int], tuple] = {}
_models_lock = threading.Lock()


def default_threads() -> int:
    """``ASR_THREADS``: CPU threads one decode uses. One: Whisper-base int8 runs barely faster on two
    (file-mode real-time factor 0.24 -> 0.23), so cores are better spent on decodes side by side."""
    return max(1, int(os.environ.get("ASR_THREADS") or 1))


def default_decoders() -> int:
    """``ASR_DECODERS``: how many utterances one process decodes at the same time (one model, CTranslate2
    workers sharing it); by default one per core, at most 8."""
    return max(1, int(os.environ.get("ASR_DECODERS") or min(8, os.cpu_count() or 1)))


def configured_min_window_s() -> float:
    """``ASR_MIN_WINDOW_S``: the shortest encoder window; 30 turns fitting off."""
    value = float(os.environ.get("ASR_MIN_WINDOW_S") or DEFAULT_MIN_WINDOW_S)
    return min(FULL_WINDOW_S, max(WINDOW_STEP_S, value))


def fitted_window_s(duration_s: float, minimum_s: float) -> float:
    """The encoder window for ``duration_s`` of audio: at least ``minimum_s``, in ``WINDOW_STEP_S`` steps,
    at most 30 s."""
    needed = math.ceil((duration_s + WINDOW_MARGIN_S) / WINDOW_STEP_S) * WINDOW_STEP_S
    return min(FULL_WINDOW_S, max(minimum_s, needed))


def _fitted_model_class():
    from faster_whisper import WhisperModel
    from faster_whisper.audio import pad_or_trim

    class FittedWhisperModel(WhisperModel):
        """faster-whisper pads every window to 30 s before the encoder, whatever the audio's length; the
        encoder cost grows with the window, so a 3 s answer paid for 30 s. This encodes the first window
        fitted to the audio (``window_s``, set by the decoding thread: several threads decode at once); the
        decoder, the fallbacks and word timings stay faster-whisper's own. Audio longer than one window goes
        on with 30 s windows."""
        _local = threading.local()

        @property
        def window_s(self) -> float:
            return getattr(self._local, "window_s", FULL_WINDOW_S)

        @window_s.setter
        def window_s(self, value: float) -> None:
            self._local.window_s = value

        def generate_segments(self, features, tokenizer, options, log_progress, encoder_output=None):
            content_frames = features.shape[-1] - 1
            frames = int(self.window_s * self.frames_per_second)
            if encoder_output is None and content_frames <= frames < self.feature_extractor.nb_max_frames:
                encoder_output = self.encode(pad_or_trim(features[:, :content_frames], frames))
            return super().generate_segments(features, tokenizer, options, log_progress, encoder_output)

    return FittedWhisperModel


def shared_model(path: str, threads: int, decoders: int = 1):
    """One model per process (per path, threads and decoders): loading costs ~0.6 s and ~150 MB. The
    semaphore admits ``decoders`` decodes at once, each on its own CTranslate2 worker."""
    key = (str(path), threads, decoders)
    with _models_lock:
        if key not in _models:
            model = _fitted_model_class()(str(path), device="cpu", compute_type="int8", cpu_threads=threads,
                                          num_workers=decoders)
            _models[key] = (model, threading.Semaphore(decoders))
        return _models[key]


class WhisperRecognizer(Recognizer):
    engine = "whisper"
    model_name = MODEL_NAME

    def __init__(self, model_path: str | Path | None = None, threads: int | None = None, beam_size: int = 5,
                 initial_prompt: str | None = None, min_window_s: float | None = None, decoders: int | None = None):
        if model_path is None:
            from ..model_store import WHISPER_BASE, locate
            model_path = locate(WHISPER_BASE).path
        self.model_path = str(model_path)
        if not Path(self.model_path, "model.bin").is_file():
            raise FileNotFoundError(f"no Whisper model (model.bin) in {self.model_path}")
        self.threads = threads or default_threads()
        self.decoders = decoders or default_decoders()
        self.beam_size = beam_size
        self.initial_prompt = initial_prompt
        self.min_window_s = min_window_s if min_window_s is not None else configured_min_window_s()
        self.model, self.busy = shared_model(self.model_path, self.threads, self.decoders)

    # ---- decoding ----------------------------------------------------------------------------

    def decode(self, samples: np.ndarray, *, offset: float = 0.0, beam_size: int | None = None,
               words: bool = True, vad_filter: bool = True, min_window_s: float | None = None) -> list[Segment]:
        """Decode float32 16 kHz samples; times shifted by ``offset``.

        ``vad_filter`` only decides *whether* there is speech (no speech: no text, so Whisper cannot
        invent any); the audio is then decoded whole, because cutting it to the detected speech cost
        accuracy on real recordings (CER 0.173 -> 0.125 on eval-audio/human without the cut)."""
        if vad_filter and not has_speech(samples):
            return []
        with self.busy:
            self.model.window_s = fitted_window_s(samples.size / SAMPLE_RATE, min_window_s or self.min_window_s)
            segments, _ = self.model.transcribe(
                samples, language="zh", beam_size=beam_size or self.beam_size, word_timestamps=words,
                without_timestamps=not words, condition_on_previous_text=False,
                initial_prompt=self.initial_prompt, vad_filter=False)
            raw = list(segments)
        return _segments(raw, offset)

    def decode_batch(self, items: list[tuple[np.ndarray, float]], *, beam_size: int | None = None,
                     words: bool = True, min_window_s: float | None = None) -> list[list[Segment]]:
        """Decode several utterances (float32 samples, offset) in one encoder and one decoder call: the
        recognition service's batch of finals from different calls. Each is fitted into the window of the
        longest; an utterance longer than one window, or a batch of one, goes through ``decode``."""
        longest = max((s.size for s, _ in items), default=0) / SAMPLE_RATE
        if len(items) <= 1 or longest + WINDOW_MARGIN_S > FULL_WINDOW_S:
            return [self.decode(s, offset=o, beam_size=beam_size, words=words, vad_filter=False,
                                min_window_s=min_window_s) for s, o in items]
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import BatchedInferencePipeline, TranscriptionOptions, get_suppressed_tokens

        model = self.model
        frames = int(fitted_window_s(longest, min_window_s or self.min_window_s) * model.frames_per_second)
        features = np.stack([pad_or_trim(model.feature_extractor(s)[..., :-1], frames) for s, _ in items])
        tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language="zh")
        options = TranscriptionOptions(
            beam_size=beam_size or self.beam_size, best_of=5, patience=1, length_penalty=1, repetition_penalty=1,
            no_repeat_ngram_size=0, log_prob_threshold=-1.0, no_speech_threshold=0.6,
            compression_ratio_threshold=2.4, condition_on_previous_text=False, prompt_reset_on_temperature=0.5,
            temperatures=[0.0], initial_prompt=self.initial_prompt, prefix=None, suppress_blank=True,
            suppress_tokens=get_suppressed_tokens(tokenizer, [-1]), without_timestamps=not words,
            max_initial_timestamp=1.0, word_timestamps=words, prepend_punctuations="\"'“¿([{-",
            append_punctuations="\"'.。,，!！?？:：”)]}、", multilingual=False,
            # a looping hypothesis would hold up the whole batch until 448 tokens: bounded by the audio's
            # length (speech is < 8 characters a second) and then decoded again alone
            max_new_tokens=min(400, int(longest * 12) + 32),
            clip_timestamps="0", hallucination_silence_threshold=None, hotwords=None)
        metadata = [{"offset": 0.0, "duration": s.size / SAMPLE_RATE} for s, _ in items]
        with self.busy:
            outputs = BatchedInferencePipeline(model).forward(features, tokenizer, metadata, options)
        out = []
        for segs, (samples, offset) in zip(outputs, items, strict=True):
            if _needs_fallback(segs, options):
                # The batched search has no temperature fallback: a looping or unsure result is decoded
                # again alone, with faster-whisper's fallbacks, as the one-by-one path would have.
                out.append(self.decode(samples, offset=offset, beam_size=beam_size, words=words, vad_filter=False,
                                       min_window_s=min_window_s))
            else:
                out.append(_segments([_BatchSegment(d) for d in segs], offset))
        return out

    def transcribe(self, source) -> Transcript:
        audio: Audio = as_audio(source)
        started = time.perf_counter()
        segments = self.decode(audio.float32)
        return Transcript(text=join_text(segments), engine=self.engine, model=self.model_name,
                          duration_s=round(audio.duration_s, 3), decode_s=round(time.perf_counter() - started, 3),
                          segments=segments)

    def stream(self, on_partial=None, **options) -> "WhisperStream":
        return WhisperStream(self, on_partial=on_partial, **options)


LATIN_WORD = re.compile(r"[A-Za-z]{3,}")


def _needs_fallback(segments: list[dict], options) -> bool:
    from faster_whisper.transcribe import get_compression_ratio
    if not segments:
        return False
    text = "".join(d["text"] for d in segments)
    first = segments[0]
    silent = first["no_speech_prob"] > options.no_speech_threshold
    # Bounded by max_new_tokens, a loop may stay under the compression-ratio threshold: caught as a repeat.
    # A replacement character means the search ended inside a character's byte tokens, and a Latin word in a
    # Chinese decode is a typical batched-search hallucination (「…线呈 noodles」): both are decoded again alone,
    # which costs time only (a real "WiFi" comes back from the single decode unchanged).
    return ("\ufffd" in text or bool(LATIN_WORD.search(text))
            or get_compression_ratio(text) > options.compression_ratio_threshold
            or bool(LOOP.search(text))
            or (first["avg_logprob"] < options.log_prob_threshold and not silent))


class _BatchSegment:
    """A segment dict of faster-whisper's batched pipeline, read like its ``Segment``."""

    def __init__(self, d: dict):
        self.text, self.start, self.end = d["text"], d["start"], d["end"]
        self.no_speech_prob, self.avg_logprob = d["no_speech_prob"], d["avg_logprob"]
        self.words = [_Word(w) for w in d.get("words") or []]


class _Word:
    def __init__(self, w: dict):
        self.word, self.start, self.end, self.probability = w["word"], w["start"], w["end"], w["probability"]


def _segments(raw, offset: float) -> list[Segment]:
    out = []
    for seg in raw:
        # a replacement character is half a character's bytes where the search stopped: never text
        text = normalize_transcript(seg.text.replace("\ufffd", ""))
        if not text or HALLUCINATIONS.search(text):
            continue
        if seg.no_speech_prob > NO_SPEECH_PROB and seg.avg_logprob < MIN_AVG_LOGPROB:
            continue
        seg_words = [Word(normalize_transcript(w.word), round(float(w.start) + offset, 3),
                          round(float(w.end) + offset, 3), round(float(w.probability), 3))
                     for w in (seg.words or []) if w.word.strip()]
        confidence = (round(sum(w.confidence or 0.0 for w in seg_words) / len(seg_words), 3) if seg_words
                      else round(float(np.exp(seg.avg_logprob)), 3))
        out.append(Segment(text, round(float(seg.start) + offset, 3), round(float(seg.end) + offset, 3), confidence,
                           [w for w in seg_words if w.text]))
    return out


def join_text(segments: list[Segment]) -> str:
    return normalize_transcript("，".join(s.text.rstrip("。，") for s in segments if s.text) +
                                ("。" if segments else ""))


class WhisperStream(StreamSession):
    def __init__(self, recognizer: WhisperRecognizer, *, on_partial=None, end_silence_s: float = 0.6,
                 partial_every_s: float = 1.0, min_speech_s: float = 0.25, speech_threshold: float = 0.5,
                 silence_threshold: float = 0.35,
                 pad_s: float = 0.2, max_utterance_s: float = 25.0):
        super().__init__(on_partial)
        self.recognizer = recognizer
        self.vad = StreamingVad()
        self.audio = np.zeros(0, dtype="float32")     # the whole stream so far
        self.frame_index = 0                           # VAD frames seen
        self.in_speech = False
        self.speech_start = 0                          # sample index where the utterance began
        self.speech_frames = 0
        self.silent_frames = 0
        self.last_partial_at = 0
        self.decode_s = 0.0
        self.end_frames = int(end_silence_s * SAMPLE_RATE / StreamingVad.FRAME)
        self.min_speech_frames = max(1, int(min_speech_s * SAMPLE_RATE / StreamingVad.FRAME))
        self.partial_every = int(partial_every_s * SAMPLE_RATE)
        self.speech_threshold, self.silence_threshold = speech_threshold, silence_threshold
        self.pad = int(pad_s * SAMPLE_RATE)
        self.max_utterance = int(max_utterance_s * SAMPLE_RATE)

    def _utterance(self, end: int) -> tuple[np.ndarray, float]:
        start = max(0, self.speech_start - self.pad)
        return self.audio[start:end], start / SAMPLE_RATE

    def _final(self, end: int) -> list:
        samples, offset = self._utterance(end)
        self.in_speech, self.speech_frames, self.silent_frames = False, 0, 0
        if samples.size < SAMPLE_RATE * 0.2:
            return []
        started = time.perf_counter()
        # VAD already cut the utterance; Whisper's own filter would only shift the times.
        segments = self.recognizer.decode(samples, offset=offset, vad_filter=False)
        self.decode_s += time.perf_counter() - started
        return [Final(s) for s in segments]

    def _feed(self, pcm: bytes) -> list:
        new = np.frombuffer(pcm, dtype="<i2").astype("float32") / 32768.0
        self.audio = np.concatenate([self.audio, new])
        events: list = []
        for prob in self.vad.probabilities(new):
            self.frame_index += 1
            frame_end = self.frame_index * StreamingVad.FRAME
            if not self.in_speech:
                if prob >= self.speech_threshold:
                    self.speech_frames += 1
                    if self.speech_frames >= self.min_speech_frames:
                        self.in_speech = True
                        self.speech_start = frame_end - self.speech_frames * StreamingVad.FRAME
                        self.last_partial_at = frame_end
                        self.silent_frames = 0
                else:
                    self.speech_frames = 0
                continue
            self.silent_frames = self.silent_frames + 1 if prob < self.silence_threshold else 0
            if self.silent_frames >= self.end_frames or frame_end - self.speech_start >= self.max_utterance:
                events.extend(self._final(frame_end))
        # A caption only while the speaker is actually talking: one started at the end of a turn
        # would hold up the final transcript.
        if self.in_speech and self.silent_frames == 0 and self.audio.size - self.last_partial_at >= self.partial_every:
            self.last_partial_at = self.audio.size
            # Captions only when the model is idle: a busy server drops captions, never finals.
            if self.recognizer.busy.acquire(blocking=False):
                self.recognizer.busy.release()
                samples, offset = self._utterance(self.audio.size)
                started = time.perf_counter()
                segments = self.recognizer.decode(samples, offset=offset, beam_size=1, words=False,
                                                  vad_filter=False)
                self.decode_s += time.perf_counter() - started
                text = join_text(segments)
                if text:
                    events.append(Partial(text))
        return events

    @property
    def speaking(self) -> bool:
        return self.in_speech

    def _flush(self) -> list:
        return self._final(self.audio.size) if self.in_speech else []

    def _finish(self) -> list:
        if self.in_speech:
            return self._final(self.audio.size)
        if not self.segments and self.audio.size >= SAMPLE_RATE // 2:
            # Safety net for speech too faint for the streaming VAD: one pass over the whole stream.
            started = time.perf_counter()
            segments = self.recognizer.decode(self.audio)
            self.decode_s += time.perf_counter() - started
            return [Final(s) for s in segments]
        return []

    def _transcript(self) -> Transcript:
        return Transcript(text=join_text(self.segments), engine=self.recognizer.engine,
                          model=self.recognizer.model_name, duration_s=round(self.duration_s, 3),
                          decode_s=round(self.decode_s, 3), segments=list(self.segments))
