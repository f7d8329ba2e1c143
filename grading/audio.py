"""Audio intake: whatever a browser records (webm/opus, ogg, mp4/aac, wav, mp3) becomes 16 kHz mono
16-bit PCM, and anything else is refused with a specific error and a message a user can act on.

The file is probed with ffprobe first, so an over-long or video file is refused before any decoding,
and every external command runs with a timeout: bad input never crashes or hangs a worker.
"""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Union

import numpy as np

SAMPLE_RATE = 16000
DEFAULT_MAX_SECONDS = 900           # one answer or one call side; longer uploads are refused
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
MIN_SECONDS = 0.1
PROBE_TIMEOUT_S = 15
DECODE_TIMEOUT_S = 120

Source = Union[str, os.PathLike, bytes, BinaryIO]


class AudioError(ValueError):
    """Refused audio. ``message`` is for the user (Chinese), ``message_en`` its English twin, and
    ``str(exc)`` the technical detail for the log (English)."""
    message = "录音无法处理"
    message_en = "the audio could not be processed"

    def __init__(self, detail: str = "", message: str | None = None, message_en: str | None = None):
        super().__init__(detail or self.__class__.__name__)
        if message:
            self.message = message
        if message_en:
            self.message_en = message_en

    def to_dict(self) -> dict:
        """JSON-ready, for an API answer: the error's kind and both messages (no detail: it may hold paths)."""
        return {"error": type(self).__name__, "message": self.message, "message_en": self.message_en}


class EmptyAudio(AudioError):
    message = "录音为空：没有录到声音，请检查麦克风后重试。"
    message_en = "the recording is empty: check the microphone and try again"


class CorruptAudio(AudioError):
    message = "录音文件已损坏或不完整，请重新录音。"
    message_en = "the recording is damaged or incomplete: please record again"


class NotAudio(AudioError):
    message = "上传的文件不是音频。"
    message_en = "the uploaded file is not audio"


class VideoNotAllowed(AudioError):
    message = "请上传纯音频文件，不支持视频。"
    message_en = "video is not accepted: upload an audio-only file"


class AudioTooLong(AudioError):
    message = "录音过长，超出了允许的时长。"
    message_en = "the recording is longer than allowed"


class AudioTooLarge(AudioError):
    message = "录音文件过大。"
    message_en = "the audio file is too large"


class AudioFormatError(AudioError):
    message = "音频格式与约定不符（需要 16 kHz、单声道、16 位 PCM）。"
    message_en = "the audio stream breaks its format (16 kHz, mono, 16-bit PCM expected)"


@dataclass
class Audio:
    samples: np.ndarray          # int16, mono, 16 kHz
    sample_rate: int
    duration_s: float
    source_format: str = ""
    source_codec: str = ""
    source_channels: int = 1
    source_rate: int = SAMPLE_RATE

    @property
    def float32(self) -> np.ndarray:
        return self.samples.astype(np.float32) / 32768.0

    @property
    def rms_dbfs(self) -> float:
        if self.samples.size == 0:
            return float("-inf")
        rms = float(np.sqrt(np.mean(self.float32.astype(np.float64) ** 2)))
        return 20 * np.log10(rms) if rms > 0 else float("-inf")

    def pcm16(self) -> bytes:
        return self.samples.astype("<i2").tobytes()


def _bytes_of(source: Source, max_bytes: int) -> tuple[bytes | None, Path | None]:
    """The data (for bytes/file objects) or the path (for files), refusing oversize input early."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if len(data) > max_bytes:
            raise AudioTooLarge(f"{len(data)} bytes > {max_bytes}")
        return data, None
    if hasattr(source, "read"):
        data = source.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise AudioTooLarge(f"more than {max_bytes} bytes")
        return data, None
    path = Path(source)
    if not path.is_file():
        raise NotAudio(f"no such file: {path}", "找不到录音文件。", "the audio file was not found")
    size = path.stat().st_size
    if size > max_bytes:
        raise AudioTooLarge(f"{size} bytes > {max_bytes}")
    return None, path


def _looks_like_audio_container(path: Path) -> bool:
    """Magic numbers of the containers browsers and phones record into: a file that starts like one
    but does not parse is corrupt (truncated upload); anything else is not audio at all."""
    with open(path, "rb") as fh:
        head = fh.read(12)
    return (head[:4] in (b"RIFF", b"OggS", b"fLaC", b"\x1aE\xdf\xa3") or head[4:8] == b"ftyp"
            or head[:3] == b"ID3")


def _wav_truncated(path: Path) -> bool:
    """A WAV whose RIFF header announces more bytes than the file has was cut off in transfer
    (ffprobe silently reports the shorter length). Streaming writers' 0 / 0xFFFFFFFF sizes are ignored."""
    with open(path, "rb") as fh:
        head = fh.read(12)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return False
    declared = int.from_bytes(head[4:8], "little") + 8
    return 8 < declared < 0xFFFFFFFF and path.stat().st_size < declared * 0.99


def probe(path: Path) -> dict:
    try:
        run = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
                              str(path)], capture_output=True, timeout=PROBE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise CorruptAudio("ffprobe timed out") from None
    if run.returncode != 0:
        err = run.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = err[-1].replace(str(path), path.name) if err else "ffprobe failed"
        raise (CorruptAudio if _looks_like_audio_container(path) else NotAudio)(detail)
    try:
        return json.loads(run.stdout or b"{}")
    except json.JSONDecodeError:
        raise CorruptAudio("unreadable probe output") from None


def _too_long(duration: float, max_seconds: float, *, decoded: bool = False) -> AudioTooLong:
    def zh(sec):
        return f"{sec / 60:.0f} 分钟" if sec >= 120 else f"{sec:.0f} 秒"

    def en(sec):
        return f"{sec / 60:.0f} min" if sec >= 120 else f"{sec:.0f} s"

    if decoded:   # decoding stops just past the limit: the true length is unknown
        return AudioTooLong(f"decoded audio longer than {max_seconds:.0f} s",
                            f"录音超过允许的 {zh(max_seconds)}。",
                            f"the recording is longer than the {en(max_seconds)} allowed")
    return AudioTooLong(f"{duration:.0f} s > {max_seconds:.0f} s",
                        f"录音时长 {zh(duration)}，超过允许的 {zh(max_seconds)}。",
                        f"the recording lasts {en(duration)}, more than the {en(max_seconds)} allowed")


def _check_probe(info: dict, max_seconds: float) -> dict:
    streams = info.get("streams") or []
    fmt = info.get("format") or {}
    video = [s for s in streams if s.get("codec_type") == "video"
             and not (s.get("disposition") or {}).get("attached_pic")]   # cover art in mp3/m4a is fine
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    if not audio:   # images, text ("tty"), anything without sound
        raise NotAudio(f"format {fmt.get('format_name')!r} has no audio stream")
    if video:
        raise VideoNotAllowed(f"video stream {video[0].get('codec_name')}")
    duration = None
    for value in (fmt.get("duration"), audio[0].get("duration")):
        try:
            duration = float(value)  # type: ignore[arg-type]  # None raises TypeError, handled below
            break
        except (TypeError, ValueError):
            continue
    if duration is not None and duration > max_seconds:
        raise _too_long(duration, max_seconds)
    return {"format": fmt.get("format_name", ""), "codec": audio[0].get("codec_name", ""),
            "channels": int(audio[0].get("channels") or 1), "rate": int(audio[0].get("sample_rate") or 0),
            "duration": duration}


def _decode(path: Path, max_seconds: float) -> np.ndarray:
    # -t caps decoding even when the container lied about its duration (or had none).
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-t", str(max_seconds + 1), "-vn",
           "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "s16le", "-acodec", "pcm_s16le", "pipe:1"]
    try:
        run = subprocess.run(cmd, capture_output=True, timeout=DECODE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise CorruptAudio("ffmpeg timed out") from None
    pcm = run.stdout
    if run.returncode != 0 and not pcm:
        err = run.stderr.decode("utf-8", "replace").strip().splitlines()
        raise CorruptAudio(err[-1].replace(str(path), path.name) if err else "ffmpeg failed")
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").copy()
    if samples.size > (max_seconds + 0.5) * SAMPLE_RATE:
        raise _too_long(samples.size / SAMPLE_RATE, max_seconds, decoded=True)
    return samples


def load_audio(source: Source, *, max_seconds: float = DEFAULT_MAX_SECONDS,
               max_bytes: int = DEFAULT_MAX_BYTES) -> Audio:
    data, path = _bytes_of(source, max_bytes)
    tmp = None
    try:
        if data is not None:
            if not data:
                raise EmptyAudio("0 bytes")
            tmp = tempfile.NamedTemporaryFile(prefix="intake-", suffix=".bin", delete=False)
            tmp.write(data)
            tmp.close()
            path = Path(tmp.name)
        assert path is not None   # _bytes_of returns bytes or a path
        if data is None and path.stat().st_size == 0:
            raise EmptyAudio("0 bytes")
        info = _check_probe(probe(path), max_seconds)
        if _wav_truncated(path):
            raise CorruptAudio("WAV shorter than its header says")
        samples = _decode(path, max_seconds)
    finally:
        if tmp is not None:
            os.unlink(tmp.name)
    duration = samples.size / SAMPLE_RATE
    declared = info["duration"]
    # A header promising much more than the data holds means the upload was cut off.
    if declared and declared > 1.0 and duration < 0.8 * declared - 0.25:
        raise CorruptAudio(f"declared {declared:.1f} s, decoded {duration:.2f} s")
    if duration < MIN_SECONDS:
        raise EmptyAudio(f"{duration:.3f} s of audio")
    return Audio(samples, SAMPLE_RATE, duration, info["format"], info["codec"], info["channels"],
                 info["rate"] or SAMPLE_RATE)


def pcm_to_audio(pcm: bytes, *, sample_rate: int = SAMPLE_RATE, channels: int = 1, sample_width: int = 2) -> Audio:
    """Raw PCM from a stream: must already be 16 kHz mono 16-bit, as the streaming contract says."""
    if sample_rate != SAMPLE_RATE or channels != 1 or sample_width != 2:
        raise AudioFormatError(f"stream is {sample_rate} Hz, {channels} ch, {8 * sample_width} bit")
    if len(pcm) % 2:
        raise AudioFormatError("odd number of bytes in 16-bit PCM")
    samples = np.frombuffer(pcm, dtype="<i2").copy()
    return Audio(samples, SAMPLE_RATE, samples.size / SAMPLE_RATE, "s16le", "pcm_s16le", 1, SAMPLE_RATE)


def to_wav16k(source: Source, out_path: Path | str, **limits) -> Audio:
    import wave

    audio = load_audio(source, **limits)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(audio.pcm16())
    return audio


def write_wav(path: Path | str, samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
    import wave

    data = samples
    if data.dtype != np.int16:
        data = (np.clip(data, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(data.tobytes())


__all__ = ["Audio", "AudioError", "AudioFormatError", "AudioTooLarge", "AudioTooLong", "CorruptAudio",
           "EmptyAudio", "NotAudio", "VideoNotAllowed", "load_audio", "pcm_to_audio", "to_wav16k", "write_wav",
           "SAMPLE_RATE"]

