"""The middleware that checks a key on every request (the keys themselves: ``keys.py``).

Development mode: with ``auth.dev_mode: auto``, a loopback server host and no unrevoked key,
requests need no key and run as the ``dev`` client with every scope; it ends by itself as soon
as a key is created (the middleware rereads the keys every ``KEY_CACHE_TTL_S``).
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import get_args

from aiohttp import web

from voicegw.gateway.errors import error_response
from voicegw.gateway.keys import (
    LAST_USED_RESOLUTION_S,
    ApiKey,
    AuthError,
    KeyStore,
    parse_token,
    secret_hash,
    utc_now_iso,
)
from voicegw.gateway.scopes import CLIENT, ROLE_SCOPES, ROUTE_SCOPES, TOKEN_ROUTES, Client, Scope
from voicegw.gateway.stream_tokens import DEV_KEY, StreamTokens, TokenError
from voicegw.settings import AuthSettings

__all__ = ["GATE", "AuthError", "Gatekeeper", "KeyStore", "is_loopback", "make_auth_middleware", "route_key"]

log = logging.getLogger(__name__)

KEY_CACHE_TTL_S = 2.0
"""How stale the middleware's copy of the key table may be: a key created or revoked from the
CLI (another process) takes effect within this time."""

ALL_SCOPES: frozenset[Scope] = frozenset(get_args(Scope))
DEV_CLIENT = Client(None, "dev", "dev", ALL_SCOPES)
"""Who calls in development mode: no key, every scope."""

_PROXY_HEADERS = frozenset({"forwarded", "via", "x-real-ip", "true-client-ip", "x-client-ip", "x-cluster-client-ip",
                            "cf-connecting-ip", "fastly-client-ip", "x-proxyuser-ip", "x-envoy-external-address"})
_PROXY_HEADER_PREFIXES = ("x-forwarded-", "x-original-forwarded-", "x-original-")
"""Headers a proxy, load balancer or CDN adds (or copies); any one of them ends development mode."""
CREATE_HINT = "voicegw keys create --name NAME --role kiosk|app|qa|admin"


def is_loopback(host: str) -> bool:
    """Whether a bind address only accepts connections from this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _names_a_proxy(header: str) -> bool:
    name = header.lower()
    return name in _PROXY_HEADERS or name.startswith(_PROXY_HEADER_PREFIXES) or name.endswith("-client-ip")


def _direct_local_peer(request: web.Request) -> bool:
    """A loopback peer that is not a local reverse proxy relaying someone else."""
    if any(_names_a_proxy(name) for name in request.headers):
        return False
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


def _token_of(request: web.Request) -> str | None:
    authorization = request.headers.get("Authorization")
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        return token.strip() if scheme.lower() == "bearer" else authorization
    return request.headers.get("X-API-Key")


class Gatekeeper:
    """Says who is calling: a key's client, the development client, or nobody (``AuthError``).

    Holds a copy of the key table, reread when older than ``ttl_s``; an in-process change
    (tests, admin routes) calls ``invalidate``.
    """

    def __init__(
        self, store: KeyStore, settings: AuthSettings, host: str, *,
        ttl_s: float = KEY_CACHE_TTL_S, clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store, self.ttl_s, self._clock = store, ttl_s, clock
        self.host = host
        self.dev_allowed = settings.dev_mode == "auto" and is_loopback(host)
        self._keys: dict[str, ApiKey] = {}
        self._loaded_at, self._loaded = float("-inf"), False
        self._used: dict[str, str] = {}  # key id -> when, not yet written
        self._written_at: dict[str, float] = {}
        self._lock = asyncio.Lock()

    @property
    def dev_mode(self) -> bool:
        return self.dev_allowed and not any(key.active for key in self._keys.values())

    def invalidate(self) -> None:
        self._loaded_at = float("-inf")

    async def refresh(self) -> None:
        """Reread the keys (and write pending last-used times) if the copy is stale."""
        if self._clock() - self._loaded_at < self.ttl_s:
            return
        async with self._lock:
            if self._clock() - self._loaded_at < self.ttl_s:
                return
            used, self._used = self._used, {}
            was_dev, first = self.dev_mode, not self._loaded
            try:
                keys = await asyncio.to_thread(self.store.sync, used)
            except AuthError:
                self._used.update(used)
                raise
            self._keys, self._loaded_at, self._loaded = {key.id: key for key in keys}, self._clock(), True
            if not first and was_dev != self.dev_mode:
                log.warning("an API key exists now: development mode is over, every request needs a key"
                            if was_dev else "every API key is revoked: development mode again (loopback only, no keys)")

    def identify(self, request: web.Request) -> Client:
        token = _token_of(request)
        if token is None:
            if not self.dev_mode:
                raise AuthError("missing_key", "an API key is required: 'Authorization: Bearer vgw_...' or 'X-API-Key'")
            if not _direct_local_peer(request):
                raise AuthError("missing_key", "development mode serves only direct loopback clients; send an API key")
            return DEV_CLIENT
        parsed = parse_token(token)
        key = self._keys.get(parsed[0]) if parsed else None
        if parsed is None or key is None or not hmac.compare_digest(key.secret_sha256, secret_hash(parsed[1])):
            raise AuthError("invalid_key", "the API key is not valid")
        return self._client_of(key)

    def identify_by_id(self, key_id: str) -> Client:
        """The client a stream token names (``stream_tokens``): its key must still be active, or
        development mode still on for a token issued in it."""
        if key_id == DEV_KEY:
            if not self.dev_mode:
                raise AuthError("invalid_token", "the stream token was issued in development mode, which has ended")
            return DEV_CLIENT
        key = self._keys.get(key_id)
        if key is None:
            raise AuthError("invalid_token", "the stream token's API key no longer exists")
        return self._client_of(key)

    def _client_of(self, key: ApiKey) -> Client:
        """The client holding a known key, once it is found to be still active."""
        if not key.active:
            raise AuthError("key_revoked", f"the API key {key.id} ({key.name}) was revoked")
        self._mark_used(key.id)
        return Client(key.id, key.name, key.role, ROLE_SCOPES.get(key.role, frozenset()))  # a role we no longer know: no scopes

    def _mark_used(self, key_id: str) -> None:
        now = self._clock()
        if now - self._written_at.get(key_id, float("-inf")) >= LAST_USED_RESOLUTION_S:
            self._written_at[key_id] = now
            self._used[key_id] = utc_now_iso()

    def startup_message(self) -> tuple[int, str]:
        """The log level and line that say at start how this gateway admits clients."""
        active = sum(key.active for key in self._keys.values())
        if self.dev_mode:
            return logging.WARNING, (
                f"development mode: no API keys, loopback only ({self.host}); every route is open to "
                f"local clients with every scope. Create a key to end it: {CREATE_HINT}"
            )
        if active == 0:
            why = "auth.dev_mode is off" if is_loopback(self.host) else f"{self.host} is not a loopback address"
            return logging.WARNING, (
                f"no API keys exist and {why}: every request except /healthz and /readyz is refused (401). "
                f"Create one: {CREATE_HINT}"
            )
        return logging.INFO, f"API keys required ({active} active)"

    async def flush(self) -> None:
        """Write pending last-used times (at shutdown)."""
        if self._used:
            used, self._used = self._used, {}
            await asyncio.to_thread(self.store.sync, used)


GATE = web.AppKey("gatekeeper", Gatekeeper)


async def gate_ctx(app: web.Application) -> AsyncIterator[None]:
    """Read the keys before the first request and say how clients are admitted."""
    gate = app[GATE]
    await gate.refresh()
    log.log(*gate.startup_message())
    yield
    try:
        await gate.flush()
    except AuthError as err:
        log.warning("last-used times of API keys not written: %s", err.message)
    finally:
        await asyncio.to_thread(gate.store.close)


def route_key(method: str, canonical: str) -> tuple[str, str]:
    """The ``ROUTE_SCOPES`` key of a route; HEAD is GET without the body, so it needs GET's scope."""
    if method == "HEAD" and ("GET", canonical) in ROUTE_SCOPES:
        return "GET", canonical
    return method, canonical


def make_auth_middleware(gate: Gatekeeper, on_error: Callable[[str], None], tokens: StreamTokens | None = None):
    """Every matched route needs the scope ``ROUTE_SCOPES`` gives it; unlisted routes are refused.
    The routes of ``TOKEN_ROUTES`` also take a stream token in the ``token`` query parameter
    (browsers cannot set headers on a WebSocket)."""

    def deny(status: int, code: str, message: str) -> web.Response:
        on_error(code)
        headers = {"WWW-Authenticate": 'Bearer realm="voicegw"'} if status == 401 else None
        return error_response(status, code, message, headers)

    @web.middleware
    async def auth_middleware(request: web.Request, handler) -> web.StreamResponse:
        match = request.match_info
        if match.http_exception is not None:  # no such path (404) or method (405): the router says so
            return await handler(request)
        key = route_key(request.method, match.route.resource.canonical)
        if key not in ROUTE_SCOPES:  # fail closed: a route nobody listed is nobody's
            log.error("route %s %s is not in ROUTE_SCOPES: refused", *key)
            return deny(403, "route_not_guarded", "this route has no access rule yet")
        scope = ROUTE_SCOPES[key]
        if scope is None:
            return await handler(request)
        try:
            await gate.refresh()
            token = request.query.get("token") if key in TOKEN_ROUTES and tokens is not None else None
            if token is not None and _token_of(request) is None:
                client = gate.identify_by_id(tokens.redeem(token, request.query.get("store", "")))
            else:
                client = gate.identify(request)
        except (AuthError, TokenError) as err:
            return deny(err.http_status, err.code, err.message)
        if scope not in client.scopes:
            return deny(403, "missing_scope", f"a {client.role} key may not use this route (it needs {scope!r})")
        request[CLIENT] = client
        return await handler(request)

    return auth_middleware
