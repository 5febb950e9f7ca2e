"""``POST /kakao/skill``: text chat from Kakao i Open Builder, within its 5-second skill limit.

A turn that finishes within ``kakao.reply_within_s`` is answered directly. One that does not:

- when the request carries ``userRequest.callbackUrl`` (Open Builder's callback option: valid
  once, for one minute), the answer is ``useCallback: true`` with a short "one moment", and the
  full skill response is posted to that URL when the turn is done;
- without it, an honest busy reply that never asks the customer to say it again: the turn goes
  on and may change the cart, and saying it again would order twice. The reply points them to
  their cart instead.

Either way the turn runs to its end on its own task, so a slow turn is never half-applied. A
callback URL comes from the wire, so it must be https on a host ``kakao.callback_hosts`` allows
(plain http only on loopback, for tests): the gateway posts nowhere a caller chooses.
"""

from __future__ import annotations

import asyncio
import fnmatch
import ipaddress
import logging
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from voicegw.backend.skill import SkillRequest, SkillResponse, operator_label
from voicegw.dialogue import replies as R
from voicegw.errors import RequestError, VoicegwError
from voicegw.gateway.inputs import read_json, valid_id
from voicegw.gateway.routes import MAX_TEXT_CHARS, log_turn
from voicegw.gateway.services import SERVICES
from voicegw.pipeline import TurnContext
from voicegw.settings import KakaoSettings
from voicegw.turn import TurnResult

log = logging.getLogger(__name__)

CALLBACK_VALID_S = 60.0
"""Open Builder's callback URL is valid this long after the request."""
CALLBACK_MARGIN_S = 5.0
_KAKAO_LANGS = {"kr": "ko", "ko": "ko", "en": "en"}


class _Background:
    """Turns and callbacks that outlive their request: finished (not cut) at shutdown."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Future] = set()
        self.http: aiohttp.ClientSession | None = None

    def keep(self, task: asyncio.Future) -> None:
        self.tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Future) -> None:
        self.tasks.discard(task)
        # A turn answered "busy" fails with nobody waiting for it: say so in the log.
        err = None if task.cancelled() else task.exception()
        if isinstance(err, VoicegwError):
            log.warning("a kakao turn failed after its answer was sent: %s", err.code)
        elif err is not None:
            log.error("a kakao turn failed after its answer was sent", exc_info=err)


BACKGROUND = web.AppKey("kakao_background", _Background)


def add_kakao_route(app: web.Application) -> None:
    app[BACKGROUND] = _Background()
    app.router.add_post("/kakao/skill", kakao_skill)
    app.cleanup_ctx.append(_background_ctx)


async def _background_ctx(app: web.Application) -> AsyncIterator[None]:
    background = app[BACKGROUND]
    background.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
    yield
    if background.tasks:  # let the turns in flight finish and their callbacks go out
        await asyncio.wait(background.tasks, timeout=CALLBACK_VALID_S)
    await background.http.close()


async def kakao_skill(request: web.Request) -> web.Response:
    """Text chat from Open Builder: the same understanding and dialogue, answered as a skill response."""
    started = time.monotonic()
    services = request.app[SERVICES]
    skill = await read_json(request, SkillRequest)
    store = valid_id(request.query.get("store") or skill.bot.id, "store")
    ctx = TurnContext(
        store=store,
        session=valid_id(skill.user_request.user.id, "session"),
        language=_KAKAO_LANGS.get((skill.user_request.lang or "").lower()),
    )
    callback = callback_url(skill, services.settings.kakao)
    pipeline = services.pipeline
    assert pipeline is not None, "the pipeline is built in the app's startup"
    language = ctx.language or pipeline.menu_for(store).language
    utterance = skill.user_request.utterance.strip()[:MAX_TEXT_CHARS]
    turn = asyncio.ensure_future(_turn(request, utterance or " ", ctx))
    request.app[BACKGROUND].keep(turn)
    done, _ = await asyncio.wait({turn}, timeout=services.settings.kakao.reply_within_s)
    if done:
        return web.json_response(skill_response(turn.result()).to_wire())
    if callback is None:
        log.warning("a kakao turn for %s took longer than %.1f s; answered busy", store, services.settings.kakao.reply_within_s)
        busy = SkillResponse.simple(R.text("busy", language), R.quick_replies("help", language))
        return web.json_response(busy.to_wire())
    request.app[BACKGROUND].keep(asyncio.create_task(_call_back(request.app, turn, callback, language, started)))
    return web.json_response({"version": "2.0", "useCallback": True, "data": {"text": R.text("wait", language)}})


async def _turn(request: web.Request, utterance: str, ctx: TurnContext) -> TurnResult:
    pipeline = request.app[SERVICES].pipeline
    assert pipeline is not None
    result = await pipeline.text_turn(utterance, ctx)
    await log_turn(request, result, "kakao")
    return result


def skill_response(result: TurnResult) -> SkillResponse:
    """The whole turn result rides in ``data``: a Kakao client sees what a voice client sees."""
    response = SkillResponse.simple(result.reply.text, result.reply.quick_replies, data=result.to_json())
    if result.handoff:
        response = response.with_operator_button(operator_label(result.language))
    return response


async def _call_back(app: web.Application, turn: asyncio.Future, url: str, language: str, started: float) -> None:
    """Post the turn's response (or an apology, if it failed) to Open Builder's callback URL."""
    try:
        body = skill_response(await turn).to_wire()
    except Exception:  # logged by _Background when the turn's task ended
        body = SkillResponse.simple(R.text("turn_failed", language), R.quick_replies("staff", language)).to_wire()
    metrics = app[SERVICES].metrics
    if time.monotonic() - started > CALLBACK_VALID_S - CALLBACK_MARGIN_S:
        log.warning("a kakao turn finished after its callback URL expired; nothing sent")
        metrics.kakao_callbacks.labels("expired").inc()
        return
    http = app[BACKGROUND].http
    assert http is not None
    try:
        async with http.post(url, json=body) as answer:
            if answer.status >= 400:
                raise aiohttp.ClientResponseError(answer.request_info, (), status=answer.status)
        metrics.kakao_callbacks.labels("sent").inc()
    except (aiohttp.ClientError, asyncio.TimeoutError) as err:
        log.warning("posting a kakao callback failed: %s", type(err).__name__)
        metrics.kakao_callbacks.labels("failed").inc()


def callback_url(skill: SkillRequest, settings: KakaoSettings) -> str | None:
    """The request's callback URL, when it names a place the gateway may post to; else a 400."""
    raw = (skill.user_request.model_extra or {}).get("callbackUrl")
    if raw in (None, ""):
        return None
    parts = urlsplit(str(raw)) if isinstance(raw, str) else None
    host = (parts.hostname or "") if parts else ""
    loopback = _is_loopback(host)
    if (parts is None or parts.scheme not in ("https", "http") or (parts.scheme == "http" and not loopback)
            or not any(fnmatch.fnmatch(host, pattern) for pattern in settings.callback_hosts)):
        raise RequestError("bad_callback_url", "userRequest.callbackUrl must be https on a host kakao.callback_hosts allows")
    return str(raw)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
