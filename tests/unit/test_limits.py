"""Abuse limits at the HTTP edge: per-key rate limits, CORS, slow senders.

Slow senders are played with raw sockets against the app served with the same aiohttp server
options ``voicegw serve`` uses, since a test client always sends whole requests.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest
from aiohttp import web

from tests.unit.test_auth import QuietTranscriber, bearer, error_code, gateway_settings, start
from voicegw.gateway.app import create_app
from voicegw.gateway.keys import KeyStore
from voicegw.gateway.limits import RateLimiter, server_options
from voicegw.settings import ServerSettings, Settings

TEXT_TURN = {"store": "cafe-ko", "session": "lim", "text": "아메리카노 한 잔"}

# --- rate limits -------------------------------------------------------------------------


def test_token_bucket_allows_a_burst_then_the_steady_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=60, burst=3, clock=lambda: now[0])
    assert [limiter.take("k") for _ in range(3)] == [None, None, None]
    assert limiter.take("k") == pytest.approx(1.0)  # one token a second
    assert limiter.take("other") is None  # buckets are per key
    now[0] += 0.5
    assert limiter.take("k") == pytest.approx(0.5)
    now[0] += 0.5
    assert limiter.take("k") is None
    now[0] += 3600  # a long pause refills to the burst, not beyond
    assert [limiter.take("k") for _ in range(4)][-1] == pytest.approx(1.0)


def test_idle_full_buckets_are_dropped_when_there_are_too_many() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=60, burst=2, clock=lambda: now[0])
    limiter.MAX_BUCKETS = 3
    for key in "abc":
        limiter.take(key)
    now[0] += 10  # a, b, c are full again
    limiter.take("d")
    assert set(limiter._buckets) == {"d"}


async def test_a_key_over_its_rate_gets_429_with_retry_after(aiohttp_client, tmp_path: Path) -> None:
    settings = gateway_settings(tmp_path, rate_per_minute=1, rate_burst=2)
    store = KeyStore(settings.database_path)
    kiosk, app_key, qa = (store.create(f"{role}-1", role)[1] for role in ("kiosk", "app", "qa"))
    client = await start(aiohttp_client, settings)
    for _ in range(2):
        assert (await client.post("/v1/text/orders", json=TEXT_TURN, headers=bearer(kiosk))).status == 200
    limited = await client.post("/v1/text/orders", json=TEXT_TURN, headers=bearer(kiosk))
    assert limited.status == 429 and await error_code(limited) == "rate_limited"
    assert 55 <= int(limited.headers["Retry-After"]) <= 60  # one token a minute
    assert (await client.post("/v1/text/orders", json=TEXT_TURN, headers=bearer(app_key))).status == 200
    assert all([(await client.get("/healthz")).status == 200 for _ in range(5)])  # health is not limited
    assert all([(await client.get("/readyz")).status == 200 for _ in range(5)])
    assert 'voicegw_errors_total{code="rate_limited"} 1.0' in await (await client.get("/metrics", headers=bearer(qa))).text()


async def test_development_mode_is_not_rate_limited(aiohttp_client, tmp_path: Path) -> None:
    """Only direct loopback peers get it: one local developer replaying stories, not abuse."""
    client = await start(aiohttp_client, gateway_settings(tmp_path, rate_per_minute=1, rate_burst=2))
    statuses = [(await client.post("/v1/text/orders", json=TEXT_TURN)).status for _ in range(5)]
    assert statuses == [200] * 5


# --- CORS ----------------------------------------------------------------------------------

KIOSK_PAGE = "https://kiosk.example.com"
PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type"}


async def test_cors_only_for_configured_origins(aiohttp_client, tmp_path: Path) -> None:
    settings = gateway_settings(tmp_path, cors_origins=[KIOSK_PAGE + "/"])
    token = KeyStore(settings.database_path).create("kiosk-1", "kiosk")[1]
    client = await start(aiohttp_client, settings)

    ok = await client.post("/v1/text/orders", json=TEXT_TURN, headers={"Origin": KIOSK_PAGE, **bearer(token)})
    assert ok.status == 200 and ok.headers["Access-Control-Allow-Origin"] == KIOSK_PAGE
    assert "Origin" in ok.headers["Vary"] and "Retry-After" in ok.headers["Access-Control-Expose-Headers"]
    # errors reach the page's script too (it must see the 401 to ask for a key)
    denied = await client.post("/v1/text/orders", json=TEXT_TURN, headers={"Origin": KIOSK_PAGE})
    assert denied.status == 401 and denied.headers["Access-Control-Allow-Origin"] == KIOSK_PAGE

    other = await client.post("/v1/text/orders", json=TEXT_TURN, headers={"Origin": "https://evil.example", **bearer(token)})
    assert "Access-Control-Allow-Origin" not in other.headers

    preflight = await client.options("/v1/text/orders", headers={"Origin": KIOSK_PAGE, **PREFLIGHT})
    assert preflight.status == 204 and preflight.headers["Access-Control-Allow-Origin"] == KIOSK_PAGE
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    refused = await client.options("/v1/text/orders", headers={"Origin": "https://evil.example", **PREFLIGHT})
    assert refused.status == 403 and "Access-Control-Allow-Origin" not in refused.headers
    assert "Access-Control-Allow-Origin" not in (await client.get("/healthz", headers={"Origin": "null"})).headers


async def test_no_cors_headers_without_configured_origins(aiohttp_client, tmp_path: Path) -> None:
    client = await start(aiohttp_client, gateway_settings(tmp_path))
    response = await client.get("/healthz", headers={"Origin": KIOSK_PAGE})
    assert response.status == 200 and "Access-Control-Allow-Origin" not in response.headers
    assert (await client.options("/healthz", headers={"Origin": KIOSK_PAGE, **PREFLIGHT})).status == 403


# --- slow clients --------------------------------------------------------------------------

READ_TIMEOUT_S = 0.5


async def serve(aiohttp_server, tmp_path: Path) -> tuple[web.Application, Settings, object]:
    settings = gateway_settings(tmp_path).model_copy(update={"server": ServerSettings(read_timeout_s=READ_TIMEOUT_S)})
    app = create_app(settings, transcriber=QuietTranscriber())
    # aiohttp's test server cancels abandoned handlers itself and refuses being told so again.
    options = {k: v for k, v in server_options(settings).items() if k != "handler_cancellation"}
    server = await aiohttp_server(app, **options)
    return app, settings, server


async def exchange(server, head: bytes, rest: bytes, every_s: float, pieces: int) -> tuple[bytes, float]:
    """Send ``head`` at once and ``rest`` in ``pieces`` parts ``every_s`` apart; read until the
    server closes the connection. Returns what came back and when the connection closed (s)."""
    loop = asyncio.get_running_loop()
    reader, writer = await asyncio.open_connection(server.host, server.port)
    started = loop.time()
    writer.write(head)
    size = -(-len(rest) // pieces) if rest else 0

    async def trickle() -> None:
        for i in range(pieces):
            await asyncio.sleep(every_s)
            writer.write(rest[i * size:(i + 1) * size])
            await writer.drain()

    sender = asyncio.create_task(trickle())
    try:
        answer = await asyncio.wait_for(reader.read(), timeout=10)  # until EOF: the server hung up
        return answer, loop.time() - started
    finally:
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
        writer.close()


def _request(method: str, path: str, content_type: str, body: bytes) -> bytes:
    return (f"{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()


def _multipart(audio: bytes) -> tuple[str, bytes]:
    boundary = "b0undary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"store\"\r\n\r\ncafe-ko\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"audio\"; filename=\"a.wav\"\r\n"
            f"Content-Type: audio/wav\r\n\r\n").encode() + audio + f"\r\n--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", body


SLOW_BODIES = {
    "json": ("/v1/text/orders", "application/json", json.dumps(TEXT_TURN).encode()),
    "raw audio": ("/v1/voice/orders?store=cafe-ko", "audio/wav", b"RIFF" + b"\x00" * 4000),
    "multipart": ("/v1/voice/orders", *_multipart(b"RIFF" + b"\x00" * 4000)),
}


@pytest.mark.parametrize("kind", SLOW_BODIES)
async def test_a_trickling_body_gets_408_and_the_connection_closes(aiohttp_server, tmp_path: Path, caplog, kind: str) -> None:
    _, _, server = await serve(aiohttp_server, tmp_path)
    path, content_type, body = SLOW_BODIES[kind]
    # ten bytes at once, then the rest over 20 x 0.2 s = 4 s: far past the 0.5 s deadline
    head = _request("POST", path, content_type, body) + body[:10]
    answer, closed_after_s = await exchange(server, head, body[10:], every_s=0.2, pieces=20)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b'"body_timeout"' in answer
    assert READ_TIMEOUT_S <= closed_after_s < READ_TIMEOUT_S + 1.0
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []  # a timeout, not a crash


async def test_a_slow_body_that_arrives_in_time_is_answered(aiohttp_server, tmp_path: Path) -> None:
    _, _, server = await serve(aiohttp_server, tmp_path)
    body = json.dumps(TEXT_TURN).encode()
    head = _request("POST", "/v1/text/orders", "application/json", body).replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")
    answer, _ = await exchange(server, head, body, every_s=0.08, pieces=4)  # complete after 0.32 s
    assert answer.startswith(b"HTTP/1.1 200"), answer[:300]


async def test_trickled_headers_and_idle_connections_are_closed(aiohttp_server, tmp_path: Path) -> None:
    _, _, server = await serve(aiohttp_server, tmp_path)
    answer, closed_after_s = await exchange(server, b"GET /healthz HTTP/1.1\r\nHost: test\r\n", b"X-Slow: " + b"a" * 40, 0.1, 40)
    assert answer == b"" and closed_after_s < READ_TIMEOUT_S + 1.0
    # a kept-alive connection that sends nothing more is closed too
    answer, closed_after_s = await exchange(server, b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n", b"", 0, 0)
    assert answer.startswith(b"HTTP/1.1 200") and closed_after_s < READ_TIMEOUT_S + 1.0
