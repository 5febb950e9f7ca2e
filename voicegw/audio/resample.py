"""Any rate and channel count to 16 kHz mono float32, streamed chunk by chunk.

Resampling is libswresample (through PyAV) for its proper anti-aliasing filter; channels are
averaged here so every decoder path downmixes the same way.
"""

from __future__ import annotations

import av
import numpy as np

from voicegw.audio.pcm import TARGET_RATE_HZ


class MonoResampler:
    """Collects chunks of ``(samples, channels)`` float audio at one source rate.

    Non-finite samples (NaN, inf) are replaced with 0.0 before filtering, so one bad sample
    cannot smear NaN over its neighbours or reach webrtcvad and Whisper.
    """

    def __init__(self, source_rate_hz: int, target_rate_hz: int = TARGET_RATE_HZ) -> None:
        self.source_rate_hz = source_rate_hz
        self.target_rate_hz = target_rate_hz
        self._resampler = (
            None
            if source_rate_hz == target_rate_hz
            else av.AudioResampler(format="flt", layout="mono", rate=target_rate_hz)
        )
        self._chunks: list[np.ndarray] = []
        self.source_samples = 0
        """Source-rate samples pushed so far (per channel)."""

    @property
    def source_duration_s(self) -> float:
        return self.source_samples / self.source_rate_hz

    def push(self, samples: np.ndarray) -> None:
        """Add a ``(n, channels)`` or ``(n,)`` float chunk at the source rate."""
        mono = samples if samples.ndim == 1 else samples.mean(axis=1, dtype=np.float32)
        mono = np.nan_to_num(mono.astype(np.float32, copy=False), nan=0.0, posinf=0.0, neginf=0.0)
        if len(mono) == 0:
            return
        self.source_samples += len(mono)
        if self._resampler is None:
            self._chunks.append(mono)
            return
        planes = np.ascontiguousarray(mono[None, :])
        frame = av.AudioFrame.from_ndarray(planes, format="flt", layout="mono")
        frame.sample_rate = self.source_rate_hz
        self._collect(self._resampler.resample(frame))

    def push_frame(self, frame: av.AudioFrame) -> None:
        """Add a decoded PyAV frame (packed float, see :func:`packed_float`)."""
        # Packed audio is one plane however many channels: PyAV's planar to_ndarray reads
        # past its eight plane pointers for 8+ channels (a segfault, not an exception).
        channels = len(frame.layout.channels)
        self.push(frame.to_ndarray().reshape(-1, channels))

    def take(self) -> np.ndarray:
        """The samples converted so far and not yet taken (a live stream reads as it goes)."""
        out = np.concatenate(self._chunks) if self._chunks else np.zeros(0, dtype=np.float32)
        self._chunks = []
        return np.clip(out, -1.0, 1.0, out=out)

    def finish(self) -> np.ndarray:
        """All samples at the target rate, clipped to [-1, 1]."""
        if self._resampler is not None:
            self._collect(self._resampler.resample(None))
        if not self._chunks:
            return np.zeros(0, dtype=np.float32)
        out = np.concatenate(self._chunks)
        return np.clip(out, -1.0, 1.0, out=out)

    def _collect(self, frames: list[av.AudioFrame]) -> None:
        for out in frames:
            self._chunks.append(out.to_ndarray().reshape(-1).astype(np.float32, copy=False))


def packed_float() -> av.AudioResampler:
    """A converter from any decoder's sample format to packed float32, same rate and channels."""
    return av.AudioResampler(format="flt")
