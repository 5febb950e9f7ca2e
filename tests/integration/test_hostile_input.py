"""Hostile and broken uploads against the real gateway (`voicegw serve`, Whisper base, SQLite):
hours of compressed audio, 8 kHz telephone audio, stereo, NaN samples, truncated files,
mislabelled content types, and a confirm retried concurrently under one Idempotency-Key.

Each answer is a correct turn or a 4xx JSON error, quickly, and the server keeps serving.
"""

from __future__ import annotations

import io
import time
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf

from tests.audio_codecs import encode
from tests.integration.conftest import FIXTURES, Answer, Gateway, load_manifest, running_gateway
from tests.integration.test_voice_orders import ENGLISH, accepted
from voicegw.audio.pcm import TARGET_RATE_HZ
from voicegw.backend.server import scoped_idempotency_key

MANIFEST = {clip["audio"]: clip for clip in load_manifest()}
LATTE = MANIFEST["en/coffee_latte_large_iced_oat.wav"]
AMERICANO = MANIFEST["ko/cafe_americano_ice_2.wav"]
FAST_S = 5.0
"""A refusal from a header or a size must come this fast (no decoding of hours of audio)."""


def samples_of(clip: dict) -> np.ndarray:
    samples, rate = sf.read(FIXTURES / clip["audio"], dtype="float32")
    return resample(samples, rate, TARGET_RATE_HZ) if rate != TARGET_RATE_HZ else samples


def resample(samples: np.ndarray, rate: int, to_rate: int) -> np.ndarray:
    frame = av.AudioFrame.from_ndarray(samples[None, :].astype(np.float32), format="flt", layout="mono")
    frame.sample_rate, frame.pts, frame.time_base = rate, 0, Fraction(1, rate)
    convert = av.AudioResampler(format="flt", layout="mono", rate=to_rate)
    return np.concatenate([f.to_ndarray().reshape(-1) for f in [*convert.resample(frame), *convert.resample(None)]])


def sound_file(samples: np.ndarray, rate: int, fmt: str = "WAV", subtype: str = "PCM_16") -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


def order_lines(answer: Answer) -> list[tuple[str, int]]:
    return [(line["item_id"], line["quantity"]) for line in answer.body["lines"]]


def voice(gw: Gateway, clip: dict, session: str, data: bytes, content_type: str = "audio/wav") -> Answer:
    return gw.post(f"/v1/voice/orders?store={clip['store']}&session={session}&lang={clip['lang']}", data, content_type)


def is_error(answer: Answer, status: int, *codes: str) -> bool:
    """The answer is ``{"error": {"code", "message"}}`` with this status and one of these codes."""
    body = answer.body
    return (answer.status == status and isinstance(body, dict) and set(body) == {"error"}
            and set(body["error"]) == {"code", "message"} and body["error"]["code"] in codes)


# --- long and large --------------------------------------------------------------------------


def hours_of_mp3(hours: float) -> bytes:
    """Hours of 8 kHz MP3 in a few MB: one silent 8 kbps frame, repeated."""
    short = encode(np.zeros(2 * 8000, np.float32), 8000, "mp3", "libmp3lame", bit_rate=8_000)
    with av.open(io.BytesIO(short)) as container:
        frames = [bytes(p) for p in container.demux(container.streams.audio[0]) if p.size]
    return frames[len(frames) // 2] * int(hours * 3600 * 8000 / 576)  # 576 samples per MPEG-2.5 frame


def test_two_hours_of_compressed_audio_is_refused_from_its_header(gateway: Gateway) -> None:
    data = hours_of_mp3(2.0)
    assert len(data) < 10 * 1024 * 1024  # under the byte limit: only the duration can refuse it
    started = time.monotonic()
    answer = gateway.post("/v1/voice/orders?store=cafe-ko&session=hours", data, "audio/mpeg")
    assert is_error(answer, 413, "audio_too_long"), answer.body
    assert time.monotonic() - started < FAST_S


def test_a_minute_of_opus_is_refused_while_decoding(gateway: Gateway) -> None:
    data = encode(np.tile(samples_of(LATTE), 30)[: 60 * TARGET_RATE_HZ], TARGET_RATE_HZ, "webm", "libopus", bit_rate=8_000)
    started = time.monotonic()
    answer = gateway.post("/v1/voice/orders?store=coffee-en&session=minute", data, "audio/webm")
    assert is_error(answer, 413, "audio_too_long"), answer.body
    assert time.monotonic() - started < FAST_S


def test_a_body_over_the_byte_limit_is_refused_before_it_is_read(gateway: Gateway) -> None:
    data = b"RIFF" + bytes(11 * 1024 * 1024)
    started = time.monotonic()
    answer = gateway.post("/v1/voice/orders?store=cafe-ko&session=huge", data, "audio/wav")
    assert is_error(answer, 413, "audio_too_large", "request_too_large"), answer.body
    assert time.monotonic() - started < FAST_S


# --- odd but honest audio --------------------------------------------------------------------


def phone(clip: dict) -> bytes:
    """The clip as a telephone line carries it: 8 kHz, mu-law."""
    return sound_file(resample(samples_of(clip), TARGET_RATE_HZ, 8_000), 8_000, subtype="ULAW")


def test_eight_khz_telephone_audio_is_heard_and_mostly_understood(gateway: Gateway) -> None:
    """Telephone bandwidth costs Whisper base accuracy on these voices (all 74 English clips,
    measured when this was written: 67 accepted at 16 kHz, 45 at 8 kHz mu-law, 43 at 8 kHz PCM);
    it must never cost the answer: every clip is a 200 turn with speech heard."""
    clips = ENGLISH[:20]
    answers = [voice(gateway, clip, f"phone-en-{n}", phone(clip)) for n, clip in enumerate(clips)]
    assert all(a.status == 200 and a.body["status"] != "no_speech" for a in answers), [a.body for a in answers]
    understood = sum(accepted(a.body, clip) for a, clip in zip(answers, clips))
    assert understood >= len(clips) // 2, f"{understood}/{len(clips)}"
    korean = voice(gateway, AMERICANO, "phone-ko", phone(AMERICANO))
    assert korean.status == 200 and "americano" in dict(order_lines(korean)), korean.body["transcript"]


def test_stereo_with_the_voice_on_one_side_is_understood(gateway: Gateway) -> None:
    speech = resample(samples_of(LATTE), TARGET_RATE_HZ, 44_100)
    noise = np.random.default_rng(3).normal(0, 0.002, len(speech)).astype(np.float32)
    stereo = sound_file(np.stack([speech, noise], axis=1), 44_100, fmt="FLAC", subtype="PCM_24")
    answer = voice(gateway, LATTE, "stereo", stereo, "audio/flac")
    assert answer.status == 200, answer.body
    assert ("latte", 1) in order_lines(answer), answer.body["transcript"]


def test_nan_samples_in_speech_are_silenced_not_fatal(gateway: Gateway) -> None:
    speech = samples_of(LATTE).copy()
    for start in range(0, len(speech), TARGET_RATE_HZ):  # 20 ms of NaN, inf or -inf every second
        speech[start : start + 320] = (np.nan, np.inf, -np.inf)[start // TARGET_RATE_HZ % 3]
    answer = voice(gateway, LATTE, "nan", sound_file(speech, TARGET_RATE_HZ, subtype="FLOAT"))
    assert answer.status == 200, answer.body
    assert answer.body["intent"]["name"] == "order.add", answer.body["transcript"]


# --- broken and mislabelled ------------------------------------------------------------------


def test_truncated_uploads_are_served_or_refused_cleanly(gateway: Gateway) -> None:
    speech = samples_of(LATTE)
    wav = sound_file(speech, TARGET_RATE_HZ)
    m4a = encode(speech, TARGET_RATE_HZ, "ipod", "aac")  # the index (moov) is at the end
    mp3 = encode(speech, TARGET_RATE_HZ, "mp3", "libmp3lame")
    webm = encode(speech, TARGET_RATE_HZ, "webm", "libopus")
    assert is_error(voice(gateway, LATTE, "cut-m4a", m4a[: len(m4a) // 2], "audio/mp4"), 400, "audio_corrupt")
    assert is_error(voice(gateway, LATTE, "cut-head", wav[:30]), 400, "audio_corrupt", "audio_empty")
    for name, data in (("wav", wav), ("mp3", mp3), ("webm", webm)):
        answer = voice(gateway, LATTE, f"cut-{name}", data[: len(data) * 3 // 5])
        assert answer.status == 200, (name, answer.body)  # what is there is heard
        assert answer.body["status"] in ("ok", "no_speech", "not_understood", "needs_clarification"), name


@pytest.mark.parametrize(
    ("container", "codec", "label"),
    [("ipod", "aac", "audio/wav"), ("webm", "libopus", "application/json"), ("mp3", "libmp3lame", "audio/mp4"),
     ("wav", None, "image/png"), ("ipod", "aac", "application/octet-stream")],
)
def test_mislabelled_uploads_are_decoded_by_what_they_are(gateway: Gateway, container, codec, label) -> None:
    speech = samples_of(LATTE)
    data = sound_file(speech, TARGET_RATE_HZ) if codec is None else encode(speech, TARGET_RATE_HZ, container, codec)
    answer = voice(gateway, LATTE, f"label-{container}-{label.replace('/', '_')}", data, label)
    assert answer.status == 200, answer.body
    assert ("latte", 1) in order_lines(answer), answer.body["transcript"]


def test_not_audio_is_refused_whatever_its_label(gateway: Gateway) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(2_000)
    assert is_error(voice(gateway, LATTE, "png", png, "audio/wav"), 415, "audio_unsupported")
    playlist = b"#EXTM3U\n#EXTINF:10,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n"
    assert is_error(voice(gateway, LATTE, "m3u", playlist, "audio/mpeg"), 415, "audio_unsupported")


def test_a_language_whisper_does_not_know_is_a_400_not_a_500(gateway: Gateway) -> None:
    data = sound_file(samples_of(LATTE), TARGET_RATE_HZ)
    answer = gateway.post("/v1/voice/orders?store=coffee-en&session=zz&lang=zz", data, "audio/wav")
    assert is_error(answer, 400, "invalid_lang"), answer.body
    assert gateway.post("/v1/voice/orders?store=coffee-en&session=haw&lang=haw", data, "audio/wav").status == 200


# --- one order per idempotency key, however the retries race -----------------------------------


@pytest.mark.parametrize("retries", [8])
def test_concurrent_retries_of_one_confirm_store_one_order(gateway: Gateway, retries: int) -> None:
    session, key = "race-1", "race-key-1"
    added = gateway.post_json("/v1/text/orders", {"store": "cafe-ko", "session": session, "text": "아이스 아메리카노 두 잔"})
    assert added.status == 200 and added.body["cart"]["lines"], added.body
    confirm = {"store": "cafe-ko", "session": session, "text": "주문 완료"}
    with ThreadPoolExecutor(max_workers=retries) as pool:
        answers = list(pool.map(lambda _: gateway.post_json("/v1/text/orders", confirm, {"Idempotency-Key": key}), range(retries)))
    assert all(a.status == 200 for a in answers), [a.body for a in answers]
    order_ids = {a.body["order_id"] for a in answers}
    assert len(order_ids) == 1 and None not in order_ids, order_ids
    rows = gateway.query("SELECT id, session FROM orders WHERE idempotency_key = ?",
                         scoped_idempotency_key("cafe-ko", session, key))
    assert [(r["id"], r["session"]) for r in rows] == [(order_ids.pop(), session)]
    lines = gateway.query("SELECT item_id, quantity FROM order_lines WHERE order_id = ?", rows[0]["id"])
    assert [(l["item_id"], l["quantity"]) for l in lines] == [("americano", 2)]
    # A late retry, after the customer has spoken a new item, still names that order and orders
    # nothing more.
    spoken = voice(gateway, AMERICANO, session, (FIXTURES / AMERICANO["audio"]).read_bytes())
    assert spoken.status == 200
    again = gateway.post_json("/v1/text/orders", confirm, {"Idempotency-Key": key})
    assert again.body["order_id"] == rows[0]["id"]
    assert len(gateway.query("SELECT id FROM orders WHERE session = ?", session)) == 1


def test_no_order_is_half_written(gateway: Gateway) -> None:
    """Run last in this file: whatever came before, every order has its lines and vice versa."""
    assert gateway.query("SELECT id FROM orders WHERE id NOT IN (SELECT order_id FROM order_lines)") == []
    assert gateway.query("SELECT order_id FROM order_lines WHERE order_id NOT IN (SELECT id FROM orders)") == []
    assert gateway.get("/healthz").status == 200


# --- a 7.1 upload (PyAV's planar to_ndarray once segfaulted on 8+ channels) -----------------------


def test_a_7_1_upload_is_served_and_the_server_lives_on(tmp_path: Path) -> None:
    speech = samples_of(LATTE)
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="ipod") as out:
        stream = out.add_stream("aac", rate=TARGET_RATE_HZ)
        stream.layout = "7.1"
        frame = av.AudioFrame.from_ndarray(np.repeat(speech, 8)[None, :], format="flt", layout="7.1")
        frame.sample_rate, frame.pts, frame.time_base = TARGET_RATE_HZ, 0, Fraction(1, TARGET_RATE_HZ)
        convert = av.AudioResampler(format=stream.format.name, layout="7.1", rate=TARGET_RATE_HZ)
        for converted in [*convert.resample(frame), *convert.resample(None)]:
            out.mux(stream.encode(converted))
        out.mux(stream.encode(None))
    with running_gateway(tmp_path) as own:  # its own server: this one may die
        try:
            answer = own.post("/v1/voice/orders?store=coffee-en&session=surround", buffer.getvalue(), "audio/mp4")
        except OSError as err:
            pytest.fail(f"the server dropped the connection: {err}")
        assert answer.status == 200
        assert own.get("/healthz").status == 200
