"""The streaming route through the real app and a real WebSocket; only the recogniser is scripted.

Real speech (an espeak-ng fixture) goes in, so webrtcvad and the end-pointer work on real audio;
the scripted recogniser says what a customer said, so these tests are about the route: messages
and their order, refusals before the upgrade, keys and tokens, and every limit of a stream.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import numpy as np
import pytest
from aiohttp import WSMsgType

from voicegw.asr.engine import TranscribeOptions, Transcript
from voicegw.audio.decode import decode_audio
from voicegw.audio.limits import AudioLimits
from voicegw.gateway.app import create_app
from voicegw.gateway.keys import KeyStore
from voicegw.settings import AuthSettings, Settings, StreamSettings

from tests.unit.app_support import ready_client

ROOT = Path(__file__).resolve().parents[2]
CLIP = ROOT / "audio_fixtures/ko/cafe_americano_ice_2.wav"
SAID = "아이스 아메리카노 두 잔 주세요"


class SaysTheOrder:
    """Whatever it hears, the customer asked for two iced americanos."""

    def __init__(self) -> None:
        self.calls: list[TranscribeOptions] = []
        self.heard_s: list[float] = []

    def transcribe(self, samples: np.ndarray, options: TranscribeOptions) -> Transcript:
        self.calls.append(options)
        self.heard_s.append(len(samples) / 16_000)
        return Transcript(text=SAID, language="ko", confidence=0.9)

    def full_readings_s(self) -> list[float]:
        """The audio of each reading made for a turn (not for a partial transcript)."""
        return [s for s, call in zip(self.heard_s, self.calls) if call.beam_size > 1]


def speech() -> np.ndarray:
    return decode_audio(CLIP.read_bytes(), AudioLimits()).samples


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(16_000 * seconds), np.float32)


def pcm16(seconds_of_silence_after: float = 1.0, repeat: int = 1) -> bytes:
    samples = np.concatenate([silence(0.5), *([speech(), silence(seconds_of_silence_after)] * repeat)])
    return (samples * 32767).astype("<i2").tobytes()


def settings_for(tmp_path: Path, **stream) -> Settings:
    return Settings.load(data_dir=tmp_path, menus_dir=ROOT / "menus", stream=StreamSettings(**stream))


async def gateway(aiohttp_client, tmp_path: Path, **stream):
    recogniser = SaysTheOrder()
    client = await ready_client(aiohttp_client, create_app(settings_for(tmp_path, **stream), transcriber=recogniser))
    return client, recogniser


async def send_audio(ws, audio: bytes, chunk: int = 3200) -> None:
    for offset in range(0, len(audio), chunk):
        await ws.send_bytes(audio[offset : offset + chunk])


async def messages_until_closed(ws) -> list[dict]:
    out = []
    async for msg in ws:
        if msg.type != WSMsgType.TEXT:
            break
        out.append(json.loads(msg.data))
    return out


async def test_an_utterance_becomes_a_turn_with_its_events_in_order(aiohttp_client, tmp_path: Path) -> None:
    client, _ = await gateway(aiohttp_client, tmp_path)
    async with client.ws_connect("/v1/voice/stream?store=cafe-ko&session=drive-1") as ws:
        ready = await ws.receive_json()
        assert ready["type"] == "ready" and ready["session"] == "drive-1" and ready["silence_ms"] == 700
        await send_audio(ws, pcm16())
        await ws.send_str(json.dumps({"type": "close"}))
        got = await messages_until_closed(ws)
    kinds = [m["type"] for m in got if m["type"] != "partial"]
    assert kinds == ["speech_started", "speech_stopped", "turn"]
    started, stopped, turn = (m for m in got if m["type"] != "partial")
    assert 500 <= started["at_ms"] < stopped["at_ms"] and stopped["reason"] == "silence"  # after the 0.5 s lead-in
    result = turn["result"]
    assert result["status"] == "ok" and result["session"] == "drive-1"
    assert [(line["item_id"], line["quantity"]) for line in result["lines"]] == [("americano", 2)]
    assert ws.close_code == 1000


async def test_an_utterance_is_read_once_when_the_early_reading_holds(aiohttp_client, tmp_path: Path) -> None:
    client, recogniser = await gateway(aiohttp_client, tmp_path)
    async with client.ws_connect("/v1/voice/stream?store=cafe-ko&partials=false") as ws:
        await ws.receive_json()
        await send_audio(ws, pcm16())
        await ws.send_str(json.dumps({"type": "close"}))
        assert [m["type"] for m in await messages_until_closed(ws)][-1] == "turn"
    assert len(recogniser.full_readings_s()) == 1


async def test_an_early_reading_is_dropped_when_the_customer_goes_on(aiohttp_client, tmp_path: Path) -> None:
    client, recogniser = await gateway(aiohttp_client, tmp_path)
    said = speech()
    loud = np.flatnonzero(np.abs(said) > 0.02)
    said = said[loud[0] : loud[-1] + 1]  # the clip's own lead-in and tail of silence cut
    audio = np.concatenate([silence(0.5), said, silence(0.55), said, silence(1.0)])  # a pause mid-sentence
    async with client.ws_connect("/v1/voice/stream?store=cafe-ko&partials=false") as ws:
        await ws.receive_json()
        for offset in range(0, len(audio), 1600):  # 100 ms messages, twice real time
            await ws.send_bytes((audio[offset : offset + 1600] * 32767).astype("<i2").tobytes())
            await asyncio.sleep(0.05)
        await ws.send_str(json.dumps({"type": "close"}))
        turns = [m for m in await messages_until_closed(ws) if m["type"] == "turn"]
    assert len(turns) == 1
    readings = recogniser.full_readings_s()
    assert len(readings) == 2, readings
    assert readings[0] < len(said) / 16_000 + 1.0 < readings[-1]  # the early reading heard half; the turn's, all
    assert readings[-1] >= 2 * len(said) / 16_000


async def test_the_stream_keeps_listening_after_a_turn(aiohttp_client, tmp_path: Path) -> None:
    client, _ = await gateway(aiohttp_client, tmp_path)
    async with client.ws_connect("/v1/voice/stream?store=cafe-ko&session=drive-2&partials=false") as ws:
        await ws.receive_json()
        await send_audio(ws, pcm16(repeat=2))
        await ws.send_str(json.dumps({"type": "close"}))
        got = await messages_until_closed(ws)
    turns = [m["result"] for m in got if m["type"] == "turn"]
    assert len(turns) == 2
    assert turns[-1]["cart"]["lines"][0]["quantity"] == 4  # one cart, both turns
    assert not any(m["type"] == "partial" for m in got)


async def test_the_client_may_end_an_utterance_itself(aiohttp_client, tmp_path: Path) -> None:
    client, _ = await gateway(aiohttp_client, tmp_path)
    async with client.ws_connect("/v1/voice/stream?store=cafe-ko&partials=false") as ws:
        await ws.receive_json()
        await ws.send_str(json.dumps({"type": "stop"}))  # nothing said yet
        assert (await ws.receive_json())["type"] == "no_speech"
        await send_audio(ws, pcm16(seconds_of_silence_after=0.0))
        await ws.send_str(json.dumps({"type": "stop"}))
        stopped = await ws.receive_json()
        while stopped["type"] == "speech_started":
            stopped = await ws.receive_json()
        assert stopped["type"] == "speech_stopped" and stopped["reason"] == "client"
        assert (await ws.receive_json())["type"] == "turn"
        await ws.send_str("what")
        assert (await ws.receive_json())["code"] == "invalid_message"


async def test_partials_are_quick_readings_of_the_utterance_so_far(aiohttp_client, tmp_path: Path) -> None:
    client, recogniser = await gateway(aiohttp_client, tmp_path)
    async with client.ws_connect("/v1/voice/stream?store=cafe-ko") as ws:
        await ws.receive_json()
        audio = pcm16()
        for offset in range(0, len(audio), 3200):  # 100 ms messages, a little faster than real time
            await ws.send_bytes(audio[offset : offset + 3200])
            await asyncio.sleep(0.02)
        await ws.send_str(json.dumps({"type": "close"}))
        got = await messages_until_closed(ws)
    partials = [m for m in got if m["type"] == "partial"]
    assert partials and partials[0]["text"] == SAID
    order = [m["type"] for m in got]
    assert order.index("speech_started") < order.index("partial") < order.index("speech_stopped")
    quick = [call for call in recogniser.calls if call.beam_size == 1]
    assert quick and all(call.readings == 1 and call.grammar == () for call in quick)


@pytest.mark.parametrize("query, status, code", [
    ("store=nowhere", 404, "unknown_store"),
    ("store=cafe-ko&format=mp3", 415, "audio_unsupported"),
    ("store=cafe-ko&rate=44100", 400, "invalid_rate"),
    ("store=cafe-ko&partials=maybe", 400, "invalid_partials"),
    ("store=cafe-ko", 426, "websocket_required"),
])
async def test_what_can_be_refused_is_refused_before_the_upgrade(aiohttp_client, tmp_path: Path, query, status, code) -> None:
    client, _ = await gateway(aiohttp_client, tmp_path)
    answer = await client.get(f"/v1/voice/stream?{query}")  # a plain GET: the same checks, a JSON answer
    assert answer.status == status and (await answer.json())["error"]["code"] == code


async def test_keys_in_the_header_or_a_single_use_token_for_browsers(aiohttp_client, tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    keys = KeyStore(settings.database_path)
    kiosk = keys.create("kiosk-1", "kiosk")[1]
    client = await ready_client(aiohttp_client, create_app(settings, transcriber=SaysTheOrder()))
    refused = await client.get("/v1/voice/stream?store=cafe-ko")
    assert refused.status == 401

    async with client.ws_connect("/v1/voice/stream?store=cafe-ko", headers={"Authorization": f"Bearer {kiosk}"}) as ws:
        assert (await ws.receive_json())["type"] == "ready"

    issued = await client.post("/v1/voice/stream/token?store=cafe-ko", headers={"Authorization": f"Bearer {kiosk}"})
    token = (await issued.json())["token"]
    async with client.ws_connect(f"/v1/voice/stream?store=cafe-ko&token={token}") as ws:
        assert (await ws.receive_json())["type"] == "ready"
    again = await client.get(f"/v1/voice/stream?store=cafe-ko&token={token}")
    assert again.status == 401 and (await again.json())["error"]["code"] == "token_used"
    fresh = (await (await client.post("/v1/voice/stream/token?store=cafe-ko",
                                      headers={"Authorization": f"Bearer {kiosk}"})).json())["token"]
    elsewhere = await client.get(f"/v1/voice/stream?store=burger-ko&token={fresh}")
    assert elsewhere.status == 403


async def test_a_kiosk_key_sending_faster_than_real_time_is_slowed(aiohttp_client, tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    kiosk = KeyStore(settings.database_path).create("kiosk-1", "kiosk")[1]
    client = await ready_client(aiohttp_client, create_app(settings, transcriber=SaysTheOrder()))
    audio = pcm16(seconds_of_silence_after=3.0)  # about 6 s of audio
    async with client.ws_connect("/v1/voice/stream?store=cafe-ko&partials=false",
                                 headers={"Authorization": f"Bearer {kiosk}"}) as ws:
        await ws.receive_json()
        began = time.monotonic()
        await send_audio(ws, audio, chunk=32_000)  # a second of audio per message, all at once
        await ws.send_str(json.dumps({"type": "close"}))
        await messages_until_closed(ws)
        took = time.monotonic() - began
    audio_s = len(audio) / 32_000
    assert took >= audio_s - 2.0 - 1.0 - 0.5  # real time, less the 2 s burst and the last message


async def test_an_idle_stream_is_closed(aiohttp_client, tmp_path: Path) -> None:
    client, _ = await gateway(aiohttp_client, tmp_path, idle_timeout_s=0.3)
    async with client.ws_connect("/v1/voice/stream?store=cafe-ko") as ws:
        await ws.receive_json()
        got = await messages_until_closed(ws)
    assert got[-1]["code"] == "idle_timeout" and ws.close_code == 1000


async def test_a_stream_longer_than_its_cap_is_closed(aiohttp_client, tmp_path: Path) -> None:
    client, _ = await gateway(aiohttp_client, tmp_path, max_stream_s=1.0)
    async with client.ws_connect("/v1/voice/stream?store=cafe-ko&partials=false") as ws:
        await ws.receive_json()
        await send_audio(ws, bytes(32_000 * 3))
        got = await messages_until_closed(ws)
    assert got[-1]["code"] == "stream_too_long" and ws.close_code == 1008


async def test_garbage_in_a_webm_stream_ends_it_with_a_reason(aiohttp_client, tmp_path: Path) -> None:
    client, _ = await gateway(aiohttp_client, tmp_path)
    async with client.ws_connect("/v1/voice/stream?store=cafe-ko&format=webm") as ws:
        await ws.receive_json()
        for _ in range(20):
            await ws.send_bytes(b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 8)
            await asyncio.sleep(0.05)
            if ws.closed:
                break
        got = await messages_until_closed(ws)
    assert got and got[-1]["type"] == "error" and got[-1]["code"] in ("audio_corrupt", "audio_unsupported")
    assert ws.close_code == 1003


async def test_a_message_over_the_size_limit_closes_the_stream(aiohttp_client, tmp_path: Path) -> None:
    client, _ = await gateway(aiohttp_client, tmp_path)
    async with client.ws_connect("/v1/voice/stream?store=cafe-ko") as ws:
        await ws.receive_json()
        await ws.send_bytes(bytes(300 * 1024))
        await messages_until_closed(ws)
    assert ws.close_code == 1009


async def test_a_client_that_hangs_up_mid_utterance_leaves_nothing_running(aiohttp_client, tmp_path: Path, caplog) -> None:
    client, recogniser = await gateway(aiohttp_client, tmp_path)
    for _ in range(3):
        ws = await client.ws_connect("/v1/voice/stream?store=cafe-ko")
        await ws.receive_json()
        await send_audio(ws, pcm16(seconds_of_silence_after=0.0)[: 32_000 * 2])  # 2 s: mid-sentence
        await ws.close()  # no {"type": "close"}: the customer walked away
    await asyncio.sleep(0.5)
    async with client.ws_connect("/v1/voice/stream?store=cafe-ko&partials=false") as ws:  # the gateway still streams
        await ws.receive_json()
        await send_audio(ws, pcm16())
        await ws.send_str(json.dumps({"type": "close"}))
        assert [m["type"] for m in await messages_until_closed(ws)][-1] == "turn"
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


async def test_each_utterance_counts_against_the_keys_rate_limit(aiohttp_client, tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path, menus_dir=ROOT / "menus", auth=AuthSettings(rate_per_minute=1, rate_burst=2))
    kiosk = KeyStore(settings.database_path).create("kiosk-1", "kiosk")[1]
    client = await ready_client(aiohttp_client, create_app(settings, transcriber=SaysTheOrder()))
    async with client.ws_connect("/v1/voice/stream?store=cafe-ko&partials=false",  # the upgrade: one request
                                 headers={"Authorization": f"Bearer {kiosk}"}) as ws:
        await ws.receive_json()
        await send_audio(ws, pcm16(repeat=2))
        await ws.send_str(json.dumps({"type": "close"}))
        got = [m for m in await messages_until_closed(ws) if m["type"] in ("turn", "error")]
    assert [m["type"] for m in got] == ["turn", "error"] and got[1]["code"] == "rate_limited"
