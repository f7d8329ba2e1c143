"""The caller's voice with the real bundled Mandarin model, the pyttsx3 engine, and the render cache."""
from __future__ import annotations

import os
import subprocess
import sys
import wave

import numpy as np
import pytest

from softphone_sim import get_persona, get_voice, render_line
from softphone_sim.voice import NeuralVoice, Pyttsx3Voice

RATE = 16000
LINE = "您好，我想查询一下我这个月的话费。"


@pytest.fixture(scope="session")
def neural():
    voice = get_voice("neural")
    assert isinstance(voice, NeuralVoice)
    return voice


def median_f0(x: np.ndarray) -> float:
    """Median pitch of the loud frames, by autocorrelation (75-400 Hz)."""
    frame = 1024
    pitches = []
    loud = np.sqrt(np.mean(x ** 2)) * 1.0
    for i in range(0, x.size - frame, frame // 2):
        f = x[i:i + frame] - x[i:i + frame].mean()
        if np.sqrt(np.mean(f ** 2)) < loud:
            continue
        ac = np.correlate(f, f, "full")[frame - 1:]
        lo, hi = RATE // 400, RATE // 75
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] > 0.3 * ac[0]:
            pitches.append(RATE / lag)
    return float(np.median(pitches))


def test_neural_voice_speaks(neural):
    audio = neural.synthesize(LINE)
    assert audio.dtype == np.float32 and neural.sample_rate == RATE
    assert 1.5 < audio.size / RATE < 8
    assert np.sqrt(np.mean(audio ** 2)) > 0.02                 # real speech energy, not silence
    longer = neural.synthesize(LINE + "另外我还想问一下宽带的套餐怎么改。")
    assert longer.size > audio.size * 1.5


def test_personas_change_pace_and_pitch(neural):
    calm, elderly, angry, male = (get_persona(n) for n in ("calm", "elderly", "angry", "male"))
    base = neural.synthesize(LINE, speed=calm.speed, pitch_semitones=calm.pitch_semitones)
    slow = neural.synthesize(LINE, speed=elderly.speed, pitch_semitones=elderly.pitch_semitones)
    fast = neural.synthesize(LINE, speed=angry.speed, pitch_semitones=angry.pitch_semitones)
    low = neural.synthesize(LINE, speed=male.speed, pitch_semitones=male.pitch_semitones)
    assert fast.size < base.size < slow.size
    assert low.size == pytest.approx(base.size, rel=0.1)       # pitch moves, the pace does not
    assert median_f0(low) < median_f0(base) * 0.85             # five semitones down is ~25 % lower


def test_pyttsx3_engine_produces_audio():
    voice = Pyttsx3Voice()
    audio = voice.synthesize("您好，请问有什么可以帮您")
    assert audio.size / RATE > 0.5 and np.sqrt(np.mean(audio ** 2)) > 0.01


def test_render_cache(tmp_path, neural):
    first = render_line("（很小声）您好，我的宽带坏了。", persona="soft", condition="low_volume", cache=tmp_path)
    assert not first.cache_hit and first.path.exists() and first.engine == "neural"
    assert first.spoken_text == "您好，我的宽带坏了。" and first.stage_directions == ("很小声",)
    with wave.open(str(first.path)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (RATE, 1, 2)
    again = render_line("（很小声）您好，我的宽带坏了。", persona="soft", condition="low_volume", cache=tmp_path)
    assert again.cache_hit and again.path == first.path
    other_persona = render_line("（很小声）您好，我的宽带坏了。", persona="angry", condition="low_volume", cache=tmp_path)
    other_line = render_line("（很小声）您好，我的宽带坏了。", persona="soft", condition="noisy:snr=5", cache=tmp_path)
    assert len({first.path, other_persona.path, other_line.path}) == 3
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".render-")]   # no temporary leftovers


def test_silent_line_needs_no_synthesis(tmp_path):
    line = render_line("（沉默）", condition="silent", cache=tmp_path, silence_s=4)
    assert line.engine == "silence" and line.spoken_text == "" and line.duration_s == pytest.approx(4, abs=0.01)


def test_cli_say(tmp_path):
    out = tmp_path / "line.wav"
    env = dict(os.environ, TTS_CACHE_DIR=str(tmp_path / "cache"))
    run = subprocess.run([sys.executable, "-m", "softphone_sim", "say", "请问你们的营业厅几点关门？", "-o", str(out),
                          "--persona", "elderly", "--condition", "telephone"], capture_output=True, text=True,
                         timeout=300, env=env)
    assert run.returncode == 0, run.stderr
    with wave.open(str(out)) as w:
        assert (w.getframerate(), w.getnchannels()) == (RATE, 1) and w.getnframes() > RATE
    bad = subprocess.run([sys.executable, "-m", "softphone_sim", "say", "你好", "-o", str(out), "--persona", "robot"],
                         capture_output=True, text=True, timeout=120, env=env)
    assert bad.returncode == 2 and "unknown persona 'robot'" in bad.stderr
    bad = subprocess.run([sys.executable, "-m", "softphone_sim", "say", "你好", "-o", str(out), "--condition", "loud"],
                         capture_output=True, text=True, timeout=120, env=env)
    assert bad.returncode == 2 and "unknown line condition" in bad.stderr
