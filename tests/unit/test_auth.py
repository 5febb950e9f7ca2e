"""API keys and the auth middleware, through the real app (only the recogniser is scripted).

Every route in ``ROUTE_SCOPES`` is called without a key, with a key lacking its scope and with
one holding it; every route the app registers must be listed there, so a new route cannot ship
unguarded.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from pathlib import Path

import numpy as np
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from voicegw.asr.engine import TranscribeOptions, Transcript
from voicegw.gateway.app import create_app
from voicegw.gateway.auth import GATE, AuthError, Gatekeeper, is_loopback, route_key
from voicegw.gateway.keys import KeyStore, parse_token
from voicegw.gateway.scopes import ROLE_SCOPES, ROUTE_SCOPES
from voicegw.settings import AuthSettings, ServerSettings, Settings

from tests.unit.app_support import ready_client
from tests.unit.db_support import Target, target  # noqa: F401  (the fixture)

ROOT = Path(__file__).resolve().parents[2]


class QuietTranscriber:
    def transcribe(self, samples: np.ndarray, options: TranscribeOptions) -> Transcript:
        return Transcript(text="", language=options.language or "ko", confidence=0.9)


def gateway_settings(tmp_path: Path, *, host: str = "127.0.0.1", **auth) -> Settings:
    return Settings.load(
        data_dir=tmp_path, menus_dir=ROOT / "menus",
        server=ServerSettings(host=host), auth=AuthSettings(**auth),
    )


async def start(aiohttp_client, settings: Settings, app: web.Application | None = None):
    """A test client of the gateway app, once its (scripted) model is ready."""
    return await ready_client(aiohttp_client, app or create_app(settings, transcriber=QuietTranscriber()))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def tokens_by_role(settings: Settings) -> dict[str, str]:
    store = KeyStore(settings.database_path)
    return {role: store.create(f"test-{role}", role)[1] for role in ROLE_SCOPES}


async def error_code(response) -> str:
    return (await response.json())["error"]["code"]


# --- keys and their storage -------------------------------------------------------------


def test_a_key_is_stored_as_a_hash_and_its_token_parses(target: Target) -> None:
    store = KeyStore(target.open())
    key, token = store.create("kiosk-1", "kiosk")
    assert re.fullmatch(r"vgw_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", token)
    key_id, secret = parse_token(token)
    assert key_id == key.id and key.role == "kiosk" and key.active
    with target.open().read() as c:
        rows = [tuple(r) for r in c.execute("SELECT * FROM api_keys").fetchall()]
    assert len(rows) == 1 and not any(secret in str(value) for value in rows[0])
    assert hashlib.sha256(secret.encode()).hexdigest() in rows[0]
    assert "secret_sha256" not in store.list()[0].public()
    store.close()


def test_key_stores_opening_at_once_create_the_table_once(target: Target) -> None:
    stores = [KeyStore(target.open) for _ in range(4)]  # each opens its own connection at first use
    made: list[str] = []
    threads = [threading.Thread(target=lambda s=s: made.append(s.create(f"k{len(made)}", "app")[0].id)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 4 and sorted(k.id for k in stores[0].list()) == sorted(made)
    for s in stores:
        s.close()


def test_an_unreachable_key_store_is_a_503_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "blocked").write_text("a file where the data folder should be")
    store = KeyStore(tmp_path / "blocked" / "voicegw.db")  # opened at first use, not here
    with pytest.raises(AuthError) as err:
        store.list()
    assert (err.value.code, err.value.http_status) == ("key_store_failed", 503)


def test_revoking_is_for_good_and_unknown_ids_are_errors(target: Target) -> None:
    store = KeyStore(target.open())
    key, _ = store.create("app", "app")
    revoked = store.revoke(key.id)
    assert revoked.revoked_at is not None
    assert store.revoke(key.id).revoked_at == revoked.revoked_at  # again: unchanged
    with pytest.raises(AuthError) as err:
        store.revoke("000000000000")
    assert err.value.code == "unknown_key"
    with pytest.raises(AuthError):
        store.create("x", "root")  # type: ignore[arg-type]


@pytest.mark.parametrize("token", ["", "vgw_", "vgw_abc_def", "Bearer vgw_0123456789ab_" + "a" * 43, "vgw_0123456789AB_" + "a" * 43])
def test_malformed_tokens_do_not_parse(token: str) -> None:
    assert parse_token(token) is None


@pytest.mark.parametrize(
    "host, loopback",
    [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("[::1]", True), ("localhost", True),
     ("0.0.0.0", False), ("::", False), ("192.168.0.10", False), ("gateway.example.com", False)],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


# --- every route checks its scope ---------------------------------------------------------


def test_every_registered_route_is_listed_in_route_scopes(tmp_path: Path) -> None:
    app = create_app(gateway_settings(tmp_path), transcriber=QuietTranscriber())
    registered = {route_key(r.method, r.resource.canonical) for r in app.router.routes() if r.resource is not None}
    assert registered - set(ROUTE_SCOPES) == set(), "add these routes to voicegw/gateway/scopes.py ROUTE_SCOPES"
    assert set(ROUTE_SCOPES) - registered == set(), "ROUTE_SCOPES lists routes the app does not have"


def _path(canonical: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", canonical) + "?store=cafe-ko"


@pytest.mark.parametrize("method, canonical", sorted(ROUTE_SCOPES), ids=lambda v: v)
async def test_route_needs_its_scope(aiohttp_client, tmp_path: Path, method: str, canonical: str) -> None:
    settings = gateway_settings(tmp_path)
    tokens = tokens_by_role(settings)  # keys exist: no development mode
    client = await start(aiohttp_client, settings)
    scope, path = ROUTE_SCOPES[(method, canonical)], _path(canonical)

    anonymous = await client.request(method, path, data=b"")
    if scope is None:
        assert anonymous.status not in (401, 403)
        return
    assert anonymous.status == 401 and await error_code(anonymous) == "missing_key"
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")

    lacking = [role for role, scopes in ROLE_SCOPES.items() if scope not in scopes]
    for role in lacking:
        refused = await client.request(method, path, data=b"", headers=bearer(tokens[role]))
        assert refused.status == 403 and await error_code(refused) == "missing_scope", role
    if not lacking:
        assert all(scope in scopes for scopes in ROLE_SCOPES.values())  # e.g. "orders": every client orders

    for role in (role for role, scopes in ROLE_SCOPES.items() if scope in scopes):
        allowed = await client.request(method, path, data=b"", headers=bearer(tokens[role]))
        assert allowed.status not in (401, 403), (role, allowed.status, await allowed.text())


async def test_unlisted_routes_are_refused_to_everyone_and_unknown_paths_stay_404(aiohttp_client, tmp_path: Path) -> None:
    settings = gateway_settings(tmp_path)
    admin = KeyStore(settings.database_path).create("root", "admin")[1]
    app = create_app(settings, transcriber=QuietTranscriber())

    async def forgotten(request: web.Request) -> web.Response:
        return web.json_response({"leaked": True})

    app.router.add_get("/v1/forgotten", forgotten)
    client = await start(aiohttp_client, settings, app)
    refused = await client.get("/v1/forgotten", headers=bearer(admin))
    assert refused.status == 403 and await error_code(refused) == "route_not_guarded"
    missing = await client.get("/v1/nowhere")
    assert missing.status == 404 and await error_code(missing) == "not_found"
    wrong_method = await client.delete("/v1/faq")
    assert wrong_method.status == 405


async def test_bad_keys_are_401_and_both_headers_work(aiohttp_client, tmp_path: Path) -> None:
    settings = gateway_settings(tmp_path)
    key, token = KeyStore(settings.database_path).create("kiosk-1", "kiosk")
    client = await start(aiohttp_client, settings)
    body = {"store": "cafe-ko", "session": "k1", "text": "아메리카노 한 잔"}
    assert (await client.post("/v1/text/orders", json=body, headers=bearer(token))).status == 200
    assert (await client.post("/v1/text/orders", json=body, headers={"X-API-Key": token})).status == 200
    assert (await client.post("/v1/text/orders", json=body, headers={"authorization": f"bearer {token}"})).status == 200
    forged = f"vgw_{key.id}_{'A' * 43}"
    for headers in (bearer(forged), bearer("vgw_0123456789ab_" + "a" * 43), bearer("nonsense"), {"Authorization": f"Basic {token}"}):
        refused = await client.post("/v1/text/orders", json=body, headers=headers)
        assert refused.status == 401 and await error_code(refused) == "invalid_key", headers


async def test_a_revoked_key_is_refused(aiohttp_client, tmp_path: Path) -> None:
    settings = gateway_settings(tmp_path)
    key, token = KeyStore(settings.database_path).create("app-1", "app")
    app = create_app(settings, transcriber=QuietTranscriber())
    client = await start(aiohttp_client, settings, app)
    body = {"store": "cafe-ko", "session": "r1", "text": "라떼 한 잔"}
    assert (await client.post("/v1/text/orders", json=body, headers=bearer(token))).status == 200
    KeyStore(settings.database_path).revoke(key.id)  # as `voicegw keys revoke` does, from outside
    app[GATE].invalidate()  # instead of waiting KEY_CACHE_TTL_S
    refused = await client.post("/v1/text/orders", json=body, headers=bearer(token))
    assert refused.status == 401 and await error_code(refused) == "key_revoked"


async def test_key_changes_from_another_process_arrive_within_the_cache_ttl(target: Target) -> None:
    store = KeyStore(target.open())  # the CLI's
    key, token = store.create("kiosk-2", "kiosk")
    now = [100.0]
    gate = Gatekeeper(KeyStore(target.open()), AuthSettings(), "127.0.0.1", ttl_s=2.0, clock=lambda: now[0])
    request = make_mocked_request("POST", "/v1/text/orders", headers=bearer(token))
    await gate.refresh()
    assert gate.identify(request).key_id == key.id
    store.revoke(key.id)
    now[0] += 1.0
    await gate.refresh()
    assert gate.identify(request).key_id == key.id  # still the cached copy
    now[0] += 1.5
    await gate.refresh()
    with pytest.raises(AuthError) as err:
        gate.identify(request)
    assert err.value.code == "key_revoked"


async def test_last_use_is_recorded(aiohttp_client, tmp_path: Path) -> None:
    settings = gateway_settings(tmp_path)
    store = KeyStore(settings.database_path)
    key, token = store.create("qa-1", "qa")
    app = create_app(settings, transcriber=QuietTranscriber())
    client = await start(aiohttp_client, settings, app)
    assert store.list()[0].last_used_at is None
    assert (await client.get("/metrics", headers=bearer(token))).status == 200
    await app[GATE].flush()
    assert store.list()[0].last_used_at is not None


# --- development mode -----------------------------------------------------------------------

TEXT_TURN = {"store": "cafe-ko", "session": "dev", "text": "아메리카노 한 잔"}


async def test_dev_mode_on_loopback_without_keys_says_so(aiohttp_client, tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="voicegw.gateway")
    settings = gateway_settings(tmp_path)
    client = await start(aiohttp_client, settings)
    assert any(r.levelno == logging.WARNING and "development mode: no API keys, loopback only" in r.getMessage()
               for r in caplog.records)
    assert (await client.post("/v1/text/orders", json=TEXT_TURN)).status == 200
    assert (await client.get("/metrics")).status == 200  # every scope
    # a local reverse proxy relaying someone else does not get development mode
    relayed = await client.post("/v1/text/orders", json=TEXT_TURN, headers={"X-Forwarded-For": "203.0.113.9"})
    assert relayed.status == 401
    # a key sent in development mode is still checked
    assert (await client.post("/v1/text/orders", json=TEXT_TURN, headers=bearer("vgw_bad"))).status == 401


@pytest.mark.parametrize("header", ["Forwarded", "X-Forwarded-For", "X-Real-IP", "Via", "X-Forwarded-Host",
                                    "X-Forwarded-Proto", "True-Client-IP", "X-Client-IP", "CF-Connecting-IP",
                                    "X-Cluster-Client-IP", "X-Original-Forwarded-For", "x-forwarded-port"])
async def test_any_sign_of_a_proxy_ends_dev_mode_for_the_request(aiohttp_client, tmp_path: Path, header) -> None:
    """Admin routes were served to requests carrying Via, X-Forwarded-Host and six more."""
    client = await start(aiohttp_client, gateway_settings(tmp_path))
    assert (await client.get("/metrics")).status == 200
    for path in ("/metrics", "/v1/admin/users/someone"):
        relayed = await client.get(path, headers={header: "203.0.113.9"})
        assert relayed.status == 401, (header, path)


@pytest.mark.parametrize("host, dev_mode", [("0.0.0.0", "auto"), ("192.168.0.10", "auto"), ("127.0.0.1", "off")])
async def test_no_dev_mode_off_loopback_or_when_turned_off(aiohttp_client, tmp_path: Path, caplog, host, dev_mode) -> None:
    caplog.set_level(logging.INFO, logger="voicegw.gateway")
    settings = gateway_settings(tmp_path, host=host, dev_mode=dev_mode)
    client = await start(aiohttp_client, settings)
    refused = await client.post("/v1/text/orders", json=TEXT_TURN)
    assert refused.status == 401 and await error_code(refused) == "missing_key"
    assert (await client.get("/healthz")).status == 200
    assert any("no API keys exist" in r.getMessage() and "voicegw keys create" in r.getMessage() for r in caplog.records)


async def test_dev_mode_ends_when_a_key_is_created(aiohttp_client, tmp_path: Path) -> None:
    settings = gateway_settings(tmp_path)
    app = create_app(settings, transcriber=QuietTranscriber())
    client = await start(aiohttp_client, settings, app)
    assert (await client.post("/v1/text/orders", json=TEXT_TURN)).status == 200
    _, token = KeyStore(settings.database_path).create("kiosk-1", "kiosk")
    app[GATE].invalidate()
    assert (await client.post("/v1/text/orders", json=TEXT_TURN)).status == 401
    assert (await client.post("/v1/text/orders", json=TEXT_TURN, headers=bearer(token))).status == 200


async def test_dev_mode_returns_when_every_key_is_revoked(aiohttp_client, tmp_path: Path) -> None:
    settings = gateway_settings(tmp_path)
    store = KeyStore(settings.database_path)
    key, token = store.create("kiosk-1", "kiosk")
    app = create_app(settings, transcriber=QuietTranscriber())
    client = await start(aiohttp_client, settings, app)
    assert (await client.post("/v1/text/orders", json=TEXT_TURN)).status == 401
    store.revoke(key.id)
    app[GATE].invalidate()
    assert (await client.post("/v1/text/orders", json=TEXT_TURN)).status == 200
    assert (await client.post("/v1/text/orders", json=TEXT_TURN, headers=bearer(token))).status == 401
