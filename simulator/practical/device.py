"""The microphone check a trainee passes before a live call rings (once per login session).

The browser asks for the microphone, shows its input level and records a short sentence; the server
recognises it with the product ASR in file mode, exactly as it will hear the trainee on the call.
Passing needs sound in the recording and recognised text; it is kept in the signed session cookie
together with the account it was passed by, so another account in the same browser checks again.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, session

SESSION_KEY = "device_check"
MAX_TEST_S = 15                 # the page records ~3 s; anything much longer is not a device test
SILENCE_DBFS = -50.0            # a recording whose loudest 50 ms stays below this has no voice in it


class DeviceCheckFailed(Exception):
    """The test recording does not show a working microphone; the message is for the trainee."""

    def __init__(self, message: str, *, level_dbfs: float | None = None):
        super().__init__(message)
        self.message = message
        self.level_dbfs = level_dbfs


@dataclass
class DeviceCheck:
    text: str
    level_dbfs: float
    duration_s: float


def _peak_window_dbfs(samples) -> float:
    """Loudness of the loudest 50 ms: a sentence shows up here even in a mostly quiet recording."""
    import numpy as np

    if samples.size == 0:
        return float("-inf")
    x = samples.astype(np.float64) / 32768.0
    win = 800
    n = max(1, x.size // win)
    frames = x[: n * win].reshape(n, win) if x.size >= win else x.reshape(1, -1)
    rms = float(np.sqrt((frames ** 2).mean(axis=1)).max())
    return 20 * np.log10(rms) if rms > 0 else float("-inf")


def check_recording(data: bytes) -> DeviceCheck:
    """Recognise the test sentence; raises ``grading.audio.AudioError`` for unreadable audio and
    ``DeviceCheckFailed`` for silence or nothing recognised."""
    from grading.asr import get_recognizer
    from grading.audio import load_audio

    clip = load_audio(data, max_seconds=MAX_TEST_S)
    level = _peak_window_dbfs(clip.samples)
    if level < SILENCE_DBFS:
        raise DeviceCheckFailed("没有录到声音：请检查麦克风是否被静音、是否选对了输入设备，"
                                "或把麦克风音量调高，然后再试一次。", level_dbfs=level)
    heard = get_recognizer(current_app.config["ASR_ENGINE"]).transcribe(clip)
    text = (heard.text or "").strip()
    if not text:
        raise DeviceCheckFailed("录到了声音，但没有识别出您说的话：请靠近麦克风，用正常音量说一句完整的话"
                                "（例如“您好，很高兴为您服务”），再试一次。", level_dbfs=level)
    return DeviceCheck(text=text, level_dbfs=round(level, 1), duration_s=round(clip.duration_s, 2))


def mark_passed(user_id: int, result: DeviceCheck) -> None:
    session[SESSION_KEY] = {"user_id": user_id, "text": result.text[:200]}


def passed(user_id: int) -> bool:
    state = session.get(SESSION_KEY)
    return isinstance(state, dict) and state.get("user_id") == user_id


def passed_text(user_id: int) -> str | None:
    return session[SESSION_KEY].get("text") if passed(user_id) else None
