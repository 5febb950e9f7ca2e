"""Encode test audio the way phones and browsers do (AAC in m4a, Opus in WebM, MP3, ...), with PyAV."""

from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np


def encode(samples: np.ndarray, rate: int, container: str, codec: str, *, bit_rate: int | None = None) -> bytes:
    """Encode mono float samples in [-1, 1] into ``container`` with ``codec``."""
    buf = io.BytesIO()
    with av.open(buf, "w", format=container) as out:
        stream = out.add_stream(codec, rate=48_000 if "opus" in codec else rate)
        stream.layout = "mono"
        if bit_rate:
            stream.bit_rate = bit_rate
        frame = av.AudioFrame.from_ndarray(samples[None, :].astype(np.float32), format="flt", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = rate, 0, Fraction(1, rate)
        convert = av.AudioResampler(format=stream.format.name, layout="mono", rate=stream.rate)
        for converted in [*convert.resample(frame), *convert.resample(None)]:
            out.mux(stream.encode(converted))
        out.mux(stream.encode(None))
    return buf.getvalue()
