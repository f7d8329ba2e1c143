"""Whisper engine with the real model, on real human Mandarin recordings."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from grading import cer, load_audio
from grading.asr import Final, Partial, get_recognizer
from grading.asr.whisper_engine import WhisperRecognizer
from tests.audio_fixtures import HUMAN_DIR, convert, human_references

REFS = human_references()
CLEAR = ["aishell1_BAC009S0764W0124.wav", "aishell1_BAC009S0724W0121.wav", "masr_test.wav"]
TRADITIONAL = re.compile("[們說這個時對們會來為經過還進點]")


@pytest.fixture(scope="session")
def whisper():
    recognizer = get_recognizer("whisper")
    assert isinstance(recognizer, WhisperRecognizer)
    return recognizer


@pytest.mark.parametrize("name", CLEAR)
def test_file_mode_recognises_human_speech(whisper, name):
    transcript = whisper.transcribe(HUMAN_DIR / name)
    assert cer(REFS[name]["reference_text"], transcript.text) <= 0.25, transcript.text
    assert not TRADITIONAL.search(transcript.text)
    assert transcript.engine == "whisper" and transcript.model == "faster-whisper-base"
    assert transcript.duration_s == pytest.approx(float(REFS[name]["duration_s"]), abs=0.05)
    words = transcript.words
    assert words and all(0 <= w.start <= w.end <= transcript.duration_s + 0.1 for w in words)
    assert all(a.start <= b.start for a, b in zip(words, words[1:], strict=False))
    assert all(0 <= w.confidence <= 1 for w in words)


def test_same_model_is_shared(whisper):
    assert get_recognizer("whisper") is whisper
    assert WhisperRecognizer(whisper.model_path).model is whisper.model


def test_silence_and_noise_give_no_text(whisper, tmp_path):
    from tests.audio_fixtures import ffmpeg
    silence, noise = tmp_path / "silence.wav", tmp_path / "noise.wav"
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "3", str(silence))
    ffmpeg("-f", "lavfi", "-i", "anoisesrc=color=pink:amplitude=0.02:r=16000", "-t", "3", str(noise))
    assert whisper.transcribe(silence).text == ""
    assert whisper.transcribe(noise).text == ""


@pytest.mark.parametrize("suffix, codec", [(".webm", ["-c:a", "libopus"]), (".m4a", ["-c:a", "aac"])])
def test_browser_formats_transcribe_too(whisper, tmp_path, suffix, codec):
    name = "aishell1_BAC009S0764W0124.wav"
    converted = convert(HUMAN_DIR / name, tmp_path / f"a{suffix}", *codec)
    assert cer(REFS[name]["reference_text"], whisper.transcribe(converted).text) <= 0.25


def test_streaming_gives_captions_then_the_final(whisper):
    name = "masr_test.wav"
    audio = load_audio(HUMAN_DIR / name)
    pcm = audio.pcm16() + bytes(16000 * 2)       # one second of silence after the speech
    captions = []
    stream = whisper.stream(on_partial=captions.append)
    events = []
    for i in range(0, len(pcm), 3200):            # 100 ms chunks, as the browser sends them
        events.extend(stream.feed(pcm[i:i + 3200]))
    transcript = stream.finish()
    partials = [e for e in events if isinstance(e, Partial)]
    finals = [e for e in events if isinstance(e, Final)]
    assert partials, "captions while speaking"
    assert captions == [p.text for p in partials]
    assert finals, "end of speech detected before the stream finished"
    assert cer(REFS[name]["reference_text"], transcript.text) <= 0.25
    file_text = whisper.transcribe(audio).text
    assert cer(file_text, transcript.text) <= 0.15
    assert transcript.duration_s == pytest.approx(audio.duration_s + 1, abs=0.05)
    assert all(w.end <= transcript.duration_s for w in transcript.words)


def test_streaming_silence_gives_nothing(whisper):
    stream = whisper.stream()
    assert stream.feed(bytes(16000 * 2 * 3)) == []
    assert stream.finish().text == ""


def test_cli_transcribe_json(tmp_path):
    name = "aishell1_BAC009S0764W0121.wav"
    run = subprocess.run([sys.executable, "-m", "grading", "transcribe", str(HUMAN_DIR / name), "--engine", "whisper",
                          "--json"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert {"text", "engine", "model", "duration_s", "decode_s", "words", "segments"} <= set(out)
    assert out["engine"] == "whisper" and out["words"][0]["start"] >= 0
    assert cer(REFS[name]["reference_text"], out["text"]) <= 0.25
    bad = tmp_path / "bad.webm"
    bad.write_bytes(b"not audio at all")
    run = subprocess.run([sys.executable, "-m", "grading", "transcribe", str(bad), "--json"], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 2 and "不是音频" in run.stderr and "Traceback" not in run.stderr
