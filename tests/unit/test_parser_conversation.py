"""understand() on what customers say mid-conversation: changes, answers, portions, set swaps,
read-backs, feelings. Each row: (menu, language, text, intent, checks on the Understanding)."""

from __future__ import annotations

from pathlib import Path

import pytest

from voicegw.nlu.loader import load_menus
from voicegw.nlu.parser import understand
from voicegw.nlu.types import Understanding

MENUS = load_menus(Path(__file__).resolve().parents[2] / "menus")


def lines(u: Understanding) -> list[tuple[str, int, dict[str, str]]]:
    return [(l.item_id, l.quantity, {o.group: o.value if o.amount == "regular" else f"{o.value}/{o.amount}"
                                     for o in l.options}) for l in u.lines]


def options(u: Understanding) -> dict[str, str]:
    return {o.group: o.value if o.amount == "regular" else f"{o.value}/{o.amount}" for o in u.options}


def test_portions_of_one_item_made_differently() -> None:
    u = understand("라떼 세 잔 주세요, 두 잔은 아이스로 하고 하나는 따뜻하게 오트 우유 많이요", MENUS["cafe-ko"], "ko")
    got = [(i, q, {g: o[g] for g in ("temperature", "milk")}) for i, q, o in lines(u)]
    assert got == [("cafe_latte", 2, {"temperature": "ice", "milk": "whole"}),
                   ("cafe_latte", 1, {"temperature": "hot", "milk": "oat/extra"})]
    u = understand("라떼 두 잔은 아이스로, 하나는 오트 우유 많이 넣어서요", MENUS["cafe-ko"], "ko")
    assert [(q, o["temperature"], o["milk"]) for _, q, o in lines(u)] == [(2, "ice", "whole"), (1, "hot", "oat/extra")]
    u = understand("two americanos, one iced and one hot", MENUS["coffee-en"], "en")
    assert [(q, o["temperature"]) for _, q, o in lines(u)] == [(1, "ice"), (1, "hot")]
    u = understand("three lattes, two with oat milk", MENUS["coffee-en"], "en")
    assert [(q, o["milk"]) for _, q, o in lines(u)] == [(1, "whole"), (2, "oat")]


def test_one_quantity_is_one_line() -> None:
    assert [q for _, q, _ in lines(understand("아메리카노 두 잔 샷 추가", MENUS["cafe-ko"], "ko"))] == [2]


@pytest.mark.parametrize(
    ("menu", "lang", "text", "expected"),
    [
        ("burger-ko", "ko", "치즈버거 세트 하나 콜라 대신 사이다로 주세요", [("cheeseburger_set", 1, "cider", "fries")]),
        ("burger-ko", "ko", "치킨버거 세트 라지로 하나, 사이드는 감자튀김 말고 치즈스틱으로요",
         [("chicken_set", 1, "cola", "cheese_sticks")]),
        ("burger-ko", "ko", "불고기버거 두 세트요, 하나는 콜라 대신 사이다로 주세요",
         [("bulgogi_set", 1, "cola", "fries"), ("bulgogi_set", 1, "cider", "fries")]),
        ("burger-ko", "en", "a bulgogi burger combo with cheese sticks and a coke zero",
         [("bulgogi_set", 1, "zero_cola", "cheese_sticks")]),
    ],
)
def test_a_sets_drink_and_side_said_with_it_go_into_the_set(menu, lang, text, expected) -> None:
    got = [(i, q, o["set_drink"], o["set_side"]) for i, q, o in lines(understand(text, MENUS[menu], lang))]
    assert got == expected


@pytest.mark.parametrize(
    ("menu", "lang", "text"),
    [("burger-ko", "ko", "불고기버거 세트 하나랑 콜라 하나"), ("burger-ko", "en", "a bulgogi combo and a coke"),
     ("burger-ko", "ko", "불고기버거 콜라")],
)
def test_a_drink_ordered_beside_a_burger_stays_a_drink(menu, lang, text) -> None:
    assert [i for i, _, _ in lines(understand(text, MENUS[menu], lang))][-1] == "cola"


@pytest.mark.parametrize(
    ("menu", "lang", "text", "intent", "said", "replaced", "bare"),
    [
        ("cafe-ko", "ko", "라떼는 아이스로 바꿔 주세요", "order.change", [("cafe_latte", {"temperature": "ice"})], [], {}),
        ("cafe-ko", "ko", "라지로 바꿔 주세요", "order.change", [], [], {"size": "large"}),
        ("burger-ko", "ko", "콜라는 제로 콜라로 바꿔 주세요", "order.change", [("zero_cola", None)], ["cola"], None),
        ("burger-ko", "ko", "콜라는 사이다로 해 주세요", "order.change", [("cider", None)], ["cola"], None),
        ("burger-ko", "ko", "감자튀김 말고 코울슬로로 바꿔 주세요", "order.change", [], ["fries"], {"set_side": "coleslaw"}),
        ("coffee-en", "en", "a cappuccino instead of the latte", "order.change", [("cappuccino", None)], ["latte"], None),
        ("coffee-en", "en", "make that a large", "order.change", [], [], {"size": "large"}),
        ("coffee-en", "en", "no, I said a SMALL", "order.change", [], [], {"size": "small"}),
        ("cafe-ko", "ko", "자몽으로 주세요", "order.add", [], [], {"ade_flavor": "grapefruit"}),
        ("burger-ko", "ko", "얼음은 빼 주세요", "order.add", [], [], {"ice": "ice/none"}),
    ],
)
def test_changes_and_answers(menu, lang, text, intent, said, replaced, bare) -> None:
    u = understand(text, MENUS[menu], lang)
    assert u.intent.name.value == intent
    assert [l.item_id for l in u.replaced] == replaced
    for (item, opts), (got_item, _, got_opts) in zip(said, lines(u), strict=True):
        assert got_item == item and (opts is None or {g: got_opts.get(g) for g in opts} == opts)
    if bare is not None:
        assert {g: options(u).get(g) for g in bare} == bare


def test_a_menu_recitation_is_not_an_answer() -> None:
    u = understand("바닐라 시럽 없이, 바닐라 시럽", MENUS["cafe-ko"], "ko")
    assert u.intent.name.value == "unknown" and u.options == ()


@pytest.mark.parametrize(
    ("menu", "lang", "text", "amends"),
    [
        ("cafe-ko", "ko", "베이글은 데워서 주세요", True),
        ("cafe-ko", "ko", "아메리카노를 라지로 해 달라고요", True),
        ("cafe-ko", "ko", "라떼 차가운 걸로 해 주세요", True),
        ("coffee-en", "en", "can I get honey in the tea", True),
        ("cafe-ko", "ko", "아이스 아메리카노 두 잔 주세요", False),
        ("cafe-ko", "ko", "라떼 두 잔은 아이스로", False),
    ],
)
def test_an_item_named_as_already_ordered_amends_it(menu, lang, text, amends) -> None:
    assert understand(text, MENUS[menu], lang).amends is amends


def test_fewer_of_the_newest_line() -> None:
    u = understand("아니다, 한 잔 빼 주세요", MENUS["cafe-ko"], "ko")
    assert (u.intent.name.value, u.lines, u.held_quantity) == ("order.remove", (), 1)


def test_an_options_amount_is_not_a_removal() -> None:
    u = understand("초코라떼 두 잔인데 하나는 휘핑 많이, 하나는 휘핑 빼 주세요", MENUS["cafe-ko"], "ko")
    assert u.intent.name.value == "order.add"
    assert [o["whip"] for _, _, o in lines(u)] == ["whip/extra", "whip/none"]
    assert understand("치즈케이크는 빼 주세요", MENUS["cafe-ko"], "ko").intent.name.value == "order.remove"


def test_a_particle_ends_a_name() -> None:
    u = understand("콜라는 제로 콜라로 바꿔 주세요", MENUS["burger-ko"], "ko")
    assert [l.item_id for l in u.replaced] == ["cola"]


@pytest.mark.parametrize(
    ("menu", "lang", "text", "intent"),
    [
        ("cafe-ko", "ko", "장바구니 보여 주세요", "order.status"),
        ("burger-ko", "ko", "지금까지 얼마예요?", "order.status"),
        ("coffee-en", "en", "what's my total", "order.status"),
        ("coffee-en", "en", "that's everything", "order.confirm"),
        ("coffee-en", "en", "ok ring it up", "order.confirm"),
        ("burger-ko", "ko", "주문할게요", "order.confirm"),
        ("coffee-en", "en", "you know what, cancel my order", "order.cancel"),
        ("cafe-ko", "ko", "주문 취소 어떻게 하나요", "faq"),
    ],
)
def test_read_backs_confirmations_and_cancels(menu, lang, text, intent) -> None:
    assert understand(text, MENUS[menu], lang).intent.name.value == intent


@pytest.mark.parametrize(
    ("text", "lang", "menu", "sentiment", "intent"),
    [
        ("아 답답해", "ko", "cafe-ko", "frustrated", "unknown"),
        ("몇 번을 말해요 아메리카노 두 잔이라니까요", "ko", "cafe-ko", "frustrated", "order.add"),
        ("와 진짜 맛있겠다 아메리카노 한 잔", "ko", "cafe-ko", "neutral", "order.add"),
        ("this is ridiculous", "en", "coffee-en", "frustrated", "unknown"),
        ("I already told you two lattes", "en", "coffee-en", "frustrated", "order.add"),
    ],
)
def test_feelings(text, lang, menu, sentiment, intent) -> None:
    u = understand(text, MENUS[menu], lang)
    assert (u.sentiment, u.intent.name.value) == (sentiment, intent)
    assert (u.reason == "frustrated") is (intent == "unknown")


def test_shared_names_are_ambiguous_and_keep_the_quantity() -> None:
    u = understand("케이크 두 개 주세요", MENUS["cafe-ko"], "ko")
    assert (u.reason, u.candidates, u.held_quantity) == ("ambiguous_item", ("치즈케이크", "티라미수"), 2)
    u = understand("take off the cookies", MENUS["coffee-en"], "en")
    assert sorted(l.item_id for l in u.lines) == ["chocolate_chip_cookie", "sugar_cookie"]


def test_a_required_option_not_said_is_missing() -> None:
    u = understand("에이드 두 잔 주세요", MENUS["cafe-ko"], "ko")
    assert (u.reason, u.missing_group, u.candidates) == ("missing_option", "ade_flavor", ("레몬", "자몽", "청포도"))
    assert understand("레몬에이드도 하나요", MENUS["cafe-ko"], "ko").reason is None


def test_an_item_s_own_default_is_in_its_price() -> None:
    u = understand("바닐라라떼 한 잔", MENUS["cafe-ko"], "ko")
    assert u.lines[0].unit_price == 5500
