"""Multi-turn dialogue on the shipped menus: understand() then apply_turn(), state carried
between turns as the skill server carries it. Pure: no server, no database."""

from __future__ import annotations

from pathlib import Path

import pytest

from voicegw.dialogue.cart import Cart
from voicegw.dialogue.clarify import MAX_ASKS
from voicegw.dialogue.state import DialogueState
from voicegw.dialogue.turns import apply_turn
from voicegw.nlu.loader import load_menus
from voicegw.nlu.parser import understand

MENUS = load_menus(Path(__file__).resolve().parents[2] / "menus")


class Session:
    """A customer talking to one store; every turn goes through understand() and apply_turn()."""

    def __init__(self, store: str, language: str) -> None:
        self.menu, self.language = MENUS[store], language
        self.cart, self.state = Cart(currency=self.menu.currency), DialogueState()

    def say(self, text: str):
        u = understand(text, self.menu, self.language)
        out = apply_turn(self.cart, u, language=self.language, state=self.state, menu=self.menu)
        self.cart, self.state = out.cart, out.state or self.state
        return u, out

    def items(self) -> list[tuple[str, int, dict[str, str]]]:
        return [(l.item_id, l.quantity, {o.group: o.value for o in l.options}) for l in self.cart.lines]


def test_a_required_option_is_asked_for_and_the_answer_completes_the_line() -> None:
    s = Session("cafe-ko", "ko")
    u, out = s.say("에이드 두 잔 주세요")
    assert (out.status, out.reason, u.missing_group) == ("needs_clarification", "missing_option", "ade_flavor")
    assert out.reply.quick_replies == ("레몬", "자몽", "청포도") and "맛으로" in out.reply.text
    assert s.cart.lines == ()
    _, out = s.say("자몽으로 주세요")
    assert (out.status, out.intent) == ("ok", u.intent.name)
    assert s.items() == [("ade", 2, {"size": "regular", "ade_flavor": "grapefruit"})]
    assert s.cart.total == 10000 and s.state.pending is None
    assert s.cart.lines[0].name == "자몽 에이드"


def test_re_asks_are_limited_then_the_held_line_is_dropped_and_staff_offered() -> None:
    s = Session("coffee-en", "en")
    s.say("a smoothie please")
    for _ in range(MAX_ASKS - 1):
        _, out = s.say("uh")
        assert (out.status, out.reason) == ("needs_clarification", "missing_option")
    _, out = s.say("uh")
    assert (out.status, out.reason) == ("not_understood", "missing_option")
    assert "Talk to staff" in out.reply.quick_replies and s.state.pending is None and s.cart.lines == ()


def test_a_shared_name_asks_which_item_and_keeps_the_quantity() -> None:
    s = Session("cafe-ko", "ko")
    u, out = s.say("케이크 두 개랑 아메리카노 한 잔 주세요")
    assert (out.status, out.reason) == ("needs_clarification", "ambiguous_item")
    assert out.reply.quick_replies == ("치즈케이크", "티라미수")
    assert [l.item_id for l in u.lines] == ["americano"] and s.cart.lines == ()
    _, out = s.say("티라미수요")
    assert out.status == "ok"
    assert [(i, q) for i, q, _ in s.items()] == [("americano", 1), ("tiramisu", 2)]


def test_a_partial_name_chooses_among_the_offered_items() -> None:
    s = Session("coffee-en", "en")
    s.say("two cookies")
    _, out = s.say("sugar")
    assert out.status == "ok" and s.items() == [("sugar_cookie", 2, {})]


@pytest.mark.parametrize(
    ("store", "language", "first", "change", "expected"),
    [
        ("cafe-ko", "ko", "따뜻한 라떼 두 잔 주세요", "라떼는 아이스로 바꿔 주세요",
         [("cafe_latte", 2, {"temperature": "ice", "size": "regular"})]),
        ("cafe-ko", "ko", "라떼 두 잔 주세요", "라지로 바꿔 주세요", [("cafe_latte", 2, {"size": "large"})]),
        ("cafe-ko", "ko", "아메리카노 한 잔 주세요", "아메리카노 세 잔으로 바꿔 주세요", [("americano", 3, {})]),
        ("burger-ko", "ko", "콜라 두 잔 주세요", "콜라는 제로 콜라로 바꿔 주세요", [("zero_cola", 2, {})]),
        ("coffee-en", "en", "two lattes please", "make that a large", [("latte", 2, {"size": "large"})]),
        ("coffee-en", "en", "a latte please", "actually make it iced", [("latte", 1, {"temperature": "ice"})]),
        ("coffee-en", "en", "a latte please", "a cappuccino instead of the latte", [("cappuccino", 1, {})]),
        ("burger-ko", "en", "two cokes please", "change the coke to a sprite", [("cider", 2, {})]),
    ],
)
def test_changes_reach_the_line_in_the_cart(store, language, first, change, expected) -> None:
    s = Session(store, language)
    s.say(first)
    _, out = s.say(change)
    assert out.status == "ok", out.reply.text
    assert [(i, q) for i, q, _ in s.items()] == [(i, q) for i, q, _ in expected]
    for (_, _, got), (_, _, want) in zip(s.items(), expected):
        assert {g: got.get(g) for g in want} == want


def test_a_change_reprices_the_line() -> None:
    s = Session("cafe-ko", "ko")
    s.say("라떼 한 잔 주세요")
    s.say("라지로 바꿔 주세요")
    assert s.cart.total == 5500 and s.cart.lines[0].name == "라지 카페라떼"


def test_changing_what_is_not_in_the_cart_says_so() -> None:
    s = Session("cafe-ko", "ko")
    s.say("아메리카노 한 잔 주세요")
    _, out = s.say("라떼는 아이스로 바꿔 주세요")
    assert (out.status, out.reason) == ("not_understood", "not_in_cart")
    assert s.items() == [("americano", 1, {"size": "regular", "temperature": "hot", "shot": "standard"})]


def test_an_option_alone_with_nothing_asked_changes_the_newest_line_or_asks_which_item() -> None:
    s = Session("cafe-ko", "ko")
    _, out = s.say("아이스로요")
    assert (out.status, out.reason) == ("needs_clarification", "missing_item")
    s.say("라떼 한 잔 주세요")
    _, out = s.say("아이스로요")
    assert out.status == "ok" and out.intent is not None and out.intent.value == "order.change"
    assert s.items()[0][2]["temperature"] == "ice"


def test_frustration_gets_empathy_and_a_person_offered_and_the_order_still_counts() -> None:
    s = Session("cafe-ko", "ko")
    u, out = s.say("아 답답해")
    assert (u.sentiment, out.status, out.reason) == ("frustrated", "needs_clarification", "frustrated")
    assert "죄송" in out.reply.text and "직원 연결" in out.reply.quick_replies
    u, out = s.say("몇 번을 말해요 아메리카노 두 잔이라니까요")
    assert (u.sentiment, out.status) == ("frustrated", "ok")
    assert "죄송" in out.reply.text and "직원 연결" in out.reply.quick_replies
    assert [(i, q) for i, q, _ in s.items()] == [("americano", 2)]


def test_two_failed_turns_in_a_row_offer_a_person() -> None:
    s = Session("coffee-en", "en")
    _, first = s.say("the weather is nice today")
    assert first.failed and "I can get a member of staff" not in first.reply.text
    _, second = s.say("blah blah something")
    assert second.failed and "I can get a member of staff" in second.reply.text
    assert "Talk to staff" in second.reply.quick_replies
    _, ok = s.say("a latte please")
    assert ok.status == "ok" and s.state.failures == 0


def test_handoff_keeps_the_cart_and_tells_the_customer_it_goes_along() -> None:
    s = Session("cafe-ko", "ko")
    s.say("아메리카노 두 잔 주세요")
    _, out = s.say("상담원 연결해 주세요")
    assert out.handoff and s.state.handed_off
    assert [(i, q) for i, q, _ in s.items()] == [("americano", 2)]
    assert "장바구니" in out.reply.text and "9,000원" in out.reply.text


def test_confirming_an_empty_cart_is_refused_with_a_reason() -> None:
    _, out = Session("cafe-ko", "ko").say("네 결제할게요")
    assert (out.status, out.reason, out.submit) == ("rejected", "empty_cart", False)


def test_a_faq_question_during_a_question_keeps_it_pending() -> None:
    s = Session("cafe-ko", "ko")
    s.say("에이드 한 잔 주세요")
    u, _ = s.say("영업시간이 어떻게 되나요")
    assert u.intent.name.value == "faq" and s.state.pending is not None
    _, out = s.say("레몬이요")
    assert out.status == "ok" and s.items()[0][2]["ade_flavor"] == "lemon"


def test_no_line_holds_more_than_the_most_one_order_can() -> None:
    s = Session("cafe-ko", "ko")
    _, out = s.say("아메리카노 99999999999999999999잔")
    assert (out.status, out.reason, s.cart.lines) == ("rejected", "too_many", ())
    s.say("아메리카노 999잔")
    _, out = s.say("아메리카노 한 잔 더 주세요")
    assert (out.status, out.reason) == ("rejected", "too_many")
    assert [l.quantity for l in s.cart.lines] == [999]


def test_a_yes_to_getting_staff_hands_off_and_never_places_the_order() -> None:
    s = Session("coffee-en", "en")
    s.say("a latte please")
    _, out = s.say("does the latte have banana in it?")  # the menu does not say
    assert "member of staff" in out.reply.text and s.state.offer is not None
    _, out = s.say("yes")
    assert out.handoff and not out.submit and s.cart.lines


def test_a_price_asked_of_a_group_without_a_default_names_each_value() -> None:
    _, out = Session("bagel-en", "en").say("how much is extra spread?")
    assert out.status == "ok" and out.reply.text.count("extra") >= 2


def test_an_offer_names_what_a_quantity_alone_would_change() -> None:
    s = Session("cafe-ko", "ko")
    s.say("아메리카노 세 잔 주세요")
    _, out = s.say("하나 빼도 되나요?")
    assert out.reply.text.startswith("아메리카노 1잔 빼 드릴까요")
    _, out = s.say("네")
    assert s.items()[0][1] == 2


def test_an_offer_to_change_every_line_changes_every_line_on_yes() -> None:
    s = Session("cafe-ko", "ko")
    s.say("아메리카노 한 잔이랑 카페라떼 한 잔")
    s.say("전부 라지로 바꾸면 추가 요금 있나요?")
    s.say("네")
    assert [options["size"] for _, _, options in s.items()] == ["large", "large"]


def test_a_line_amended_and_a_new_item_in_one_breath() -> None:
    s = Session("cafe-ko", "ko")
    s.say("크루아상 하나")
    _, out = s.say("크루아상은 데워서 주시고 아메리카노 한 잔이요")
    assert [(item, qty) for item, qty, _ in s.items()] == [("croissant", 1), ("americano", 1)]
    assert s.items()[0][2]["warming"] == "warmed" and "바꾸고" in out.reply.text


def test_an_item_named_as_ordered_but_not_in_the_cart_asks_its_required_option() -> None:
    s = Session("bagel-en", "en")
    _, out = s.say("cream cheese on the bagel")
    assert (out.status, out.reason) == ("needs_clarification", "missing_option") and out.reply.quick_replies
    s.say("everything")
    assert s.items() == [("bagel", 1, {"bagel_kind": "everything", "toasted": "not_toasted", "spread": "plain_cc"})]


def test_both_of_them_is_every_line() -> None:
    s = Session("cafe-ko", "ko")
    s.say("아메리카노 한 잔이랑 카페라떼 한 잔")
    s.say("둘 다 아이스로 해 주세요")
    assert [options["temperature"] for _, _, options in s.items()] == ["ice", "ice"]


def test_the_price_of_a_sold_out_item_says_so_and_offers_nothing() -> None:
    s = Session("bagel-en", "en")
    _, out = s.say("how much is the whitefish salad sandwich?")
    assert "$13.95" in out.reply.text and "sold out" in out.reply.text and s.state.offer is None
