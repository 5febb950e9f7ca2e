"""``voicegw stream FILE --store ID``: play an audio file into the streaming route, in real time or
faster, and hand each message the gateway sends to a callback (the command prints them).

The file is decoded to 16 kHz PCM16 here and sent in ``CHUNK_MS`` messages at the pace of
speech; after the last one the client sends ``{"type": "close"}`` and reads on until the gateway
has answered every utterance and closed the stream.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

import aiohttp
import numpy as np

from voicegw.audio.decode import decode_audio
from voicegw.audio.limits import AudioLimits
from voicegw.audio.pcm import TARGET_RATE_HZ, Pcm

CHUNK_MS = 100
MAX_FILE_S = 3600.0


@dataclass(frozen=True)
class StreamPlan:
    url: str
    """The gateway's base URL, e.g. ``http://127.0.0.1:8080``."""
    store: str
    session: str | None = None
    lang: str | None = None
    speed: float = 1.0
    """1.0 plays in real time; a gateway lets only ``qa`` and ``admin`` keys go faster."""
    api_key: str | None = None
    partials: bool | None = None
    tail_silence_ms: int = 0
    """Silence played after the file (lets end-pointing, not the end of the file, close the last utterance)."""


@dataclass
class Received:
    """A message from the gateway and when it came, in seconds since the first audio was sent."""

    message: dict
    at_s: float


@dataclass
class StreamRun:
    messages: list[Received] = field(default_factory=list)
    close_code: int | None = None


def load_pcm(path, max_s: float = MAX_FILE_S) -> Pcm:
    return decode_audio(path.read_bytes(), AudioLimits(max_bytes=1 << 31, max_duration_s=max_s))


def stream_url(plan: StreamPlan) -> str:
    query = {"store": plan.store, "format": "pcm16", "rate": str(TARGET_RATE_HZ)}
    if plan.session:
        query["session"] = plan.session
    if plan.lang:
        query["lang"] = plan.lang
    if plan.partials is not None:
        query["partials"] = "true" if plan.partials else "false"
    base = plan.url.rstrip("/").replace("http://", "ws://", 1).replace("https://", "wss://", 1)
    return f"{base}/v1/voice/stream?{urlencode(query)}"


async def play(plan: StreamPlan, pcm: Pcm, on_message: Callable[[Received], None] = lambda _: None) -> StreamRun:
    """Stream ``pcm`` and collect every message until the gateway closes the stream."""
    samples = np.concatenate([pcm.samples, np.zeros(plan.tail_silence_ms * TARGET_RATE_HZ // 1000, dtype=np.float32)])
    audio = Pcm(samples).to_int16_bytes()
    chunk = 2 * TARGET_RATE_HZ * CHUNK_MS // 1000
    run = StreamRun()
    headers = {"Authorization": f"Bearer {plan.api_key}"} if plan.api_key else {}
    async with aiohttp.ClientSession() as http, http.ws_connect(stream_url(plan), headers=headers, heartbeat=20.0) as ws:
        started = time.monotonic()

        async def send() -> None:
            for offset in range(0, len(audio), chunk):
                due = started + (offset / 2 / TARGET_RATE_HZ) / plan.speed
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                await ws.send_bytes(audio[offset : offset + chunk])
            await ws.send_str(json.dumps({"type": "close"}))

        sender = asyncio.create_task(send())
        try:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                received = Received(json.loads(msg.data), time.monotonic() - started)
                run.messages.append(received)
                on_message(received)
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
        run.close_code = ws.close_code
    return run
