"""The validity runner (python -m grading validity) as a real process on calls written for this test."""
import json
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
SAMPLE = ROOT / "tests" / "validity_sample"


def _run(*args):
    return subprocess.run([PYTHON, "-m", "grading", "validity", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=240)


def test_runner_reports_agreement_rude_calls_and_behaviour_detection():
    out = _run("--json", str(SAMPLE))
    assert out.returncode == 0, out.stderr
    s = json.loads(out.stdout)
    assert s["overall"]["calls"] == 4
    assert set(s["by_kind"]) == {"natural_correct", "rude_keywords", "bad"}
    assert s["by_kind"]["rude_keywords"]["false_pass"] == 0          # the rude call is capped below 60
    assert s["rude"] == {"calls": 1, "passed_automatically": 0, "passed_provisionally": 0}
    assert s["by_kind"]["bad"]["agree"] == 1
    beh = s["behaviour"]
    assert beh["labels"] == 13 and set(beh["by_rubric_kind"]) == {"phrase", "hold"}
    assert beh["agree"] == sum(v["agree"] for v in beh["by_rubric_kind"].values())


def test_runner_table_and_per_call_lines():
    out = _run("-v", str(SAMPLE / "l4-lookup-hold.yaml"))
    assert out.returncode == 0, out.stderr
    assert "sample-hold-rude" in out.stdout and "pass/fail agreement" in out.stdout
    assert "behaviour detection" in out.stdout and "rude calls: 1; passed automatically 0" in out.stdout


def test_runner_reports_labels_that_name_no_item_and_refuses_bad_files(tmp_path):
    (tmp_path / "x.yaml").write_text(
        "scenario: l5-consult-billing\ncalls:\n- id: a\n  kind: bad\n  verdict: fail\n  credited: [nonexistent]\n"
        "  answer: {turns: [喂]}\n", encoding="utf-8")
    out = _run("--json", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["unknown_items"] == ["a:nonexistent"]
    (tmp_path / "x.yaml").write_text("scenario: l5-consult-billing\ncalls:\n- id: a\n  verdict: maybe\n"
                                     "  answer: {turns: [喂]}\n", encoding="utf-8")
    out = _run(str(tmp_path))
    assert out.returncode == 2 and "verdict" in out.stderr


@pytest.mark.slow
def test_audio_mode_hears_with_the_recogniser_but_keeps_the_text_pace_on_the_call_clock():
    """The product voice reads at news speed; the call clock keeps the text simulation's pace, so audio
    mode measures what the recogniser hears, not how fast the harness's voice reads."""
    from grading import cer
    from scenarios.selfcheck import _audio_transcriber
    from scenarios.simulate import CHARS_PER_MINUTE

    transcribe, errors = _audio_transcriber(None)
    said = "您好，请问有什么可以帮您？"
    transcript, seconds = transcribe(said, 10.0)
    chars = len([c for c in said if c.strip()])
    assert seconds == pytest.approx(chars * 60 / CHARS_PER_MINUTE)
    assert cer(said, transcript["text"]) <= 0.3 and errors
    words = transcript["words"]
    assert words and 10.0 <= words[0]["start"] and words[-1]["end"] <= 10.0 + seconds + 0.1
    assert all(a["start"] <= b["start"] for a, b in pairwise(words))


class _CountingRecognizer:
    """A recogniser that reports what it was given, so the test sees when the cache answers instead."""
    engine, model_name, beam_size, min_window_s, initial_prompt = "counting", "m1", 5, 10.0, None

    def __init__(self):
        self.calls = 0

    def transcribe(self, source):
        from grading.asr.base import Segment, Transcript, Word
        self.calls += 1
        size = Path(source).stat().st_size
        word = Word(f"听到{size}", 0.1, 0.9, 0.8)
        segment = Segment(word.text, 0.1, 0.9, 0.8, [word])
        return Transcript(word.text, self.engine, self.model_name, 1.0, 0.2, [segment])


def test_transcript_cache_answers_the_same_sound_and_settings_only(tmp_path):
    from scenarios.selfcheck import TranscriptCache

    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    a.write_bytes(b"RIFF" + b"\0" * 100)
    b.write_bytes(b"RIFF" + b"\1" * 200)
    rec = _CountingRecognizer()
    cache = TranscriptCache(tmp_path / "cache", rec)
    first = cache.transcribe(a)
    again = cache.transcribe(a)
    assert rec.calls == 1 and (cache.hits, cache.misses) == (1, 1)
    assert again.to_dict() == first.to_dict()               # words, timings and confidence survive the disk
    cache.transcribe(b)
    assert rec.calls == 2                                    # another sound is recognised
    rec.beam_size = 1                                        # a setting that changes what is heard
    TranscriptCache(tmp_path / "cache", rec).transcribe(a)
    assert rec.calls == 3
    for f in (tmp_path / "cache").rglob("*.json"):           # a damaged entry is recognised again, not trusted
        f.write_text("{not json", "utf-8")
    rec.beam_size = 5
    fresh = TranscriptCache(tmp_path / "cache", rec)
    assert fresh.transcribe(a).text == first.text and fresh.misses == 1


@pytest.mark.slow
def test_selfcheck_audio_with_a_transcript_cache_gives_the_same_figures_twice(tmp_path):
    one = ROOT / "scenarios" / "library" / "level5" / "l5-consult-billing.yaml"
    cmd = [PYTHON, "-m", "scenarios", "selfcheck", "--audio", "--transcript-cache", str(tmp_path), str(one)]
    first = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert list(tmp_path.rglob("*.json")), first.stderr
    second = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert first.stdout == second.stdout and "answers in band" in second.stdout
