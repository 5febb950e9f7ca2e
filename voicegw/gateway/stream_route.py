"""``GET /v1/voice/stream``: a WebSocket of live audio in, turn messages out (docs/api.md, "Streaming").

Everything that can be refused is refused before the upgrade, as an ordinary JSON error (unknown
store, bad format or rate, model not ready). After it, the stream's own limits close it with a
reason: idle too long, too much audio in all; a sender faster than its key may send is slowed
(the gateway stops reading, so TCP pushes back), never buffered without bound. Audio is only
held in memory for the utterance being heard; nothing is written to disk.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass

from aiohttp import WSCloseCode, WSMsgType, web

from voicegw.audio.endpoint import endpoint_options
from voicegw.audio.stream_decode import PCM_RATES_HZ, STREAM_FORMATS, StreamDecoder, StreamFormat, open_stream_decoder
from voicegw.errors import AudioError, ModelError, RequestError
from voicegw.gateway.inputs import new_session_id, valid_id, valid_language
from voicegw.gateway.limits import LIMITER
from voicegw.gateway.scopes import CLIENT
from voicegw.gateway.routes import log_turn
from voicegw.gateway.services import SERVICES, Services
from voicegw.gateway.stream_tokens import StreamTokens
from voicegw.pipeline import TurnContext
from voicegw.settings import StreamSettings
from voicegw.stream_session import StreamOptions, StreamSession
from voicegw.turn import TurnResult

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 256 * 1024
"""One binary message: over a second of 48 kHz PCM16, many seconds of Opus."""
BURST_S = 2.0
"""Audio a sender may be ahead of its allowed pace before reading stops."""
MAX_BYTES_PER_AUDIO_S = 2 * 48_000
"""Bytes one second of audio may take (PCM16 at 48 kHz): bounds what an encoded stream may send."""
REPLAY_ROLES = frozenset({"qa", "admin", "dev"})


@dataclass(frozen=True)
class StreamRequest:
    ctx: TurnContext
    format: StreamFormat
    rate_hz: int
    partials: bool


def parse_stream_request(query, services: Services) -> StreamRequest:
    store = valid_id(query.get("store"), "store")
    assert services.pipeline is not None
    services.pipeline.menu_for(store)  # 404 unknown_store before the upgrade
    fmt = query.get("format", "pcm16")
    if fmt not in STREAM_FORMATS:
        raise AudioError("audio_unsupported", f"format must be one of {', '.join(STREAM_FORMATS)}", http_status=415)
    try:
        rate = int(query.get("rate", "16000"))
    except ValueError:
        rate = 0
    if fmt == "pcm16" and rate not in PCM_RATES_HZ:
        raise RequestError("invalid_rate", f"rate must be one of {', '.join(map(str, PCM_RATES_HZ))}")
    partials = query.get("partials", "").lower()
    if partials not in ("", "true", "false", "1", "0"):
        raise RequestError("invalid_partials", "partials must be true or false")
    ctx = TurnContext(
        store=store,
        session=valid_id(query.get("session"), "session", required=False) or new_session_id(),
        language=valid_language(query.get("lang")),
    )
    wanted = services.settings.stream.partials if partials == "" else partials in ("true", "1")
    return StreamRequest(ctx, fmt, rate, wanted)  # type: ignore[arg-type]


async def stream_token(request: web.Request) -> web.Response:
    """``POST /v1/voice/stream/token?store=ID``: a single-use token a browser opens the stream with."""
    services = request.app[SERVICES]
    store = valid_id(request.query.get("store"), "store")
    assert services.pipeline is not None
    services.pipeline.menu_for(store)
    tokens = request.app[STREAM_TOKENS]
    token = tokens.issue(request[CLIENT].key_id, store)
    return web.json_response({"token": token, "store": store, "expires_in": tokens.ttl_s})


async def voice_stream(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    wanted = parse_stream_request(request.query, services)
    if not services.model_ready.is_set():
        raise services.model_error or ModelError("model_loading", "the speech model is still loading; retry shortly")
    ws = web.WebSocketResponse(max_msg_size=MAX_MESSAGE_BYTES, heartbeat=20.0)
    if not ws.can_prepare(request).ok:
        raise RequestError("websocket_required", "this route is a WebSocket: connect with an Upgrade: websocket request",
                           http_status=426)
    await ws.prepare(request)
    client = request[CLIENT]
    settings = services.settings.stream
    speed = settings.replay_max_speed if client.role in REPLAY_ROLES else settings.max_speed
    await _Stream(request, ws, wanted, settings, speed).run()
    return ws


class _Stream:
    """One connection: reads messages, paces the sender, relays the session's messages."""

    def __init__(self, request: web.Request, ws: web.WebSocketResponse, wanted: StreamRequest,
                 settings: StreamSettings, speed: float) -> None:
        import webrtcvad

        self.request, self.ws, self.wanted, self.settings, self.speed = request, ws, wanted, settings, speed
        services = request.app[SERVICES]
        endpoint = endpoint_options(settings.sensitivity, silence_ms=settings.silence_ms,
                                    max_utterance_ms=int(settings.max_utterance_s * 1000),
                                    min_speech_ms=settings.min_speech_ms)
        assert services.pipeline is not None
        self.session = StreamSession(
            services.pipeline, wanted.ctx, StreamOptions(endpoint, wanted.partials),
            webrtcvad.Vad(endpoint.aggressiveness).is_speech,
            partial_ready=lambda: services.pool is not None and services.pool.pending == 0,
            on_turn=self._log_turn,
            admit=self._admit_turn,
        )
        self.decoder: StreamDecoder | None = None
        self.failure: AudioError | None = None
        self.received_bytes = 0
        self.started = time.monotonic()
        self.close_code, self.close_reason = WSCloseCode.OK, "done"

    async def run(self) -> None:
        sender = asyncio.create_task(self._relay())
        ctx, endpoint = self.wanted.ctx, self.session.endpointer.options
        await self._send({
            "type": "ready", "store": ctx.store, "session": ctx.session, "language": ctx.language,
            "format": self.wanted.format, "rate": self.wanted.rate_hz if self.wanted.format == "pcm16" else None,
            "partials": self.wanted.partials, "silence_ms": endpoint.silence_ms,
            "min_speech_ms": endpoint.min_speech_ms, "max_utterance_s": endpoint.max_utterance_ms / 1000,
            "sensitivity": self.settings.sensitivity, "idle_timeout_s": self.settings.idle_timeout_s,
            "max_stream_s": self.settings.max_stream_s,
        })
        self.decoder = open_stream_decoder(self.wanted.format, self.wanted.rate_hz, self._on_samples, self._on_error)
        finished = False
        try:
            finished = await self._read()
            if finished:
                await self.decoder.close()
                await self.session.finish()
        finally:
            if finished:
                self.session.outbox.put_nowait(_END)  # the relay sends what is queued, then stops
            else:  # the client went away or the handler was cancelled: nothing more goes out
                sender.cancel()
                await self.session.abort()  # cancels every task before it first waits
                await self.decoder.close()
            await asyncio.gather(sender, return_exceptions=True)
            if not self.ws.closed:
                await self.ws.close(code=self.close_code, message=self.close_reason.encode()[:120])

    async def _read(self) -> bool:
        """Read until the client closes or a limit ends the stream; False if the client vanished."""
        while True:
            await self._pace()
            try:
                msg = await self.ws.receive(timeout=self.settings.idle_timeout_s)
            except asyncio.TimeoutError:
                return await self._end(WSCloseCode.OK, "idle_timeout",
                                       f"no audio or message for {self.settings.idle_timeout_s:g} s")
            if msg.type == WSMsgType.BINARY:
                self.received_bytes += len(msg.data)
                if self.failure is None:
                    self.decoder.push(msg.data)
            elif msg.type == WSMsgType.TEXT:
                command = _command(msg.data)
                if command == "stop":
                    if not self.session.stop():
                        await self._send({"type": "no_speech", "at_ms": self.session.heard_ms, "result": None})
                elif command == "close":
                    self.close_reason = "closed by the client"
                    return True
                else:
                    await self._send({"type": "error", "code": "invalid_message",
                                      "message": 'a text message is {"type": "stop"} or {"type": "close"}'})
            elif msg.type == WSMsgType.ERROR:  # e.g. a message over MAX_MESSAGE_BYTES: aiohttp closes with 1009
                self.close_code, self.close_reason = WSCloseCode.MESSAGE_TOO_BIG, "message too big"
                return True
            else:  # CLOSE, CLOSING, CLOSED: the client hung up; {"type": "close"} is the way to finish
                return False
            if self.failure is not None:
                return await self._end(WSCloseCode.UNSUPPORTED_DATA, self.failure.code, self.failure.message)
            if self.session.heard_ms > self.settings.max_stream_s * 1000:
                return await self._end(WSCloseCode.POLICY_VIOLATION, "stream_too_long",
                                       f"a stream may carry {self.settings.max_stream_s:g} s of audio")

    async def _pace(self) -> None:
        """Stop reading while the sender is ahead of real time times its allowed speed."""
        allowed_s = (time.monotonic() - self.started) * self.speed + BURST_S
        ahead_s = max(self.session.heard_ms / 1000, self.received_bytes / MAX_BYTES_PER_AUDIO_S) - allowed_s
        if ahead_s > 0:
            await asyncio.sleep(ahead_s / self.speed)

    async def _end(self, code: int, error: str, message: str) -> bool:
        await self._send({"type": "error", "code": error, "message": message})
        self.close_code, self.close_reason = code, error
        return True

    def _on_samples(self, samples) -> None:
        self.session.add_samples(samples)

    def _on_error(self, err: AudioError) -> None:
        self.failure = err

    async def _send(self, message: dict) -> None:
        await self.session.outbox.put(message)

    async def _relay(self) -> None:
        while (message := await self.session.outbox.get()) is not _END:
            if self.ws.closed:
                continue
            try:
                await self.ws.send_str(json.dumps(message, ensure_ascii=False))
            except ConnectionError:
                pass  # the client went away; the reader notices and ends the stream

    def _admit_turn(self) -> float | None:
        """The key's rate limit, one token per utterance (the upgrade took one too); the keyless
        development client is not limited, as on every route."""
        client = self.request[CLIENT]
        return None if client.key_id is None else self.request.app[LIMITER].take(client.key_id)

    async def _log_turn(self, result: TurnResult) -> None:
        await log_turn(self.request, result, "stream")


_END: dict = {}
"""Put in the outbox after the last message."""


def _command(data: str) -> str | None:
    try:
        message = json.loads(data)
    except ValueError:
        return None
    return message.get("type") if isinstance(message, dict) else None


STREAM_TOKENS = web.AppKey("stream_tokens", StreamTokens)


def add_stream_routes(app: web.Application) -> None:
    app.router.add_get("/v1/voice/stream", voice_stream)
    app.router.add_post("/v1/voice/stream/token", stream_token)
