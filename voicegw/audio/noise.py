"""Noise for robustness evaluation: load a recording, mix it into speech at a chosen SNR.

SNR definition (docs/scoring.md): ``10 * log10(P_speech / P_noise)`` where ``P_speech`` is the
mean square of the speech clip over its *speech part* only (the spans the caller gives, e.g. from
:func:`speech_spans_from_vad`; otherwise the 20 ms frames within 35 dB of the loudest frame and
above -70 dBFS), and ``P_noise`` is the mean square of the noise actually added, over the whole
clip. Leading and trailing silence therefore does not change the SNR a clip is mixed at.

``mix="peak-frame"`` is the Picovoice speech-to-intent benchmark's definition instead (its
``mixer.py``), for figures comparable with its published ones: the energy of the loudest
2048-sample frame of the speech clip over that of the noise cut.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from voicegw.audio.decode import decode_audio
from voicegw.audio.limits import AudioLimits
from voicegw.audio.pcm import Pcm
from voicegw.audio.vad import SpeechSegment, VadOptions, find_speech
from voicegw.errors import AudioError

#: Noise recordings are long and trusted; the upload limits do not apply to them.
NOISE_LIMITS = AudioLimits(max_bytes=1 << 30, max_duration_s=4 * 3600.0, min_duration_ms=100)
NOISE_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".m4a", ".aac", ".webm", ".opus")
#: Energy-floor speech detection: frame length, range below the loudest frame, absolute floor.
FRAME_MS = 20
ACTIVE_RANGE_DB = 35.0
ABSOLUTE_FLOOR_DBFS = -70.0
#: Peak the mix may reach; above it speech and noise are scaled down together.
MAX_PEAK = 0.99
#: The benchmark's frame for ``mix="peak-frame"``, in samples.
PEAK_FRAME = 2048

Mix = Literal["speech", "peak-frame"]
MIXES: tuple[Mix, ...] = ("speech", "peak-frame")


def load_noise(path: str | Path) -> Pcm:
    """Decode a noise recording (any format, rate or channels) to 16 kHz mono."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise AudioError("noise_unreadable", f"cannot read noise file {path}: {err}") from err
    return decode_audio(data, NOISE_LIMITS)


def list_noise_files(path: str | Path) -> list[Path]:
    """A file itself, or the audio files directly in a folder (sorted); the stem names the type."""
    path = Path(path)
    if path.is_file():
        return [path]
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.suffix.lower() in NOISE_EXTENSIONS)
        if found:
            return found
        raise AudioError("noise_unreadable", f"no audio files ({', '.join(NOISE_EXTENSIONS)}) in {path}")
    raise AudioError("noise_unreadable", f"no noise file or folder at {path}")


def derive_seed(*parts: object) -> int:
    """A stable seed from names and numbers (Python's ``hash`` changes between runs)."""
    return zlib.crc32("\x1f".join(map(str, parts)).encode("utf-8"))


def speech_spans_from_vad(speech: Pcm, options: VadOptions | None = None) -> tuple[SpeechSegment, ...]:
    """The webrtcvad segments of a clean speech clip, to measure its power on."""
    return find_speech(speech, options).segments


def active_mask(samples: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """Boolean per sample: inside a 20 ms frame loud enough to count as speech (energy floor)."""
    frame = max(1, sample_rate_hz * FRAME_MS // 1000)
    n_frames = -(-len(samples) // frame)
    padded = np.zeros(n_frames * frame, dtype=np.float64)
    padded[: len(samples)] = samples
    power = np.mean(padded.reshape(n_frames, frame) ** 2, axis=1)
    if not len(power) or power.max() <= 0.0:
        return np.zeros(len(samples), dtype=bool)
    floor = max(power.max() * 10 ** (-ACTIVE_RANGE_DB / 10), 10 ** (ABSOLUTE_FLOOR_DBFS / 10))
    return np.repeat(power >= floor, frame)[: len(samples)]


def speech_power(speech: Pcm, speech_spans: Sequence[SpeechSegment] | None = None) -> float:
    """Mean square of the speech part of ``speech`` (see the module docstring)."""
    x = speech.samples.astype(np.float64)
    if speech_spans is None:
        mask = active_mask(x, speech.sample_rate_hz)
    else:
        mask = np.zeros(len(x), dtype=bool)
        for span in speech_spans:
            start = span.start_ms * speech.sample_rate_hz // 1000
            mask[start : span.end_ms * speech.sample_rate_hz // 1000] = True
    power = float(np.mean(x[mask] ** 2)) if mask.any() else 0.0
    if power <= 0.0:
        raise AudioError("speech_silent", "the speech clip has no speech energy; the SNR is undefined")
    return power


def peak_frame_energy(samples: np.ndarray, frame: int = PEAK_FRAME) -> float:
    """Sum of squares of the loudest whole ``frame`` of ``samples`` (the whole clip when shorter)."""
    x = samples.astype(np.float64)
    n_frames = len(x) // frame
    if n_frames == 0:
        return float(np.sum(x**2))
    return float(np.max(np.sum(x[: n_frames * frame].reshape(n_frames, frame) ** 2, axis=1)))


def cut_noise(noise: Pcm, n_samples: int, seed: int) -> np.ndarray:
    """``n_samples`` of noise from a seeded random offset, looping when the noise is shorter."""
    if len(noise.samples) == 0:
        raise AudioError("noise_silent", "the noise clip is empty")
    offset = int(np.random.default_rng(seed).integers(0, len(noise.samples)))
    return np.take(noise.samples, np.arange(offset, offset + n_samples), mode="wrap").astype(np.float64)


def mix_components(
    speech: Pcm,
    noise: Pcm,
    snr_db: float,
    seed: int,
    speech_spans: Sequence[SpeechSegment] | None = None,
    mix: Mix = "speech",
) -> tuple[np.ndarray, np.ndarray]:
    """The two parts of :func:`mix_at_snr` before summing: (speech part, noise part), float64."""
    if speech.sample_rate_hz != noise.sample_rate_hz:
        raise AudioError(
            "sample_rate_mismatch",
            f"speech is {speech.sample_rate_hz} Hz but noise is {noise.sample_rate_hz} Hz",
        )
    if not np.isfinite(snr_db):
        raise ValueError(f"snr_db must be finite, not {snr_db}")
    cut = cut_noise(noise, len(speech.samples), seed)
    if mix == "peak-frame":
        p_speech, p_noise = peak_frame_energy(speech.samples), peak_frame_energy(cut)
        if p_speech <= 0.0:
            raise AudioError("speech_silent", "the speech clip has no speech energy; the SNR is undefined")
    else:
        p_speech, p_noise = speech_power(speech, speech_spans), float(np.mean(cut**2))
    if p_noise <= 0.0:
        raise AudioError("noise_silent", "the noise clip is silent where it was cut; nothing to mix")
    gain = np.sqrt(p_speech / (p_noise * 10 ** (snr_db / 10)))
    speech_part, noise_part = speech.samples.astype(np.float64), cut * gain
    peak = float(np.max(np.abs(speech_part + noise_part), initial=0.0))
    if peak > MAX_PEAK:  # scale both: the ratio, hence the SNR, is unchanged
        speech_part, noise_part = speech_part * (MAX_PEAK / peak), noise_part * (MAX_PEAK / peak)
    return speech_part, noise_part


def mix_at_snr(
    speech: Pcm,
    noise: Pcm,
    snr_db: float,
    seed: int,
    speech_spans: Sequence[SpeechSegment] | None = None,
    mix: Mix = "speech",
) -> Pcm:
    """Speech plus noise at ``snr_db``; same length and rate as ``speech``, peak <= 0.99.

    Deterministic for a given seed. Raises :class:`AudioError` ``speech_silent`` when the speech
    has no energy (SNR undefined), ``noise_silent`` for silent noise.
    """
    speech_part, noise_part = mix_components(speech, noise, snr_db, seed, speech_spans, mix)
    return Pcm((speech_part + noise_part).astype(np.float32), speech.sample_rate_hz)
