"""Streamed audio decoded as it arrives: PCM16 at three rates, WebM and Ogg Opus in small pieces."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from voicegw.audio.stream_decode import Pcm16Decoder, open_stream_decoder
from voicegw.errors import AudioError

from tests.audio_codecs import encode


def tone(seconds: float, rate: int) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


async def decode_in_pieces(fmt: str, data: bytes, piece: int, rate: int = 16_000) -> tuple[np.ndarray, list[AudioError]]:
    got: list[np.ndarray] = []
    errors: list[AudioError] = []
    decoder = open_stream_decoder(fmt, rate, got.append, errors.append)
    for offset in range(0, len(data), piece):
        decoder.push(data[offset : offset + piece])
        await asyncio.sleep(0)
    await decoder.close()
    return (np.concatenate(got) if got else np.zeros(0, np.float32)), errors


@pytest.mark.parametrize("rate", [16_000, 24_000, 48_000])
async def test_pcm16_at_each_rate_comes_out_at_16_khz_whatever_the_message_boundaries(rate: int) -> None:
    samples = tone(1.0, rate)
    data = (samples * 32767).astype("<i2").tobytes()
    out, errors = await decode_in_pieces("pcm16", data, piece=333, rate=rate)  # odd: splits samples
    assert errors == []
    assert abs(len(out) - 16_000) <= 32
    spectrum = np.abs(np.fft.rfft(out[:16_000 - 32]))
    assert abs(np.argmax(spectrum) * 16_000 / (16_000 - 32) - 440) < 5


def test_pcm16_refuses_a_rate_it_does_not_take() -> None:
    with pytest.raises(AudioError) as err:
        Pcm16Decoder(44_100, lambda _: None)
    assert err.value.code == "audio_unsupported"


@pytest.mark.parametrize("fmt, container", [("webm", "webm"), ("ogg", "ogg")])
async def test_opus_in_a_container_decodes_from_small_pieces_as_they_come(fmt: str, container: str) -> None:
    data = encode(tone(2.0, 16_000), 16_000, container, "libopus")
    got: list[np.ndarray] = []
    decoder = open_stream_decoder(fmt, 0, got.append, lambda err: pytest.fail(err.message))
    half = len(data) // 2
    for offset in range(0, half, 500):
        decoder.push(data[offset : min(half, offset + 500)])
    for _ in range(200):  # samples arrive before the stream ends: it is decoded live
        if got:
            break
        await asyncio.sleep(0.01)
    assert got, "nothing was decoded from the first half"
    decoder.push(data[half:])
    await decoder.close()
    total = sum(len(g) for g in got)
    assert abs(total - 32_000) <= 800  # Opus priming and padding
    assert decoder.source_rate_hz == 48_000


async def test_garbage_in_a_container_stream_is_reported_not_raised() -> None:
    out, errors = await decode_in_pieces("webm", b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 40, piece=700)
    assert len(errors) == 1 and errors[0].code in ("audio_corrupt", "audio_unsupported")


async def test_a_stream_that_ends_before_its_header_is_reported() -> None:
    out, errors = await decode_in_pieces("ogg", b"OggS", piece=4)
    assert len(out) == 0 and len(errors) == 1
