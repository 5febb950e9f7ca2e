"""Where eval clips go: the pipeline in this process, or a running gateway over HTTP."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import aiohttp

from voicegw.errors import VoicegwError
from voicegw.pipeline import Pipeline, TurnContext
from voicegw.qa.manifest import ManifestClip
from voicegw.qa.runner import elapsed_ms, error_outcome
from voicegw.qa.scoring import ClipOutcome


class PipelineSender:
    """The same pipeline ``voicegw serve`` runs, called directly (no HTTP in the measurement)."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    async def send(self, clip: ManifestClip, audio: bytes, session: str) -> ClipOutcome:
        started = time.perf_counter()
        try:
            result = await self.pipeline.voice_turn(audio, TurnContext(store=clip.store, session=session, language=clip.lang))
        except VoicegwError as err:
            return error_outcome(err, elapsed_ms(started))
        return ClipOutcome.from_turn_result(result.to_json(), latency_ms=elapsed_ms(started))


def api_key_headers(api_key: str | None) -> dict[str, str]:
    """The header a keyed gateway wants (``voicegw keys create``); none in development mode."""
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


class HttpSender:
    """A black-box client of a running gateway's ``POST /v1/voice/orders``."""

    def __init__(self, base_url: str, timeout_s: float = 120.0, api_key: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = api_key_headers(api_key)
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> HttpSender:
        self._session = aiohttp.ClientSession(timeout=self.timeout, headers=self.headers)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(self, clip: ManifestClip, audio: bytes, session: str) -> ClipOutcome:
        assert self._session is not None, "use HttpSender as an async context manager"
        query = urlencode({"store": clip.store, "session": session, "lang": clip.lang})
        started = time.perf_counter()
        try:
            async with self._session.post(
                f"{self.base_url}/v1/voice/orders?{query}", data=audio, headers={"Content-Type": "audio/wav"}
            ) as response:
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            return ClipOutcome(status="error", error=f"http_{type(err).__name__}", latency_ms=elapsed_ms(started))
        return ClipOutcome.from_turn_result(body, latency_ms=elapsed_ms(started))
