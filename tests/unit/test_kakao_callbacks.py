"""Open Builder's 5-second limit: a slow turn is answered by its callback URL, or honestly busy;
never half-applied, never applied twice, and never posted anywhere a caller chooses."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp import web

from voicegw.gateway.app import create_app
from voicegw.settings import KakaoSettings, Settings

from tests.unit.app_support import ready_client
from tests.unit.test_gateway_routes import ScriptedTranscriber

ROOT = Path(__file__).resolve().parents[2]


def _skill(text: str, user: str, callback: str | None = None) -> dict:
    request = {"userRequest": {"utterance": text, "lang": "ko", "user": {"id": user, "type": "botUserKey"}},
               "bot": {"id": "burger-ko"}}
    if callback is not None:
        request["userRequest"]["callbackUrl"] = callback
    return request


class Receiver:
    """Open Builder's side of the callback: a real server on loopback that records what it gets."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.posts: list[dict] = []
        self.arrived = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        self.posts.append(await request.json())
        self.arrived.set()
        return web.json_response({"taskId": "t1", "status": "SUCCESS"}, status=self.status)


async def _gateway(aiohttp_client, tmp_path: Path, within: float):
    settings = Settings.load(data_dir=tmp_path, menus_dir=ROOT / "menus",
                             kakao=KakaoSettings(reply_within_s=within, callback_hosts=["127.0.0.1"]))
    return await ready_client(aiohttp_client, create_app(settings, transcriber=ScriptedTranscriber()))


async def _receiver(aiohttp_server, status: int = 200) -> tuple[Receiver, str]:
    receiver = Receiver(status)
    app = web.Application()
    app.router.add_post("/callback/{task}", receiver.handle)
    server = await aiohttp_server(app)
    return receiver, str(server.make_url("/callback/abc"))


async def _cart(client, user: str) -> list[dict]:
    """The session's cart, asked on the text route (a session is the same on every channel)."""
    body = await (await client.post("/v1/text/orders", json={"store": "burger-ko", "session": user, "text": "장바구니 확인"})).json()
    return body["cart"]["lines"]


async def test_a_quick_turn_is_answered_at_once_even_with_a_callback_url(aiohttp_client, aiohttp_server, tmp_path) -> None:
    client = await _gateway(aiohttp_client, tmp_path, within=3.5)
    receiver, url = await _receiver(aiohttp_server)
    body = await (await client.post("/kakao/skill", json=_skill("새우버거 하나 주세요", "u1", url))).json()
    assert "useCallback" not in body and "새우버거" in body["template"]["outputs"][0]["simpleText"]["text"]
    await asyncio.sleep(0.2)
    assert receiver.posts == []


async def test_a_slow_turn_is_answered_by_its_callback_url_once(aiohttp_client, aiohttp_server, tmp_path) -> None:
    client = await _gateway(aiohttp_client, tmp_path, within=0.001)
    receiver, url = await _receiver(aiohttp_server)
    body = await (await client.post("/kakao/skill", json=_skill("새우버거 하나 주세요", "u2", url))).json()
    assert body["version"] == "2.0" and body["useCallback"] is True and body["data"]["text"]
    await asyncio.wait_for(receiver.arrived.wait(), 10)
    [posted] = receiver.posts
    assert "새우버거" in posted["template"]["outputs"][0]["simpleText"]["text"]
    assert posted["data"]["cart"]["lines"][0]["item_id"] == "shrimp_burger"
    metrics = (await (await client.get("/metrics")).text())
    assert 'voicegw_kakao_callbacks_total{outcome="sent"} 1.0' in metrics


async def test_without_a_callback_a_slow_turn_gets_a_busy_reply_and_still_counts_once(aiohttp_client, tmp_path) -> None:
    client = await _gateway(aiohttp_client, tmp_path, within=0.001)
    body = await (await client.post("/kakao/skill", json=_skill("새우버거 하나 주세요", "u3"))).json()
    text = body["template"]["outputs"][0]["simpleText"]["text"]
    assert "장바구니 확인" in text and "다시" not in text  # never "say it again": that would order twice
    await asyncio.sleep(0.5)  # the turn goes on by itself
    lines = await _cart(client, "u3")
    assert [(line["item_id"], line["quantity"]) for line in lines] == [("shrimp_burger", 1)]


@pytest.mark.parametrize("url", ["http://example.com/cb", "https://169.254.169.254/latest", "ftp://127.0.0.1/x",
                                 "https://bot-api.kakao.com.evil.org/cb", "not a url", "https://127.0.0.1:1/cb"])
async def test_a_callback_url_a_caller_chose_is_refused_and_nothing_is_applied(aiohttp_client, tmp_path, url) -> None:
    client = await _gateway(aiohttp_client, tmp_path, within=3.5)
    response = await client.post("/kakao/skill", json=_skill("새우버거 하나 주세요", "u4", url))
    if url.startswith("https://127.0.0.1"):  # allowed host; posting to it would fail later, not here
        assert response.status == 200
        return
    body = await response.json()
    assert response.status == 400 and body["error"]["code"] == "bad_callback_url"
    assert await _cart(client, "u4") == []


async def test_a_callback_the_receiver_refuses_is_counted_as_failed(aiohttp_client, aiohttp_server, tmp_path) -> None:
    client = await _gateway(aiohttp_client, tmp_path, within=0.001)
    receiver, url = await _receiver(aiohttp_server, status=500)
    await client.post("/kakao/skill", json=_skill("새우버거 하나 주세요", "u5", url))
    await asyncio.wait_for(receiver.arrived.wait(), 10)
    await asyncio.sleep(0.1)
    metrics = await (await client.get("/metrics")).text()
    assert 'voicegw_kakao_callbacks_total{outcome="failed"} 1.0' in metrics
