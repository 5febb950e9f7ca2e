"""Encoded upload bytes to a 16 kHz mono :class:`Pcm`, each limit checked before the costly step.

Order of checks: body size (before any parsing), format sniffing, declared duration from the
header, then decoded duration while decoding (containers can lie; decoding stops as soon as the
limit is passed). Every library failure becomes an :class:`AudioError` with a stable code:

``audio_empty`` (400), ``audio_too_large`` (413), ``audio_too_long`` (413),
``audio_corrupt`` (400), ``audio_unsupported`` (415).

NaN and inf samples are replaced with 0.0 (see :class:`MonoResampler`); samples are clipped
to [-1, 1].
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import av
import numpy as np
import soundfile as sf

from voicegw.audio.limits import AudioLimits
from voicegw.audio.pcm import TARGET_RATE_HZ, Pcm
from voicegw.audio.resample import MonoResampler, packed_float
from voicegw.audio.sniff import AudioFormat, hint_demuxer, sniff_format
from voicegw.errors import AudioError

#: Encoder priming and padding (AAC 1024, MP3 ~1105, Opus 312 samples) overshoot a clip that
#: was cut at exactly the limit; this much is forgiven.
DURATION_SLACK_S = 0.1
#: Sample rates outside this range are not audio we can use (a header saying 1 Hz is hostile).
MIN_RATE_HZ, MAX_RATE_HZ = 4_000, 384_000
#: More channels than any microphone array records (a WAV header may say 65535); decoding is
#: tested up to here.
MAX_CHANNELS = 64
#: Undecodable packets tolerated in a compressed stream before it counts as corrupt.
MAX_BAD_PACKETS = 8
#: Demuxers ffmpeg may use: audio containers only. Playlists (hls, concat) would open other
#: files or URLs, so they are never allowed.
_AV_DEMUXERS = (
    "mov,mp3,matroska,ogg,wav,w64,flac,aac,amr,amrnb,amrwb,aiff,caf,au,asf,avi,wv,loas,ac3,eac3"
)
_AV_OPTIONS = {"format_whitelist": _AV_DEMUXERS, "protocol_whitelist": "none"}
_CHUNK_FRAMES = 65_536


@dataclass(frozen=True)
class DecodedAudio:
    """A decoded clip and what it was before decoding."""

    pcm: Pcm
    """16 kHz mono float32."""
    format: AudioFormat
    """What the magic bytes said."""
    container: str
    """The container as its decoder names it (``WAV``, ``OGG``, ``mov,mp4,m4a,3gp,3g2,mj2``)."""
    source_rate_hz: int
    source_channels: int


def decode_audio(data: bytes, limits: AudioLimits, content_type: str | None = None) -> Pcm:
    """Decode any supported upload to 16 kHz mono float32; raises only :class:`AudioError`."""
    return decode_audio_info(data, limits, content_type).pcm


def decode_audio_info(
    data: bytes, limits: AudioLimits, content_type: str | None = None
) -> DecodedAudio:
    """Like :func:`decode_audio`, also saying which format and source rate/channels were found."""
    if len(data) > limits.max_bytes:
        raise AudioError(
            "audio_too_large",
            f"audio body is {len(data)} bytes; the limit is {limits.max_bytes}",
            http_status=413,
        )
    if not data:
        raise AudioError("audio_empty", "audio body is empty")
    fmt = sniff_format(data)
    if fmt is AudioFormat.NOT_AUDIO:
        raise AudioError("audio_unsupported", "the body is not an audio file", http_status=415)
    try:
        decoded = _decode_soundfile(data, fmt, limits) if fmt.uses_soundfile else None
        if decoded is None:
            decoded = _decode_av(data, fmt, limits, hint_demuxer(content_type))
    except AudioError:
        raise
    except Exception as err:  # the stage boundary: no library error escapes
        reason = f"audio could not be decoded ({type(err).__name__})"
        raise AudioError("audio_corrupt", reason) from err
    if decoded.pcm.duration_ms < limits.min_duration_ms:
        raise AudioError(
            "audio_empty",
            f"audio is {decoded.pcm.duration_ms} ms long; "
            f"at least {limits.min_duration_ms} ms is needed",
        )
    return decoded


def _decode_soundfile(data: bytes, fmt: AudioFormat, limits: AudioLimits) -> DecodedAudio | None:
    """libsndfile for WAV/FLAC/OGG/AIFF; None when it cannot read the body (ffmpeg tries next)."""
    try:
        f = sf.SoundFile(io.BytesIO(data))
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError):
        return None  # e.g. WAV holding MP3 or GSM, Ogg holding Speex: ffmpeg may know it
    with f:
        check_stream(f.samplerate, f.channels)
        _check_declared(f.frames / f.samplerate, limits)
        resampler = MonoResampler(f.samplerate)
        max_frames = _max_source_samples(f.samplerate, limits)
        while True:
            block = f.read(frames=_CHUNK_FRAMES, dtype="float32", always_2d=True)
            if len(block) == 0:
                break
            resampler.push(block)
            _check_decoded(resampler, max_frames, limits)
        return DecodedAudio(
            Pcm(resampler.finish(), TARGET_RATE_HZ), fmt, f.format, f.samplerate, f.channels
        )


def _decode_av(
    data: bytes, fmt: AudioFormat, limits: AudioLimits, hint: str | None
) -> DecodedAudio:
    """ffmpeg for MP4/AAC, MP3, WebM and anything else with an audio stream."""
    container = _open_av(data, hint if fmt is AudioFormat.UNKNOWN else None)
    with container:
        if not container.streams.audio:
            raise AudioError("audio_unsupported", "the file has no audio stream", http_status=415)
        stream = container.streams.audio[0]
        rate, channels = stream.codec_context.sample_rate, stream.codec_context.channels
        if rate:  # some containers leave it to the first frame; that one is checked below
            check_stream(rate, channels or 1)
        _check_declared(_declared_duration_s(container, stream), limits)
        to_float = packed_float()
        resampler: MonoResampler | None = None
        max_samples = 0
        for frame in decoded_frames(container, stream):
            if resampler is None:
                check_stream(frame.sample_rate, len(frame.layout.channels))
                resampler = MonoResampler(frame.sample_rate)
                max_samples = _max_source_samples(frame.sample_rate, limits)
            for converted in to_float.resample(frame):
                resampler.push_frame(converted)
            _check_decoded(resampler, max_samples, limits)
        if resampler is None:
            raise AudioError("audio_empty", "the audio stream holds no samples")
        for converted in to_float.resample(None):
            resampler.push_frame(converted)
        return DecodedAudio(
            Pcm(resampler.finish(), TARGET_RATE_HZ),
            fmt,
            container.format.name,
            resampler.source_rate_hz,
            channels,
        )


def decoded_frames(container: av.container.InputContainer, stream: av.AudioStream) -> Iterator[av.AudioFrame]:
    """Every decoded frame of ``stream``; a few undecodable packets are skipped (ffmpeg conceals a
    damaged frame; so do we, up to ``MAX_BAD_PACKETS``)."""
    bad_packets = 0
    for packet in container.demux(stream):
        try:
            frames = packet.decode()
        except av.error.InvalidDataError:
            bad_packets += 1
            if bad_packets > MAX_BAD_PACKETS:
                raise
            continue
        yield from frames


def _open_av(data: bytes, demuxer: str | None) -> av.container.InputContainer:
    if demuxer is not None:
        try:
            return av.open(io.BytesIO(data), format=demuxer, options=_AV_OPTIONS)
        except av.FFmpegError:
            pass  # the hint was wrong; let ffmpeg probe
    try:
        return av.open(io.BytesIO(data), options=_AV_OPTIONS)
    except av.error.ArgumentError as err:
        # Probed as a demuxer outside the whitelist (a video, a playlist, an image format).
        raise AudioError(
            "audio_unsupported", "the file is not a supported audio format", http_status=415
        ) from err


def _declared_duration_s(container: av.container.InputContainer, stream: av.AudioStream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return 0.0


def check_stream(rate_hz: int, channels: int) -> None:
    """A rate and channel count any decoder may accept (a stream or a clip)."""
    if not MIN_RATE_HZ <= rate_hz <= MAX_RATE_HZ or not 1 <= channels <= MAX_CHANNELS:
        raise AudioError(
            "audio_unsupported",
            f"unsupported audio stream ({rate_hz} Hz, {channels} channels)",
            http_status=415,
        )


def _check_declared(duration_s: float, limits: AudioLimits) -> None:
    if duration_s > limits.max_duration_s + DURATION_SLACK_S:
        raise _too_long(duration_s, limits)


def _max_source_samples(rate_hz: int, limits: AudioLimits) -> int:
    return int(np.ceil((limits.max_duration_s + DURATION_SLACK_S) * rate_hz))


def _check_decoded(resampler: MonoResampler, max_samples: int, limits: AudioLimits) -> None:
    # Checked after every chunk, so a file whose header lies costs at most one chunk too many.
    if resampler.source_samples > max_samples:
        raise _too_long(resampler.source_duration_s, limits, at_least=True)


def _too_long(duration_s: float, limits: AudioLimits, *, at_least: bool = False) -> AudioError:
    said = f"at least {duration_s:.1f}" if at_least else f"{duration_s:.1f}"
    return AudioError(
        "audio_too_long",
        f"audio is {said} s long; the limit is {limits.max_duration_s:g} s",
        http_status=413,
    )
