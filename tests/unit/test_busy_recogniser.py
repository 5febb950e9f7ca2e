"""A busy recogniser against clients that hang up and clients that flood it.

Before: 17 clips whose clients hung up after 0.3 s were all transcribed and all changed their
carts; the next customer got 503 (Retry-After: 1) and the first answer after the attack took 20 s.
The recogniser here is a stand-in that takes a fixed time per clip; the server, its cancellation of
abandoned requests, VAD, understanding, the skill server and SQLite are real.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import aiohttp
import numpy as np
import pytest
from aiohttp import web

from voicegw.asr.engine import TranscribeOptions, Transcript
from voicegw.gateway.app import create_app
from voicegw.gateway.limits import server_options
from voicegw.settings import AsrSettings, AudioSettings, Settings

ROOT = Path(__file__).resolve().parents[2]
CLIP = (ROOT / "audio_fixtures" / "ko" / "cafe_americano_ice_2.wav").read_bytes()  # 2 s of speech
SECONDS_A_CLIP = 0.4


class SlowTranscriber:
    """Takes SECONDS_A_CLIP per clip, one at a time, and hears an order."""

    def __init__(self) -> None:
        self.heard = 0
        self._lock = threading.Lock()

    def transcribe(self, samples: np.ndarray, options: TranscribeOptions) -> Transcript:
        time.sleep(SECONDS_A_CLIP)
        with self._lock:
            self.heard += 1
        return Transcript(text="아메리카노 한 잔 주세요", language="ko", confidence=0.9)


class Gateway:
    """The gateway served the way ``voicegw serve`` serves it (aiohttp's test server would cancel
    abandoned handlers whatever the production settings say), and a client of it."""

    def __init__(self, settings: Settings, transcriber: SlowTranscriber) -> None:
        self.app = create_app(settings, transcriber=transcriber)
        self.runner = web.AppRunner(self.app, access_log=None, **server_options(settings))
        self.http = aiohttp.ClientSession()
        self.base = ""

    async def start(self) -> Gateway:
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.base = f"http://127.0.0.1:{self.runner.addresses[0][1]}"
        for _ in range(100):
            async with self.http.get(self.base + "/readyz") as ready:
                if ready.status == 200:
                    break
            await asyncio.sleep(0.02)
        return self

    async def order(self, session: str) -> tuple[int, str | None]:
        async with self.http.post(f"{self.base}/v1/voice/orders?store=cafe-ko&session={session}", data=CLIP,
                                  headers={"Content-Type": "audio/wav"}) as resp:
            await resp.read()
            return resp.status, resp.headers.get("Retry-After")

    async def close(self) -> None:
        await self.http.close()
        await self.runner.cleanup()


@pytest.fixture
async def gateway(settings):
    transcriber = SlowTranscriber()
    gw = await Gateway(settings, transcriber).start()
    gw.transcriber = transcriber
    yield gw
    await gw.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.load(data_dir=tmp_path, menus_dir=ROOT / "menus",
                         audio=AudioSettings(max_body_bytes=2 * 1024 * 1024, max_duration_s=20),
                         asr=AsrSettings(workers=1, queue_limit=16, deadline_s=5.0))


async def test_clips_whose_clients_hung_up_are_not_heard_and_change_no_cart(gateway, settings) -> None:
    async def hang_up(n: int) -> None:
        post = asyncio.create_task(gateway.order(f"gone-{n}"))
        done, _ = await asyncio.wait([post], timeout=0.3)
        if done:  # refused at once: the queue could not answer it in time
            assert post.result()[0] == 503
            return
        post.cancel()  # the client closes its connection
        with pytest.raises(asyncio.CancelledError):
            await post

    await asyncio.gather(*(hang_up(n) for n in range(8)))
    started = time.monotonic()
    status, _ = await gateway.order("honest")
    waited = time.monotonic() - started
    assert status == 200
    # Had the abandoned clips been heard, the honest one would wait for all eight (3.2 s) and its own.
    assert waited < 8 * SECONDS_A_CLIP, waited
    await asyncio.sleep(3 * SECONDS_A_CLIP)  # time for anything still queued to be (wrongly) heard
    assert gateway.transcriber.heard <= 2  # at most the abandoned clip that had started, and the honest one
    with sqlite3.connect(settings.database_path) as db:
        carts = db.execute("SELECT session FROM carts").fetchall()
    assert carts == [("honest",)]


async def test_a_flood_is_refused_at_once_with_an_honest_retry_after(gateway, settings) -> None:
    async def order(n: int):
        started = time.monotonic()
        status, retry_after = await gateway.order(f"flood-{n}")
        return status, retry_after, time.monotonic() - started

    answers = await asyncio.gather(*(order(n) for n in range(40)))
    served = [a for a in answers if a[0] == 200]
    refused = [a for a in answers if a[0] == 503]
    assert len(served) + len(refused) == 40 and served and refused
    assert max(wait for _, _, wait in served) <= settings.asr.deadline_s + 1.0  # nobody served waits past it
    assert max(wait for _, _, wait in refused) < 1.0  # a refusal comes at once, not after a wait
    assert max(int(r) for _, r, _ in refused) > 1  # the queue's real need, not always 1 s
