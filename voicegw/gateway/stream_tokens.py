"""Short-lived, single-use tokens that let a browser open the streaming WebSocket.

A browser cannot set an ``Authorization`` header on a WebSocket, and a key in the URL would sit
in proxy and server logs for good. So the page asks for a token with its key (an ordinary
``POST``), and opens ``/v1/voice/stream?...&token=...`` within ``stream.token_ttl_s``; the token
names the key and the store, is signed with HMAC-SHA256, and is accepted once.

The signing secret is drawn when the process starts: a token is good only at the gateway process
that issued it (behind a load balancer, the page must reach the same process, or the streams
use keys in headers).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable

from voicegw.errors import VoicegwError

PREFIX = "vgs1"
SEP = "~"
"""Not in a store id, a key id or base64url: the fields split unambiguously."""
DEV_KEY = "dev"
"""The key id a token issued in development mode carries."""


class TokenError(VoicegwError):
    http_status = 401


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class StreamTokens:
    def __init__(self, ttl_s: int, *, clock: Callable[[], float] = time.time, secret: bytes | None = None) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._secret = secret or secrets.token_bytes(32)
        self._used: dict[str, float] = {}  # nonce -> expiry, forgotten once expired

    def issue(self, key_id: str | None, store: str) -> str:
        expires = int(self._clock()) + self.ttl_s
        body = SEP.join((PREFIX, key_id or DEV_KEY, store, str(expires), _b64(secrets.token_bytes(12))))
        return f"{body}{SEP}{self._sign(body)}"

    def redeem(self, token: str, store: str) -> str:
        """The key id a valid, unused, unexpired token for ``store`` was issued to; spends it."""
        body, _, mac = token.rpartition(SEP)
        parts = body.split(SEP)
        if len(parts) != 5 or parts[0] != PREFIX or not hmac.compare_digest(mac, self._sign(body)):
            raise TokenError("invalid_token", "the stream token is not valid")
        _, key_id, token_store, expires, nonce = parts
        now = self._clock()
        if not expires.isdigit() or int(expires) < now:
            raise TokenError("token_expired", "the stream token has expired; ask for a new one")
        if token_store != store:
            raise TokenError("invalid_token", "the stream token was issued for another store", http_status=403)
        self._used = {n: e for n, e in self._used.items() if e >= now}
        if nonce in self._used:
            raise TokenError("token_used", "the stream token was already used; ask for a new one")
        self._used[nonce] = int(expires)
        return key_id

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._secret, body.encode(), hashlib.sha256).digest())
