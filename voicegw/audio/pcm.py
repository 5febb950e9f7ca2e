"""The PCM clip every stage after decoding works on."""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass

import numpy as np

#: Whisper and webrtcvad both want 16 kHz mono.
TARGET_RATE_HZ = 16_000


@dataclass(frozen=True)
class Pcm:
    """A mono clip of float32 samples in [-1.0, 1.0]."""

    samples: np.ndarray
    """1-D float32 array, one value per sample."""
    sample_rate_hz: int = TARGET_RATE_HZ
    """Samples per second."""

    @property
    def duration_ms(self) -> int:
        return int(round(1000 * len(self.samples) / self.sample_rate_hz))

    def slice_ms(self, start_ms: int, end_ms: int) -> Pcm:
        """The part of the clip between two times, clamped to the clip."""
        start = max(0, start_ms * self.sample_rate_hz // 1000)
        end = min(len(self.samples), end_ms * self.sample_rate_hz // 1000)
        return Pcm(self.samples[start:end], self.sample_rate_hz)

    def to_int16_bytes(self) -> bytes:
        """Little-endian 16-bit PCM, the format webrtcvad reads."""
        clipped = np.clip(self.samples, -1.0, 1.0)
        return (clipped * 32767.0).astype("<i2").tobytes()

    def to_wav_bytes(self) -> bytes:
        """A 16-bit mono WAV file of the clip, as a client would upload it."""
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(self.sample_rate_hz)
            out.writeframes(self.to_int16_bytes())
        return buffer.getvalue()
