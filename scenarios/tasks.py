"""The practical task types other than a live call: recording review (录音评析), typing / work-order
entry (录入) and case handling (案例处理). Their answers become ``call-record/1`` documents so the same
rubric engine grades them: written or spoken answers are agent utterances, typing carries
``typing: {reference, typed, duration_s}``."""
from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np

PAUSE_S = 0.6


def _utterance(index: int, text: str, start: float, end: float, *, engine: str, confidence: float | None,
               words: list | None = None) -> dict:
    return {"t": start, "type": "agent_utterance", "index": index, "start": start, "end": end, "audio": None,
            "transcript": {"text": text, "engine": engine, "confidence": confidence, "words": words or []}}


def answer_record(scenario: dict, *, text: str = "", transcript: dict | None = None, typed: str | None = None,
                  duration_s: float = 0.0, call_id: str | None = None, version=None, agent: dict | None = None,
                  mode: str = "practice") -> dict:
    """A record for one task answer. ``text`` is typed prose (one utterance per paragraph, trusted as
    written); ``transcript`` is a spoken answer as the ASR heard it (``text``, ``confidence``,
    ``words``); ``typed`` is a typing-task answer."""
    events: list[dict] = []
    t = 0.0
    for para in [p.strip() for p in (text or "").splitlines() if p.strip()]:
        events.append(_utterance(len(events), para, t, t + 1.0, engine="typed", confidence=1.0))
        t += 1.0
    if transcript and str(transcript.get("text", "")).strip():
        words = [dict(w, start=w.get("start", 0) + t, end=w.get("end", 0) + t) for w in transcript.get("words") or []]
        events.append(_utterance(len(events), transcript["text"], t, t + float(transcript.get("duration_s") or 1.0),
                                 engine=transcript.get("engine", "asr"), confidence=transcript.get("confidence"),
                                 words=words))
    record = {"format": "call-record/1", "call_id": call_id or str(uuid.uuid4()),
              "scenario": {"id": scenario.get("id"), "version": version}, "mode": mode, "agent": dict(agent or {}),
              "task": scenario.get("task"), "direction": None, "duration_s": round(duration_s, 3),
              "ended_by": None, "events": events, "work_order": None}
    if scenario.get("task") == "typing":
        record["typing"] = {"reference": (scenario.get("typing") or {}).get("text", ""), "typed": typed or "",
                            "duration_s": round(duration_s, 3)}
    return record


def reference_record(scenario: dict, answer: dict) -> dict:
    """The record a reference answer stands for (for the self-check and for examples)."""
    if scenario.get("task") == "typing":
        return answer_record(scenario, typed=answer.get("typed", ""), duration_s=float(answer.get("seconds") or 0))
    if "text" in answer:
        return answer_record(scenario, text=str(answer["text"]))
    turns = [t if isinstance(t, str) else t.get("say", "") for t in answer.get("turns") or []]
    return answer_record(scenario, text="\n".join(turns))


def render_recording(scenario: dict, *, cache_dir: Path | str | None = None) -> tuple[Path, float]:
    """The call to be reviewed as one WAV: agent lines in ``recording.agent_voice``, caller lines in the
    scenario's persona, a short pause between lines. Cached by content like every rendered line."""
    import hashlib
    import json
    import wave

    from softphone_sim import render_line
    from softphone_sim.render import default_cache_dir, write_wav_atomic

    rec = scenario.get("recording") or {}
    agent_voice = rec.get("agent_voice", "young")
    caller_voice = (scenario.get("persona") or {}).get("voice", "calm")
    folder = default_cache_dir(cache_dir)
    key = hashlib.sha256(json.dumps([rec, caller_voice, scenario.get("line")], ensure_ascii=False,
                                    sort_keys=True).encode()).hexdigest()
    out = folder / f"review-{key}.wav"
    if not out.exists():
        parts = []
        for line in rec.get("lines") or []:
            voice = agent_voice if line.get("who") == "agent" else caller_voice
            condition = line.get("line") or (scenario.get("line") if line.get("who") == "caller" else None) or "none"
            rendered = render_line(line["say"], persona=voice, condition=condition, cache_dir=folder)
            with wave.open(str(rendered.path)) as w:
                parts.append(np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype("float32") / 32768)
            parts.append(np.zeros(int(16000 * PAUSE_S), dtype="float32"))
        write_wav_atomic(out, np.concatenate(parts) if parts else np.zeros(16000, dtype="float32"))
    with wave.open(str(out)) as w:
        return out, w.getnframes() / w.getframerate()
