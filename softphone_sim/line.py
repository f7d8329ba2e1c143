"""Line conditions applied to the caller's audio, as the scenarios' scripts require.

A condition is a name with optional parameters, several joined with '+':
``none``, ``silent``, ``low_volume:db=-20``, ``noisy:snr=10``, ``telephone``, ``dropouts:rate=0.5``,
``speakerphone``; e.g. ``"telephone+noisy:snr=5"``. Effects are deterministic for a given seed, so a
rendered line can be cached and a test can measure it.
"""
from __future__ import annotations

import numpy as np
from scipy.signal import butter, fftconvolve, resample_poly, sosfiltfilt

SAMPLE_RATE = 16000
CONDITIONS = {
    "none": {},
    "silent": {"seconds": None},
    "low_volume": {"db": -20.0},
    "noisy": {"snr": 10.0},
    "telephone": {},
    "dropouts": {"rate": 0.5, "length": 0.2},
    "speakerphone": {"db": -6.0},
}
LABELS = {"none": "正常", "silent": "无声", "low_volume": "音量过小", "noisy": "背景嘈杂", "telephone": "电话音质",
          "dropouts": "信号断续", "speakerphone": "免提"}


def parse_condition(spec) -> list[tuple[str, dict]]:
    """'telephone+noisy:snr=5' -> [('telephone', {}), ('noisy', {'snr': 5.0})]; ValueError when unknown."""
    if spec is None or spec == "":
        return []
    if isinstance(spec, dict):
        spec = "+".join(f"{k}" if not v else f"{k}:" + ",".join(f"{p}={x}" for p, x in v.items())
                        for k, v in spec.items())
    steps = []
    for part in str(spec).split("+"):
        name, _, args = part.strip().partition(":")
        if name not in CONDITIONS:
            raise ValueError(f"unknown line condition {name!r}; choose from: {', '.join(CONDITIONS)}")
        params = dict(CONDITIONS[name])
        for arg in filter(None, (a.strip() for a in args.split(","))):
            key, eq, value = arg.partition("=")
            if key not in params or not eq:
                raise ValueError(f"line condition {name}: unknown parameter {arg!r} "
                                 f"(allowed: {', '.join(params) or 'none'})")
            try:
                params[key] = float(value)
            except ValueError:
                raise ValueError(f"line condition {name}: {key} must be a number, not {value!r}") from None
        if name != "none":
            steps.append((name, params))
    return steps


def canonical(spec) -> str:
    steps = parse_condition(spec)
    return "+".join(name + (":" + ",".join(f"{k}={v:g}" for k, v in sorted(p.items()) if v is not None)
                            if any(v is not None for v in p.values()) else "") for name, p in steps) or "none"


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def active_rms(x: np.ndarray, frame: int = 320) -> float:
    """RMS over the frames that carry speech (within 30 dB of the loudest), so pauses do not lower it."""
    n = x.size // frame
    if n == 0:
        return rms(x)
    frames = x[: n * frame].reshape(n, frame)
    levels = np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1))
    keep = levels > levels.max() * 10 ** (-30 / 20)
    return float(np.sqrt(np.mean(np.square(frames[keep], dtype=np.float64)))) if keep.any() else 0.0


def _pink(rng: np.random.Generator, n: int) -> np.ndarray:
    white = rng.standard_normal(n)
    spectrum = np.fft.rfft(white)
    f = np.fft.rfftfreq(n)
    f[0] = f[1] if n > 1 else 1.0
    pink = np.fft.irfft(spectrum / np.sqrt(f), n)
    return pink / max(rms(pink), 1e-12)          # unit RMS: callers scale it


def _babble(rng: np.random.Generator, n: int) -> np.ndarray:
    """Background like a street or an office: pink noise shaped to the speech band, with a slowly
    wandering loudness."""
    noise = sosfiltfilt(butter(2, [150, 4000], "bandpass", fs=SAMPLE_RATE, output="sos"), _pink(rng, n))
    wobble = 1 + 0.4 * np.interp(np.arange(n), np.linspace(0, n, max(2, n // 4000)), rng.uniform(-1, 1, max(2, n // 4000)))
    return noise * wobble


def apply_condition(samples: np.ndarray, condition="none", *, seed: int = 0,
                    sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    if sample_rate != SAMPLE_RATE:
        raise ValueError("line conditions work on 16 kHz audio")
    x = np.asarray(samples, dtype=np.float64)
    rng = np.random.default_rng(seed)
    for name, p in parse_condition(condition):
        if name == "silent":
            n = int(p["seconds"] * SAMPLE_RATE) if p["seconds"] else x.size
            x = _pink(rng, max(n, 1)) * 0.0003          # faint room tone: the line is open, nobody speaks
        elif name == "low_volume":
            x = x * 10 ** (p["db"] / 20)
        elif name == "noisy":
            noise = _babble(rng, x.size)
            level = active_rms(x)
            if level > 0:
                x = x + noise * (level / rms(noise)) * 10 ** (-p["snr"] / 20)
        elif name == "telephone":
            x = sosfiltfilt(butter(6, [300, 3400], "bandpass", fs=SAMPLE_RATE, output="sos"), x)
            x = resample_poly(resample_poly(x, 1, 2), 2, 1)[: x.size]     # through an 8 kHz line
        elif name == "dropouts":
            out = x.copy()
            seconds = x.size / SAMPLE_RATE
            for _ in range(rng.poisson(p["rate"] * seconds)):
                start = int(rng.uniform(0, max(seconds - p["length"], 0)) * SAMPLE_RATE)
                out[start:start + int(p["length"] * SAMPLE_RATE)] = 0.0
            x = out
        elif name == "speakerphone":
            t = np.arange(int(0.35 * SAMPLE_RATE)) / SAMPLE_RATE
            impulse = rng.standard_normal(t.size) * np.exp(-t / 0.08)
            impulse[0] = 4.0
            wet = fftconvolve(x, impulse)[: x.size]
            wet = sosfiltfilt(butter(2, [200, 5000], "bandpass", fs=SAMPLE_RATE, output="sos"), wet)
            x = wet * (rms(x) / max(rms(wet), 1e-9)) * 10 ** (p["db"] / 20)
    peak = np.max(np.abs(x)) if x.size else 0.0
    if peak > 0.99:
        x = x * (0.99 / peak)
    return x.astype(np.float32)
