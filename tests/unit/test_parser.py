"""understand(): Korean and English sentences across the three shipped menus."""

from __future__ import annotations

from pathlib import Path

import pytest

from voicegw.nlu.compiled import compile_menu
from voicegw.nlu.loader import load_menus
from voicegw.nlu.menu import Menu
from voicegw.nlu.evidence import MIN_ORDER_COVERAGE
from voicegw.nlu.parser import read, understand
from voicegw.nlu.types import IntentName, OrderLine, Understanding

MENUS = load_menus(Path(__file__).resolve().parents[2] / "menus")

ADD, REMOVE, CONFIRM, CANCEL = "order.add", "order.remove", "order.confirm", "order.cancel"

# (menu, language, text, intent, lines): each line is (item_id, quantity, {group: value | (value, amount)});
# only the groups listed are checked, so defaults are tested where they matter.
ORDERS = [
    ("cafe-ko", "ko", "아이스 아메리카노 두 잔 주세요", ADD, [("americano", 2, {"temperature": "ice"})]),
    ("cafe-ko", "ko", "아메리카노 한 잔이요", ADD, [("americano", 1, {"temperature": "hot", "size": "regular"})]),
    ("cafe-ko", "ko", "아이스 아메리카 노 하나 주세요", ADD, [("americano", 1, {"temperature": "ice"})]),
    ("cafe-ko", "ko", "아미리카노 두 잔", ADD, [("americano", 2, {})]),
    ("cafe-ko", "ko", "따뜻한 카페라떼 라지로 한 잔이랑 치즈케이크 하나", ADD,
     [("cafe_latte", 1, {"temperature": "hot", "size": "large"}), ("cheesecake", 1, {})]),
    ("cafe-ko", "ko", "음 그 라떼는 오트 우유로 두 잔 주세요", ADD, [("cafe_latte", 2, {"milk": "oat"})]),
    ("cafe-ko", "ko", "바닐라라떼 아이스로 시럽 많이", ADD,
     [("vanilla_latte", 1, {"temperature": "ice", "syrup": ("vanilla", "extra")})]),
    ("cafe-ko", "ko", "카라멜 마키아또 큰 거 하나 샷 추가해 주세요", ADD,
     [("caramel_macchiato", 1, {"size": "large", "shot": "extra_1", "syrup": "caramel"})]),
    ("cafe-ko", "ko", "아이스티 세 잔하고 크루아상 데워서 두 개", ADD,
     [("iced_tea", 3, {}), ("croissant", 2, {"warming": "warmed"})]),
    ("cafe-ko", "ko", "녹차라떼 하나 초코라떼 하나 베이글 하나", ADD,
     [("green_tea_latte", 1, {}), ("chocolate_latte", 1, {}), ("bagel", 1, {})]),
    ("cafe-ko", "ko", "아이스 티 두 잔", ADD, [("iced_tea", 2, {})]),
    ("cafe-ko", "ko", "콜드브루 열두 잔", ADD, [("cold_brew", 12, {})]),
    ("cafe-ko", "ko", "카푸치노 두유로 다섯 잔", ADD, [("cappuccino", 5, {"milk": "soy"})]),
    ("cafe-ko", "ko", "티라미수 2개", ADD, [("tiramisu", 2, {})]),
    ("burger-ko", "ko", "불고기버거 세트 하나랑 콜라 두 개 주세요", ADD,
     [("bulgogi_set", 1, {"set_drink": "cola", "set_side": "fries"}), ("cola", 2, {})]),
    ("burger-ko", "ko", "치즈버거 세트 콜라 대신 사이다로 하나", ADD, [("cheeseburger_set", 1, {"set_drink": "cider"})]),
    ("burger-ko", "ko", "새우버거 두 세트", ADD, [("shrimp_set", 2, {})]),
    ("burger-ko", "ko", "라지 세트로 치킨버거 세트 하나 제로콜라로", ADD,
     [("chicken_set", 1, {"set_size": "large", "set_drink": "zero_cola"})]),
    ("burger-ko", "ko", "불고기버거 하나, 감자튀김 하나, 사이다 하나", ADD,
     [("bulgogi_burger", 1, {}), ("fries", 1, {}), ("cider", 1, {})]),
    ("burger-ko", "ko", "치즈버거 패티 추가해서 두 개", ADD, [("cheeseburger", 2, {"patty": "double"})]),
    ("burger-ko", "ko", "제로 콜라 얼음 빼고 하나", ADD, [("zero_cola", 1, {"ice": ("ice", "none")})]),
    ("coffee-en", "en", "can I get two large iced lattes with oat milk", ADD,
     [("latte", 2, {"size": "large", "temperature": "ice", "milk": "oat"})]),
    ("coffee-en", "en", "a medium americano please", ADD, [("americano", 1, {"size": "medium"})]),
    ("coffee-en", "en", "I'd like a twelve ounce cappucino and two blueberry muffins", ADD,
     [("cappuccino", 1, {"size": "small"}), ("muffin", 2, {})]),
    ("coffee-en", "en", "a 20 oz dark roast coffee with a little honey", ADD,
     [("drip_coffee", 1, {"size": "large", "roast": "dark", "sweetener": ("honey", "light")})]),
    ("coffee-en", "en", "uh one ice latte", ADD, [("latte", 1, {"temperature": "ice"})]),
    ("coffee-en", "en", "to lattes and a bagel", ADD, [("latte", 2, {}), ("bagel", 1, {})]),
    ("coffee-en", "en", "three latte's", ADD, [("latte", 3, {})]),
    ("coffee-en", "en", "a large mocha with almond milk and no whip", ADD, [("mocha", 1, {"milk": "almond"})]),
    ("coffee-en", "en", "small cold brew with extra oat milk", ADD,
     [("cold_brew", 1, {"size": "small", "milk": ("oat", "extra")})]),
    ("coffee-en", "en", "iced americano triple shot", ADD,
     [("americano", 1, {"temperature": "ice", "shots": "triple"})]),
    ("coffee-en", "en", "a green tea and a toasted bagel with cream cheese", ADD,
     [("tea", 1, {"tea_kind": "green"}), ("bagel", 1, {"toast": "toasted", "spread": "cream_cheese"})]),
    ("coffee-en", "en", "let me get a latte with skim milk, a mocha and a croissant", ADD,
     [("latte", 1, {"milk": "skim"}), ("mocha", 1, {}), ("croissant", 1, {})]),
    ("coffee-en", "en", "one hot tea with no sugar", ADD, [("tea", 1, {"temperature": "hot"})]),
    ("coffee-en", "ko", "아이스 라떼 두 잔", ADD, [("latte", 2, {"temperature": "ice"})]),
    ("cafe-ko", "en", "two iced americanos", ADD, [("americano", 2, {"temperature": "ice"})]),
    ("cafe-ko", "ko", "치즈케이크는 빼 주세요", REMOVE, [("cheesecake", 1, {})]),
    ("cafe-ko", "ko", "라떼 한 잔 취소해 주세요", REMOVE, [("cafe_latte", 1, {})]),
    ("coffee-en", "en", "remove the muffin", REMOVE, [("muffin", 1, {})]),
    ("coffee-en", "en", "take off the two lattes", REMOVE, [("latte", 2, {})]),
    ("burger-ko", "ko", "감자튀김 빼줘", REMOVE, [("fries", 1, {})]),
]

# (menu, language, text, intent, faq id or reason)
OTHERS = [
    ("cafe-ko", "ko", "주문 완료", CONFIRM, None),
    ("cafe-ko", "ko", "네 결제할게요", CONFIRM, None),
    ("cafe-ko", "ko", "그게 다예요", CONFIRM, None),
    ("coffee-en", "en", "that's all", CONFIRM, None),
    ("coffee-en", "en", "yes place the order", CONFIRM, None),
    ("cafe-ko", "ko", "주문 취소해 주세요", CANCEL, None),
    ("burger-ko", "ko", "주문취소", CANCEL, None),
    ("coffee-en", "en", "cancel my order", CANCEL, None),
    ("cafe-ko", "ko", "주문 취소 어떻게 하나요", "faq", "cancellation"),
    ("burger-ko", "ko", "주문 취소는 어떻게 해요?", "faq", "cancellation"),
    ("coffee-en", "en", "how do I cancel an order?", "faq", "cancellation"),
    ("cafe-ko", "ko", "영업시간이 어떻게 되나요", "faq", "opening_hours"),
    ("burger-ko", "ko", "배달 되나요", "faq", "delivery"),
    ("burger-ko", "ko", "배달 주소 바꿀 수 있나요", "faq", "address_change"),
    ("burger-ko", "ko", "환불 되나요", "faq", "refund"),
    ("coffee-en", "en", "what time do you close", "faq", "opening_hours"),
    ("coffee-en", "en", "do you deliver", "faq", "delivery"),
    ("cafe-ko", "ko", "상담원 연결해 주세요", "handoff", None),
    ("coffee-en", "en", "I want to talk to a person", "handoff", None),
    ("cafe-ko", "ko", "안녕하세요", "greeting", None),
    ("coffee-en", "en", "hi there", "greeting", None),
    ("cafe-ko", "ko", "피자 두 판 주세요", "unknown", "unknown_item"),
    ("coffee-en", "en", "can I get a pizza", "unknown", "unknown_item"),
    ("cafe-ko", "ko", "오늘 날씨 좋네", "unknown", "not_understood"),
    ("coffee-en", "en", "the weather is nice today", "unknown", "not_understood"),
    ("cafe-ko", "ko", "마라탕 하나요", "unknown", "unknown_item"),
]


def check_line(line: OrderLine, expected: tuple[str, int, dict]) -> None:
    item_id, quantity, options = expected
    assert (line.item_id, line.quantity) == (item_id, quantity)
    chosen = {o.group: (o.value, o.amount) for o in line.options}
    for group, want in options.items():
        value, amount = want if isinstance(want, tuple) else (want, None)
        assert chosen.get(group, (None, None))[0] == value, (group, chosen)
        if amount is not None:
            assert chosen[group][1] == amount, (group, chosen)


@pytest.mark.parametrize(("menu_id", "lang", "text", "intent", "lines"), ORDERS, ids=[c[2] for c in ORDERS])
def test_orders(menu_id: str, lang: str, text: str, intent: str, lines: list) -> None:
    result = understand(text, MENUS[menu_id], lang)
    assert result.intent.name.value == intent, result
    assert len(result.lines) == len(lines), result.lines
    for line, expected in zip(result.lines, lines):
        check_line(line, expected)
    assert result.reason is None


@pytest.mark.parametrize(("menu_id", "lang", "text", "intent", "extra"), OTHERS, ids=[c[2] for c in OTHERS])
def test_other_intents(menu_id: str, lang: str, text: str, intent: str, extra: str | None) -> None:
    result = understand(text, MENUS[menu_id], lang)
    assert result.intent.name.value == intent, result
    assert not result.lines
    if intent == "faq":
        assert result.candidates == (extra,)
    elif intent == "unknown":
        assert result.reason == extra


def test_line_name_price_origin_and_defaults() -> None:
    (line,) = understand("아이스 아메리카노 라지로 두 잔 주세요", MENUS["cafe-ko"], "ko").lines
    assert line.name == "라지 아이스 아메리카노"
    assert line.unit_price == 4500 + 500
    assert line.origin == "아이스 아메리카노 라지로 두 잔"
    assert {o.group: o.value for o in line.options}["shot"] == "standard"  # a default is on the line
    (latte,) = understand("two large iced lattes with oat milk", MENUS["coffee-en"], "en").lines
    assert latte.name == "large iced latte"
    assert latte.unit_price == 475 + 100 + 90 + 70
    (none,) = understand("바닐라라떼 시럽 빼고", MENUS["cafe-ko"], "ko").lines
    syrup = next(o for o in none.options if o.group == "syrup")
    assert (syrup.value, syrup.amount) == ("vanilla", "none") and none.unit_price == 5500


def test_english_names_on_a_korean_menu() -> None:
    (line,) = understand("an iced americano", MENUS["cafe-ko"], "en").lines
    assert line.name == "iced americano"


def test_sold_out_offers_same_category() -> None:
    result = understand("딸기 스무디 하나랑 아메리카노 하나", MENUS["cafe-ko"], "ko")
    assert result.intent.name == IntentName.ORDER_ADD
    assert result.reason == "sold_out"
    assert [line.item_id for line in result.lines] == ["americano"]
    assert "망고 스무디" in result.candidates and "딸기 스무디" not in result.candidates
    en = understand("a pumpkin spice latte", MENUS["coffee-en"], "en")
    assert en.reason == "sold_out" and not en.lines and "latte" in en.candidates


def test_far_miss_is_not_forced_onto_an_item() -> None:
    for text in ("짜장면 두 그릇 주세요", "김치 하나", "아마존 하나"):
        result = understand(text, MENUS["cafe-ko"], "ko")
        assert result.intent.name == IntentName.UNKNOWN, (text, result.lines)


def test_confidence_follows_match_quality() -> None:
    exact = understand("아메리카노 하나", MENUS["cafe-ko"], "ko")
    fuzzy = understand("아미리카노 하나", MENUS["cafe-ko"], "ko")
    assert 0.0 < fuzzy.intent.confidence < exact.intent.confidence <= 1.0


def test_compiled_menu_is_cached_and_accepted() -> None:
    menu: Menu = MENUS["cafe-ko"]
    compiled = compile_menu(menu)
    assert compile_menu(menu) is compiled
    assert understand("라떼 하나", compiled, "ko") == understand("라떼 하나", menu, "ko")


def test_normalized_text_is_reported() -> None:
    result: Understanding = understand("음 아이스 아메리카노 두 잔 주세요", MENUS["cafe-ko"], "ko")
    assert result.normalized_text == "아이스 아메리카노 2 잔"


# Whisper (base) transcripts of clean English order clips: homophone quantities, sound-alike
# options, a misheard size before an item, an item name in an option slot. (menu, text, lines)
ASR_SLIPS = [
    ("free toasted bagels with cream cheese", [("bagel", 3, {"toast": "toasted", "spread": "cream_cheese"})]),
    ("free small cappuccino, whipped cream milk", [("cappuccino", 3, {"size": "small"})]),
    ("free croissant, hot toasted.", [("croissant", 3, {})]),
    ("for cold brew please.", [("cold_brew", 4, {})]),
    ("for garage coffee.", [("drip_coffee", 4, {"size": "large"})]),
    ("two cold brew, whipped, kim milk, and a little vanilla",
     [("cold_brew", 2, {"milk": "skim", "sweetener": ("vanilla", "light")})]),
    ("a large iced mocha with lots of mocha milk", [("mocha", 1, {"size": "large", "temperature": "ice"})]),
    ("a light rose coffee", [("drip_coffee", 1, {"roast": "light"})]),
    ("a latte with skin milk", [("latte", 1, {"milk": "skim"})]),
    ("a latte with skin", [("latte", 1, {"milk": "skim"})]),
    ("won iced latte", [("latte", 1, {"temperature": "ice"})]),
    ("medium earl grey", [("tea", 1, {"size": "medium", "tea_kind": "black"})]),
    ("a chamomile", [("tea", 1, {"tea_kind": "chamomile"})]),
    ("too large lattes and tree muffins", [("latte", 2, {"size": "large"}), ("muffin", 3, {})]),
    # Not in quantity position: the homophone stays a word.
    ("a latte for here", [("latte", 1, {})]),
    ("hi can I get a latte for my friend", [("latte", 1, {})]),
    ("a latte, and for the muffin, toasted", [("latte", 1, {}), ("muffin", 1, {})]),
    ("add oat milk to latte", [("latte", 1, {"milk": "oat"})]),
    # Slips across a word break, in an option slot of the clause's item (noisy clips).
    ("nice mocha with a double shot and soy milk", [("mocha", 1, {"temperature": "ice", "shots": "double", "milk": "soy"})]),
    ("a large iced mocha with lots of oatmeal", [("mocha", 1, {"milk": ("oat", "extra")})]),
    ("a nice hot latte", [("latte", 1, {"temperature": "hot"})]),
    ("that's nice, a latte please", [("latte", 1, {"temperature": "hot"})]),
    ("a nice muffin", [("muffin", 1, {})]),
    # A pause before "with" does not start a new line.
    ("mocha, with almond milk, and a blueberry muffin", [("mocha", 1, {"milk": "almond"}), ("muffin", 1, {})]),
    ("toasted, bagel, with butter, and a small americano",
     [("bagel", 1, {"toast": "toasted", "spread": "butter"}), ("americano", 1, {"size": "small"})]),
    # Options between two items go to the one that takes them.
    ("a mocha, almond milk, and a blueberry muffin", [("mocha", 1, {"milk": "almond"}), ("muffin", 1, {})]),
    ("a latte, lots of oat milk, and a muffin", [("latte", 1, {"milk": ("oat", "extra")}), ("muffin", 1, {})]),
    ("a latte, iced, and a bagel, toasted", [("latte", 1, {"temperature": "ice"}), ("bagel", 1, {"toast": "toasted"})]),
    ("a bagel, and an iced latte", [("bagel", 1, {}), ("latte", 1, {"temperature": "ice"})]),
]


@pytest.mark.parametrize(("text", "lines"), ASR_SLIPS, ids=[c[0] for c in ASR_SLIPS])
def test_english_recognition_slips(text: str, lines: list) -> None:
    result = understand(text, MENUS["coffee-en"], "en")
    assert result.intent.name == IntentName.ORDER_ADD, result
    assert len(result.lines) == len(lines), result.lines
    for line, expected in zip(result.lines, lines):
        check_line(line, expected)


def test_a_pause_before_with_keeps_a_combos_drink() -> None:
    (line,) = understand("cheeseburger combo, with a sprite", MENUS["burger-ko"], "en").lines
    assert line.item_id == "cheeseburger_set"
    assert {o.group: o.value for o in line.options}["set_drink"] == "cider"


def test_an_item_talked_about_is_not_ordered() -> None:
    # Whisper's readings of "is the muffin nut free" in kitchen and street noise.
    for text in ("this muffin has three", "this muffin are three", "this muffin has cream", "the muffin is nut free",
                 "this muffin not free", "this muffin at three", "these muffins look good"):
        result = understand(text, MENUS["coffee-en"], "en")
        assert not result.lines, text
    # A request phrase makes it an order again.
    for text in ("a muffin is all, thanks please", "I'll have this muffin", "can I get that latte", "this muffin please"):
        assert understand(text, MENUS["coffee-en"], "en").lines, text


def test_sound_alikes_need_a_slot_or_a_close_spelling() -> None:
    menu = MENUS["coffee-en"]
    # "garage" is a size only right before an item; elsewhere it is just a word.
    (line,) = understand("a latte from the garage", menu, "en").lines
    assert {o.group: o.value for o in line.options}["size"] == "medium"
    # "called" sounds like "cold" but shares too little spelling to be iced.
    (line,) = understand("a latte called", menu, "en").lines
    assert {o.group: o.value for o in line.options}["temperature"] == "hot"
    assert understand("go to the store", menu, "en").intent.name == IntentName.UNKNOWN


# Real read speech and ASR echoes (Whisper biased with menu words) heard near a kiosk: never an order line.
NEVER_ORDERS = [
    ("coffee-en", "en", "and so my fellow Americans, ask not what your country can do for you, "
                        "ask what you can do for your country."),
    ("cafe-ko", "ko", "바닐라 시럽 없이, 바닐라 시럽,"),
    ("coffee-en", "en", "This isn't part of your testing routine, is it?"),
    ("coffee-en", "en", "Another engineer rushed toward the door to see what was happening outside."),
    ("coffee-en", "en", "I tell you, it is not poison. She cried."),
    ("coffee-en", "en", "in 1813."),
    ("coffee-en", "en", "eight, the press yard."),
    ("coffee-en", "en", "I'm Abigail Claflin, you can call me Abby"),
    ("coffee-en", "en", "Mr. Quilter is the apostle of the middle classes, and we are glad to welcome his gospel."),
    ("coffee-en", "en", "today only platforms 1 and 3 are used."),
    ("coffee-en", "en", "the expression goes 6 times 10 equals 60, not 600,000, that gives us a 12% chance"),
    ("coffee-en", "en", "If the reader will excuse me, I will say nothing of my antecedents, nor of the "
                        "circumstances which led me to leave my native country."),
    ("cafe-ko", "ko", "그는 1위절이 피하면서 길 한 옆으로 걸어갔다."),
    ("cafe-ko", "ko", "어제 친구랑 카페에서 라떼를 마셨는데 정말 맛있었어"),
    ("coffee-en", "en", "I tell you the latte was not poison, she cried loudly at the door"),
    ("coffee-en", "en", "remove the americans"),
]


@pytest.mark.parametrize(("menu_id", "lang", "text"), NEVER_ORDERS, ids=[c[2][:40] for c in NEVER_ORDERS])
def test_talk_is_never_an_order(menu_id: str, lang: str, text: str) -> None:
    result = understand(text, MENUS[menu_id], lang)
    assert result.intent.name == IntentName.UNKNOWN, result
    assert not result.lines
    assert result.reason in ("not_understood", "unknown_item", "low_confidence"), result


def test_one_fuzzy_word_in_a_speech_is_not_understood() -> None:
    text = "and so my fellow Americans, ask not what your country can do for you"
    result = understand(text, MENUS["coffee-en"], "en")
    assert (result.intent.name, result.reason, result.candidates) == (IntentName.UNKNOWN, "not_understood", ())
    assert result.intent.confidence < 0.6


# Short real orders with a recognition slip: still orders. (menu, language, text, item ids)
STILL_ORDERS = [
    ("coffee-en", "en", "a large iced latte with oatmeal please", ["latte"]),
    ("coffee-en", "en", "two large coffees with kim milk", ["drip_coffee"]),
    ("cafe-ko", "ko", "아이스, 아메리카노, 우유, 샷, 저세요", ["americano"]),
    ("coffee-en", "en", "latte please", ["latte"]),
    ("coffee-en", "en", "latte", ["latte"]),
    ("cafe-ko", "ko", "아메리카노", ["americano"]),
    ("coffee-en", "en", "cappucino please", ["cappuccino"]),
    ("coffee-en", "en", "two americans", ["americano"]),
    ("coffee-en", "en", "a latte and an americanno", ["latte", "americano"]),
    ("coffee-en", "en", "hi can I get a latte for my friend who is waiting outside", ["latte"]),
    ("cafe-ko", "ko", "아이스 아메리카노 하나 주시고요 그리고 치즈케이크도 하나 부탁드려요", ["americano", "cheesecake"]),
]


@pytest.mark.parametrize(("menu_id", "lang", "text", "items"), STILL_ORDERS, ids=[c[2] for c in STILL_ORDERS])
def test_near_misses_are_still_orders(menu_id: str, lang: str, text: str, items: list[str]) -> None:
    result = understand(text, MENUS[menu_id], lang)
    assert result.intent.name == IntentName.ORDER_ADD, result
    assert [line.item_id for line in result.lines] == items
    assert result.reason is None


@pytest.mark.parametrize(("menu_id", "lang", "text", "candidate"), [
    ("cafe-ko", "ko", "아미리카노", "아메리카노"),
    ("coffee-en", "en", "americanno", "americano"),
    ("coffee-en", "en", "the weather is nice today, a latte", "latte"),
])
def test_thin_evidence_asks_instead_of_ordering(menu_id: str, lang: str, text: str, candidate: str) -> None:
    """A fuzzy item with no quantity, option or request, or an exact one amid unrelated talk."""
    result = understand(text, MENUS[menu_id], lang)
    assert (result.intent.name, result.reason) == (IntentName.UNKNOWN, "low_confidence")
    assert result.candidates == (candidate,) and not result.lines


def test_coverage_counts_content_words_only() -> None:
    compiled = compile_menu(MENUS["coffee-en"])
    assert read("can I get two large lattes please", compiled, "en").coverage == 1.0
    # 2, large, coffees, with (ties options to the item), milk explained; purple is not.
    assert read("two large coffees with purple milk", compiled, "en").coverage == pytest.approx(5 / 6)
    assert read("two large coffees with kim milk", compiled, "en").coverage == 1.0  # kim milk ~ skim milk
    speech = read("ask not what your country can do for you", compiled, "en").coverage
    assert speech < MIN_ORDER_COVERAGE


def test_unexplained_words_lower_confidence() -> None:
    clean = understand("a large iced latte", MENUS["coffee-en"], "en")
    slip = understand("a large iced latte with purple", MENUS["coffee-en"], "en")
    assert slip.intent.name == clean.intent.name == IntentName.ORDER_ADD
    assert slip.intent.confidence < clean.intent.confidence
