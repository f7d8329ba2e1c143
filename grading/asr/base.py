"""The recogniser interface both engines implement, and what they return."""
from __future__ import annotations

import abc
from dataclasses import asdict, dataclass, field
from typing import Callable

from ..audio import SAMPLE_RATE, Audio, load_audio, pcm_to_audio


@dataclass
class Word:
    text: str
    start: float
    end: float
    confidence: float | None = None


@dataclass
class Segment:
    text: str
    start: float
    end: float
    confidence: float | None = None
    words: list[Word] = field(default_factory=list)

    @classmethod
    def from_dict(cls, d: dict) -> "Segment":
        """The inverse of ``dataclasses.asdict``."""
        return cls(d["text"], d["start"], d["end"], d.get("confidence"), [Word(**w) for w in d.get("words") or []])


@dataclass
class Transcript:
    text: str
    engine: str
    model: str
    duration_s: float
    decode_s: float
    segments: list[Segment] = field(default_factory=list)
    language: str = "zh"

    @property
    def words(self) -> list[Word]:
        return [w for s in self.segments for w in s.words]

    @property
    def confidence(self) -> float | None:
        scores = [w.confidence for w in self.words if w.confidence is not None]
        return round(sum(scores) / len(scores), 3) if scores else None

    def to_dict(self) -> dict:
        data = asdict(self)
        data["words"] = [asdict(w) for w in self.words]
        data["confidence"] = self.confidence
        return data

    @classmethod
    def from_dict(cls, d: dict) -> "Transcript":
        """The inverse of ``to_dict`` (its derived ``words`` and ``confidence`` are recomputed)."""
        return cls(d["text"], d["engine"], d["model"], d["duration_s"], d["decode_s"],
                   [Segment.from_dict(x) for x in d["segments"]], d.get("language", "zh"))


@dataclass
class Partial:
    """A caption while the speaker is still talking; it may change."""
    text: str


@dataclass
class Final:
    """The settled transcript of one utterance (end of speech detected, or the stream finished)."""
    segment: Segment


def as_audio(source) -> Audio:
    return source if isinstance(source, Audio) else load_audio(source)


class StreamSession(abc.ABC):
    """One audio stream (one trainee turn or one whole call side): 16 kHz mono 16-bit PCM in, captions
    and final segments out. Times are seconds from the start of the stream."""

    def __init__(self, on_partial: Callable[[str], None] | None = None):
        self.segments: list[Segment] = []
        self.fed_samples = 0
        self.on_partial = on_partial

    def feed(self, pcm: bytes) -> list:
        """Take the next chunk of 16 kHz mono 16-bit PCM; return the ``Partial`` and ``Final`` events it
        produced (``on_partial``, if given, is also called with each caption's text)."""
        pcm_to_audio(pcm)   # refuses odd byte counts; the rate and format are the stream's contract
        self.fed_samples += len(pcm) // 2
        events = self._feed(pcm)
        self.segments.extend(e.segment for e in events if isinstance(e, Final))
        if self.on_partial is not None:
            for event in events:
                if isinstance(event, Partial):
                    self.on_partial(event.text)
        return events

    @property
    def duration_s(self) -> float:
        return self.fed_samples / SAMPLE_RATE

    @property
    def speaking(self) -> bool:
        """True while the engine believes the speaker is in the middle of an utterance."""
        return False

    def flush(self) -> list:
        """End the current utterance now (the speaker pressed "done"): its ``Final`` if there was
        speech, without closing the stream."""
        events = self._flush()
        self.segments.extend(e.segment for e in events if isinstance(e, Final))
        return events

    def _flush(self) -> list:
        return []

    def finish(self) -> Transcript:
        for event in self._finish():
            self.segments.append(event.segment)
        return self._transcript()

    @abc.abstractmethod
    def _feed(self, pcm: bytes) -> list: ...

    @abc.abstractmethod
    def _finish(self) -> list: ...

    @abc.abstractmethod
    def _transcript(self) -> Transcript: ...


class Recognizer(abc.ABC):
    engine: str = ""
    model_name: str = ""

    @abc.abstractmethod
    def transcribe(self, source) -> Transcript:
        """File mode: anything ``load_audio`` accepts, or an ``Audio``."""

    @abc.abstractmethod
    def stream(self, on_partial: Callable[[str], None] | None = None) -> StreamSession:
        """Streaming mode: feed PCM as it arrives; ``on_partial(text)`` is called with each caption."""
