"""A live call whose server process died: close it on what was recorded.

Everything a call acknowledged is on disk: the record (rewritten after every event) and the trainee's
audio (an fsync'd append before each chunk was acknowledged). What may be missing are the transcripts
of the last utterances, still queued for recognition when the process died. ``recover_record`` finds
the speech in the audio after the last transcribed utterance, recognises it, attaches it to the caller
line it followed, and closes the call as the system's doing (``closed`` with reason
``server_restart``), so it can be graded and an assessor can decide what it is worth.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from grading.asr.vad import SpeechEnded, VoiceActivity

from .listener import SAMPLE_RATE
from .runtime import write_json_atomic

LISTENING_STATES = {"talking"}


def _state_at(events: list[dict], t: float) -> str:
    """The call's state at ``t`` from its events (what matters: was the caller listening)."""
    state = "queued"
    for e in sorted(events, key=lambda e: e["t"]):
        if e["t"] > t:
            break
        kind = e["type"]
        if kind in ("answered",) or (kind == "outbound_result" and e.get("outcome") in ("answered", "not_customer")):
            state = "talking"
        elif kind == "hold":
            state = "on_hold" if e.get("on") else "talking"
        elif kind == "mute":
            state = "muted" if e.get("on") else "talking"
        elif kind in ("hangup", "dropped", "abandoned", "closed"):
            state = "ended"
        elif kind == "transfer" and e.get("kind") == "consult" and e.get("outcome") == "success":
            state = "consulting"
        elif kind in ("transfer_cancelled",):
            state = "talking"
    return state


def recover_record(call_dir: Path | str, recognizer) -> dict | None:
    """The call's record, completed from its audio and closed; written back to ``record.json``.
    None when the folder has no record."""
    folder = Path(call_dir)
    path = folder / "record.json"
    if not path.is_file():
        return None
    with open(path, encoding="utf-8") as fh:
        record = json.load(fh)
    if record.get("status") in ("finished", "abandoned") or record.get("recovered"):
        return record
    events = list(record.get("events") or [])
    t0 = record.get("agent_audio_t0")
    stream = folder / "agent" / "stream.pcm"
    end_t = max((e["t"] for e in events), default=0.0)
    if t0 is not None and stream.is_file():
        pcm = np.frombuffer(stream.read_bytes()[: stream.stat().st_size // 2 * 2], dtype="<i2")
        end_t = max(end_t, t0 + pcm.size / SAMPLE_RATE)
        done_until = max((u["end"] for u in events if u["type"] == "agent_utterance"), default=t0) - t0
        events.extend(_recognise_rest(pcm, max(0.0, done_until), t0, events, recognizer, folder))
    if not any(e["type"] in ("hangup", "abandoned") for e in events):
        events.append({"t": round(end_t, 3), "type": "hangup", "by": "system", "reason": "server_restart"})
        record["ended_by"] = "system"
    events.append({"t": round(end_t, 3), "type": "closed", "reason": "server_restart"})
    record["events"] = sorted(events, key=lambda e: e["t"])
    record["state"] = "ended"
    record["status"] = "interrupted"
    record["recovered"] = True
    record["duration_s"] = round(end_t, 3)
    write_json_atomic(path, record)
    return record


def _recognise_rest(pcm: np.ndarray, from_s: float, t0: float, events: list[dict], recognizer, folder: Path) -> list:
    from grading.audio import write_wav

    start = int(from_s * SAMPLE_RATE)
    samples = pcm[start:].astype("float32") / 32768.0
    if samples.size < SAMPLE_RATE // 4:
        return []
    vad = VoiceActivity()
    spans = [e for e in vad.feed(samples) + vad.close() if isinstance(e, SpeechEnded)]
    callers = sorted((e for e in events if e["type"] == "caller_utterance"), key=lambda e: e["start"])
    index = sum(1 for e in events if e["type"] == "agent_utterance")
    out = []
    for span in spans:
        a, b = span.span(samples.size)
        offset = from_s + a / SAMPLE_RATE
        decode = getattr(recognizer, "decode", None)
        if decode is not None:
            segments = decode(samples[a:b], offset=offset, vad_filter=False)
        else:
            from grading.audio import Audio
            clip = (samples[a:b] * 32767).astype("<i2")
            segments = [s for s in recognizer.transcribe(Audio(samples=clip, sample_rate=SAMPLE_RATE,
                                                                duration_s=clip.size / SAMPLE_RATE)).segments]
            for s in segments:
                s.start, s.end = s.start + offset, s.end + offset
        text = "".join(s.text for s in segments).strip()
        if not text:
            continue
        u_start, u_end = round(t0 + segments[0].start, 3), round(t0 + segments[-1].end, 3)
        if _state_at(events, (u_start + u_end) / 2) not in LISTENING_STATES:
            continue
        before = [c for c in callers if c["start"] < u_start]
        name = f"agent/{index:03d}.wav"
        write_wav(folder / name, pcm[int((u_start - t0 - 0.15) * SAMPLE_RATE):int((u_end - t0 + 0.15) * SAMPLE_RATE)])
        words = [{"text": w.text, "start": round(t0 + w.start, 3), "end": round(t0 + w.end, 3),
                  "confidence": w.confidence} for s in segments for w in s.words]
        scores = [w["confidence"] for w in words if w["confidence"] is not None]
        event = {"t": u_start, "type": "agent_utterance", "index": index, "start": u_start, "end": u_end,
                 "audio": name, "recovered": True,
                 "transcript": {"text": text, "engine": recognizer.engine, "model": recognizer.model_name,
                                "confidence": round(sum(scores) / len(scores), 3) if scores else None,
                                "words": words}}
        if before:
            event["reply_to"] = before[-1]["turn"]
        out.append(event)
        index += 1
    return out
