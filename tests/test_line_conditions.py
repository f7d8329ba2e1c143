"""Line conditions, measured on real synthetic signals."""
import numpy as np
import pytest
from scipy.signal import welch

from softphone_sim.line import active_rms, apply_condition, canonical, parse_condition, rms

RATE = 16000


@pytest.fixture(scope="module")
def speechlike():
    """Harmonic 'voice' from 120 Hz with syllable-like bursts, plus content above 4 kHz and below 300 Hz."""
    t = np.arange(3 * RATE) / RATE
    voice = sum(np.sin(2 * np.pi * 120 * k * t) / k for k in range(1, 40))
    envelope = (np.sin(2 * np.pi * 3 * t) > -0.2).astype(float)
    extra = 0.3 * np.sin(2 * np.pi * 6000 * t) + 0.3 * np.sin(2 * np.pi * 100 * t)
    x = (voice * envelope + extra) * 0.1
    return (x / np.max(np.abs(x)) * 0.5).astype(np.float32)


def _db(a, b):
    return 20 * np.log10(a / b)


def test_low_volume_lowers_by_20_db(speechlike):
    out = apply_condition(speechlike, "low_volume")
    assert _db(rms(out), rms(speechlike)) == pytest.approx(-20, abs=0.1)
    assert _db(rms(apply_condition(speechlike, "low_volume:db=-30")), rms(speechlike)) == pytest.approx(-30, abs=0.1)


@pytest.mark.parametrize("snr", [0, 10, 20])
def test_noise_at_the_requested_snr(speechlike, snr):
    out = apply_condition(speechlike, f"noisy:snr={snr}", seed=3)
    noise = out - speechlike
    assert _db(active_rms(speechlike), rms(noise)) == pytest.approx(snr, abs=2)


def test_telephone_band(speechlike):
    out = apply_condition(speechlike, "telephone")
    f, before = welch(speechlike, RATE, nperseg=2048)
    _, after = welch(out, RATE, nperseg=2048)
    band = lambda p, lo, hi: p[(f >= lo) & (f <= hi)].sum()  # noqa: E731
    assert band(after, 5000, 8000) < band(before, 5000, 8000) * 1e-3      # 6 kHz tone gone
    assert band(after, 50, 200) < band(before, 50, 200) * 0.05             # 100 Hz hum gone
    assert band(after, 500, 3000) > band(before, 500, 3000) * 0.5          # the voice band stays
    assert out.size == speechlike.size


def test_silent_line_has_no_speech_energy(speechlike):
    out = apply_condition(speechlike, "silent")
    assert out.size == speechlike.size and 20 * np.log10(rms(out)) < -60
    assert apply_condition(speechlike, "silent:seconds=5").size == 5 * RATE


def test_dropouts_are_deterministic_per_seed(speechlike):
    a = apply_condition(speechlike, "dropouts:rate=2", seed=1)
    b = apply_condition(speechlike, "dropouts:rate=2", seed=1)
    c = apply_condition(speechlike, "dropouts:rate=2", seed=2)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    zeros = np.sum(a == 0) - np.sum(speechlike == 0)
    assert zeros > 0.1 * RATE                                            # gaps were cut


def test_speakerphone_adds_room_echo():
    t = np.arange(2 * RATE) / RATE
    bursts = (np.sin(2 * np.pi * 200 * t) * ((t % 0.5) < 0.2)).astype(np.float32) * 0.5
    out = apply_condition(bursts, "speakerphone")
    assert _db(rms(out), rms(bursts)) == pytest.approx(-6, abs=0.5)
    # right after each burst the dry signal is silent; the room's reverberation tail is not
    tail = ((t % 0.5) > 0.21) & ((t % 0.5) < 0.3)
    assert rms(bursts[tail]) == 0 and _db(rms(out[tail]), rms(out)) > -30


def test_conditions_combine_and_parse_errors_are_clear(speechlike):
    assert parse_condition("telephone+noisy:snr=5") == [("telephone", {}), ("noisy", {"snr": 5.0})]
    assert canonical("noisy:snr=5+telephone") == "noisy:snr=5+telephone" and canonical("") == "none"
    combined = apply_condition(speechlike, "telephone+low_volume", seed=1)
    assert rms(combined) < rms(speechlike) * 0.2
    for bad, message in [("loud", "unknown line condition 'loud'"), ("noisy:snr=x", "snr must be a number"),
                         ("noisy:level=3", "unknown parameter")]:
        with pytest.raises(ValueError, match=message):
            parse_condition(bad)
