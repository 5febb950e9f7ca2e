"""Which scope each route needs, and which scopes each kind of client key carries.

One table, read by the auth middleware (auth.py) and by the tests that check every route is
guarded. A route missing from ``ROUTE_SCOPES`` is refused to every key: new routes must be
listed here.
"""

from __future__ import annotations

from typing import Literal

from aiohttp import web

Scope = Literal["orders", "transcribe", "faq:read", "faq:write", "metrics", "privacy:admin", "keys:admin", "reports"]
Role = Literal["kiosk", "app", "qa", "admin"]

ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    "kiosk": frozenset({"orders"}),
    "app": frozenset({"orders"}),
    "qa": frozenset({"orders", "transcribe", "faq:read", "metrics"}),
    "admin": frozenset({"orders", "transcribe", "faq:read", "faq:write", "metrics", "privacy:admin", "keys:admin",
                        "reports"}),
}

#: (method, path pattern as registered with aiohttp) -> the scope it needs; None: open to all.
ROUTE_SCOPES: dict[tuple[str, str], Scope | None] = {
    ("GET", "/healthz"): None,
    ("GET", "/readyz"): None,
    ("GET", "/openapi.json"): None,
    ("GET", "/metrics"): "metrics",
    # The kiosk page's files hold no data and no key (gateway/kiosk_routes.py); what it shows
    # comes from keyed routes.
    ("GET", "/kiosk"): None,
    ("GET", "/kiosk/{name}"): None,
    ("GET", "/v1/menu"): "orders",
    ("POST", "/v1/voice/orders"): "orders",
    ("GET", "/v1/voice/stream"): "orders",
    ("POST", "/v1/voice/stream/token"): "orders",
    ("POST", "/v1/text/orders"): "orders",
    ("POST", "/kakao/skill"): "orders",
    ("POST", "/v1/audio/transcriptions"): "transcribe",
    # Another gateway's recogniser (asr.url there): the readings of a clip, no customer data kept.
    ("POST", "/v1/asr/readings"): "transcribe",
    ("GET", "/v1/faq"): "faq:read",
    ("PUT", "/v1/faq"): "faq:write",
    # Personal data (gateway/admin_routes.py): the customer's device records consent; only
    # privacy admins export, delete or reveal.
    ("POST", "/v1/consents"): "orders",
    ("DELETE", "/v1/consents"): "orders",
    ("POST", "/v1/contacts"): "orders",
    ("GET", "/v1/admin/users/{user}"): "privacy:admin",
    ("DELETE", "/v1/admin/users/{user}"): "privacy:admin",
    ("GET", "/v1/admin/contacts/{order_id}"): "privacy:admin",
    # The chat-log report holds redacted text and counts only, yet what customers say is the
    # store's business: admins read it.
    ("GET", "/v1/admin/report"): "reports",
}


#: Routes that also accept a short-lived stream token (``?token=``) instead of a key header.
TOKEN_ROUTES: frozenset[tuple[str, str]] = frozenset({("GET", "/v1/voice/stream")})


class Client:
    """Who is calling: set on every request by the auth middleware as ``request[CLIENT]``."""

    __slots__ = ("key_id", "name", "role", "scopes")

    def __init__(self, key_id: str | None, name: str, role: Role | Literal["dev"], scopes: frozenset[Scope]) -> None:
        self.key_id, self.name, self.role, self.scopes = key_id, name, role, scopes

    def __repr__(self) -> str:
        return f"Client({self.name!r}, role={self.role!r})"


CLIENT = web.RequestKey("voicegw.client", Client)
"""The request key holding the ``Client``."""
