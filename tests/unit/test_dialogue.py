"""Pure cart dialogue: apply_turn and the reply formatters."""

from __future__ import annotations

import pytest

from voicegw.dialogue import replies as R
from voicegw.dialogue.cart import Cart
from voicegw.dialogue.cart_ops import explicit_quantity
from voicegw.dialogue.turns import apply_turn, order_placed
from voicegw.nlu.types import Intent, IntentName, LineOption, OrderLine, Understanding

ICE = LineOption(group="temperature", value="ice")
HOT = LineOption(group="temperature", value="hot")


def line(item: str = "americano", name: str = "아이스 아메리카노", qty: int = 1, options=(ICE,), price: int = 4500,
         origin: str = "", said: bool | None = None) -> OrderLine:
    return OrderLine(item_id=item, name=name, quantity=qty, options=tuple(options), unit_price=price, origin=origin,
                     quantity_said=said)


def turn(intent: IntentName, *lines: OrderLine, reason: str | None = None, candidates: tuple[str, ...] = ()) -> Understanding:
    return Understanding(intent=Intent(name=intent, confidence=0.9), lines=lines, reason=reason, candidates=candidates)


def test_add_replies_like_a_cashier_and_merges_same_item_and_options() -> None:
    out = apply_turn(Cart(), turn(IntentName.ORDER_ADD, line(qty=2)))
    assert out.reply.text == "아이스 아메리카노 2잔 담았어요. 더 필요하신 건 없으세요?"
    assert out.reply.quick_replies == ("주문 완료", "취소")
    assert out.status == "ok" and not out.submit
    out = apply_turn(out.cart, turn(IntentName.ORDER_ADD, line(qty=1), line(name="아메리카노", options=(HOT,))))
    assert [(l.name, l.quantity) for l in out.cart.lines] == [("아이스 아메리카노", 3), ("아메리카노", 1)]
    assert out.cart.total == 4 * 4500


def test_add_in_english_pluralises_and_korean_uses_the_counters_given() -> None:
    latte = line(item="latte", name="large iced latte", qty=2, price=475)
    out = apply_turn(Cart(currency="USD"), turn(IntentName.ORDER_ADD, latte), language="en")
    assert out.reply.text == "Added 2 large iced lattes. Anything else?"
    cake = line(item="cake", name="치즈케이크", qty=2, options=())
    out = apply_turn(Cart(), turn(IntentName.ORDER_ADD, cake, line()), counters={"cake": "개", "americano": "잔"})
    assert out.reply.text.startswith("치즈케이크 2개, 아이스 아메리카노 1잔 담았어요.")


def test_remove_whole_line_unless_a_quantity_was_said() -> None:
    cart = Cart(lines=(line(qty=3), line(item="cake", name="치즈케이크", options=(), price=6000)))
    out = apply_turn(cart, turn(IntentName.ORDER_REMOVE, line(qty=1, options=(), origin="아메리카노 빼줘", said=False)))
    assert [l.item_id for l in out.cart.lines] == ["cake"]
    assert out.reply.text.startswith("아이스 아메리카노 3잔 뺐어요. 지금 치즈케이크 1잔 담겨 있어요. 합계 6,000원")
    out = apply_turn(cart, turn(IntentName.ORDER_REMOVE, line(qty=1, options=(), origin="아메리카노 한 잔 빼줘", said=True)))
    assert [(l.item_id, l.quantity) for l in out.cart.lines] == [("americano", 2), ("cake", 1)]
    out = apply_turn(cart, turn(IntentName.ORDER_REMOVE, line(qty=5, options=(), origin="아메리카노 5잔 빼줘")))
    assert [l.item_id for l in out.cart.lines] == ["cake"]


def test_remove_matches_options_and_reports_what_is_missing() -> None:
    cart = Cart(lines=(line(name="아이스 아메리카노"), line(name="아메리카노", options=(HOT,))))
    out = apply_turn(cart, turn(IntentName.ORDER_REMOVE, line(name="아메리카노", options=(HOT,))))
    assert [l.options for l in out.cart.lines] == [(ICE,)]
    out = apply_turn(cart, turn(IntentName.ORDER_REMOVE, line(item="latte", name="라떼", options=())))
    assert out.cart == cart and out.status == "not_understood" and out.reason == "not_in_cart"
    assert out.reply.text.startswith("장바구니에 라떼가 없어요.")


def test_change_replaces_options_and_keeps_quantity() -> None:
    cart = Cart(lines=(line(qty=2),))
    out = apply_turn(cart, turn(IntentName.ORDER_CHANGE, line(name="아메리카노", options=(HOT,), origin="따뜻한 걸로")))
    assert [(l.name, l.quantity, l.options) for l in out.cart.lines] == [("아메리카노", 2, (HOT,))]
    assert out.reply.text.startswith("아메리카노 2잔으로 바꿨어요.")


def test_cancel_empties_cart_and_confirm_signals_submit() -> None:
    cart = Cart(lines=(line(qty=2),))
    assert apply_turn(cart, turn(IntentName.ORDER_CANCEL)).cart.lines == ()
    out = apply_turn(cart, turn(IntentName.ORDER_CONFIRM))
    assert out.submit and out.cart == cart
    placed = order_placed(out, "A-0007", cart.lines, cart.total, "KRW")
    assert not placed.submit and placed.cart.lines == () and placed.order_id == "A-0007"
    assert placed.reply.text == "주문이 접수됐어요. 주문번호 A-0007, 아이스 아메리카노 2잔, 합계 9,000원입니다."
    empty = apply_turn(Cart(), turn(IntentName.ORDER_CONFIRM))
    assert not empty.submit and empty.reply.text.startswith("아직 담긴 메뉴가 없어요")


def test_confirm_in_english_with_usd_total() -> None:
    cart = Cart(lines=(line(item="latte", name="large iced latte", qty=2, price=475),), currency="USD")
    out = apply_turn(cart, turn(IntentName.ORDER_CONFIRM), language="en")
    placed = order_placed(out, "A-0001", cart.lines, cart.total, "USD", language="en")
    assert placed.reply.text == "Your order A-0001 is in: 2 large iced lattes, total $9.50."


def test_status_reads_back_the_cart_or_the_last_order() -> None:
    cart = Cart(lines=(line(qty=2),))
    assert apply_turn(cart, turn(IntentName.ORDER_STATUS)).reply.text == "지금 아이스 아메리카노 2잔 담겨 있어요. 합계 9,000원입니다."
    out = apply_turn(Cart(), turn(IntentName.ORDER_STATUS), last_order_id="A-0003")
    assert "A-0003은 접수" in out.reply.text
    assert apply_turn(Cart(), turn(IntentName.ORDER_STATUS), language="en").reply.text == "Your cart is empty."


def test_faq_handoff_greeting() -> None:
    out = apply_turn(Cart(), turn(IntentName.FAQ, candidates=("wifi",)), faq_answer="비밀번호는 cafe1234예요.")
    assert out.reply.text == "비밀번호는 cafe1234예요." and out.status == "ok"
    missing = apply_turn(Cart(), turn(IntentName.FAQ, candidates=("nope",)))
    assert missing.reason == "faq_not_found" and missing.reply.quick_replies == ("직원 연결",)
    handoff = apply_turn(Cart(), turn(IntentName.HANDOFF))
    assert handoff.handoff and "직원" in handoff.reply.text
    assert apply_turn(Cart(), turn(IntentName.GREETING), language="en").reply.text == "Hello! What would you like?"


@pytest.mark.parametrize(
    ("reason", "candidates", "status", "expected"),
    [
        ("sold_out", ("카페 라떼", "카푸치노"), "rejected", "죄송해요, 바닐라 라떼는 지금 품절이에요. 대신 카페 라떼, 카푸치노 어떠세요?"),
        ("unknown_item", (), "not_understood", "죄송해요, 메뉴에서 찾지 못했어요. 다시 말씀해 주시겠어요?"),
        ("ambiguous_item", ("아이스 아메리카노", "아메리카노"), "needs_clarification", "아이스 아메리카노, 아메리카노 중 어떤 걸로 드릴까요?"),
        ("low_confidence", (), "needs_clarification", "잘 못 들었어요. 다시 한 번 말씀해 주시겠어요?"),
        ("not_understood", (), "not_understood", "죄송해요, 잘 이해하지 못했어요. 메뉴 이름과 수량을 말씀해 주세요."),
    ],
)
def test_non_ok_reasons_never_change_the_cart(reason, candidates, status, expected) -> None:
    cart = Cart(lines=(line(),))
    sold = (line(item="vanilla", name="바닐라 라떼", options=()),) if reason == "sold_out" else ()
    out = apply_turn(cart, turn(IntentName.ORDER_ADD, *sold, reason=reason, candidates=candidates))
    assert out.cart == cart
    assert (out.status, out.reason, out.reply.text) == (status, reason, expected)
    assert out.reply.quick_replies == (candidates or ("주문 완료", "취소"))


def test_sold_out_in_english_and_unknown_intent() -> None:
    u = turn(IntentName.ORDER_ADD, line(name="vanilla latte", options=()), reason="sold_out", candidates=("latte",))
    assert apply_turn(Cart(), u, language="en").reply.text == "Sorry, vanilla latte is sold out right now. How about latte instead?"
    out = apply_turn(Cart(), turn(IntentName.UNKNOWN))
    assert out.status == "not_understood" and out.reply.quick_replies == ("장바구니 확인", "직원 연결")


def test_formatters() -> None:
    assert R.format_money(9000, "KRW", "ko") == "9,000원"
    assert R.format_money(950, "USD", "en") == "$9.50"
    assert R.format_money(123456, "USD", "ko") == "$1,234.56"
    assert [R.topic_particle(w) for w in ("아메리카노", "빵", "A-0002", "latte")] == ["는", "은", "는", "은(는)"]
    assert [R.direction_particle(w) for w in ("1잔", "1개", "물")] == ["으로", "로", "로"]
    # understanding says whether the quantity was said; a line built elsewhere can only have said one above 1
    said = line().model_copy(update={"quantity_said": True})
    assert explicit_quantity(said) and not explicit_quantity(line().model_copy(update={"quantity_said": False}))
    assert explicit_quantity(line(qty=2)) and not explicit_quantity(line(qty=1))
