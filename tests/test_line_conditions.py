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
    assert np.array_equal(apply_condition(speechlike, "dropouts:rate=0"), speechlike)
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


def test_new_and_old_argument_order_agree(speechlike):
    new = apply_condition(speechlike, RATE, "telephone+noisy:snr=5", seed=4)
    old = apply_condition(speechlike, "telephone+noisy:snr=5", seed=4)
    keyword = apply_condition(speechlike, sample_rate=RATE, condition="telephone+noisy:snr=5", seed=4)
    assert new.dtype == np.float32 and np.array_equal(new, old) and np.array_equal(new, keyword)
    assert not np.array_equal(new, apply_condition(speechlike, RATE, "telephone+noisy:snr=5", seed=5))


def test_other_sample_rates(speechlike):
    """The telephone band at 48 kHz: still nothing above 3.4 kHz, the length unchanged."""
    rate = 48000
    t = np.arange(rate) / rate
    x = (0.3 * np.sin(2 * np.pi * 1000 * t) + 0.3 * np.sin(2 * np.pi * 9000 * t)).astype(np.float32)
    out = apply_condition(x, rate, "telephone")
    f, p = welch(out, rate, nperseg=4096)
    assert out.size == x.size
    assert p[(f > 8000) & (f < 10000)].sum() < p[(f > 900) & (f < 1100)].sum() * 1e-4
    with pytest.raises(ValueError, match="8000 Hz or more"):
        apply_condition(x, 4000, "telephone")


@pytest.mark.parametrize("condition", ["telephone", "noisy", "speakerphone", "dropouts", "low_volume", "silent"])
def test_tiny_and_empty_clips_do_not_break(condition):
    for n in (0, 1, 7, 50):
        out = apply_condition(np.full(n, 0.1, np.float32), RATE, condition)
        assert out.dtype == np.float32 and out.size == n


def test_no_clipping_after_a_louder_chain(speechlike):
    loud = speechlike / np.max(np.abs(speechlike)) * 0.98
    out = apply_condition(loud, RATE, "noisy:snr=0")
    assert np.max(np.abs(out)) <= 0.99 + 1e-6


def test_conditions_combine_and_parse_errors_are_clear(speechlike):
    assert parse_condition("telephone+noisy:snr=5") == [("telephone", {}), ("noisy", {"snr": 5.0})]
    assert canonical("noisy:snr=5+telephone") == "noisy:snr=5+telephone" and canonical("") == "none"
    combined = apply_condition(speechlike, "telephone+low_volume", seed=1)
    assert rms(combined) < rms(speechlike) * 0.2
    assert parse_condition({"name": "noisy", "snr": 5}) == [("noisy", {"snr": 5.0})]
    assert parse_condition(["telephone", {"dropouts": {"rate": 1}}]) == [
        ("telephone", {}), ("dropouts", {"rate": 1.0, "length": 0.2})]
    assert parse_condition(" telephone + noisy : snr = 5 ") == [("telephone", {}), ("noisy", {"snr": 5.0})]
    assert parse_condition("none") == [] and parse_condition(None) == []
    for bad, message in [("loud", "unknown line condition 'loud'; choose from: none, silent"),
                         ("noisy:snr=x", "snr must be a number"),
                         ("noisy:level=3", "unknown parameter 'level=3' \\(allowed: snr\\)"),
                         ("telephone:snr=3", "allowed: none"),
                         ("low_volume:db=6", "db must be 0 or below"),
                         ("noisy:snr=nan", "finite"),
                         ("silent:seconds=-1", "seconds must be between"),
                         (42, "a line condition is a name")]:
        with pytest.raises(ValueError, match=message):
            parse_condition(bad)
