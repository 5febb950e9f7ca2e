"""Audio arriving in pieces (a WebSocket's binary messages) to 16 kHz mono float32, as it comes.

Raw PCM16 is converted at once, in the caller's thread. A container (WebM or Ogg, MediaRecorder's
Opus chunks) cannot be cut at message boundaries, so ffmpeg reads it as one growing file in a
thread of its own, from a pipe the messages are written into; its samples are handed back to the
event loop as they are decoded. Either way the caller sees one interface: ``push`` bytes, receive
samples through ``on_samples``, ``close`` at the end (which flushes what is left).
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Callable
from typing import Literal, Protocol

import av
import numpy as np

from voicegw.audio.decode import check_stream, decoded_frames
from voicegw.audio.resample import MonoResampler, packed_float
from voicegw.errors import AudioError

StreamFormat = Literal["pcm16", "webm", "ogg"]
STREAM_FORMATS: tuple[StreamFormat, ...] = ("pcm16", "webm", "ogg")
#: Rates a PCM16 stream may declare: what microphones and the Web Audio API give.
PCM_RATES_HZ = (16_000, 24_000, 48_000)

_DEMUXERS: dict[StreamFormat, str] = {"webm": "matroska", "ogg": "ogg"}
# Read the header and go: ffmpeg's default probing would wait for 5 MB of a live stream.
_LIVE_OPTIONS = {"probesize": "4096", "analyzeduration": "0", "fflags": "nobuffer",
                 "format_whitelist": "matroska,ogg", "protocol_whitelist": "none"}
_READ_BUFFER = 4096

SamplesCallback = Callable[[np.ndarray], None]
ErrorCallback = Callable[[AudioError], None]


class StreamDecoder(Protocol):
    def push(self, data: bytes) -> None:
        """Add the next bytes of the stream."""

    async def close(self) -> None:
        """No more bytes: deliver every sample still held, then stop."""

    @property
    def source_rate_hz(self) -> int | None:
        """The stream's own sample rate, once known."""


def open_stream_decoder(
    fmt: StreamFormat, rate_hz: int, on_samples: SamplesCallback, on_error: ErrorCallback
) -> StreamDecoder:
    """A decoder for one stream; ``rate_hz`` is only read for ``pcm16`` (containers say their own)."""
    if fmt == "pcm16":
        return Pcm16Decoder(rate_hz, on_samples)
    return ContainerDecoder(fmt, on_samples, on_error)


class Pcm16Decoder:
    """Little-endian signed 16-bit mono at a declared rate; a message may split a sample."""

    def __init__(self, rate_hz: int, on_samples: SamplesCallback) -> None:
        if rate_hz not in PCM_RATES_HZ:
            raise AudioError("audio_unsupported", f"rate must be one of {', '.join(map(str, PCM_RATES_HZ))} for pcm16",
                             http_status=415)
        self._resampler = MonoResampler(rate_hz)
        self._on_samples = on_samples
        self._odd = b""
        self.source_rate_hz: int | None = rate_hz

    def push(self, data: bytes) -> None:
        data = self._odd + data
        whole = len(data) - len(data) % 2
        self._odd = data[whole:]
        if whole:
            samples = np.frombuffer(data[:whole], dtype="<i2").astype(np.float32) / 32768.0
            self._resampler.push(samples)
            self._deliver(self._resampler.take())

    async def close(self) -> None:
        self._deliver(self._resampler.finish())

    def _deliver(self, samples: np.ndarray) -> None:
        if len(samples):
            self._on_samples(samples)


class _Pipe(io.RawIOBase):
    """Bytes written by the event loop, read by ffmpeg's thread; a read waits for data or the end."""

    def __init__(self) -> None:
        super().__init__()
        self._buffer = bytearray()
        self._ended = False
        self._ready = threading.Condition()

    def write_bytes(self, data: bytes) -> None:
        with self._ready:
            if not self._ended:
                self._buffer += data
                self._ready.notify()

    def end(self, *, discard: bool = False) -> None:
        """No more bytes; ``discard`` drops what nobody will read (the reader has stopped)."""
        with self._ready:
            self._ended = True
            if discard:
                self._buffer.clear()
            self._ready.notify()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, target) -> int:  # type: ignore[override]
        with self._ready:
            self._ready.wait_for(lambda: self._buffer or self._ended)
            n = min(len(target), len(self._buffer))
            target[:n] = self._buffer[:n]
            del self._buffer[:n]
            return n


class ContainerDecoder:
    """WebM or Ogg (Opus, Vorbis, anything ffmpeg decodes) read by ffmpeg in its own thread."""

    def __init__(self, fmt: StreamFormat, on_samples: SamplesCallback, on_error: ErrorCallback) -> None:
        if fmt not in _DEMUXERS:
            raise AudioError("audio_unsupported", f"format must be one of {', '.join(STREAM_FORMATS)}", http_status=415)
        self._demuxer = _DEMUXERS[fmt]
        self._loop = asyncio.get_running_loop()
        self._on_samples, self._on_error = on_samples, on_error
        self._pipe = _Pipe()
        self.source_rate_hz: int | None = None
        self._done = self._loop.create_future()
        self._thread = threading.Thread(target=self._run, name=f"stream-{fmt}", daemon=True)
        self._thread.start()

    def push(self, data: bytes) -> None:
        self._pipe.write_bytes(data)

    async def close(self) -> None:
        self._pipe.end()
        await asyncio.shield(self._done)

    def _run(self) -> None:
        try:
            self._decode()
        except AudioError as err:
            self._hand(self._on_error, err)
        except Exception as err:  # the stage boundary: no library error escapes
            self._hand(self._on_error, AudioError("audio_corrupt", f"the stream could not be decoded ({type(err).__name__})"))
        finally:
            self._pipe.end(discard=True)  # after a failure nothing reads the pipe: stop filling it
            self._hand(_settle, self._done)

    def _decode(self) -> None:
        with av.open(self._pipe, format=self._demuxer, options=_LIVE_OPTIONS, buffer_size=_READ_BUFFER) as container:
            if not container.streams.audio:
                raise AudioError("audio_unsupported", "the stream has no audio", http_status=415)
            stream = container.streams.audio[0]
            to_float = packed_float()
            resampler: MonoResampler | None = None
            for frame in decoded_frames(container, stream):
                if resampler is None:
                    check_stream(frame.sample_rate, len(frame.layout.channels))
                    resampler = MonoResampler(frame.sample_rate)
                    self.source_rate_hz = frame.sample_rate
                for converted in to_float.resample(frame):
                    resampler.push_frame(converted)
                self._deliver(resampler.take())
            if resampler is not None:
                for converted in to_float.resample(None):
                    resampler.push_frame(converted)
                self._deliver(resampler.finish())

    def _deliver(self, samples: np.ndarray) -> None:
        if len(samples):
            self._hand(self._on_samples, samples)

    def _hand(self, callback: Callable, value: object) -> None:
        try:
            self._loop.call_soon_threadsafe(callback, value)
        except RuntimeError:  # the loop has closed: nobody is listening any more
            pass


def _settle(done: asyncio.Future) -> None:
    if not done.done():
        done.set_result(None)
