"""HTTP routes: each parses its input, calls one pipeline function, serialises the answer."""

from __future__ import annotations

import asyncio

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from voicegw.errors import BackendError, RequestError
from voicegw.gateway.admin_routes import PRIVACY
from voicegw.gateway.inputs import (
    new_session_id,
    read_audio_upload,
    read_json,
    valid_id,
    valid_language,
)
from voicegw.gateway.services import SERVICES, Services
from voicegw.pipeline import AUTO, Pipeline, TurnContext, request_digest
from voicegw.privacy.retention import maybe_retain_audio
from voicegw.turn import TurnResult

MAX_TEXT_CHARS = 1000


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/voice/orders", voice_order)
    app.router.add_post("/v1/text/orders", text_order)
    app.router.add_post("/v1/audio/transcriptions", transcription)
    app.router.add_get("/v1/faq", faq_entries)
    app.router.add_put("/v1/faq", faq_entries)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)


def _services(request: web.Request) -> Services:
    return request.app[SERVICES]


def _pipeline(request: web.Request) -> Pipeline:
    pipeline = _services(request).pipeline
    assert pipeline is not None, "the pipeline is built in the app's startup"
    return pipeline


async def _answer(request: web.Request, result: TurnResult, channel: str) -> web.Response:
    await log_turn(request, result, channel)
    return web.json_response(result.to_json())


async def log_turn(request: web.Request, result: TurnResult, channel: str) -> None:
    """Count the turn, and keep it (transcript redacted) for chat-log analysis when the privacy
    store is open; a streamed utterance is a voice turn there."""
    _services(request).metrics.turns.labels(channel, result.status).inc()
    privacy = request.app[PRIVACY].store
    if privacy is not None and not result.replayed:  # a retry's answer was logged the first time
        await asyncio.to_thread(privacy.log_turn, result, "voice" if channel == "stream" else channel)


async def voice_order(request: web.Request) -> web.Response:
    """Raw audio, or multipart with an ``audio`` file; store/session/lang in the query or form."""
    settings = _services(request).settings
    upload = await read_audio_upload(request, settings.audio.max_body_bytes)
    store = valid_id(upload.fields.get("store"), "store")
    session = valid_id(upload.fields.get("session"), "session", required=False) or new_session_id()
    language = valid_language(upload.fields.get("lang"))
    ctx = TurnContext(
        store=store,
        session=session,
        language=language,
        idempotency_key=valid_id(request.headers.get("Idempotency-Key"), "idempotency_key", required=False),
        request_digest=request_digest("voice", upload.audio, store, session, language),
    )
    result = await _pipeline(request).voice_turn(upload.audio, ctx, upload.content_type)
    if settings.privacy.retain_audio and result.status != "no_speech":
        # Kept only under the customer's audio_qa consent, encrypted; otherwise dropped here.
        await asyncio.to_thread(maybe_retain_audio, settings, request.app[PRIVACY].store, ctx.store, ctx.session,
                                upload.audio, upload.content_type)
    return await _answer(request, result, "voice")


class TextOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")

    store: str
    session: str | None = None
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    lang: str | None = None


async def text_order(request: web.Request) -> web.Response:
    body = await read_json(request, TextOrder)
    store = valid_id(body.store, "store")
    session = valid_id(body.session, "session", required=False) or new_session_id()
    language = valid_language(body.lang)
    ctx = TurnContext(
        store=store,
        session=session,
        language=language,
        idempotency_key=valid_id(request.headers.get("Idempotency-Key"), "idempotency_key", required=False),
        request_digest=request_digest("text", body.text, store, session, language),
    )
    result = await _pipeline(request).text_turn(body.text, ctx)
    return await _answer(request, result, "text")


FAQ_MAX_BYTES = 1024 * 1024


class FaqUpload(BaseModel):
    """``{"faq": [entries]}``; the backend checks each entry (id, category, questions, answer)."""

    model_config = ConfigDict(extra="forbid")
    faq: list[dict] = Field(max_length=2000)


async def faq_entries(request: web.Request) -> web.Response:
    """The store's FAQ database, read (GET) or edited (PUT ``{"faq": [entries]}``) on the backend;
    an edit is matched from the next turn on."""
    services = _services(request)
    store = valid_id(request.query.get("store"), "store")
    _pipeline(request).menu_for(store)  # 404 unknown_store, as on every other route
    assert services.backend is not None, "the backend client is opened at start"
    payload = None
    if request.method == "PUT":
        payload = (await read_json(request, FaqUpload, max_bytes=FAQ_MAX_BYTES)).model_dump()
    status, answer = await services.backend.relay(request.method, "/faq", {"store": store}, payload)
    if status >= 500:  # the backend's failure is not the client's to read as ours
        raise BackendError("backend_bad_response", f"the backend answered HTTP {status} at /faq")
    if request.method == "PUT" and status == 200 and services.faq_sync is not None:
        await services.faq_sync.refresh()
    return web.json_response(answer, status=status)


_RESPONSE_FORMATS = {"json", "text", "verbose_json"}


async def transcription(request: web.Request) -> web.Response:
    """OpenAI-compatible ``/v1/audio/transcriptions``: multipart ``file``, ``language``, ``prompt``."""
    settings = _services(request).settings
    upload = await read_audio_upload(request, settings.audio.max_body_bytes, file_field="file")
    response_format = upload.fields.get("response_format") or "json"
    if response_format not in _RESPONSE_FORMATS:
        raise RequestError("unsupported_response_format",
                           f"response_format must be one of {', '.join(sorted(_RESPONSE_FORMATS))}")
    language = valid_language(upload.fields.get("language")) or settings.default_language
    transcript, timings = await _pipeline(request).recognise(
        upload.audio, language=None if language == AUTO else language, content_type=upload.content_type, prompt=upload.fields.get("prompt")
    )
    text = transcript.text if transcript else ""
    if response_format == "text":
        return web.Response(text=text, content_type="text/plain")
    if response_format == "verbose_json":
        segments = [
            {"start": s.start_ms / 1000, "end": s.end_ms / 1000, "text": s.text,
             "avg_logprob": s.avg_logprob, "no_speech_prob": s.no_speech_prob}
            for s in (transcript.segments if transcript else ())
        ]
        detected = transcript.language if transcript else language
        return web.json_response({"text": text, "language": detected, "segments": segments, "timings_ms": timings})
    return web.json_response({"text": text})


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    services = _services(request)
    if services.model_ready.is_set():
        return web.json_response({"status": "ready", "stores": sorted(services.menus)})
    if services.model_error is not None:
        error = {"code": services.model_error.code, "message": services.model_error.message}
        return web.json_response({"status": "failed", "error": error}, status=503)
    return web.json_response({"status": "loading"}, status=503, headers={"Retry-After": "2"})


async def metrics(request: web.Request) -> web.Response:
    services = _services(request)
    if services.pool is not None:
        services.metrics.asr_pending.set(services.pool.pending)
    return web.Response(body=services.metrics.render(), content_type="text/plain", charset="utf-8")
