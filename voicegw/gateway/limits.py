"""Abuse limits at the HTTP edge: per-key rate limits, CORS for configured origins only, and
deadlines for slow clients.

Rate limits are token buckets in this process's memory: two gateway processes each allow the
full rate, and a restart forgets the buckets. That bounds one misbehaving client per process,
which is what they are for; a shared limit would need a shared store.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.streams import StreamReader

from voicegw.errors import RequestError
from voicegw.gateway.errors import error_response
from voicegw.gateway.scopes import CLIENT
from voicegw.settings import Settings

# --- rate limits ---------------------------------------------------------------------------


@dataclass
class _Bucket:
    tokens: float
    at: float
    """Clock reading when ``tokens`` was counted (s)."""


class RateLimiter:
    """A token bucket per key: ``burst`` requests at once, refilled at ``per_minute``."""

    MAX_BUCKETS = 10_000
    """Full buckets are dropped (they hold nothing a new one would not) above this many."""

    def __init__(self, per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate_per_s = per_minute / 60.0
        self.burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str) -> float | None:
        """Spend one token; None when allowed, else the seconds until a token is there."""
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.MAX_BUCKETS:
                self._drop_full(now)
            bucket = self._buckets[key] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate_per_s)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return (1.0 - bucket.tokens) / self.rate_per_s

    def _drop_full(self, now: float) -> None:
        full_after = self.burst / self.rate_per_s
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.at < full_after}


LIMITER = web.AppKey("rate_limiter", RateLimiter)


def make_rate_limit_middleware(limiter: RateLimiter, on_error: Callable[[str], None]):
    """Limits each key (runs after the auth middleware, which names the client). Open routes
    (health, readiness) and the keyless development client, which only loopback peers get,
    are not limited."""

    @web.middleware
    async def rate_limit_middleware(request: web.Request, handler) -> web.StreamResponse:
        client = request.get(CLIENT)
        if client is not None and client.key_id is not None:
            wait_s = limiter.take(client.key_id)
            if wait_s is not None:
                on_error("rate_limited")
                retry = max(1, math.ceil(wait_s))
                return error_response(
                    429, "rate_limited", f"too many requests for this key; retry in {retry} s",
                    {"Retry-After": str(retry)},
                )
        return await handler(request)

    return rate_limit_middleware


# --- CORS ----------------------------------------------------------------------------------

_ALLOW_METHODS = "GET, POST, PUT, DELETE"
_ALLOW_HEADERS = "Authorization, X-API-Key, Content-Type, Idempotency-Key"
_EXPOSE_HEADERS = "Retry-After"
_PREFLIGHT_MAX_AGE_S = 600


def _vary_origin(response: web.StreamResponse) -> None:
    vary = response.headers.get("Vary")
    if vary is None:
        response.headers["Vary"] = "Origin"
    elif "origin" not in vary.lower():
        response.headers["Vary"] = f"{vary}, Origin"


def make_cors_middleware(origins: Iterable[str]):
    """Browsers on the configured origins (the store's kiosk and app pages) may call the
    gateway; other origins get no CORS headers (the browser hides the answer from their script)
    and a refused preflight. Keys travel in a header, not cookies: no credentials mode."""
    allowed = frozenset(origin.strip().rstrip("/").lower() for origin in origins)

    @web.middleware
    async def cors_middleware(request: web.Request, handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        ok = origin is not None and origin.lower() in allowed
        if request.method == "OPTIONS" and origin is not None and "Access-Control-Request-Method" in request.headers:
            if not ok:
                return error_response(403, "cors_origin_denied", "this origin may not call the gateway from a browser")
            response: web.StreamResponse = web.Response(status=204, headers={
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": _ALLOW_METHODS,
                "Access-Control-Allow-Headers": _ALLOW_HEADERS,
                "Access-Control-Max-Age": str(_PREFLIGHT_MAX_AGE_S),
            })
        else:
            response = await handler(request)
            if ok and not response.prepared:
                response.headers["Access-Control-Allow-Origin"] = origin
                response.headers["Access-Control-Expose-Headers"] = _EXPOSE_HEADERS
        if origin is not None and not response.prepared:
            _vary_origin(response)
        return response

    return cors_middleware


# --- slow clients --------------------------------------------------------------------------


class BodyTimeout(RequestError, TimeoutError):
    """The body did not arrive in time (408). Also a ``TimeoutError``: aiohttp, draining the
    rest of the body after the answer, then gives up and closes the connection at once."""

    http_status = 408


def _expire(body: StreamReader, timeout_s: float) -> None:
    if not body.is_eof() and body.exception() is None:
        body.set_exception(BodyTimeout("body_timeout", f"the request body did not arrive within {timeout_s:g} s"))


def make_body_deadline_middleware(timeout_s: float):
    """A request's body must be complete ``timeout_s`` after its headers: a trickling sender
    then gets 408 from whichever read is waiting (every route, however it reads), and its
    connection is closed. The deadline is cancelled the moment the body is complete."""

    @web.middleware
    async def body_deadline_middleware(request: web.Request, handler) -> web.StreamResponse:
        body = request.content
        if request.body_exists and not body.is_eof():
            deadline = asyncio.get_running_loop().call_later(timeout_s, _expire, body, timeout_s)
            body.on_eof(deadline.cancel)
        return await handler(request)

    return body_deadline_middleware


def server_options(settings: Settings) -> dict[str, Any]:
    """aiohttp server settings for ``web.run_app``/``AppRunner``. ``keepalive_timeout`` is also
    aiohttp's only header deadline (it runs from the connection's start or its last answer,
    until the next request's headers are complete), so it is ``read_timeout_s`` too: an idle or
    header-trickling connection is closed then. A reverse proxy in front should keep idle
    upstream connections for less. ``handler_cancellation``: a request whose client has gone is
    cancelled, so its clip leaves the recogniser's queue and never changes a cart."""
    return {"keepalive_timeout": settings.server.read_timeout_s, "handler_cancellation": True}


class MalformedRequestLog(logging.Filter):
    """aiohttp logs every request it cannot parse (a header or URL over its limits, a bad header
    byte) as an ERROR with a traceback: 300 such requests wrote 3,000 lines. This makes each one
    WARNING line naming only what was wrong (never the bytes sent, which may be anything). The
    exception is read from the record or, once the log redaction has turned it into text, from that."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            what = (type(exc).__name__, str(exc.code))
        elif record.exc_text and (found := _PARSE_ERROR.search(record.exc_text)):
            what = (found["name"], found["code"])
        else:
            return True
        record.msg, record.args = "refused a request that could not be parsed (%s, HTTP %s)", what
        record.exc_info, record.exc_text = None, None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


_PARSE_ERROR = re.compile(r"aiohttp\.http_exceptions\.(?P<name>\w+): (?P<code>\d{3})")


def quiet_malformed_request_logs() -> None:
    """Install ``MalformedRequestLog`` on aiohttp's server logger (idempotent)."""
    server_log = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, MalformedRequestLog) for f in server_log.filters):
        server_log.addFilter(MalformedRequestLog())

