"""The stream session alone: a scripted pipeline, and "speech" that is any non-zero frame."""

from __future__ import annotations

import asyncio

import numpy as np

from voicegw.asr.pool import Saturated
from voicegw.audio.endpoint import EndpointOptions
from voicegw.pipeline import TurnContext
from voicegw.stream_session import StreamOptions, StreamSession
from voicegw.turn import TurnResult

CTX = TurnContext(store="cafe-ko", session="s-1")


def loud(frame: bytes, rate: int) -> bool:
    return any(frame)


class BusyThenFree:
    """A recogniser that is too busy for the early reading and for the first try of the turn."""

    def __init__(self, busy_tries: int) -> None:
        self.busy_tries = busy_tries
        self.turn_tries = 0

    async def transcribe_pcm_for_store(self, pcm, ctx, timings, *, partial=False):
        raise Saturated(retry_after_s=1)

    async def voice_turn_pcm(self, pcm, ctx, timings=None, started=None) -> TurnResult:
        self.turn_tries += 1
        if self.turn_tries <= self.busy_tries:
            raise Saturated(retry_after_s=1)
        return TurnResult(status="ok", session=ctx.session, store=ctx.store, language="ko", transcript="네")


def utterance() -> np.ndarray:
    return np.concatenate([np.zeros(8000), np.full(16_000, 0.3), np.zeros(16_000)]).astype(np.float32)


async def run_session(pipeline) -> list[dict]:
    session = StreamSession(pipeline, CTX, StreamOptions(EndpointOptions(), partials=False), loud)
    session.add_samples(utterance())
    await session.finish()
    out = []
    while not session.outbox.empty():
        out.append(session.outbox.get_nowait())
    return out


async def test_an_utterance_waits_for_a_busy_recogniser_instead_of_being_lost(monkeypatch) -> None:
    monkeypatch.setattr(asyncio, "sleep", _no_wait(asyncio.sleep))
    pipeline = BusyThenFree(busy_tries=2)
    messages = await run_session(pipeline)
    assert [m["type"] for m in messages] == ["speech_started", "speech_stopped", "turn"]
    assert pipeline.turn_tries == 3


async def test_a_recogniser_busy_for_too_long_is_reported(monkeypatch) -> None:
    monkeypatch.setattr(asyncio, "sleep", _no_wait(asyncio.sleep))
    messages = await run_session(BusyThenFree(busy_tries=100))
    assert messages[-1]["type"] == "error" and messages[-1]["code"] == "saturated"


def _no_wait(sleep):
    async def quick(seconds, *args):
        await sleep(0)

    return quick


class Slow:
    """A recogniser that takes its time: utterances pile up behind it."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.heard = 0

    async def voice_turn_pcm(self, pcm, ctx, timings=None, started=None) -> TurnResult:
        await self.release.wait()
        self.heard += 1
        return TurnResult(status="no_speech", session=ctx.session, store=ctx.store, language="ko")


async def test_a_stream_the_recogniser_falls_behind_drops_its_oldest_waiting_utterance() -> None:
    pipeline = Slow()
    session = StreamSession(pipeline, CTX, StreamOptions(EndpointOptions(), partials=False), loud)
    for _ in range(5):  # five utterances while the first is still being read
        session.add_samples(utterance())
        await asyncio.sleep(0)
    pipeline.release.set()
    await session.finish()
    messages = []
    while not session.outbox.empty():
        messages.append(session.outbox.get_nowait())
    dropped = [m for m in messages if m.get("code") == "stream_backlog"]
    assert len(dropped) == 2 and pipeline.heard == 3  # one being read, two waiting: the rest answered with an error
    assert [m["at_ms"] for m in dropped] == sorted(m["at_ms"] for m in dropped)  # the oldest went first
