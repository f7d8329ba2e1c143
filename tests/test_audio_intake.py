"""Audio intake: browsers' formats become 16 kHz mono; bad input gets its own clear error."""
from __future__ import annotations

import io
import re
import subprocess
import wave

import numpy as np
import pytest

from grading import audio as intake
from grading.audio import (
    AudioFormatError,
    AudioTooLarge,
    AudioTooLong,
    CorruptAudio,
    EmptyAudio,
    NotAudio,
    VideoNotAllowed,
    load_audio,
    pcm_to_audio,
)
from tests.audio_fixtures import HUMAN_DIR, convert, ffmpeg

SPEECH = HUMAN_DIR / "aishell1_BAC009S0764W0121.wav"   # 4.20 s, 16 kHz mono


@pytest.mark.parametrize("suffix, codec", [(".webm", ["-c:a", "libopus"]), (".ogg", ["-c:a", "libopus"]),
                                           (".m4a", ["-c:a", "aac"]), (".mp3", ["-c:a", "libmp3lame"]),
                                           (".wav", [])])
def test_browser_formats_become_16k_mono(tmp_path, suffix, codec):
    path = convert(SPEECH, tmp_path / f"speech{suffix}", *codec)
    audio = load_audio(path)
    assert audio.sample_rate == 16000 and audio.samples.dtype == np.int16 and audio.samples.ndim == 1
    assert audio.duration_s == pytest.approx(4.2, abs=0.1)
    assert audio.rms_dbfs > -60


def test_bytes_and_file_objects_are_accepted(tmp_path):
    data = convert(SPEECH, tmp_path / "s.webm", "-c:a", "libopus").read_bytes()
    assert load_audio(data).duration_s == pytest.approx(4.2, abs=0.1)
    assert load_audio(io.BytesIO(data)).duration_s == pytest.approx(4.2, abs=0.1)


def test_wrong_sample_rate_and_stereo_are_converted(tmp_path):
    stereo = convert(SPEECH, tmp_path / "stereo44k.wav", "-ac", "2", "-ar", "44100")
    audio = load_audio(stereo)
    assert audio.source_channels == 2 and audio.source_rate == 44100
    assert audio.sample_rate == 16000 and audio.duration_s == pytest.approx(4.2, abs=0.05)
    narrow = load_audio(convert(SPEECH, tmp_path / "8k.wav", "-ar", "8000"))
    assert narrow.source_rate == 8000 and narrow.samples.size == pytest.approx(4.2 * 16000, rel=0.01)


def test_silent_file_is_not_an_intake_error(tmp_path):
    path = tmp_path / "silence.wav"
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "2", str(path))
    audio = load_audio(path)
    assert audio.duration_s == pytest.approx(2, abs=0.05) and audio.rms_dbfs == float("-inf")


def test_empty_inputs(tmp_path):
    empty = tmp_path / "empty.webm"
    empty.write_bytes(b"")
    with pytest.raises(EmptyAudio) as err:
        load_audio(empty)
    assert "录音为空" in err.value.message
    with pytest.raises(EmptyAudio):
        load_audio(b"")
    tiny = tmp_path / "tiny.wav"
    with wave.open(str(tiny), "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000); w.writeframes(b"\0\0" * 100)
    with pytest.raises(EmptyAudio):
        load_audio(tiny)


def test_truncated_files_are_corrupt(tmp_path):
    webm = convert(SPEECH, tmp_path / "s.webm", "-c:a", "libopus").read_bytes()
    with pytest.raises(CorruptAudio):
        load_audio(webm[:3000])
    with pytest.raises(CorruptAudio):
        load_audio(SPEECH.read_bytes()[:20000])
    with pytest.raises(CorruptAudio):
        load_audio(webm[:60])   # header fragment only


@pytest.mark.parametrize("data", [bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8)),
                                  "这不是音频，只是一段文字。\n".encode() * 20], ids=["random", "text"])
def test_random_bytes_and_text_are_not_audio(data):
    with pytest.raises(NotAudio) as err:
        load_audio(data)
    assert err.value.message == "上传的文件不是音频。"


def test_image_is_not_audio(tmp_path):
    png = tmp_path / "x.png"
    ffmpeg("-f", "lavfi", "-i", "color=c=red:s=16x16", "-frames:v", "1", str(png))
    with pytest.raises(NotAudio):
        load_audio(png)


def test_video_is_refused(tmp_path):
    video = tmp_path / "clip.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=duration=2:size=64x64:rate=10", "-f", "lavfi", "-i", "sine=duration=2",
           "-shortest", str(video))
    with pytest.raises(VideoNotAllowed):
        load_audio(video)


def test_two_hour_file_is_refused_by_its_header(tmp_path, monkeypatch):
    long = tmp_path / "long.webm"
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "7200", "-c:a", "libopus", "-b:a", "6k",
           "-compression_level", "0", "-frame_duration", "120", str(long))   # ~2 MB, quick to encode
    decoded = []
    monkeypatch.setattr(intake, "_decode", lambda *a: decoded.append(a))   # must not even be reached
    with pytest.raises(AudioTooLong) as err:
        load_audio(long)
    assert decoded == [] and "120 分钟" in err.value.message


def test_over_size_is_refused_before_reading_everything(tmp_path):
    with pytest.raises(AudioTooLarge):
        load_audio(b"\0" * 2000, max_bytes=1000)
    big = tmp_path / "big.wav"
    big.write_bytes(b"\0" * 5000)
    with pytest.raises(AudioTooLarge):
        load_audio(big, max_bytes=4000)


def test_stream_pcm_contract():
    assert pcm_to_audio(b"\0\0" * 1600).duration_s == pytest.approx(0.1)
    with pytest.raises(AudioFormatError):
        pcm_to_audio(b"\0\0" * 1600, sample_rate=44100)
    with pytest.raises(AudioFormatError):
        pcm_to_audio(b"\0\0" * 1600, channels=2)
    with pytest.raises(AudioFormatError):
        pcm_to_audio(b"\0\0\0")


def test_every_error_has_both_messages():
    from grading.audio import AudioError
    kinds = [AudioError, EmptyAudio, CorruptAudio, NotAudio, VideoNotAllowed, AudioTooLong, AudioTooLarge,
             AudioFormatError]
    for kind in kinds:
        err = kind("detail for the log")
        assert isinstance(err, AudioError) and str(err) == "detail for the log"
        assert re.search(r"[\u4e00-\u9fff]", err.message) and re.fullmatch(r"[ -~]+", err.message_en)
        assert err.to_dict() == {"error": kind.__name__, "message": err.message, "message_en": err.message_en}
    assert len({k.message for k in kinds}) == len(kinds) and len({k.message_en for k in kinds}) == len(kinds)


def test_long_recording_without_a_duration_header_is_stopped_while_decoding(tmp_path):
    # MediaRecorder writes webm without a duration; the decoder's own cap catches what the probe cannot.
    run = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(SPEECH), "-c:a", "libopus", "-f", "webm",
                          "pipe:1"], capture_output=True, check=True, timeout=60)
    with pytest.raises(AudioTooLong) as err:
        load_audio(run.stdout, max_seconds=3)
    assert err.value.message == "录音超过允许的 3 秒。" and "3 s" in err.value.message_en
    assert load_audio(run.stdout).duration_s == pytest.approx(4.2, abs=0.1)


def test_temporary_files_are_removed(tmp_path, monkeypatch):
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    data = convert(SPEECH, tmp_path / "s.webm", "-c:a", "libopus").read_bytes()
    load_audio(data)
    for bad in (b"random junk" * 50, data[:3000], b""):
        with pytest.raises(intake.AudioError):
            load_audio(bad)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.webm"]
