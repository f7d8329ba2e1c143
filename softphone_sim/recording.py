"""Call recording: both sides kept as separate audio files (caller = rendered TTS, agent = the
trainee's microphone) and mixed on demand into one stereo file for review (caller left, agent right)."""
from __future__ import annotations

from pathlib import Path

from pydub import AudioSegment

MIX_RATE = 16000


class RecordingError(Exception):
    """The call's audio could not be mixed; the message says which utterance, in the reviewer's words."""


def _side(segments: list[tuple[float, Path, str]], length_ms: int) -> AudioSegment:
    track = AudioSegment.silent(duration=length_ms, frame_rate=MIX_RATE)
    for start, path, who in segments:
        try:
            clip = AudioSegment.from_file(path)
        except FileNotFoundError:
            raise RecordingError(f"缺少{who}的音频") from None
        except Exception as exc:      # pydub/ffmpeg name the codec; the reviewer needs only which line
            raise RecordingError(f"{who}的音频无法读取") from exc
        clip = clip.set_channels(1).set_frame_rate(MIX_RATE).set_sample_width(2)
        track = track.overlay(clip, position=max(0, int(start * 1000)))
    return track


def mix(record: dict, base_dir: Path | str, out_path: Path | str) -> Path:
    """Render a call record's audio into one stereo WAV on the record's clock. A clip that is missing or
    unreadable raises RecordingError naming the utterance (「缺少客户第 2 句的音频」)."""
    base = Path(base_dir)
    caller: list[tuple[float, Path, str]] = []
    agent: list[tuple[float, Path, str]] = []
    end = 0.0
    for event in record["events"]:
        if event["type"] in ("caller_utterance", "agent_utterance") and event.get("audio"):
            side, who = (caller, "客户") if event["type"] == "caller_utterance" else (agent, "考生")
            side.append((event["start"], base / event["audio"], f"{who}第 {len(side) + 1} 句"))
            end = max(end, event["end"])
    end = max(end, float(record.get("duration_s") or 0))
    length_ms = int(end * 1000) + 500
    stereo = AudioSegment.from_mono_audiosegments(_side(caller, length_ms), _side(agent, length_ms))
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    stereo.export(out, format="wav")
    return out
