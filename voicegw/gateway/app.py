"""The aiohttp app factory: long-lived resources opened and closed in ``cleanup_ctx``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

from aiohttp import web

from voicegw.asr.engine import Transcriber, TranscriberPool, WhisperTranscriber, warm_up
from voicegw.asr.loader import load_transcriber, local_part
from voicegw.backend.client import SkillClient, backend_headers
from voicegw.backend.embedded import EmbeddedBackend
from voicegw.db import database_url
from voicegw.errors import ModelError
from voicegw.gateway import admin_routes, auth, limits, routes
from voicegw.gateway.asr_routes import add_asr_routes
from voicegw.gateway.errors import make_error_middleware
from voicegw.gateway.faq_sync import FaqSync, faq_url
from voicegw.gateway.kakao_route import add_kakao_route
from voicegw.gateway.keys import KeyStore
from voicegw.gateway.kiosk_routes import add_kiosk_routes
from voicegw.gateway.report_routes import add_report_routes
from voicegw.gateway.openapi import openapi
from voicegw.gateway.services import SERVICES, Services
from voicegw.gateway.stream_route import STREAM_TOKENS, add_stream_routes
from voicegw.gateway.stream_tokens import StreamTokens
from voicegw.experiments.config import load_experiments
from voicegw.nlu.loader import load_menus
from voicegw.nlu.menu import Menu
from voicegw.pipeline import Pipeline, build_pipeline
from voicegw.privacy.logs import install_log_redaction
from voicegw.settings import Settings

log = logging.getLogger(__name__)


def create_app(
    settings: Settings,
    *,
    transcriber: Transcriber | None = None,
    menus: Mapping[str, Menu] | None = None,
) -> web.Application:
    """The gateway app. ``transcriber`` replaces the Whisper model (unit tests of the HTTP edge only)."""
    services = Services(settings=settings, menus=menus if menus is not None else load_menus(settings.menus_dir),
                        experiments=load_experiments(settings.experiments_dir))

    def count_error(code: str) -> None:
        services.metrics.errors.labels(code).inc()

    gate = auth.Gatekeeper(KeyStore.from_settings(settings), settings.auth, settings.server.host)
    tokens = StreamTokens(settings.stream.token_ttl_s)
    limiter = limits.RateLimiter(settings.auth.rate_per_minute, settings.auth.rate_burst)
    # Outermost first: the body deadline runs from the first moment; CORS headers go on every
    # answer, errors included; keys are checked before the per-key rate limit.
    middlewares = [
        limits.make_body_deadline_middleware(settings.server.read_timeout_s),
        limits.make_cors_middleware(settings.auth.cors_origins),
        make_error_middleware(count_error),
        auth.make_auth_middleware(gate, count_error, tokens),
        limits.make_rate_limit_middleware(limiter, count_error),
    ]
    # Multipart overhead on top of the audio limit; the routes enforce the exact audio limit.
    app = web.Application(client_max_size=settings.audio.max_body_bytes + 64 * 1024, middlewares=middlewares)
    app[SERVICES] = services
    app[auth.GATE] = gate
    app[limits.LIMITER] = limiter
    app[STREAM_TOKENS] = tokens
    app.cleanup_ctx.append(auth.gate_ctx)
    app.cleanup_ctx.append(_backend_ctx)
    app.cleanup_ctx.append(_make_asr_ctx(transcriber))
    routes.add_routes(app)
    add_asr_routes(app)
    add_stream_routes(app)
    add_kiosk_routes(app)
    app.router.add_get("/openapi.json", openapi)
    admin_routes.add_admin_routes(app)
    add_report_routes(app)
    add_kakao_route(app)
    app.cleanup_ctx.append(admin_routes.purge_ctx(settings))
    install_log_redaction()  # also when the app is built without the CLI (tests, embedding)
    limits.quiet_malformed_request_logs()
    return app


async def _backend_ctx(app: web.Application) -> AsyncIterator[None]:
    services = app[SERVICES]
    settings = services.settings
    url, headers = settings.backend.url, backend_headers(settings)
    if url is None:
        services.embedded = EmbeddedBackend(settings.database_path, services.menus, database_url=database_url(settings))
        url, headers = await services.embedded.start(), services.embedded.headers
        log.info("reference skill server (%s) listening at %s for this process only", services.embedded.where, url)
    services.backend = SkillClient(url, timeout_s=settings.backend.timeout_s, headers=headers)
    await services.backend.open()
    # Match questions against the backend's FAQ (operator edits included), refreshed in place.
    services.menus = menus = dict(services.menus)
    services.faq_sync = faq = FaqSync(menus, faq_url(url), headers=headers)
    await faq.start()
    try:
        yield
    finally:
        await faq.stop()
        await services.backend.close()
        if services.embedded is not None:
            await services.embedded.stop()


def _make_asr_ctx(transcriber: Transcriber | None):
    async def _asr_ctx(app: web.Application) -> AsyncIterator[None]:
        services = app[SERVICES]
        services.pipeline = _pipeline(services)
        # Load in the background: /healthz answers at once; /readyz and voice routes say 503 until ready.
        loading = asyncio.create_task(_load(services, transcriber))
        try:
            yield
        finally:
            loading.cancel()
            if services.pool is not None:
                await asyncio.to_thread(services.pool.close)

    return _asr_ctx


async def _load(services: Services, transcriber: Transcriber | None) -> None:
    settings = services.settings
    try:
        if transcriber is None:
            transcriber = await asyncio.to_thread(load_transcriber, settings.asr)
            # A remote recogniser is not warmed up from here (it may be down while this one starts).
            if settings.asr.warmup and (local := local_part(transcriber)) is not None:
                await asyncio.to_thread(warm_up, local, settings.default_language)
    except ModelError as err:
        services.model_error = err
        log.error("speech model unavailable: %s", err.message)
        return
    model_here = local_part(transcriber)
    device = model_here.device.device if isinstance(model_here, WhisperTranscriber) else "cpu"
    services.pool = TranscriberPool(transcriber, workers=settings.asr.workers_on(device),
                                    queue_limit=settings.asr.queue_limit,
                                    deadline_s=settings.asr.deadline_s, batch_size=settings.asr.batch_size_on(device),
                                    batch_wait_ms=settings.asr.batch_wait_ms,
                                    on_batch=services.metrics.asr_batch_size.observe)
    if services.pool.batching:
        log.info("batched decoding: up to %d clips a call, %g ms wait for company", services.pool.batch_size,
                 settings.asr.batch_wait_ms)
    assert services.pipeline is not None
    services.pipeline.transcriber = services.pool
    services.metrics.model_loaded.set(1)
    services.model_ready.set()


def _pipeline(services: Services) -> Pipeline:
    pipeline = build_pipeline(services.settings, services.menus, _NotReady(services), services.backend,
                              services.experiments)
    pipeline.listeners.append(services.metrics.on_event)
    return pipeline


@dataclass
class _NotReady:
    """Stands in for the pool until the model is loaded: answers 503 instead of hanging."""

    services: Services

    async def transcribe(self, samples, options):
        err = self.services.model_error
        if err is not None:
            raise err
        raise ModelError("model_loading", "the speech model is still loading; retry shortly")
