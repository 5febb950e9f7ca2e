"""Noise loading and SNR mixing: the SNR is measured on the known components of the mix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voicegw.audio.noise import (
    active_mask,
    derive_seed,
    list_noise_files,
    load_noise,
    mix_at_snr,
    mix_components,
    peak_frame_energy,
)
from voicegw.audio.pcm import Pcm
from voicegw.audio.vad import SpeechSegment
from voicegw.errors import AudioError

RATE = 16_000
FIXTURES = Path(__file__).resolve().parents[2] / "audio_fixtures"


def _speech(lead_s: float = 0.5, speech_s: float = 1.0, tail_s: float = 0.5, level: float = 0.3) -> Pcm:
    """Silence, a syllable-like modulated tone mix, silence."""
    t = np.arange(int(speech_s * RATE)) / RATE
    voiced = level * (np.sin(2 * np.pi * 220 * t) + 0.5 * np.sin(2 * np.pi * 660 * t))
    voiced *= 0.6 + 0.4 * np.sin(2 * np.pi * 4 * t)  # 4 Hz syllable rhythm
    x = np.concatenate([np.zeros(int(lead_s * RATE)), voiced, np.zeros(int(tail_s * RATE))])
    return Pcm(x.astype(np.float32), RATE)


def _noise(seconds: float = 0.7, seed: int = 1) -> Pcm:
    return Pcm((0.1 * np.random.default_rng(seed).standard_normal(int(seconds * RATE))).astype(np.float32))


def _snr_db(speech_part: np.ndarray, noise_part: np.ndarray, mask: np.ndarray) -> float:
    return 10 * np.log10(np.mean(speech_part[mask] ** 2) / np.mean(noise_part**2))


@pytest.mark.parametrize("snr_db", [24.0, 18.0, 12.0, 6.0, 0.0, -5.0])
def test_mix_reaches_target_snr_over_speech_part(snr_db: float) -> None:
    speech = _speech()
    mask = active_mask(speech.samples, RATE)
    assert 0.9 * RATE <= mask.sum() <= 1.05 * RATE  # the tone, not the silence around it
    s, n = mix_components(speech, _noise(), snr_db, seed=7)
    assert abs(_snr_db(s, n, mask) - snr_db) < 0.2
    mixed = mix_at_snr(speech, _noise(), snr_db, seed=7)
    np.testing.assert_allclose(mixed.samples, (s + n).astype(np.float32))


@pytest.mark.parametrize("snr_db", [24.0, 12.0, 6.0, 0.0])
def test_peak_frame_mix_is_the_benchmarks(snr_db: float) -> None:
    """The speech-to-intent benchmark's mixer: loudest 2048-sample frame of speech over the
    loudest frame of the noise, computed here by hand, frame by frame."""
    speech = _speech()
    s, n = mix_components(speech, _noise(), snr_db, seed=7, mix="peak-frame")
    frames = len(s) // 2048

    def loudest(x: np.ndarray) -> float:
        return max(float(np.sum(x[i * 2048:(i + 1) * 2048] ** 2)) for i in range(frames))

    assert 10 * np.log10(loudest(s) / loudest(n)) == pytest.approx(snr_db, abs=0.01)
    # Louder peaks than the speech-power rule's for the same noise: the same SNR is noisier.
    _, n_speech = mix_components(speech, _noise(), snr_db, seed=7)
    assert np.mean(n**2) != pytest.approx(np.mean(n_speech**2), rel=0.05)
    assert peak_frame_energy(np.ones(100)) == 100.0  # a clip shorter than a frame is one frame


def test_leading_silence_does_not_change_noise_level() -> None:
    short, padded = _speech(lead_s=0.2, tail_s=0.2), _speech(lead_s=2.0, tail_s=2.0)
    _, n_short = mix_components(short, _noise(), 12.0, seed=3)
    _, n_padded = mix_components(padded, _noise(), 12.0, seed=3)
    assert np.sqrt(np.mean(n_short**2)) == pytest.approx(np.sqrt(np.mean(n_padded**2)), rel=0.02)


def test_given_speech_spans_define_speech_power() -> None:
    speech = _speech(lead_s=0.5, speech_s=1.0)
    spans = [SpeechSegment(500, 1000), SpeechSegment(1000, 1500)]
    mask = np.zeros(len(speech.samples), dtype=bool)
    mask[8000:24000] = True
    s, n = mix_components(speech, _noise(), 6.0, seed=1, speech_spans=spans)
    assert abs(_snr_db(s, n, mask) - 6.0) < 0.2
    # A span covering silence too lowers the measured speech power, hence the noise added.
    _, n_wide = mix_components(speech, _noise(), 6.0, seed=1, speech_spans=[SpeechSegment(0, 2000)])
    assert np.mean(n_wide**2) < 0.8 * np.mean(n**2)


def test_deterministic_for_a_seed_and_varies_between_seeds() -> None:
    speech, noise = _speech(), _noise(seconds=5.0)
    a = mix_at_snr(speech, noise, 6.0, seed=11)
    b = mix_at_snr(speech, noise, 6.0, seed=11)
    c = mix_at_snr(speech, noise, 6.0, seed=12)
    np.testing.assert_array_equal(a.samples, b.samples)
    assert not np.array_equal(a.samples, c.samples)
    assert a.sample_rate_hz == RATE and len(a.samples) == len(speech.samples)
    assert a.samples.dtype == np.float32


def test_short_noise_is_looped() -> None:
    speech = _speech()
    period = 1_000
    noise = _noise(seconds=period / RATE)
    s, n = mix_components(speech, noise, 10.0, seed=5)
    assert len(n) == len(speech.samples)
    np.testing.assert_allclose(n[period:], n[:-period])
    assert np.count_nonzero(n[-period:]) == period  # no silent tail after the noise ran out


def test_loud_mix_is_scaled_without_changing_snr() -> None:
    speech = _speech(level=0.6)  # peaks near 0.9 before noise
    mask = active_mask(speech.samples, RATE)
    s, n = mix_components(speech, _noise(), 0.0, seed=2)
    assert np.max(np.abs(s + n)) <= 0.99 + 1e-9
    assert np.max(np.abs(s)) < 0.6 * 1.5 * 0.999  # speech was turned down with the noise
    assert abs(_snr_db(s, n, mask) - 0.0) < 0.2
    assert np.max(np.abs(mix_at_snr(speech, _noise(), 0.0, seed=2).samples)) <= 0.99 + 1e-6


def test_silent_speech_raises_clear_error() -> None:
    silent = Pcm(np.zeros(RATE, dtype=np.float32), RATE)
    with pytest.raises(AudioError) as err:
        mix_at_snr(silent, _noise(), 6.0, seed=0)
    assert err.value.code == "speech_silent"
    assert "SNR" in err.value.message


def test_silent_noise_and_rate_mismatch_raise() -> None:
    with pytest.raises(AudioError) as err:
        mix_at_snr(_speech(), Pcm(np.zeros(RATE, dtype=np.float32)), 6.0, seed=0)
    assert err.value.code == "noise_silent"
    with pytest.raises(AudioError) as err:
        mix_at_snr(_speech(), Pcm(_noise().samples, 8_000), 6.0, seed=0)
    assert err.value.code == "sample_rate_mismatch"


def test_load_noise_any_rate_and_channels_to_16k_mono(tmp_path) -> None:
    rng = np.random.default_rng(0)
    stereo = 0.1 * rng.standard_normal((44_100 * 2, 2))
    path = tmp_path / "road.flac"
    sf.write(path, stereo, 44_100)
    pcm = load_noise(path)
    assert pcm.sample_rate_hz == RATE and pcm.samples.ndim == 1
    assert abs(pcm.duration_ms - 2000) <= 5


def test_load_noise_reads_long_files_beyond_upload_limits(tmp_path) -> None:
    path = tmp_path / "long.wav"
    sf.write(path, np.zeros(16_000 * 40, dtype=np.float32) + 0.01, 16_000)  # 40 s > the 30 s upload cap
    assert abs(load_noise(path).duration_ms - 40_000) <= 5


def test_real_fixture_noise_mixes_at_target() -> None:
    noise = load_noise(FIXTURES / "noise" / "cafe_babble.wav")
    speech = _speech(speech_s=5.0)  # longer than the recording: it loops
    mask = active_mask(speech.samples, RATE)
    s, n = mix_components(speech, noise, 6.0, seed=derive_seed("cafe", 6))
    assert abs(_snr_db(s, n, mask) - 6.0) < 0.2


def test_load_noise_missing_file(tmp_path) -> None:
    with pytest.raises(AudioError) as err:
        load_noise(tmp_path / "nope.wav")
    assert err.value.code == "noise_unreadable"


def test_list_noise_files_and_seed(tmp_path) -> None:
    for name in ("b_road.wav", "a_cafe.flac", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in list_noise_files(tmp_path)] == ["a_cafe.flac", "b_road.wav"]
    assert list_noise_files(tmp_path / "b_road.wav") == [tmp_path / "b_road.wav"]
    with pytest.raises(AudioError):
        list_noise_files(tmp_path / "missing")
    assert derive_seed(1234, "ko/a.wav", "cafe", 6) == derive_seed(1234, "ko/a.wav", "cafe", 6)
    assert derive_seed(1234, "ko/a.wav", "cafe", 6) != derive_seed(1234, "ko/a.wav", "cafe", 12)
