"""Line conditions applied to the caller's audio, as the scenarios' scripts require.

A condition is a name with optional parameters, several joined with '+' and applied left to right,
e.g. ``"telephone+noisy:snr=5"`` (a dict or a list of specs works too):

- ``none`` — as synthesised;
- ``silent:seconds=S`` — the caller says nothing: faint room tone (about −75 dBFS) for the line's
  length, or S seconds;
- ``low_volume:db=-20`` — the whole line ``db`` quieter;
- ``noisy:snr=10`` — street/office-like background (band-limited pink noise with a wandering level)
  at ``snr`` dB below the speech, measured on the frames that carry speech;
- ``telephone`` — 300–3400 Hz band-pass and a round trip through an 8 kHz line;
- ``dropouts:rate=0.5,length=0.2`` — gaps of ``length`` seconds, ``rate`` per second on average, at
  seeded random places;
- ``speakerphone:db=-6`` — room echo (a decaying reverberation tail) and ``db`` lower level.

Effects are deterministic for a given seed, so a rendered line can be cached and a test can measure it.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy.signal import butter, fftconvolve, resample_poly, sosfiltfilt

SAMPLE_RATE = 16000
CONDITIONS: dict[str, dict[str, float | None]] = {
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
    """'telephone+noisy:snr=5' -> [('telephone', {}), ('noisy', {'snr': 5.0})]; ValueError when unknown.

    Also accepted: a dict ``{"noisy": {"snr": 5}, "telephone": {}}`` or ``{"name": "noisy", "snr": 5}``,
    and a list of any of these."""
    if spec is None or spec == "":
        return []
    if isinstance(spec, (list, tuple)):
        return [step for part in spec for step in parse_condition(part)]
    if isinstance(spec, dict):
        if "name" in spec:
            spec = {spec["name"]: {k: v for k, v in spec.items() if k != "name"}}
        spec = "+".join(f"{k}" if not v else f"{k}:" + ",".join(f"{p}={x}" for p, x in v.items())
                        for k, v in spec.items())
    if not isinstance(spec, str):
        raise ValueError(f"a line condition is a name such as 'noisy:snr=5', not {spec!r}")
    steps = []
    for part in spec.split("+"):
        name, _, args = part.strip().partition(":")
        name = name.strip()
        if name not in CONDITIONS:
            raise ValueError(f"unknown line condition {name!r}; choose from: {', '.join(CONDITIONS)}")
        params = dict(CONDITIONS[name])
        for arg in filter(None, (a.strip() for a in args.split(","))):
            key, eq, value = (s.strip() for s in arg.partition("="))
            if key not in params or not eq:
                raise ValueError(f"line condition {name}: unknown parameter {arg!r} "
                                 f"(allowed: {', '.join(params) or 'none'})")
            try:
                number = float(value)
            except ValueError:
                raise ValueError(f"line condition {name}: {key} must be a number, not {value!r}") from None
            params[key] = number
            if not np.isfinite(number):
                raise ValueError(f"line condition {name}: {key} must be a finite number, not {value!r}")
        problem = _check_params(name, params)
        if problem:
            raise ValueError(f"line condition {name}: {problem}")
        if name != "none":
            steps.append((name, params))
    return steps


def _check_params(name: str, p: dict) -> str | None:
    if name == "silent" and p["seconds"] is not None and not 0 < p["seconds"] <= 600:
        return "seconds must be between 0 and 600"
    if name in ("low_volume", "speakerphone") and p["db"] > 0:
        return "db must be 0 or below (it lowers the level)"
    if name == "noisy" and not -20 <= p["snr"] <= 60:
        return "snr must be between -20 and 60 dB"
    if name == "dropouts" and (p["rate"] < 0 or not 0 < p["length"] <= 5):
        return "rate must be 0 or more per second and length between 0 and 5 s"
    return None


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
    if n <= 1:
        return np.zeros(n)
    white = rng.standard_normal(n)
    spectrum = np.fft.rfft(white)
    f = np.fft.rfftfreq(n)
    f[0] = f[1] if n > 1 else 1.0
    pink = np.fft.irfft(spectrum / np.sqrt(f), n)
    return pink / max(rms(pink), 1e-12)          # unit RMS: callers scale it


def _filter(x: np.ndarray, sos: np.ndarray) -> np.ndarray:
    """Zero-phase filtering that also works on clips shorter than the filter's default padding."""
    if x.size == 0:
        return x
    return sosfiltfilt(sos, x, padlen=min(3 * (2 * len(sos) + 1), x.size - 1))


def _babble(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Background like a street or an office: pink noise shaped to the speech band, with a slowly
    wandering loudness."""
    band = butter(2, [150, min(4000, 0.45 * sr)], "bandpass", fs=sr, output="sos")
    noise = _filter(_pink(rng, n), band)
    points = max(2, n // (sr // 4))
    wobble = 1 + 0.4 * np.interp(np.arange(n), np.linspace(0, n, points), rng.uniform(-1, 1, points))
    return noise * wobble


def apply_condition(samples: np.ndarray, sample_rate=SAMPLE_RATE, condition="none", seed: int = 0) -> np.ndarray:
    """The caller's audio as heard through ``condition`` (see the module docstring); float32 out.

    ``apply_condition(x, 16000, "telephone+noisy:snr=5", seed=1)``; the older order
    ``apply_condition(x, "noisy", sample_rate=16000)`` is accepted too. Same seed, same result."""
    if sample_rate is None:
        sample_rate = SAMPLE_RATE
    elif isinstance(sample_rate, (str, dict, list, tuple)):      # apply_condition(x, "noisy", seed=1)
        sample_rate, condition = SAMPLE_RATE, sample_rate
    sr = int(sample_rate)
    if sr < 8000:
        raise ValueError(f"line conditions need a sample rate of 8000 Hz or more, not {sr}")
    x = np.asarray(samples, dtype=np.float64).reshape(-1)
    rng = np.random.default_rng(seed)
    for name, p in parse_condition(condition):
        if name == "silent":
            n = int(round(p["seconds"] * sr)) if p["seconds"] else x.size
            x = _pink(rng, n) * 0.0003 if n else np.zeros(0)   # faint room tone: the line is open, nobody speaks
        elif name == "low_volume":
            x = x * 10 ** (p["db"] / 20)
        elif name == "noisy":
            noise = _babble(rng, x.size, sr) if x.size else x
            level = active_rms(x, frame=sr // 50)
            if level > 0:
                x = x + noise * (level / max(rms(noise), 1e-12)) * 10 ** (-p["snr"] / 20)
        elif name == "telephone":
            x = _filter(x, butter(6, [300, min(3400, 0.45 * sr)], "bandpass", fs=sr, output="sos"))
            if sr != 8000 and x.size:               # through an 8 kHz line and back
                ratio = Fraction(8000, sr)
                x = resample_poly(resample_poly(x, ratio.numerator, ratio.denominator),
                                  ratio.denominator, ratio.numerator)[: x.size]
        elif name == "dropouts":
            out = x.copy()
            seconds = x.size / sr
            for _ in range(rng.poisson(p["rate"] * seconds)):
                start = int(rng.uniform(0, max(seconds - p["length"], 0)) * sr)
                out[start:start + int(p["length"] * sr)] = 0.0
            x = out
        elif name == "speakerphone" and x.size:
            t = np.arange(int(0.35 * sr)) / sr
            impulse = rng.standard_normal(t.size) * np.exp(-t / 0.08)
            impulse[0] = 4.0
            wet = fftconvolve(x, impulse)[: x.size]
            wet = _filter(wet, butter(2, [200, min(5000, 0.45 * sr)], "bandpass", fs=sr, output="sos"))
            x = wet * (rms(x) / max(rms(wet), 1e-9)) * 10 ** (p["db"] / 20)
    peak = np.max(np.abs(x)) if x.size else 0.0
    if peak > 0.99:
        x = x * (0.99 / peak)
    return x.astype(np.float32)
