"""Consent and admin routes behind the real key check: who may call them, and the audit rows
they leave. The app holds only these routes (no speech model), with the real auth middleware;
on SQLite, and on PostgreSQL once ``database.url`` is a setting (``db_support``)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from aiohttp import web

from tests.unit.db_support import Target, target  # noqa: F401  (the fixture)
from voicegw.gateway import auth, keys
from voicegw.gateway.admin_routes import PRIVACY, add_admin_routes, purge_ctx
from voicegw.gateway.errors import make_error_middleware
from voicegw.gateway.scopes import ROUTE_SCOPES
from voicegw.privacy.audit import entries
from voicegw.privacy.crypto import load_keys
from voicegw.privacy.store import PrivacyStore
from voicegw.settings import Settings
from voicegw.turn import TurnResult

USER = "kakao-5d1e0b"
PHONE, ADDRESS = "010-2468-1357", "경기도 성남시 분당구 판교역로 235"


@pytest.fixture
def settings(tmp_path: Path, target: Target, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.delenv("VOICEGW_DATA_KEYS", raising=False)
    target.use_in_settings(monkeypatch)
    return Settings.load(data_dir=tmp_path, server={"host": "0.0.0.0"})


@pytest.fixture
def tokens(settings: Settings) -> dict[str, str]:
    store = keys.KeyStore.from_settings(settings)
    made = {role: store.create(f"{role}-1", role)[1] for role in ("admin", "kiosk", "qa")}
    store.close()
    return made


def _app(settings: Settings, *, with_auth: bool = True) -> web.Application:
    middlewares = [make_error_middleware(lambda code: None)]
    gate = auth.Gatekeeper(keys.KeyStore.from_settings(settings), settings.auth, settings.server.host)
    if with_auth:
        middlewares.append(auth.make_auth_middleware(gate, lambda code: None))
    app = web.Application(middlewares=middlewares)

    async def close_keys(app: web.Application) -> None:
        await asyncio.to_thread(gate.store.close)

    app.on_cleanup.append(close_keys)
    add_admin_routes(app)
    app.cleanup_ctx.append(purge_ctx(settings))
    return app


def _as(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _privacy(client) -> PrivacyStore:
    store = client.app[PRIVACY].store
    assert store is not None
    return store


def test_every_privacy_route_has_a_scope() -> None:
    app = web.Application()
    add_admin_routes(app)
    registered = {(r.method, r.resource.canonical) for r in app.router.routes()}
    assert registered == {
        ("POST", "/v1/consents"), ("DELETE", "/v1/consents"), ("POST", "/v1/contacts"),
        ("GET", "/v1/admin/users/{user}"), ("DELETE", "/v1/admin/users/{user}"), ("GET", "/v1/admin/contacts/{order_id}"),
    }
    for key in registered:
        expected = "orders" if key[1] in ("/v1/consents", "/v1/contacts") else "privacy:admin"
        assert ROUTE_SCOPES[key] == expected


async def test_consents_from_the_customer_device(aiohttp_client, settings: Settings, tokens: dict[str, str]) -> None:
    client = await aiohttp_client(_app(settings))
    body = {"store": "cafe-ko", "session": USER, "purpose": "delivery_contact", "retention_days": 14}
    assert (await client.post("/v1/consents", json=body)).status == 401
    response = await client.post("/v1/consents", json=body, headers=_as(tokens["kiosk"]))
    assert response.status == 201
    consent = (await response.json())["consent"]
    assert (consent["purpose"], consent["retention_days"], consent["withdrawn_at"]) == ("delivery_contact", 14, None)
    assert _privacy(client).active_consent("cafe-ko", USER, "delivery_contact") is not None

    for bad in ({**body, "purpose": "marketing"}, {**body, "retention_days": -1}, {**body, "session": "a b"}, {**body, "x": 1}):
        response = await client.post("/v1/consents", json=bad, headers=_as(tokens["kiosk"]))
        assert response.status == 400, bad

    query = {"store": "cafe-ko", "session": USER, "purpose": "delivery_contact"}
    response = await client.delete("/v1/consents", params=query, headers=_as(tokens["kiosk"]))
    assert response.status == 200 and (await response.json())["withdrawn"]["consents"] == 1
    response = await client.delete("/v1/consents", json=query, headers=_as(tokens["kiosk"]))
    assert response.status == 404 and (await response.json())["error"]["code"] == "consent_not_found"
    assert (await client.delete("/v1/consents", params={"store": "cafe-ko"}, headers=_as(tokens["kiosk"]))).status == 400


async def test_only_privacy_admins_see_a_contact_and_each_look_is_audited(
    aiohttp_client, settings: Settings, tokens: dict[str, str]
) -> None:
    client = await aiohttp_client(_app(settings))
    store = _privacy(client)
    store.grant_consent("cafe-ko", USER, "delivery_contact", 30)
    store.save_contact("cafe-ko", USER, "A-0007", PHONE, ADDRESS, 30)

    for role in ("kiosk", "qa"):
        response = await client.get("/v1/admin/contacts/A-0007", headers=_as(tokens[role]))
        assert response.status == 403, role
        assert PHONE not in await response.text()
    assert entries(store, USER) == []

    response = await client.get("/v1/admin/contacts/A-0007", headers=_as(tokens["admin"]))
    assert response.status == 200
    assert (await response.json())["phone"] == PHONE
    (entry,) = entries(store, USER)
    assert (entry.actor, entry.role, entry.action, entry.detail) == ("admin-1", "admin", "contact.read", {"order_id": "A-0007"})

    assert (await client.get("/v1/admin/contacts/A-9999", headers=_as(tokens["admin"]))).status == 404


async def test_admin_export_and_delete(aiohttp_client, settings: Settings, tokens: dict[str, str]) -> None:
    client = await aiohttp_client(_app(settings))
    store = _privacy(client)
    store.grant_consent("cafe-ko", USER, "delivery_contact", 30)
    store.save_contact("cafe-ko", USER, "A-0001", PHONE, ADDRESS, 30)

    assert (await client.get(f"/v1/admin/users/{USER}", headers=_as(tokens["kiosk"]))).status == 403
    assert (await client.delete(f"/v1/admin/users/{USER}", headers=_as(tokens["qa"]))).status == 403
    assert store.contact_for_order("A-0001") is not None

    response = await client.get(f"/v1/admin/users/{USER}", headers=_as(tokens["admin"]))
    assert response.status == 200
    data = await response.json()
    assert data["contacts"][0]["address"] == ADDRESS and data["audit"][0]["action"] == "user.export"

    response = await client.delete(f"/v1/admin/users/{USER}", headers=_as(tokens["admin"]))
    assert response.status == 200 and (await response.json())["deleted"]["contacts"] == 1
    assert store.contact_for_order("A-0001") is None
    assert [(e.actor, e.action) for e in entries(store, USER)] == [("admin-1", "user.delete"), ("admin-1", "user.export")]
    assert (await client.get("/v1/admin/users/bad%20id", headers=_as(tokens["admin"]))).status == 400


async def test_without_keys_the_audit_names_the_dev_actor(aiohttp_client, settings: Settings) -> None:
    client = await aiohttp_client(_app(settings, with_auth=False))
    assert (await client.get(f"/v1/admin/users/{USER}")).status == 200
    (entry,) = entries(_privacy(client), USER)
    assert (entry.actor, entry.role) == ("dev", "dev")


async def test_the_server_purges_at_start(aiohttp_client, settings: Settings) -> None:
    store = PrivacyStore.from_settings(settings, load_keys(settings))
    old = datetime.now(timezone.utc) - timedelta(days=settings.privacy.retention.transcripts_days + 1)
    store.log_turn(TurnResult(status="ok", session=USER, store="cafe-ko", language="ko", transcript="라떼"), now=old)
    store.close()
    client = await aiohttp_client(_app(settings, with_auth=False))

    def logged() -> int:
        with _privacy(client).read() as c:
            return c.execute("SELECT COUNT(*) FROM turn_log").fetchone()[0]

    for _ in range(100):  # the first purge runs in a thread started with the app
        if logged() == 0:
            break
        await asyncio.sleep(0.02)
    assert logged() == 0


async def test_a_delivery_contact_needs_the_consent_and_only_admins_see_it(
    aiohttp_client, settings: Settings, target: Target, tokens: dict[str, str]
) -> None:
    from voicegw.dialogue.cart import Cart
    from voicegw.nlu.types import OrderLine

    backend = target.storage()
    cart = Cart(lines=(OrderLine(item_id="americano", name="아메리카노", quantity=1, unit_price=4500),))
    order = backend.submit_order("cafe-ko", USER, "voice", cart)
    backend.close()
    client = await aiohttp_client(_app(settings))
    kiosk, admin = _as(tokens["kiosk"]), _as(tokens["admin"])
    contact = {"store": "cafe-ko", "session": USER, "order_id": order.id, "phone": PHONE, "address": ADDRESS}
    refused = await client.post("/v1/contacts", json=contact, headers=kiosk)
    assert (refused.status, (await refused.json())["error"]["code"]) == (409, "consent_required")
    consent = {"store": "cafe-ko", "session": USER, "purpose": "delivery_contact", "retention_days": 7}
    assert (await client.post("/v1/consents", json=consent, headers=kiosk)).status == 201
    other = await client.post("/v1/contacts", json={**contact, "session": "someone-else"}, headers=kiosk)
    assert other.status == 404  # not that session's order
    stored = await client.post("/v1/contacts", json=contact, headers=kiosk)
    assert stored.status == 201 and PHONE not in await stored.text()
    assert (await client.get(f"/v1/admin/contacts/{order.id}", headers=kiosk)).status == 403
    revealed = await client.get(f"/v1/admin/contacts/{order.id}", headers=admin)
    assert revealed.status == 200 and PHONE in await revealed.text()
    with _privacy(client).read() as c:  # encrypted in the table ...
        (row,) = c.execute("SELECT * FROM contacts").fetchall()
    assert not any(PHONE in str(v) or ADDRESS in str(v) for v in row)
    if target.sqlite:  # ... and nowhere in the file's bytes
        raw = settings.database_path.read_bytes()
        assert PHONE.encode() not in raw and ADDRESS.encode() not in raw
