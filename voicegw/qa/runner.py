"""Replay manifest clips through the gateway's pipeline (in-process or over HTTP), clean and noisy.

Each clip runs in a session of its own, so no clip sees another's cart. Noisy conditions mix a
recording into the clip at a fixed, seeded offset, so two runs of the same sweep replay the same
audio.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from voicegw.audio.decode import decode_audio
from voicegw.audio.noise import NOISE_LIMITS, Mix, cut_noise, derive_seed, load_noise, mix_at_snr
from voicegw.audio.pcm import Pcm
from voicegw.errors import VoicegwError
from voicegw.qa.manifest import ManifestClip
from voicegw.qa.scoring import ClipOutcome, ClipScore, score_clip

#: Typical speech level (-20 dBFS RMS): a silence or noise-only clip in a noisy condition gets
#: the noise at the level speech at that SNR would have had, so "noise only" is as loud as in
#: the speech clips next to it.
REFERENCE_SPEECH_POWER = 10 ** (-20 / 10)
SEED = "voicegw-eval-1"


@dataclass(frozen=True)
class Condition:
    """How clips are replayed: clean, or with one noise recording at one SNR."""

    noise: str = "clean"
    """Noise type (the recording's file stem), or ``clean``."""
    snr_db: float | None = None
    noise_path: Path | None = None
    mix: Mix = "speech"
    """How the SNR is measured (``voicegw.audio.noise``)."""

    @property
    def label(self) -> str:
        return "clean" if self.snr_db is None else f"{self.noise}@{self.snr_db:g}dB"


def conditions_for(noise_paths: Sequence[Path], snrs_db: Sequence[float], mix: Mix = "speech") -> list[Condition]:
    """Clean first, then every noise at every SNR (highest SNR first)."""
    noisy = [Condition(p.stem, snr, p, mix) for p in noise_paths for snr in sorted(snrs_db, reverse=True)]
    return [Condition(), *noisy]


@dataclass(frozen=True)
class ClipResult:
    clip: ManifestClip
    condition: Condition
    outcome: ClipOutcome
    score: ClipScore


class TurnSender(Protocol):
    """Sends one clip as one voice turn and says what came back."""

    async def send(self, clip: ManifestClip, audio: bytes, session: str) -> ClipOutcome: ...


@dataclass
class NoiseBank:
    """Noise recordings decoded once per run."""

    _cache: dict[Path, Pcm] = field(default_factory=dict)

    def get(self, path: Path) -> Pcm:
        if path not in self._cache:
            self._cache[path] = load_noise(path)
        return self._cache[path]


def clip_audio(clip: ManifestClip, condition: Condition, noises: NoiseBank) -> tuple[bytes, int]:
    """The bytes to send for a clip under a condition, and the clip's duration in ms."""
    original = clip.audio.read_bytes()
    # Fixture files are trusted and may exceed upload limits; the pipeline applies those itself.
    pcm = decode_audio(original, NOISE_LIMITS)
    if condition.noise_path is None or condition.snr_db is None:
        return original, pcm.duration_ms
    noise = noises.get(condition.noise_path)
    # Seeded by the audio itself, not its path: the same clip gets the same noise in any checkout.
    seed = derive_seed(SEED, zlib.crc32(original), condition.noise, condition.snr_db)
    if clip.expects_no_speech:
        gain = np.sqrt(REFERENCE_SPEECH_POWER / 10 ** (condition.snr_db / 10))
        cut = cut_noise(noise, len(pcm.samples), seed)
        cut = cut * gain / max(float(np.sqrt(np.mean(cut**2))), 1e-9)
        mixed = Pcm(np.clip(pcm.samples + cut, -1, 1).astype(np.float32), pcm.sample_rate_hz)
    else:
        mixed = mix_at_snr(pcm, noise, condition.snr_db, seed, mix=condition.mix)
    return mixed.to_wav_bytes(), pcm.duration_ms


async def run_eval(
    clips: Sequence[ManifestClip],
    conditions: Sequence[Condition],
    sender: TurnSender,
    on_result: Callable[[ClipResult], None] | None = None,
) -> list[ClipResult]:
    """Every clip under every condition, one after another (latencies stay comparable)."""
    noises = NoiseBank()
    results: list[ClipResult] = []
    for condition in conditions:
        for n, clip in enumerate(clips):
            audio, duration_ms = clip_audio(clip, condition, noises)
            session = f"eval-{derive_seed(condition.label, clip.id, n):08x}"
            outcome = await sender.send(clip, audio, session)
            if outcome.audio_duration_ms is None:
                outcome = _with_duration(outcome, duration_ms)
            result = ClipResult(clip, condition, outcome, score_clip(clip, outcome))
            results.append(result)
            if on_result is not None:
                on_result(result)
    return results


def _with_duration(outcome: ClipOutcome, duration_ms: int) -> ClipOutcome:
    return replace(outcome, audio_duration_ms=duration_ms)


def error_outcome(err: VoicegwError, latency_ms: float) -> ClipOutcome:
    return ClipOutcome(status="error", error=err.code, latency_ms=latency_ms)


def elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
