"""A read-only view of a ``call-record/1`` document shaped for grading: the agent's utterances with
their normalised text, turns, holds and the events the rubric items look at."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from .matching import Match, normalise, normalise_with_map
from .results import Evidence

RECORD_FORMAT = "call-record/1"
SNIPPET_CONTEXT = 6          # characters of context either side of a match in evidence snippets


def _num(value, default=None):
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


@dataclass
class Utterance:
    index: int
    start: float
    end: float
    text: str
    confidence: float | None
    words: list[dict] = field(default_factory=list)

    def __post_init__(self):
        self.norm, self._map = normalise_with_map(self.text)
        self._char_words = self._map_words()

    @property
    def empty(self) -> bool:
        return not self.norm

    def _map_words(self) -> list[int] | None:
        """For every normalised character, the index of the word it belongs to (None when the words do
        not spell the text)."""
        if not self.words:
            return None
        owners: list[int] = []
        for k, w in enumerate(self.words):
            owners.extend([k] * len(normalise(str(w.get("text", "")))))
        joined = "".join(normalise(str(w.get("text", ""))) for w in self.words)
        return owners if joined == self.norm else None

    def span_confidence(self, start: int, end: int) -> float | None:
        """Recognition confidence of the words a span rests on (their minimum), else the utterance's."""
        if self._char_words is not None:
            scores = [_num(self.words[k].get("confidence")) for k in sorted(set(self._char_words[start:end]))]
            scores = [s for s in scores if s is not None]
            if scores:
                return min(scores)
        return self.confidence

    def time_at(self, pos: int) -> float:
        if self._char_words is not None and 0 <= pos < len(self._char_words):
            t = _num(self.words[self._char_words[pos]].get("start"))
            if t is not None:
                return round(t, 2)
        if self.norm:
            frac = min(max(pos, 0), len(self.norm)) / len(self.norm)
            return round(self.start + (self.end - self.start) * frac, 2)
        return round(self.start, 2)

    def speech_time(self) -> float:
        """Seconds of speech: first word start to last word end when the words carry times, else the
        utterance's own start and end."""
        starts = [_num(w.get("start")) for w in self.words]
        ends = [_num(w.get("end")) for w in self.words]
        if self.words and None not in starts and None not in ends and max(ends) > min(starts):
            return max(ends) - min(starts)
        return max(0.0, self.end - self.start)

    def original_span(self, start: int, end: int) -> tuple[int, int] | None:
        if self._map is None or not self._map or end <= start:
            return None
        return self._map[start], self._map[end - 1] + 1

    def span_text(self, start: int, end: int) -> str:
        """The characters of a normalised span as the transcript wrote them."""
        span = self.original_span(start, end)
        return self.text[span[0]:span[1]] if span else self.norm[start:end]

    def snippet(self, start: int | None = None, end: int | None = None) -> str:
        """The heard text around a normalised span, as the trainee said it, with the span in 【】."""
        if start is None:
            return self.text
        if end is None:
            end = len(self.norm)
        span = self.original_span(start, end)
        if span is None:
            return f"{self.norm[max(0, start - SNIPPET_CONTEXT):start]}【{self.norm[start:end]}】" \
                   f"{self.norm[end:end + SNIPPET_CONTEXT]}"
        s, e = span
        left = self.text[max(0, s - SNIPPET_CONTEXT):s]
        right = self.text[e:e + SNIPPET_CONTEXT]
        return ("…" if s > SNIPPET_CONTEXT else "") + f"{left}【{self.text[s:e]}】{right}" + \
               ("…" if e + SNIPPET_CONTEXT < len(self.text) else "")

    def evidence(self, match: Match, *, phrase: str | None = None, method: str | None = None) -> Evidence:
        conf = self.span_confidence(match.start, match.end)
        return Evidence(utterance=self.index, t=self.time_at(match.start), text=self.snippet(match.start, match.end),
                        phrase=phrase or match.phrase, similarity=round(match.similarity, 3),
                        method=method or match.method, confidence=None if conf is None else round(conf, 3))


@dataclass
class Turn:
    """Consecutive agent utterances not separated by a caller line, a hold or a transfer."""
    utterances: list[Utterance]

    @property
    def start(self) -> float:
        return self.utterances[0].start

    @property
    def end(self) -> float:
        return self.utterances[-1].end


class CallView:
    def __init__(self, record: Mapping[str, Any]):
        if not isinstance(record, Mapping):
            raise TypeError("a call record must be a mapping (the parsed call-record/1 JSON)")
        self.record = record
        self.warnings: list[str] = []
        fmt = record.get("format")
        if fmt is None:
            self.warnings.append("记录未标明格式，按 call-record/1 评分")
        elif fmt != RECORD_FORMAT:
            raise ValueError(f"不支持的通话记录格式：{fmt}（应为 {RECORD_FORMAT}）")
        raw = [e for e in record.get("events") or [] if isinstance(e, Mapping)]
        # stable: events with the same time keep their written order
        self.events = [e for _, e in sorted(enumerate(raw), key=lambda p: (_num(p[1].get("t"), 0.0), p[0]))]
        self.agent: list[Utterance] = []
        for e in self.events:
            if e.get("type") == "agent_utterance":
                tr = e.get("transcript") or {}
                start = _num(e.get("start"), _num(e.get("t"), 0.0))
                self.agent.append(Utterance(
                    index=int(e.get("index", len(self.agent))), start=start, end=_num(e.get("end"), start),
                    text=str(tr.get("text") or ""), confidence=_num(tr.get("confidence")),
                    words=[dict(w) for w in tr.get("words") or [] if isinstance(w, Mapping)]))
        self.caller = [e for e in self.events if e.get("type") == "caller_utterance"]
        self.duration = _num(record.get("duration_s")) or (_num(self.events[-1].get("t"), 0.0) if self.events else 0.0)
        self.turns = self._turns()
        self.holds = self._holds()

    # ---- structure ----------------------------------------------------------------------------

    def _turns(self) -> list[Turn]:
        turns, current = [], []
        agent_events = [e for e in self.events if e.get("type") == "agent_utterance"]
        by_id = {id(e): u for e, u in zip(agent_events, self.agent, strict=True)}
        for e in self.events:
            kind = e.get("type")
            if kind == "agent_utterance":
                current.append(by_id[id(e)])
            elif kind in ("caller_utterance", "hold", "transfer", "transfer_completed", "hangup", "dropped"):
                if current:
                    turns.append(Turn(current))
                    current = []
        if current:
            turns.append(Turn(current))
        return turns

    def _holds(self) -> list[tuple[float, float, bool]]:
        """(start, end, ended_by_unhold) for every hold; a hold still on at the end lasts until the
        hangup or the end of the record."""
        holds, on_at = [], None
        for e in self.events:
            if e.get("type") == "hold":
                t = _num(e.get("t"), 0.0)
                if e.get("on") and on_at is None:
                    on_at = t
                elif not e.get("on") and on_at is not None:
                    holds.append((on_at, t, True))
                    on_at = None
            elif e.get("type") in ("hangup", "dropped") and on_at is not None:
                holds.append((on_at, _num(e.get("t"), on_at), False))
                on_at = None
        if on_at is not None:
            holds.append((on_at, max(on_at, self.duration), False))
        return holds

    def events_of(self, *types: str) -> list[Mapping]:
        return [e for e in self.events if e.get("type") in types]

    def first(self, *types: str) -> Mapping | None:
        found = self.events_of(*types)
        return found[0] if found else None

    def last(self, *types: str) -> Mapping | None:
        found = self.events_of(*types)
        return found[-1] if found else None

    @property
    def spoken(self) -> list[Utterance]:
        return [u for u in self.agent if not u.empty]

    def turn_before(self, t: float) -> Turn | None:
        before = [turn for turn in self.turns if turn.start < t]
        return before[-1] if before else None

    def turn_after(self, t: float) -> Turn | None:
        for turn in self.turns:
            if turn.start >= t:
                return turn
        return None

    def replies_to(self, turn_id: str) -> list[list[Utterance]]:
        """For every time the caller spoke scenario turn ``turn_id``: the agent utterances that started
        after the caller began and before the caller's next line."""
        out = []
        for k, c in enumerate(self.caller):
            if c.get("turn") != turn_id:
                continue
            c_start = _num(c.get("start"), _num(c.get("t"), 0.0))
            nxt = self.caller[k + 1] if k + 1 < len(self.caller) else None
            limit = _num(nxt.get("start"), _num(nxt.get("t"))) if nxt is not None else float("inf")
            out.append([u for u in self.agent if c_start < u.start < limit])
        return out

    def talk_span(self) -> tuple[float, float] | None:
        """From the moment the call was connected to the first hangup (or drop)."""
        connected = self.first("answered")
        if connected is None:
            for e in self.events_of("outbound_result"):
                if e.get("outcome") in ("answered", "not_customer"):
                    connected = e
                    break
        if connected is None:
            return None
        end = self.first("hangup", "dropped")
        end_t = _num(end.get("t")) if end is not None else self.duration
        return _num(connected.get("t"), 0.0), end_t

    def work_order(self) -> Mapping | None:
        wo = self.record.get("work_order")
        if isinstance(wo, Mapping):
            return wo
        saved = self.last("work_order")
        return saved.get("fields") if saved is not None and isinstance(saved.get("fields"), Mapping) else None
