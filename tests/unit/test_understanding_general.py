"""General rules of understanding, on a menu of this test's own (a noodle and dumpling bar no
suite or shipped store has): each case is how people order, count, ask or change their minds in
Korean or English, never a word of a particular store's menu."""

from __future__ import annotations

import pytest
import yaml

from voicegw.nlu.menu import Menu
from voicegw.nlu.parser import understand

MENU = Menu.model_validate(yaml.safe_load("""
id: noodle-bar
language: ko
currency: KRW
option_groups:
  - id: size
    names: {ko: [사이즈], en: [size]}
    in_name: true
    values:
      - {id: small, names: {ko: [소], en: [small]}}
      - {id: large, names: {ko: [대, 곱빼기], en: [large]}, price: 2000}
    default: small
  - id: broth
    names: {ko: [국물], en: [broth]}
    required: true
    values:
      - {id: clear, names: {ko: [맑은 국물, 맑은], en: [clear broth, clear]}}
      - {id: spicy, names: {ko: [매운 국물, 매운], en: [spicy broth, spicy]}}
  - id: scallion
    names: {ko: [파], en: [scallions, scallion]}
    amounts: true
    values:
      - {id: scallion, names: {ko: [파], en: [scallions, scallion]}}
    default: scallion
  - id: filling
    names: {ko: [소], en: [filling]}
    values:
      - {id: pork, names: {ko: [고기, 고기만두], en: [pork, pork dumpling]}}
      - {id: veggie, names: {ko: [야채, 야채만두], en: [veggie, veggie dumpling]}}
    default: pork
items:
  - {id: noodles, names: {ko: [국수, 잔치국수], en: [noodles, noodle soup]}, category: noodle, price: 7000,
     option_groups: [size, broth, scallion]}
  - {id: dumplings, names: {ko: [만두], en: [dumplings, dumpling]}, category: side, price: 5000,
     option_groups: [filling]}
  - {id: rice, names: {ko: [공깃밥, 밥], en: [rice, bowl of rice]}, category: side, price: 1000}
  - {id: tea, names: {ko: [보리차, 차], en: [barley tea, tea]}, category: drink, price: 2000}
"""))


def said(text: str, language: str) -> tuple[str, list[tuple[str, int, dict[str, str]]]]:
    u = understand(text, MENU, language)
    return u.intent.name.value, [(line.item_id, line.quantity, {o.group: o.value for o in line.options})
                                 for line in u.lines]


@pytest.mark.parametrize(("text", "quantity"), [
    ("보리차 둘이요", 2), ("보리차 셋이랑", 3), ("공깃밥 두 그릇", 2), ("공깃밥 두그릇이요", 2),
])
def test_korean_number_words_and_counters(text: str, quantity: int) -> None:
    intent, lines = said(text, "ko")
    assert intent == "order.add" and [(item, qty) for item, qty, _ in lines][0][1] == quantity


def test_a_counter_after_a_number_is_no_intent_phrase() -> None:
    # 줄이* (to reduce) is cut like speech to 줄, a counter; 두 줄 is still an order
    assert said("공깃밥 두 줄 주세요", "ko")[0] == "order.add"


@pytest.mark.parametrize("text", ["barley tea x2", "2x barley tea"])
def test_written_multiplication_is_a_quantity(text: str) -> None:
    assert said(text, "en") == ("order.add", [("tea", 2, {})])


@pytest.mark.parametrize("text", ["make me a barley tea", "lemme get a barley tea", "we'll have a barley tea"])
def test_english_ways_of_ordering(text: str) -> None:
    assert said(text, "en") == ("order.add", [("tea", 1, {})])


@pytest.mark.parametrize("text", ["and I have a barley tea", "I have a barley tea", "and we have a barley tea"])
def test_a_verb_after_its_subject_is_no_question(text: str) -> None:
    """Whisper writes "can I have" as "and I have" under noise: the verb after its subject is a
    statement, while a question puts it first ("have you got barley tea?")."""
    assert said(text, "en") == ("order.add", [("tea", 1, {})])
    assert said("have you got barley tea", "en")[0] != "order.add"


@pytest.mark.parametrize("text", ["and then have a barley tea", "have a barley tea", "then have some barley tea"])
def test_have_before_an_indefinite_orders(text: str) -> None:
    """"have" opens a question before its subject ("have you got barley tea") and an order before
    what is wanted ("and then have a barley tea", Whisper's "and I have a" under noise)."""
    assert said(text, "en") == ("order.add", [("tea", 1, {})])


@pytest.mark.parametrize("text", ["the dumplings, hot, free", "it's the dumplings out free", "dumplings, made with pork"])
def test_words_about_what_is_in_an_item_order_nothing(text: str) -> None:
    """"is the muffin nut free" heard through noise as "it's the muffin, hot, free": words about
    what is in an item, with no request or number, ask about it; an order says what it wants."""
    assert said(text, "en")[0] != "order.add"


@pytest.mark.parametrize(("text", "lines"), [
    ("dumplings with pork please", [("dumplings", 1, {"filling": "pork"})]),
    ("two dumplings, made with pork", [("dumplings", 2, {"filling": "pork"})]),
])
def test_an_order_that_says_what_is_in_it_still_orders(text: str, lines: list) -> None:
    assert said(text, "en") == ("order.add", lines)


def test_a_name_and_a_stray_word_are_not_a_longer_name() -> None:
    """"tea off" is tea and "off", not a fuzzy reading of some longer tea."""
    intent, lines = said("take the tea off", "en")
    assert intent == "order.remove" and [item for item, _, _ in lines] == ["tea"]


SIZED = Menu.model_validate(yaml.safe_load("""
id: sized
language: en
currency: USD
option_groups:
  - id: cup
    names: {en: [cup size]}
    in_name: true
    values:
      - {id: small, names: {en: [small, 12 oz, twelve ounce]}}
      - {id: large, names: {en: [large, 20 oz, twenty ounce]}, price: 100}
    default: small
items:
  - {id: cocoa, names: {en: [cocoa, hot cocoa]}, category: drink, price: 300, option_groups: [cup]}
"""))


@pytest.mark.parametrize("text", ["a 20 Ls cocoa", "a twenty hours, hot cocoa", "can I get a 20-down cocoa"])
def test_a_misheard_unit_after_a_size_number_is_that_size(text: str) -> None:
    u = understand(text, SIZED, "en")
    assert [(line.quantity, {o.group: o.value for o in line.options}) for line in u.lines] == [(1, {"cup": "large"})]


def test_a_number_before_a_known_word_stays_a_quantity() -> None:
    u = understand("20 large cocoas", SIZED, "en")
    assert [(line.quantity, {o.group: o.value for o in line.options}) for line in u.lines] == [(20, {"cup": "large"})]


SHAPES = Menu.model_validate(yaml.safe_load("""
id: shapes
language: en
currency: USD
option_groups:
  - id: shape
    names: {en: [shape]}
    required: true
    values:
      - {id: star, names: {en: [star, star pretzel]}}
      - {id: knot, names: {en: [knot, knot pretzel]}}
items:
  - {id: pretzel, names: {en: [pretzel]}, category: bakery, price: 300, option_groups: [shape]}
  - {id: pretzel_box, names: {en: [pretzel box]}, category: bakery, price: 1500, option_groups: [shape]}
"""))


@pytest.mark.parametrize(("text", "quantity"), [("a star pretzel", 1), ("two knot pretzels", 2)])
def test_an_option_whose_name_holds_an_item_name_orders_that_item(text: str, quantity: int) -> None:
    """Several items take the shape; the one the option's name contains is meant."""
    u = understand(text, SHAPES, "en")
    assert [(line.item_id, line.quantity) for line in u.lines] == [("pretzel", quantity)]


@pytest.mark.parametrize(("text", "language", "quantity"), [
    ("make it two", "en", 2), ("actually just three", "en", 3), ("두 그릇으로 해 주세요", "ko", 2),
    ("하나만 할게요", "ko", 1), ("세 개로요", "ko", 3),
])
def test_a_quantity_alone_that_replaces_the_one_ordered(text: str, language: str, quantity: int) -> None:
    u = understand(text, MENU, language)
    assert (u.intent.name.value, u.held_quantity, u.lines) == ("order.change", quantity, ())


@pytest.mark.parametrize("text", ["보리차는 한 잔만 할게요", "보리차 두 잔으로 해 주세요"])
def test_an_item_with_a_setting_quantity_amends_its_line(text: str) -> None:
    u = understand(text, MENU, "ko")
    assert u.intent.name.value == "order.add" and u.amends and [line.item_id for line in u.lines] == ["tea"]


def test_setting_the_quantity_of_the_line_just_ordered() -> None:
    from voicegw.dialogue.cart import Cart
    from voicegw.dialogue.turns import apply_turn

    cart = apply_turn(Cart(), understand("보리차 세 잔이랑 공깃밥 하나", MENU, "ko"), menu=MENU).cart
    out = apply_turn(cart, understand("두 개로 해 주세요", MENU, "ko"), menu=MENU)
    assert [(line.item_id, line.quantity) for line in out.cart.lines] == [("tea", 3), ("rice", 2)]
    out = apply_turn(out.cart, understand("보리차는 한 잔만 할게요", MENU, "ko"), menu=MENU)
    assert [(line.item_id, line.quantity) for line in out.cart.lines] == [("tea", 1), ("rice", 2)]


COMBO = Menu.model_validate(yaml.safe_load("""
id: combo
language: en
currency: USD
option_groups:
  - id: bread
    names: {en: [bread]}
    required: true
    values:
      - {id: rye, names: {en: [rye]}}
      - {id: onion, names: {en: [onion roll, onion]}}
  - id: onions
    names: {en: [onions, onion]}
    amounts: true
    values:
      - {id: onions, names: {en: [onions, onion]}}
    default: onions
  - id: pickles
    names: {en: [pickles]}
    amounts: true
    values:
      - {id: pickles, names: {en: [pickles]}}
    default: pickles
items:
  - {id: reuben, names: {en: [reuben]}, category: sandwich, price: 900, option_groups: [bread, onions, pickles]}
  - {id: peanut_butter_and_jelly, names: {en: [peanut butter and jelly, pb and j]}, category: sandwich, price: 500}
  - {id: jelly, names: {en: [jelly]}, category: side, price: 100}
"""))


def test_and_inside_a_menu_name_is_part_of_the_name() -> None:
    u = understand("a peanut butter and jelly and a jelly", COMBO, "en")
    assert [line.item_id for line in u.lines] == ["peanut_butter_and_jelly", "jelly"]


def test_a_word_two_groups_share_goes_to_the_one_still_open_and_an_amount_to_the_one_that_takes_it() -> None:
    u = understand("a reuben on rye, hold the pickles and extra onions", COMBO, "en")
    (line,) = u.lines
    assert {(o.group, o.value, o.amount) for o in line.options} >= {
        ("bread", "rye", "regular"), ("pickles", "pickles", "none"), ("onions", "onions", "extra")}


def test_the_option_given_up_is_not_chosen() -> None:
    u = understand("can you do rye instead of the onion roll", COMBO, "en")
    assert [(o.group, o.value) for o in u.options] == [("bread", "rye")]


def test_an_amended_line_is_not_asked_for_its_required_options_again() -> None:
    u = understand("no pickles on the reuben", COMBO, "en")
    assert u.amends and u.reason is None


@pytest.mark.parametrize(("text", "quantity"), [("공깃밥 하나여", 1), ("보리차 두잔이여", 2)])
def test_texting_spellings_of_endings(text: str, quantity: int) -> None:
    u = understand(text, MENU, "ko")
    assert u.intent.name.value == "order.add" and [line.quantity for line in u.lines] == [quantity]


def test_a_bare_number_form_that_only_goes_before_a_counter_is_no_quantity() -> None:
    """두 is two only before a counter (두 잔); 보리차두 is 보리차도 typed fast."""
    u = understand("보리차두 한 잔이요", MENU, "ko")
    assert [line.quantity for line in u.lines] == [1]


def test_a_group_name_holding_an_item_name_orders_that_item() -> None:
    u = understand("국수 국물 매운 국물로 하나요", MENU, "ko")
    assert [(line.item_id, {o.group: o.value for o in line.options}["broth"]) for line in u.lines] == [("noodles", "spicy")]


def test_a_decimal_point_is_not_a_pause() -> None:
    u = understand("보리차 1.5리터 하나요", MENU, "ko")
    assert [line.quantity for line in u.lines] == [1]


def test_an_add_on_group_named_alone_chooses_its_one_value() -> None:
    menu = MENU.model_copy(update={"option_groups": [*MENU.option_groups, MENU.option_groups[0].model_copy(update={
        "id": "egg", "names": {"ko": ["계란 추가"]}, "in_name": False, "default": None,
        "values": [MENU.option_groups[0].values[0].model_copy(update={"id": "egg", "names": {"ko": ["계란"]}, "price": 500})]})],
        "items": [MENU.items[0].model_copy(update={"option_groups": ["size", "broth", "scallion", "egg"]}), *MENU.items[1:]]})
    u = understand("국수 매운 국물로 계란 추가해서 하나요", menu, "ko")
    assert {o.group: o.value for o in u.lines[0].options}.get("egg") == "egg"


def _cart(*turns: str, language: str = "ko"):
    from voicegw.dialogue.cart import Cart
    from voicegw.dialogue.turns import apply_turn

    cart, state = Cart(), None
    for text in turns:
        out = apply_turn(cart, understand(text, MENU, language), menu=MENU, state=state, language=language)
        cart, state = out.cart, out.state
    return [(line.item_id, line.quantity, {o.group: o.value for o in line.options}) for line in cart.lines]


def test_an_item_named_as_what_a_line_becomes_swaps_the_line_of_its_kind() -> None:
    assert _cart("공깃밥 두 개요", "보리차 한 잔", "만두로 바꿔 주세요") == [
        ("dumplings", 2, {"filling": "pork"}), ("tea", 1, {})]


def test_a_swap_keeps_the_choices_the_new_item_takes_and_can_take_part_of_a_line() -> None:
    assert _cart("국수 곱빼기 매운 국물로 세 그릇", "국수 한 그릇은 만두로 바꿔 주세요") == [
        ("noodles", 2, {"size": "large", "broth": "spicy", "scallion": "scallion"}), ("dumplings", 1, {"filling": "pork"})]


def test_a_removal_with_a_counter_the_language_knows_takes_that_many() -> None:
    assert _cart("만두 두 접시요", "만두 한 접시는 빼 주세요") == [("dumplings", 1, {"filling": "pork"})]


@pytest.mark.parametrize(("text", "language"), [
    ("주문 바꾸려면 어떻게 해야 돼요?", "ko"), ("how do I place an order?", "en"), ("can I pay by card?", "en"),
])
def test_a_question_about_ordering_or_paying_never_places_the_order(text: str, language: str) -> None:
    from voicegw.dialogue.cart import Cart
    from voicegw.dialogue.turns import apply_turn

    cart = apply_turn(Cart(), understand("보리차 한 잔", MENU, "ko"), menu=MENU).cart
    out = apply_turn(cart, understand(text, MENU, language), menu=MENU, language=language)
    assert not out.submit and out.cart == cart


def test_a_price_question_is_answered_from_the_menu_and_offers_the_item() -> None:
    from voicegw.dialogue.cart import Cart
    from voicegw.dialogue.turns import apply_turn

    out = apply_turn(Cart(), understand("만두 얼마예요?", MENU, "ko"), menu=MENU)
    assert out.reply.text == "만두는 5,000원이에요. 만두 1개 담아 드릴까요?" and not out.cart.lines
    yes = apply_turn(out.cart, understand("네", MENU, "ko"), menu=MENU, state=out.state)
    assert [line.item_id for line in yes.cart.lines] == ["dumplings"]


DELI = Menu.model_validate(yaml.safe_load("""
id: deli
language: en
currency: USD
option_groups:
  - id: roll_kind
    names: {en: [kind of roll, which roll]}
    required: true
    values:
      - {id: kaiser, names: {en: [kaiser, kaiser roll]}}
      - {id: seeded, names: {en: [seeded, seeded roll, sesame seed]}}
  - id: topping
    names: {en: [topping]}
    values:
      - {id: chive, names: {en: [chive, chives]}}
  - id: tub_flavor
    names: {en: [flavor]}
    required: true
    values:
      - {id: chive, names: {en: [chive]}}
      - {id: plain, names: {en: [plain]}}
  - id: spread
    names: {en: [spread]}
    values:
      - {id: chive_spread, names: {en: [chive spread, chive cream]}}
items:
  - {id: roll, names: {en: [roll]}, category: bread, price: 100, option_groups: [roll_kind, spread]}
  - {id: club, names: {en: [club sandwich, club]}, category: sandwich, price: 900, option_groups: [roll_kind, topping]}
  - {id: tub, names: {en: [tub of spread, tub]}, category: spread, price: 700, option_groups: [tub_flavor]}
"""))


def test_an_item_that_names_an_options_group_is_that_option_not_a_second_item() -> None:
    """The roll in "a club on a kaiser roll" is what the kind of roll is: one sandwich."""
    u = understand("a club sandwich on a kaiser roll", DELI, "en")
    assert [(line.item_id, {o.group: o.value for o in line.options}.get("roll_kind")) for line in u.lines] == [("club", "kaiser")]


def test_a_name_an_exact_neighbour_explains_is_not_a_longer_guess() -> None:
    u = understand("a seeded roll and a tub of plain", DELI, "en")
    assert [line.item_id for line in u.lines] == ["roll", "tub"]


def test_an_option_the_item_does_not_take_is_read_again_for_one_it_does() -> None:
    u = understand("a tub of chive spread", DELI, "en")
    assert [(line.item_id, {o.group: o.value for o in line.options}) for line in u.lines] == [("tub", {"tub_flavor": "chive"})]


def test_a_plain_yes_with_the_options_asked_for_is_the_answer_not_a_confirmation() -> None:
    u = understand("네 매운 국물로 주세요", MENU, "ko")
    assert u.intent.name.value == "order.add" and [(o.group, o.value) for o in u.options] == [("broth", "spicy")]


def test_a_counter_that_also_names_an_option_can_set_the_quantity() -> None:
    menu = MENU.model_copy(update={"option_groups": [*MENU.option_groups, MENU.option_groups[0].model_copy(update={
        "id": "pack", "names": {"ko": ["포장"]}, "in_name": False, "default": "bottle", "values": [
            MENU.option_groups[0].values[0].model_copy(update={"id": "bottle", "names": {"ko": ["병"]}, "price": 0}),
            MENU.option_groups[0].values[0].model_copy(update={"id": "can", "names": {"ko": ["캔"]}, "price": 0})]})],
        "items": [*MENU.items[:3], MENU.items[3].model_copy(update={"option_groups": ["pack"]})]})
    u = understand("보리차는 두 병만 할게요", menu, "ko")
    assert u.amends and [(line.item_id, line.quantity) for line in u.lines] == [("tea", 2)]


def test_an_item_named_as_the_place_an_option_goes_is_amended() -> None:
    u = understand("국수에 파 많이 넣어 주세요", MENU, "ko")
    assert u.amends and [line.item_id for line in u.lines] == ["noodles"]


def test_a_change_of_an_item_inside_a_line_of_another_item_that_holds_its_name() -> None:
    menu = MENU.model_copy(update={"items": [*MENU.items, MENU.items[0].model_copy(update={
        "id": "noodle_set", "names": {"ko": ["국수 만두 세트"]}, "category": "set", "price": 11000})]})
    from voicegw.dialogue.cart import Cart
    from voicegw.dialogue.turns import apply_turn

    cart = apply_turn(Cart(), understand("국수 만두 세트 하나 맑은 국물로요", menu, "ko"), menu=menu).cart
    out = apply_turn(cart, understand("국수는 매운 국물로 해 주세요", menu, "ko"), menu=menu)
    assert [(line.item_id, {o.group: o.value for o in line.options}["broth"]) for line in out.cart.lines] == [
        ("noodle_set", "spicy")]


def test_an_amount_for_a_group_without_a_default_changes_the_value_the_line_has() -> None:
    menu = MENU.model_copy(update={"option_groups": [g.model_copy(update={"default": None}) if g.id == "scallion" else g
                                                     for g in MENU.option_groups]})
    from voicegw.dialogue.cart import Cart
    from voicegw.dialogue.turns import apply_turn

    cart = apply_turn(Cart(), understand("국수 맑은 국물로 파 넣어서 하나", menu, "ko"), menu=menu).cart
    out = apply_turn(cart, understand("extra scallions on that", menu, "en"), menu=menu)
    assert {(o.group, o.value, o.amount) for o in out.cart.lines[0].options} >= {("scallion", "scallion", "extra")}


def test_a_shared_name_said_of_the_cart_means_the_line_it_holds() -> None:
    menu = MENU.model_copy(update={"items": [*MENU.items, MENU.items[1].model_copy(update={"id": "dumplings_fried",
                                            "names": {"ko": ["군만두", "만두"], "en": ["fried dumplings"]}})]})
    from voicegw.dialogue.cart import Cart
    from voicegw.dialogue.turns import apply_turn

    cart = apply_turn(Cart(), understand("군만두 두 개요", menu, "ko"), menu=menu).cart
    out = apply_turn(cart, understand("만두는 하나만 할게요", menu, "ko"), menu=menu)
    assert [(line.item_id, line.quantity) for line in out.cart.lines] == [("dumplings_fried", 1)]


def test_a_change_of_what_the_cart_lacks_is_not_an_order_but_an_instead_is() -> None:
    from voicegw.dialogue.cart import Cart
    from voicegw.dialogue.turns import apply_turn

    cart = apply_turn(Cart(), understand("공깃밥 하나요", MENU, "ko"), menu=MENU).cart
    changed = apply_turn(cart, understand("change the tea to dumplings", MENU, "en"), menu=MENU, language="en")
    assert changed.reason == "not_in_cart" and changed.cart == cart
    instead = apply_turn(cart, understand("보리차 말고 만두요", MENU, "ko"), menu=MENU)
    assert [line.item_id for line in instead.cart.lines] == ["rice", "dumplings"]


def test_options_said_for_all_go_to_every_line() -> None:
    from voicegw.dialogue.cart import Cart
    from voicegw.dialogue.turns import apply_turn

    cart = apply_turn(Cart(), understand("국수 매운 국물로 하나랑 국수 맑은 국물로 하나", MENU, "ko"), menu=MENU).cart
    out = apply_turn(cart, understand("전부 곱빼기로 해 주세요", MENU, "ko"), menu=MENU)
    assert [{o.group: o.value for o in line.options}["size"] for line in out.cart.lines] == ["large", "large"]


def test_a_name_said_in_two_pieces_is_one_item() -> None:
    u = understand("can i get a barly barley tea", MENU, "en")
    assert [(line.item_id, line.quantity) for line in u.lines] == [("tea", 1)]
