"""The reference skill server against a hostile local caller and a client that retries.

Before: any local process could read every order, rewrite the FAQ ("PWNED: call ..."), and confirm
99 lattes at -100,000 each or an item called "FREE GOLD"; an add retried under one Idempotency-Key
doubled the order, and four different adds under one key were all applied.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from voicegw.backend.client import SkillClient
from voicegw.backend.menu_check import checked_line, checked_understanding
from voicegw.backend.request_builder import build_skill_request
from voicegw.backend.server import bearer, create_skill_app, seed_faq
from voicegw.backend.storage import SqliteStorage
from voicegw.errors import RequestError
from voicegw.nlu.loader import load_menus
from voicegw.nlu.types import Asked, Intent, IntentName, LineOption, Offer, OrderLine, Understanding

ROOT = Path(__file__).resolve().parents[2]
MENUS = load_menus(ROOT / "menus")
CAFE = MENUS["cafe-ko"]
KEY = "the-trusted-gateways-key"
LATTE = CAFE.item("cafe_latte")


def line(item_id: str = "cafe_latte", quantity: int = 1, price: int | None = None, name: str | None = None,
         options: tuple[LineOption, ...] = ()) -> OrderLine:
    return OrderLine(item_id=item_id, name=name or "카페라떼", quantity=quantity, options=options,
                     unit_price=LATTE.price if price is None else price, origin="카페라떼 한 잔 010-1234-5678")


def skill_body(intent: IntentName, *lines: OrderLine, session: str = "s-1", key: str | None = None,
               store: str = "cafe-ko", digest: str | None = None) -> dict:
    u = Understanding(intent=Intent(name=intent, confidence=0.95), lines=lines)
    return build_skill_request(u, store=store, session=session, language="ko", utterance="…", channel="text",
                               idempotency_key=key, request_digest=digest).to_wire()


@pytest.fixture
def storage(tmp_path: Path):
    s = SqliteStorage(tmp_path / "voicegw.db")
    seed_faq(s, MENUS)
    yield s
    s.close()


@pytest.fixture
async def server(aiohttp_server, storage):
    return await aiohttp_server(create_skill_app(storage, MENUS, key=KEY))


@pytest.fixture
async def gateway(aiohttp_client, server):
    """What the gateway is to the skill server: a client with its key."""
    return await aiohttp_client(server, headers=bearer(KEY))


async def answer(client, body: dict, status: int = 200) -> dict:
    resp = await client.post("/skill", json=body)
    data = await resp.json()
    assert resp.status == status, data
    return data


# --- who may call ----------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-key-of-some-length"},
                                     {"Authorization": KEY}, {"Authorization": f"Basic {KEY}"}])
async def test_every_route_refuses_a_caller_without_the_key(aiohttp_client, server, storage, headers) -> None:
    stranger = await aiohttp_client(server, headers=headers)
    calls = [
        ("POST", "/skill", skill_body(IntentName.ORDER_ADD, line())),
        ("GET", "/orders", None),
        ("GET", "/orders/A-0001", None),
        ("GET", "/faq?store=cafe-ko", None),
        ("PUT", "/faq?store=cafe-ko", {"faq": [{"id": "wifi", "category": "store", "questions": {"ko": ["와이파이"]},
                                              "answer": {"ko": "PWNED: call 010-0000-0000"}}]}),
    ]
    for method, path, body in calls:
        resp = await stranger.request(method, path, json=body)
        assert resp.status == 401, (method, path)
        assert (await resp.json())["error"]["code"] == "unauthorized"
    assert storage.get_cart("cafe-ko", "s-1") is None
    assert all("PWNED" not in e.answer("ko") for e in storage.list_faq("cafe-ko"))


def test_a_short_key_is_refused(storage) -> None:
    with pytest.raises(ValueError):
        create_skill_app(storage, MENUS, key="short")


# --- what it believes ------------------------------------------------------------------------


async def test_prices_and_names_come_from_the_menu(gateway, storage) -> None:
    hostile = line(quantity=99, price=-100_000, name="FREE GOLD")
    added = await answer(gateway, skill_body(IntentName.ORDER_ADD, hostile))
    assert added["data"]["cart"]["total"] == 99 * LATTE.price
    assert "FREE GOLD" not in added["template"]["outputs"][0]["simpleText"]["text"]
    placed = await answer(gateway, skill_body(IntentName.ORDER_CONFIRM))
    order = storage.get_order(placed["data"]["order_id"])
    assert order.total == 99 * LATTE.price
    assert [(l.name, l.unit_price, l.quantity) for l in order.lines] == [("카페라떼", LATTE.price, 99)]


async def test_an_option_is_priced_by_the_menu(gateway) -> None:
    shot = LineOption(group="shot", value="extra_1")
    priced = CAFE.unit_price(LATTE, (shot,))
    assert priced > LATTE.price
    added = await answer(gateway, skill_body(IntentName.ORDER_ADD, line(options=(shot,), price=0)))
    assert added["data"]["cart"]["total"] == priced


@pytest.mark.parametrize("bad", [
    line(item_id="gold_bar"),
    line(options=(LineOption(group="gold", value="bar"),)),
    line(options=(LineOption(group="shot", value="ten_shots"),)),
    line(item_id="cheesecake", options=(LineOption(group="shot", value="extra_1"),)),
    line(options=(LineOption(group="size", value="large"), LineOption(group="size", value="regular"))),
])
async def test_what_the_menu_does_not_have_is_refused_and_nothing_stored(gateway, storage, bad) -> None:
    refused = await answer(gateway, skill_body(IntentName.ORDER_ADD, bad), status=400)
    assert refused["error"]["code"] == "not_on_menu"
    assert storage.get_cart("cafe-ko", "s-1") is None


async def test_an_unknown_store_is_404(gateway) -> None:
    refused = await answer(gateway, skill_body(IntentName.ORDER_ADD, line(), store="no-such-store"), status=404)
    assert refused["error"]["code"] == "unknown_store"


def test_the_customers_words_stay_out_of_the_line() -> None:
    assert checked_line(line(), CAFE, "ko").origin == ""


def test_lines_inside_an_offer_and_a_question_are_checked_too() -> None:
    """A yes to an offer applies the offer's lines: they are checked like the turn's own."""
    faq = Intent(name=IntentName.FAQ, confidence=1.0)
    priced = checked_understanding(Understanding(intent=faq, offer=Offer(intent=IntentName.ORDER_ADD, lines=(line(price=-5),))),
                                   CAFE, "ko")
    assert priced.offer.lines[0].unit_price == LATTE.price
    for hostile in (Understanding(intent=faq, offer=Offer(intent=IntentName.ORDER_ADD, lines=(line(item_id="gold_bar"),))),
                    Understanding(intent=faq, asked=Asked(lines=(line(item_id="gold_bar"),))),
                    Understanding(intent=faq, options=(LineOption(group="gold", value="bar"),)),
                    Understanding(intent=faq, held_quantity=-3)):
        with pytest.raises(RequestError):
            checked_understanding(hostile, CAFE, "ko")


async def test_choices_said_to_the_customer_are_the_menus_names(gateway, storage) -> None:
    """"Did you mean ...?" and its quick replies read the request's candidates: a caller's text
    ("PWNED: call 010-0000-0000") would be said to the customer as a choice."""
    unknown = Intent(name=IntentName.UNKNOWN, confidence=0.4)
    menus_words = Understanding(intent=unknown, reason="low_confidence", candidates=("카페라떼", "라지"))
    assert checked_understanding(menus_words, CAFE, "ko").candidates == ("카페라떼", "라지")
    faq = Understanding(intent=Intent(name=IntentName.FAQ, confidence=1.0), candidates=("hours",))
    assert checked_understanding(faq, CAFE, "ko").candidates == ("hours",)
    for hostile in (menus_words.model_copy(update={"candidates": ("카페라떼", "PWNED: call 010-0000-0000")}),
                    faq.model_copy(update={"reason": "ambiguous_item", "candidates": ("PWNED: call 010-0000-0000",)})):
        with pytest.raises(RequestError) as info:
            checked_understanding(hostile, CAFE, "ko")
        assert info.value.code == "not_on_menu"
    body = build_skill_request(menus_words.model_copy(update={"candidates": ("PWNED",)}), store="cafe-ko", session="s-9",
                               language="ko", utterance="…", channel="text").to_wire()
    refused = await answer(gateway, body, 400)
    assert refused["error"]["code"] == "not_on_menu" and storage.get_cart("cafe-ko", "s-9") is None


def test_an_amount_the_group_does_not_take_is_refused() -> None:
    amounts = [g for g in CAFE.option_groups if not g.amounts]
    group = amounts[0]
    item = next(i for i in CAFE.items if group.id in i.option_groups)
    hostile = OrderLine(item_id=item.id, name="x", quantity=1, unit_price=0,
                        options=(LineOption(group=group.id, value=group.values[0].id, amount="extra"),))
    with pytest.raises(RequestError) as info:
        checked_line(hostile, CAFE, "ko")
    assert info.value.code == "not_on_menu"


# --- retries ---------------------------------------------------------------------------------


def _as_first(again: dict) -> dict:
    """A retry's answer is the first one, marked as given before."""
    assert again["data"].pop("replayed") is True
    return again


async def test_a_retried_add_is_applied_once_and_answered_the_same(gateway, storage) -> None:
    body = skill_body(IntentName.ORDER_ADD, line(quantity=2), key="add-1", digest="d1")
    first = await answer(gateway, body)
    again = await answer(gateway, body)
    assert _as_first(again) == first
    (kept,) = storage.get_cart("cafe-ko", "s-1").lines
    assert kept.quantity == 2


async def test_one_key_for_another_request_is_409_and_not_applied(gateway, storage) -> None:
    await answer(gateway, skill_body(IntentName.ORDER_ADD, line(), key="k", digest="first"))
    for n, item in enumerate(("americano", "cafe_latte", "cheesecake")):
        other = skill_body(IntentName.ORDER_ADD, line(item_id=item), key="k", digest=f"other-{n}")
        refused = await answer(gateway, other, status=409)
        assert refused["error"]["code"] == "idempotency_key_reused"
    assert [l.item_id for l in storage.get_cart("cafe-ko", "s-1").lines] == ["cafe_latte"]


async def test_without_a_digest_the_request_itself_tells_a_retry(gateway, storage) -> None:
    """A plain Open Builder request (no gateway digest): the same body is a retry, another is not."""
    body = skill_body(IntentName.ORDER_ADD, line(), key="plain")
    await answer(gateway, body)
    await answer(gateway, body)
    await answer(gateway, skill_body(IntentName.ORDER_ADD, line(quantity=3), key="plain"), status=409)
    assert [l.quantity for l in storage.get_cart("cafe-ko", "s-1").lines] == [1]


async def test_a_key_is_one_sessions(gateway, storage) -> None:
    for session in ("alice", "bob"):
        await answer(gateway, skill_body(IntentName.ORDER_ADD, line(), session=session, key="same", digest=session))
    assert storage.get_cart("cafe-ko", "alice").lines and storage.get_cart("cafe-ko", "bob").lines


async def test_a_retried_confirm_orders_once(gateway, storage, tmp_path) -> None:
    await answer(gateway, skill_body(IntentName.ORDER_ADD, line(quantity=2)))
    confirm = skill_body(IntentName.ORDER_CONFIRM, key="confirm-1", digest="c")
    first, again = await answer(gateway, confirm), await answer(gateway, confirm)
    assert first == _as_first(again) and first["data"]["order_id"]
    with sqlite3.connect(tmp_path / "voicegw.db") as db:
        assert db.execute("SELECT COUNT(*), SUM(total) FROM orders").fetchone() == (1, 2 * LATTE.price)


async def test_the_client_surfaces_a_reused_key_as_409(server) -> None:
    u = Understanding(intent=Intent(name=IntentName.ORDER_ADD, confidence=0.9), lines=(line(),))
    async with SkillClient(str(server.make_url("/skill")), headers=bearer(KEY)) as skill:
        await skill.post(build_skill_request(u, store="cafe-ko", session="c", language="ko", utterance="x",
                                             channel="text", idempotency_key="k", request_digest="one"))
        with pytest.raises(RequestError) as info:
            await skill.post(build_skill_request(u, store="cafe-ko", session="c", language="ko", utterance="x",
                                                 channel="text", idempotency_key="k", request_digest="two"))
    assert (info.value.code, info.value.http_status) == ("idempotency_key_reused", 409)


async def test_an_embedded_server_answers_only_its_own_process(tmp_path) -> None:
    """The port the log prints is no way in: a caller without the process's key gets 401."""
    import aiohttp

    from voicegw.backend.embedded import EmbeddedBackend

    embedded = EmbeddedBackend(tmp_path / "voicegw.db", MENUS)
    url = await embedded.start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(url.removesuffix("/skill") + "/orders") as resp:
                assert resp.status == 401
            async with http.get(url.removesuffix("/skill") + "/orders", headers=embedded.headers) as resp:
                assert resp.status == 200
    finally:
        await embedded.stop()
