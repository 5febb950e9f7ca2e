"""Replay stories over HTTP against a gateway: each story in a fresh session, its turns in order.

Typed turns go to ``POST /v1/text/orders`` or, ``via: kakao``, to ``POST /kakao/skill`` as an
Open Builder skill request; audio turns post the clip to ``POST /v1/voice/orders``. Stories are
independent sessions, so several run at once (bounded); the turns of one story never overlap.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

from voicegw.backend.skill import SkillBot, SkillRequest, SkillResponse, SkillUser, UserRequest
from voicegw.qa.story_check import check_turn
from voicegw.qa.story_format import LoadedFile, Story, StoryTurn
from voicegw.qa.story_scores import StoryRecord, TurnRecord
from voicegw.settings import Settings

#: Open Builder's ``userRequest.lang`` for each story language.
KAKAO_LANG = {"ko": "kr", "en": "en"}
#: Clip suffix -> the Content-Type the voice route is sent.
AUDIO_TYPES = {".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg", ".mp3": "audio/mpeg",
               ".m4a": "audio/mp4", ".mp4": "audio/mp4", ".webm": "audio/webm"}
#: How often a clip refused by a busy gateway (503 saturated) is sent again after its Retry-After.
SATURATED_RETRIES = 5


def kakao_turn_result(body: dict[str, Any]) -> dict[str, Any]:
    """A ``/kakao/skill`` answer as a turn result: the reply as the chat user sees it (the
    template's text and quick replies), everything else from ``data`` (the gateway puts the turn
    result there).

    Fields ``data`` lacks stay absent, so a check on one fails as "not reported" instead of
    passing against a made-up default (a skill server that only reports status and cart).
    """
    response = SkillResponse.model_validate(body)
    result: dict[str, Any] = dict(response.data or {})
    result["reply"] = {"text": response.text, "quick_replies": response.quick_reply_labels}
    if isinstance(result.get("intent"), str):  # an intent name alone
        result["intent"] = {"name": result["intent"]}
    return result


class StoryClient:
    """Sends story turns to one gateway."""

    def __init__(self, base_url: str, fixtures_dir: Path, http: aiohttp.ClientSession) -> None:
        self.base_url = base_url.rstrip("/")
        self.fixtures_dir = fixtures_dir
        self.http = http

    async def send(self, turn: StoryTurn, route: str, store: str, lang: str, session: str) -> dict[str, Any]:
        """The turn result JSON, or ``{"error": {...}}`` when the gateway refused or failed."""
        try:
            if route == "voice":
                assert turn.audio is not None
                return await self._voice(self.fixtures_dir / turn.audio, store, lang, session)
            assert turn.text is not None
            if route == "kakao":
                return await self._kakao(turn.text, store, lang, session)
            return await self._post_json("/v1/text/orders", {"store": store, "session": session, "text": turn.text, "lang": lang})
        except (aiohttp.ClientError, asyncio.TimeoutError) as err:
            return {"error": {"code": f"http_{type(err).__name__}", "message": str(err)}}

    async def _voice(self, clip: Path, store: str, lang: str, session: str) -> dict[str, Any]:
        query = urlencode({"store": store, "session": session, "lang": lang})
        headers = {"Content-Type": AUDIO_TYPES.get(clip.suffix.lower(), "application/octet-stream")}
        for attempt in range(SATURATED_RETRIES + 1):
            async with self.http.post(f"{self.base_url}/v1/voice/orders?{query}", data=clip.read_bytes(), headers=headers) as r:
                body = await _json_or_error(r)
                retry_after = r.headers.get("Retry-After", "1")
            # A busy gateway says when the clip would fit; a replay waits as a kiosk would.
            if body.get("error", {}).get("code") != "saturated" or attempt == SATURATED_RETRIES:
                return body
            await asyncio.sleep(min(float(retry_after) if retry_after.isdigit() else 1.0, 10.0))
        raise AssertionError("unreachable")

    async def _kakao(self, text: str, store: str, lang: str, session: str) -> dict[str, Any]:
        request = SkillRequest(
            user_request=UserRequest(utterance=text, lang=KAKAO_LANG.get(lang, lang), user=SkillUser(id=session)),
            bot=SkillBot(id=store),
        )
        query = urlencode({"store": store})
        async with self.http.post(f"{self.base_url}/kakao/skill?{query}", json=request.to_wire()) as r:
            body = await _json_or_error(r)
        return body if "error" in body else kakao_turn_result(body)

    async def _post_json(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        async with self.http.post(self.base_url + path, json=payload) as r:
            return await _json_or_error(r)


async def _json_or_error(response: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        body = await response.json(content_type=None)
    except ValueError:
        body = None
    if response.status != 200 or not isinstance(body, dict):
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            error = {"code": f"http_{response.status}", "message": (await response.text())[:200]}
        return {"error": {**error, "http_status": response.status}}
    return body


def route_of(turn: StoryTurn, default: str) -> str:
    return "voice" if turn.audio is not None else (turn.via or default)


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    intent = result.get("intent")
    return {
        "status": result.get("status"),
        "intent": intent.get("name") if isinstance(intent, dict) else intent,
        "reason": result.get("reason"),
        "transcript": result.get("transcript"),
        "reply": (result.get("reply") or {}).get("text"),
        **({"error": result["error"]} if "error" in result else {}),
    }


async def replay_story(client: StoryClient, loaded: LoadedFile, story: Story) -> StoryRecord:
    """One story, turn after turn, in a new session."""
    spec = loaded.content
    session = f"story-{uuid.uuid4().hex[:16]}"
    turns: list[TurnRecord] = []
    for number, turn in enumerate(story.turns, start=1):
        route = route_of(turn, spec.via)
        started = time.perf_counter()
        result = await client.send(turn, route, spec.store, spec.lang, session)
        latency_ms = (time.perf_counter() - started) * 1000
        utterance = turn.text if turn.text is not None else str(turn.audio)
        turns.append(TurnRecord(number, utterance, route, check_turn(turn, result), _summary(result), round(latency_ms, 1)))
    return StoryRecord(loaded.path, story.name, spec.store, spec.lang, story.tags, session, tuple(turns),
                       story.known_failure)


async def replay_all(
    client: StoryClient,
    selected: Sequence[tuple[LoadedFile, Story]],
    concurrency: int = 4,
    on_story: Callable[[StoryRecord], None] | None = None,
) -> list[StoryRecord]:
    """Every (file, story), at most ``concurrency`` at a time; results in the order given."""
    gate = asyncio.Semaphore(concurrency)

    async def one(loaded: LoadedFile, story: Story) -> StoryRecord:
        async with gate:
            record = await replay_story(client, loaded, story)
        if on_story is not None:
            on_story(record)
        return record

    return list(await asyncio.gather(*(one(f, s) for f, s in selected)))


def select(files: Sequence[LoadedFile], lang: str | None = None, tags: Sequence[str] = ()) -> list[tuple[LoadedFile, Story]]:
    """The stories of the given language carrying any of the tags (all, when none are given)."""
    return [
        (f, s)
        for f in files
        if lang is None or f.content.lang == lang
        for s in f.content.stories
        if not tags or set(tags) & set(s.tags)
    ]


def needs_model(selected: Sequence[tuple[LoadedFile, Story]]) -> bool:
    return any(t.audio is not None for _, s in selected for t in s.turns)


# --- a gateway in this process -------------------------------------------------------------------


class _NoSpeechModel:
    """The recogniser of a text-only story run: nothing loaded, and a clear error if asked."""

    def transcribe(self, samples: Any, options: Any) -> Any:
        from voicegw.errors import ModelError

        raise ModelError("model_not_loaded", "this story run has no audio turns, so no speech model was loaded")


@contextlib.asynccontextmanager
async def local_gateway(settings: Settings, *, with_model: bool, ready_timeout_s: float = 300) -> AsyncIterator[str]:
    """``voicegw serve``'s app on 127.0.0.1 and a free port, on a throw-away data folder; yields its URL.

    Typed turns need no model, so a text-only run starts at once; with ``with_model`` the
    block starts only when ``/readyz`` says the model is loaded.
    """
    from aiohttp import web

    from voicegw.gateway.app import create_app

    with tempfile.TemporaryDirectory(prefix="voicegw-stories-") as tmp:
        # Every clip of a replay is waited for: it measures understanding, not admission under load.
        throwaway = {"data_dir": Path(tmp), "backend": settings.backend.model_copy(update={"url": None}),
                     "asr": settings.asr.model_copy(update={"deadline_s": None}),
                     "database": settings.database.model_copy(update={"url": None})}  # never database.url's
        local = settings.model_copy(update=throwaway)
        app = create_app(local, transcriber=None if with_model else _NoSpeechModel())
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            url = f"http://127.0.0.1:{runner.addresses[0][1]}"
            if with_model:
                await _wait_ready(url, ready_timeout_s)
            yield url
        finally:
            await runner.cleanup()


async def _wait_ready(url: str, timeout_s: float) -> None:
    from voicegw.errors import ModelError

    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            async with http.get(f"{url}/readyz") as response:
                body = await response.json(content_type=None)
            if response.status == 200:
                return
            if body.get("status") == "failed":
                error = body.get("error") or {}
                raise ModelError(error.get("code", "model_failed"), error.get("message", "the speech model failed to load"))
            await asyncio.sleep(0.3)
    raise ModelError("model_loading", f"the speech model was not ready within {timeout_s:g} s")
