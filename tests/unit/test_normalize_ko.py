"""Korean normalisation of what Whisper and KakaoTalk users write: run-together words, short stems
with endings, contractions, ordering slang, self-repair, distributive quantities, spelling variants."""

from __future__ import annotations

import pytest

from voicegw.nlu.compiled import compile_menu
from voicegw.nlu.loader import load_menu
from voicegw.nlu.normalize import normalize
from voicegw.nlu.parser import understand

CAFE = load_menu("menus/cafe-ko.yaml")
BURGER = load_menu("menus/burger-ko.yaml")
CAFE_KEEP = compile_menu(CAFE).keep
BURGER_KEEP = compile_menu(BURGER).keep


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("아이스아메리카노두잔주세요", "아이스 아메리카노 2 잔"),  # menu words and a quantity run together
        ("따뜻한카페라떼한잔이요", "따뜻한 카페라떼 1 잔"),
        ("망고스무디두개", "망고스무디 2 개"),
        ("크루아상두개랑 아메리카노", "크루아상 2 개 , 아메리카노"),  # the particle stays on the last piece
        ("레몬에이드 한 잔", "레몬 에이드 1 잔"),  # short run, but right before a quantity
        ("아이스크림", "아이스크림"),  # short run alone: not cut into 아이스 + 크림
        ("샷도 하나 추가해 주세요", "샷 1 추가"),  # one-syllable menu word takes a particle
        ("청포도 에이드 큰 걸로 하나 더요", "청포도 에이드 큰 거 1 더"),  # 걸로 = 거 + 로; 더요 = 더 + 요
        ("두 잔인데", "2 잔"),
        ("아아 한 잔이랑 뜨아 한 잔이요", "아이스 아메리카노 1 잔 , 따뜻한 아메리카노 1 잔"),  # the menu's shorthands
        ("카페라떼 한 잔, 아니 두 잔 주세요", "카페라떼 2 잔"),  # the speaker takes the first quantity back
        ("아니 그 위에 올라간 거요", "아니 위에 올라간 거"),  # 아니 without a quantity after it stays
        ("크루아상이랑 베이글 두 개씩 주세요", "크루아상 2 개 , 베이글 2 개"),
        ("라떼 세 잔이랑 아메리카노랑 카푸치노 두 잔씩", "라떼 3 잔 , 아메리카노 2 잔 , 카푸치노 2 잔"),
        ("바닐라 라떼 하나 주 세요", "바닐라 라떼 1"),  # Whisper split the ending
        ("와 진짜 맛있겠다 라떼 하나 더요", "맛있겠다 라떼 1 더"),  # interjections are fillers
    ],
)
def test_cafe_transcripts(text: str, expected: str) -> None:
    assert normalize(text, "ko", CAFE_KEEP, CAFE.shorthands["ko"]).text == expected


def test_shorthands_are_the_menus_not_the_languages() -> None:
    assert normalize("아아 한 잔", "ko", BURGER_KEEP, BURGER.shorthands.get("ko")).text == "아아 1 잔"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("불고기버거셋트 하나요", "불고기버거세트 1"),
        ("치즈버거세트세개", "치즈버거세트 3 개"),
        ("아이스크림 세 개요", "아이스크림 3 개"),  # 개요 is 개 + 요, not a word
        ("새우버거 세트 라지로 두 개", "새우버거 세트 라지 2 개"),
        ("콜라 하나 주세여", "콜라 1"),
    ],
)
def test_burger_transcripts(text: str, expected: str) -> None:
    assert normalize(text, "ko", BURGER_KEEP).text == expected


def test_run_together_order_is_understood() -> None:
    result = understand("아이스아메리카노두잔주세요", CAFE, "ko")
    assert result.intent.name.value == "order.add"
    [line] = result.lines
    assert (line.item_id, line.quantity) == ("americano", 2)
    assert ("temperature", "ice") in {(o.group, o.value) for o in line.options}


def test_distributed_quantity_reaches_every_item() -> None:
    result = understand("크루아상이랑 베이글 두 개씩 주세요", CAFE, "ko")
    assert [(line.item_id, line.quantity) for line in result.lines] == [("croissant", 2), ("bagel", 2)]


def test_slang_names_item_and_temperature() -> None:
    result = understand("아아 한 잔이랑 뜨아 한 잔이요", CAFE, "ko")
    temps = [(line.item_id, {o.group: o.value for o in line.options}["temperature"]) for line in result.lines]
    assert temps == [("americano", "ice"), ("americano", "hot")]
