"""Counter words in Korean replies come from the menu: the item's own, else its category's."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from voicegw.dialogue.replies import format_lines
from voicegw.nlu.counting import item_counters
from voicegw.nlu.menu import Menu
from voicegw.nlu.types import OrderLine

MENU = Menu.model_validate({
    "id": "t", "language": "ko", "currency": "KRW",
    "items": [
        {"id": "soup", "names": {"ko": ["순대국밥"]}, "category": "국밥", "price": 9000, "counter": "그릇"},
        {"id": "cola", "names": {"ko": ["콜라"]}, "category": "음료", "price": 2000},
        {"id": "tea", "names": {"ko": ["녹차"]}, "category": "Tea", "price": 3000},
        {"id": "dumpling", "names": {"ko": ["만두"]}, "category": "사이드", "price": 5000},
    ],
})


def _line(item_id: str, name: str, quantity: int) -> OrderLine:
    return OrderLine(item_id=item_id, name=name, quantity=quantity, unit_price=1000)


def test_item_counter_then_category_then_default() -> None:
    assert item_counters(MENU, "ko") == {"soup": "그릇", "cola": "잔", "tea": "잔", "dumpling": "개"}
    lines = [_line("soup", "순대국밥", 2), _line("cola", "콜라", 1), _line("dumpling", "만두", 3)]
    assert format_lines(lines, "ko", item_counters(MENU, "ko")) == "순대국밥 2그릇, 콜라 1잔, 만두 3개"


def test_english_counts_without_counter_words() -> None:
    assert item_counters(MENU, "en") == {}
    lines = [_line("soup", "sundae soup", 2), _line("cola", "cola", 1)]
    assert format_lines(lines, "en-US", item_counters(MENU, "en")) == "2 sundae soups and 1 cola"


def test_a_line_no_menu_explains_is_counted_in_the_languages_word() -> None:
    assert format_lines([_line("gone", "아메리카노", 1)], "ko", {}) == "아메리카노 1잔"


def test_a_shorthand_is_one_word() -> None:
    data = MENU.model_dump()
    data["shorthands"] = {"ko": {"아이스 아": "아이스 아메리카노"}}
    with pytest.raises(ValidationError, match="one word"):
        Menu.model_validate(data)
