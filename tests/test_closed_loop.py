"""The product hears its own voice: standard service phrases spoken by the bundled Mandarin voice
and recognised by the product's ASR must come back with CER <= 0.15."""
from __future__ import annotations

from pathlib import Path

from grading import cer, for_matching
from grading.asr import get_recognizer
from softphone_sim import render_line

_PHRASE_FILE = Path(__file__).resolve().parent.parent / "benchmarks" / "service_phrases.txt"
PHRASES = [line.strip() for line in _PHRASE_FILE.read_text("utf-8").splitlines()
           if line.strip() and not line.startswith("#")]


def test_own_voice_is_recognised(tmp_path):
    sample = PHRASES[::3]                        # 17 of the 51 phrases keep the test short
    recognizer = get_recognizer("auto")
    errors = chars = 0
    for phrase in sample:
        line = render_line(phrase, persona="calm", cache=tmp_path)
        heard = recognizer.transcribe(line.path).text
        n = len(for_matching(phrase))
        errors += cer(phrase, heard) * n
        chars += n
    assert len(sample) >= 15
    assert errors / chars <= 0.15
