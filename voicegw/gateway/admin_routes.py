"""Personal-data routes: consents (clients, scope ``orders``) and the admin's export, delete and
contact reveal (scope ``privacy:admin``), each admin read written to the audit log first.

Wiring, in the app factory::

    add_admin_routes(app)                          # routes, and the holder of the privacy store
    app.cleanup_ctx.append(purge_ctx(settings))    # opens the store, purges every purge_interval_s
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from voicegw.errors import RequestError
from voicegw.gateway.inputs import read_json, valid_id
from voicegw.gateway.scopes import CLIENT
from voicegw.privacy.audit import actor_of, audit
from voicegw.privacy.crypto import load_keys
from voicegw.privacy.retention import purge
from voicegw.privacy.store import PrivacyStore
from voicegw.privacy.subject import delete_user, export_user
from voicegw.settings import Settings

log = logging.getLogger(__name__)

MAX_CONSENT_DAYS = 3650


@dataclass
class PrivacyState:
    """Filled by ``purge_ctx`` at start; the routes answer 503 until then."""

    store: PrivacyStore | None = None
    settings: Settings | None = None


PRIVACY = web.AppKey("privacy", PrivacyState)


def add_admin_routes(app: web.Application) -> None:
    if PRIVACY not in app:
        app[PRIVACY] = PrivacyState()
    app.router.add_post("/v1/consents", grant_consent)
    app.router.add_post("/v1/contacts", save_contact)
    app.router.add_delete("/v1/consents", withdraw_consent)
    app.router.add_get("/v1/admin/users/{user}", export_user_route, allow_head=False)
    app.router.add_delete("/v1/admin/users/{user}", delete_user_route)
    app.router.add_get("/v1/admin/contacts/{order_id}", reveal_contact, allow_head=False)


def purge_ctx(settings: Settings) -> Callable[[web.Application], AsyncIterator[None]]:
    """Opens the privacy store (the gateway's database, the data keys) into ``app[PRIVACY]`` and
    deletes what is due at start and then every ``privacy.purge_interval_s``."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        state = app.get(PRIVACY)
        if state is None:
            raise RuntimeError("add_admin_routes(app) must run before the app starts")
        keys = await asyncio.to_thread(load_keys, settings)
        state.store = await asyncio.to_thread(PrivacyStore.from_settings, settings, keys)
        state.settings = settings
        task = asyncio.create_task(_purge_forever(state.store, settings))
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            state.store.close()
            state.store = None

    return ctx


async def _purge_forever(store: PrivacyStore, settings: Settings) -> None:
    while True:
        try:
            counts = await asyncio.to_thread(purge, store, settings.privacy.retention)
            if any(counts.values()):
                log.info("purged personal data past retention: %s", counts)
        except Exception:  # a failed purge is retried next interval; the server keeps serving
            log.exception("the retention purge failed")
        await asyncio.sleep(settings.privacy.purge_interval_s)


def _state(request: web.Request) -> tuple[PrivacyStore, Settings]:
    state = request.app[PRIVACY]
    if state.store is None or state.settings is None:
        raise RequestError("privacy_unavailable", "the privacy store is not open yet; retry shortly", http_status=503)
    return state.store, state.settings


# --- consents (the customer's own device: scope orders) ------------------------------------


class ConsentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    store: str
    session: str
    purpose: Literal["audio_qa", "delivery_contact"]
    retention_days: int = Field(ge=0, le=MAX_CONSENT_DAYS)
    """Longest the customer lets data kept under this consent live (the class period caps it too)."""


class WithdrawBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    store: str
    session: str
    purpose: Literal["audio_qa", "delivery_contact"]


class ContactBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    store: str
    session: str
    order_id: str
    phone: str = Field(min_length=1, max_length=40)
    address: str = Field(min_length=1, max_length=300)


async def save_contact(request: web.Request) -> web.Response:
    """A delivery phone and address for the session's own order, kept encrypted only under its
    ``delivery_contact`` consent (409 ``consent_required`` otherwise); the answer never echoes them."""
    store, settings = _state(request)
    body = await read_json(request, ContactBody)
    shop, session = valid_id(body.store, "store"), valid_id(body.session, "session")
    order_id = valid_id(body.order_id, "order_id")
    if not await asyncio.to_thread(store.order_belongs_to, order_id, shop, session):
        raise RequestError("order_not_found", f"no order {order_id} in this session", http_status=404)
    await asyncio.to_thread(store.save_contact, shop, session, order_id, body.phone, body.address,
                            settings.privacy.retention.contact_days)
    return web.json_response({"order_id": order_id, "contact": "stored"}, status=201)


async def grant_consent(request: web.Request) -> web.Response:
    store, _ = _state(request)
    body = await read_json(request, ConsentBody)
    consent = await asyncio.to_thread(
        store.grant_consent, valid_id(body.store, "store"), valid_id(body.session, "session"), body.purpose, body.retention_days
    )
    return web.json_response({"consent": asdict(consent)}, status=201)


async def withdraw_consent(request: web.Request) -> web.Response:
    """Fields in a JSON body or the query; what was kept under the consent is deleted at once."""
    store, _ = _state(request)
    if request.can_read_body:
        body = await read_json(request, WithdrawBody)
    else:
        try:
            body = WithdrawBody.model_validate(dict(request.query))
        except ValueError as err:
            raise RequestError("invalid_query", "store, session and purpose (audio_qa or delivery_contact) are required") from err
    counts = await asyncio.to_thread(
        store.withdraw_consent, valid_id(body.store, "store"), valid_id(body.session, "session"), body.purpose
    )
    if not counts["consents"]:
        raise RequestError("consent_not_found", "no active consent for that store, session and purpose", http_status=404)
    return web.json_response({"withdrawn": counts})


# --- admin (scope privacy:admin) -------------------------------------------------------------


async def export_user_route(request: web.Request) -> web.Response:
    store, _ = _state(request)
    user = valid_id(request.match_info["user"], "user")
    # Logged before anything is read: a read that cannot be audited is not shown.
    await asyncio.to_thread(audit, store, actor_of(request.get(CLIENT)), "user.export", user)
    return web.json_response(await asyncio.to_thread(export_user, store, user))


async def delete_user_route(request: web.Request) -> web.Response:
    store, _ = _state(request)
    user = valid_id(request.match_info["user"], "user")
    counts = await asyncio.to_thread(delete_user, store, user, actor_of(request.get(CLIENT)))
    return web.json_response({"user": user, "deleted": counts})


async def reveal_contact(request: web.Request) -> web.Response:
    store, _ = _state(request)
    order_id = valid_id(request.match_info["order_id"], "order_id")
    contact = await asyncio.to_thread(store.contact_for_order, order_id)
    if contact is None:
        raise RequestError("contact_not_found", f"no delivery contact is kept for order {order_id}", http_status=404)
    await asyncio.to_thread(
        audit, store, actor_of(request.get(CLIENT)), "contact.read", contact.session, {"order_id": order_id}
    )
    return web.json_response(
        {"order_id": contact.order_id, "store": contact.store, "phone": contact.phone, "address": contact.address,
         "expires_at": contact.expires_at}
    )
