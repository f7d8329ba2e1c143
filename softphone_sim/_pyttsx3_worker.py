"""Child process for ``Pyttsx3Voice``: speak sentences into WAV files with pyttsx3.

Run as a script (``python _pyttsx3_worker.py``) with a JSON request on standard input:
``{"texts": [...], "outdir": "...", "rate": 1.0}``. Writes ``0.wav``, ``1.wav`` ... into ``outdir`` and
prints a JSON answer ``{"voice": id or null}``. Kept free of the package's imports so the child starts
fast; pyttsx3 engines are process-global and can hang, which is why they live in a child at all.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
import time

# Tags that mark a Mandarin voice, best first; Cantonese/Hakka/Taiwanese voices rank below any of them.
MANDARIN_TAGS = ("zh-cn", "zh_cn", "cmn", "mandarin", "huihui", "yaoyao", "kangkang", "xiaoxiao", "tingting",
                 "ting-ting", "lili", "chinese", "zh")
OTHER_CHINESE = ("yue", "cantonese", "hak", "hakka", "zh-hk", "zh_hk", "zh-tw", "zh_tw", "sinji", "mei-jia",
                 "pinyin", "jyutping")


def voice_rank(voice_id: str, name: str, languages) -> int | None:
    """How well a system voice fits a Mandarin caller: lower is better, None = not Chinese."""
    langs = []
    for lang in languages or []:
        if isinstance(lang, bytes):           # espeak gives b'\x05zh' style codes on some versions
            lang = lang.decode("utf-8", "ignore").lstrip("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09")
        langs.append(str(lang))
    tags = " ".join([voice_id or "", name or ""] + langs).lower()
    for rank, tag in enumerate(MANDARIN_TAGS):
        if tag in tags:
            penalty = 100 if any(other in tags for other in OTHER_CHINESE) else 0
            return rank + penalty
    return None


def pick_voice(voices) -> str | None:
    """The id of the best Mandarin voice among pyttsx3 voice objects, or None."""
    ranked = [(voice_rank(v.id, v.name, v.languages), i, v.id) for i, v in enumerate(voices)]
    ranked = [r for r in ranked if r[0] is not None]
    return min(ranked)[2] if ranked else None


def main() -> int:
    request = json.load(sys.stdin)
    with contextlib.redirect_stdout(sys.stderr):       # the espeak driver prints "Audio saved to ..."
        import pyttsx3

        engine = pyttsx3.init()
        chosen = pick_voice(engine.getProperty("voices"))
        if chosen:
            engine.setProperty("voice", chosen)
        engine.setProperty("rate", max(40, int(engine.getProperty("rate") * float(request.get("rate", 1.0)))))
        driver = getattr(getattr(engine, "proxy", None), "_driver", None)
        for i, text in enumerate(request["texts"]):  # one at a time: queued saves overwrite each other
            path = os.path.join(request["outdir"], f"{i}.wav")
            engine.save_to_file(text, path)
            engine.runAndWait()
            # The espeak driver's runAndWait can return (under load) while espeak is still speaking; the
            # file is written on its final callback, so wait for that before naming the next file.
            deadline = time.monotonic() + float(request.get("wait_s", 30))
            while (getattr(driver, "_speaking", False) or not os.path.exists(path)) and time.monotonic() < deadline:
                time.sleep(0.01)
    print(json.dumps({"voice": chosen}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
