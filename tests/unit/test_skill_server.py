"""The reference skill server through aiohttp's test client, and SkillClient against it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp import web

from voicegw.backend.client import SkillClient
from voicegw.backend.request_builder import build_skill_request
from voicegw.backend.server import Turn, _run_turn, bearer, create_skill_app, seed_faq
from voicegw.backend.skill import SkillRequest, SkillResponse
from voicegw.backend.storage import SqliteStorage
from voicegw.errors import BackendError
from voicegw.nlu.menu import Menu
from voicegw.nlu.types import Intent, IntentName, LineOption, OrderLine, Understanding

MENU = Menu.model_validate(
    {
        "id": "cafe-ko",
        "language": "ko",
        "currency": "KRW",
        "option_groups": [
            {"id": "temperature", "values": [{"id": "ice", "names": {"ko": ["아이스"]}}, {"id": "hot", "names": {"ko": ["핫"]}}]}
        ],
        "items": [
            {"id": "americano", "names": {"ko": ["아메리카노"]}, "category": "coffee", "price": 4500, "option_groups": ["temperature"]},
            {"id": "cheesecake", "names": {"ko": ["치즈케이크"]}, "category": "dessert", "price": 6000},
        ],
        "faq": [
            {"id": "wifi", "category": "store", "questions": {"ko": ["와이파이 비번"], "en": ["wifi password"]},
             "answer": {"ko": "와이파이 비밀번호는 cafe1234예요.", "en": "The Wi-Fi password is cafe1234."}}
        ],
    }
)
KEY = "the-skill-servers-test-key"
ICED = OrderLine(
    item_id="americano", name="아이스 아메리카노", quantity=2, options=(LineOption(group="temperature", value="ice"),),
    unit_price=4500, origin="아이스 아메리카노 두 잔",
)
CAKE = OrderLine(item_id="cheesecake", name="치즈케이크", quantity=1, unit_price=6000, origin="치즈케이크 하나")


@pytest.fixture
def storage(tmp_path: Path):
    s = SqliteStorage(tmp_path / "voicegw.db")
    seed_faq(s, {"cafe-ko": MENU})
    yield s
    s.close()


@pytest.fixture
async def client(aiohttp_client, storage):
    outer = web.Application()  # mounted the way the gateway mounts it
    outer.add_subapp("/backend", create_skill_app(storage, {"cafe-ko": MENU}, key=KEY))
    return await aiohttp_client(outer, headers=bearer(KEY))


def request(intent: IntentName, *lines: OrderLine, session: str = "s-1", channel: str = "voice",
            key: str | None = None, candidates: tuple[str, ...] = (), reason: str | None = None,
            language: str = "ko") -> dict:
    u = Understanding(intent=Intent(name=intent, confidence=0.95), lines=lines, candidates=candidates, reason=reason)
    req = build_skill_request(u, store="cafe-ko", session=session, language=language, utterance="…",
                              channel=channel, idempotency_key=key)  # type: ignore[arg-type]
    return req.to_wire()


async def say(client, body: dict) -> SkillResponse:
    resp = await client.post("/backend/skill", json=body)
    assert resp.status == 200, await resp.text()
    return SkillResponse.model_validate(await resp.json())


async def test_add_add_confirm_stores_the_order(client, storage: SqliteStorage) -> None:
    r = await say(client, request(IntentName.ORDER_ADD, ICED))
    assert r.text == "아이스 아메리카노 2잔 담았어요. 더 필요하신 건 없으세요?"
    assert r.quick_reply_labels == ["주문 완료", "취소"]
    assert r.data["status"] == "ok" and r.data["cart"]["total"] == 9000
    r = await say(client, request(IntentName.ORDER_ADD, CAKE))
    assert r.text.startswith("치즈케이크 1개 담았어요")  # the menu's category gives the counter word
    assert r.data["cart"]["total"] == 15000
    r = await say(client, request(IntentName.ORDER_CONFIRM, key="k-1"))
    assert r.data["order_id"] == "A-0001" and r.data["cart"]["lines"] == [] and r.data["handoff"] is False
    assert r.text == "주문이 접수됐어요. 주문번호 A-0001, 아이스 아메리카노 2잔, 치즈케이크 1개, 합계 15,000원입니다."
    order = storage.get_order("A-0001")
    assert order is not None
    assert (order.store, order.session, order.channel, order.total, order.currency) == ("cafe-ko", "s-1", "voice", 15000, "KRW")
    assert [(l.item_id, l.quantity) for l in order.lines] == [("americano", 2), ("cheesecake", 1)]
    assert storage.get_cart("cafe-ko", "s-1") is None
    # A retried confirm (same key) answers with the same order and creates no second one.
    again = await say(client, request(IntentName.ORDER_CONFIRM, key="k-1"))
    assert again.data["order_id"] == "A-0001" and again.text == r.text
    assert len(storage.list_orders()) == 1
    # Operator reads.
    listed = await (await client.get("/backend/orders", params={"store": "cafe-ko", "session": "s-1"})).json()
    assert [o["id"] for o in listed["orders"]] == ["A-0001"]
    one = await client.get("/backend/orders/A-0001")
    assert (await one.json())["total"] == 15000
    missing = await client.get("/backend/orders/A-9999")
    assert missing.status == 404 and (await missing.json())["error"]["code"] == "order_not_found"


async def test_sessions_are_separate_and_remove_cancel_work(client) -> None:
    await say(client, request(IntentName.ORDER_ADD, ICED, CAKE))
    other = await say(client, request(IntentName.ORDER_STATUS, session="s-2"))
    assert other.text == "장바구니가 비어 있어요."
    r = await say(client, request(IntentName.ORDER_REMOVE, CAKE.model_copy(update={"origin": "케이크 빼줘"})))
    assert [l["item_id"] for l in r.data["cart"]["lines"]] == ["americano"] and r.data["cart"]["total"] == 9000
    r = await say(client, request(IntentName.ORDER_CANCEL))
    assert r.data["cart"] == {"lines": [], "total": 0, "currency": "KRW"}
    r = await say(client, request(IntentName.ORDER_CONFIRM))
    assert r.data["order_id"] is None and r.text.startswith("아직 담긴 메뉴가 없어요")


async def test_faq_answer_from_storage_and_operator_edit(client) -> None:
    r = await say(client, request(IntentName.FAQ, candidates=("wifi",)))
    assert r.text == "와이파이 비밀번호는 cafe1234예요."
    r = await say(client, request(IntentName.FAQ, candidates=("wifi",), language="en"))
    assert r.text == "The Wi-Fi password is cafe1234."
    edit = {"faq": [{"id": "wifi", "category": "store", "questions": {"ko": ["와이파이"]}, "answer": {"ko": "새 비번은 5678이에요."}}]}
    put = await client.put("/backend/faq", params={"store": "cafe-ko"}, json=edit)
    assert put.status == 200
    listed = await (await client.get("/backend/faq", params={"store": "cafe-ko"})).json()
    assert listed["faq"][0]["answer"] == {"ko": "새 비번은 5678이에요."}
    r = await say(client, request(IntentName.FAQ, candidates=("wifi",)))
    assert r.text == "새 비번은 5678이에요."
    r = await say(client, request(IntentName.FAQ, candidates=("parking",)))
    assert r.data["status"] == "not_understood" and r.data["reason"] == "faq_not_found"


def test_seed_faq_keeps_operator_edits(storage: SqliteStorage) -> None:
    from voicegw.backend.storage import FaqEntry

    storage.upsert_faq("cafe-ko", [FaqEntry(id="wifi", answers={"ko": "edited"})])
    assert seed_faq(storage, {"cafe-ko": MENU}) == 0
    assert storage.get_faq("cafe-ko", "wifi").answer("ko") == "edited"
    assert seed_faq(storage, {"cafe-ko": MENU}, overwrite=True) == 1
    assert seed_faq(storage, {"plain": {"faq": [{"id": "x", "answer": {"en": "y"}}]}}) == 1


async def test_handoff_sold_out_and_plain_open_builder_request(client) -> None:
    r = await say(client, request(IntentName.HANDOFF))
    assert r.data["handoff"] is True
    r = await say(client, request(IntentName.ORDER_ADD, reason="sold_out", candidates=("아메리카노",)))
    assert r.data["status"] == "rejected" and r.quick_reply_labels == ["아메리카노"]
    # A request straight from Open Builder (no clientExtra, a block name we do not serve) still gets an answer.
    plain = {
        "intent": {"id": "i", "name": "폴백 블록"},
        "userRequest": {"timezone": "Asia/Seoul", "params": {}, "block": {"id": "b", "name": "폴백 블록"},
                        "utterance": "안녕", "lang": "kr", "user": {"id": "u-9", "type": "botUserKey", "properties": {}}},
        "bot": {"id": "cafe-ko", "name": "카페"},
        "action": {"id": "a", "name": "fallback", "params": {}, "detailParams": {}, "clientExtra": None},
    }
    r = await say(client, plain)
    assert r.data["status"] == "not_understood" and r.text.startswith("죄송해요")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "bad_json"),
        (b'{"userRequest": {"utterance": "x"}}', "bad_skill_request"),
        (b'[1, 2]', "bad_skill_request"),
        (b'{"userRequest": {"user": {"id": "u"}}, "bot": {"id": ""}}', "bad_skill_request"),
        (b'{"userRequest": {"user": {"id": "u"}}, "bot": {"id": "cafe-ko"}, "action": {"name": "order.add",'
         b' "clientExtra": {"order": {"lines": [{"item_id": "x"}]}}}}', "bad_order_lines"),
    ],
)
async def test_malformed_requests_get_400_json(client, body: bytes, code: str) -> None:
    resp = await client.post("/backend/skill", data=body, headers={"Content-Type": "application/json"})
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == code


async def test_operator_endpoints_validate(client) -> None:
    assert (await client.get("/backend/faq")).status == 400
    bad = await client.put("/backend/faq", params={"store": "cafe-ko"}, json={"faq": [{"category": "x"}]})
    assert bad.status == 400 and (await bad.json())["error"]["code"] == "bad_faq"
    assert (await client.get("/backend/orders", params={"limit": "many"})).status == 400


# --- SkillClient -------------------------------------------------------------------------


def _skill_request() -> SkillRequest:
    u = Understanding(intent=Intent(name=IntentName.ORDER_ADD, confidence=0.9), lines=(ICED,))
    return build_skill_request(u, store="cafe-ko", session="c-1", language="ko", utterance="아이스 아메리카노 두 잔", channel="voice")


async def test_client_posts_to_the_reference_server(aiohttp_server, storage) -> None:
    server = await aiohttp_server(create_skill_app(storage, {"cafe-ko": MENU}, key=KEY))
    async with SkillClient(str(server.make_url("/skill")), headers=bearer(KEY)) as skill:
        resp = await skill.post(_skill_request())
        assert resp.text.startswith("아이스 아메리카노 2잔 담았어요")
        assert resp.data["cart"]["total"] == 9000
        resp = await skill.post(_skill_request())  # the same long-lived session serves the next turn
        assert resp.data["cart"]["total"] == 18000


async def test_client_errors(aiohttp_server, unused_tcp_port) -> None:
    async def slow(_: web.Request) -> web.Response:
        await asyncio.sleep(1.0)
        return web.json_response({"version": "2.0"})

    async def broken(_: web.Request) -> web.Response:
        return web.Response(text="<html>oops</html>", content_type="text/html")

    async def failing(_: web.Request) -> web.Response:
        return web.json_response({"error": "x"}, status=500)

    app = web.Application()
    app.router.add_post("/slow", slow)
    app.router.add_post("/broken", broken)
    app.router.add_post("/failing", failing)
    server = await aiohttp_server(app)
    cases = [
        (str(server.make_url("/slow")), "backend_timeout", 504),
        (str(server.make_url("/broken")), "backend_bad_response", 502),
        (str(server.make_url("/failing")), "backend_bad_response", 502),
        (f"http://127.0.0.1:{unused_tcp_port}/skill", "backend_unavailable", 502),
    ]
    for url, code, status in cases:
        async with SkillClient(url, timeout_s=0.2) as skill:
            with pytest.raises(BackendError) as info:
                await skill.post(_skill_request())
            assert (info.value.code, info.value.http_status) == (code, status), url


RACE_MENU = Menu.model_validate({
    "id": "s", "language": "ko", "currency": "KRW", "option_groups": [],
    "items": [{"id": f"item{n}", "names": {"ko": [f"item {n}"]}, "category": "x", "price": 1000} for n in range(12)],
})


def _add(line: OrderLine) -> Turn:
    u = Understanding(intent=Intent(name=IntentName.ORDER_ADD, confidence=0.9), lines=(line,))
    return Turn("s", "same", "ko", RACE_MENU, u, "voice", None, "digest")


async def test_concurrent_turns_of_one_session_lose_nothing(tmp_path) -> None:
    """Eight add turns of the same session at once: every one of them ends in the cart."""
    storage = SqliteStorage(tmp_path / "race.db")
    lines = [OrderLine(item_id=f"item{n}", name=f"item {n}", quantity=1, unit_price=1000) for n in range(8)]
    await asyncio.gather(*(asyncio.to_thread(_run_turn, storage, _add(line)) for line in lines))
    assert sorted(line.item_id for line in storage.get_cart("s", "same").lines) == sorted(l.item_id for l in lines)
    storage.close()


async def test_two_databases_handles_on_one_file_share_the_session(tmp_path) -> None:
    """Two gateway processes each open the database: turns of one session through both, at the
    same time, all end in the one cart (the SQLite write lock spans read, apply and save)."""
    first, second = SqliteStorage(tmp_path / "shared.db"), SqliteStorage(tmp_path / "shared.db")
    lines = [OrderLine(item_id=f"item{n}", name=f"item {n}", quantity=1, unit_price=1000) for n in range(12)]
    await asyncio.gather(*(asyncio.to_thread(_run_turn, (first, second)[n % 2], _add(line)) for n, line in enumerate(lines)))
    assert sorted(line.item_id for line in second.get_cart("s", "same").lines) == sorted(l.item_id for l in lines)
    first.close()
    second.close()
