"""Normaliser and numeral tables, both languages."""

from __future__ import annotations

import pytest

from voicegw.nlu.matcher import AliasIndex, Target, match_key, to_jamo
from voicegw.nlu.normalize import normalize
from voicegw.nlu.numerals import parse_native, parse_number, parse_sino
from voicegw.nlu.packs import pack


@pytest.mark.parametrize(
    ("word", "value"),
    [("하나", 1), ("한", 1), ("둘", 2), ("두", 2), ("셋", 3), ("세", 3), ("넷", 4), ("다섯", 5),
     ("열", 10), ("열한", 11), ("열두", 12), ("열다섯", 15), ("스무", 20), ("스물두", 22), ("아메리카노", None)],
)
def test_korean_native_numerals(word: str, value: int | None) -> None:
    assert parse_native(word, pack("ko").numbers) == value


@pytest.mark.parametrize(("word", "value"), [("일", 1), ("이", 2), ("오", 5), ("십", 10), ("십이", 12),
                                             ("이십", 20), ("이십삼", 23), ("삼삼", None), ("라떼", None)])
def test_sino_korean_numerals(word: str, value: int | None) -> None:
    assert parse_sino(word, pack("ko").numbers) == value


def test_ambiguous_korean_words_need_a_counter() -> None:
    assert parse_number("네", "ko", before_counter=False) is None  # 네 = yes
    assert parse_number("네", "ko", before_counter=True) == 4
    assert parse_number("이", "ko", before_counter=False) is None
    assert parse_number("다섯", "ko", before_counter=False) == 5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("아이스 아메리카노 두 잔 주세요", "아이스 아메리카노 2 잔"),
        ("라떼 열두 개", "라떼 12 개"),
        ("불고기버거 세 세트", "불고기버거 3 세트"),
        ("아메리카노 2잔이요", "아메리카노 2 잔"),
        ("라떼 두잔", "라떼 2 잔"),
        ("콜라 하나, 사이다 둘.", "콜라 1 , 사이다 2"),
        ("음 어 그 아메리카노 다섯 잔", "아메리카노 5 잔"),
        ("라떼는 오트 우유로 해 주세요", "라떼 오트 우유"),
        ("아메리카노를 하나", "아메리카노 1"),
        ("콜라랑 사이다", "콜라 , 사이다"),
        ("라떼하고 케이크와 쿠키", "라떼 , 케이크 , 쿠키"),
        ("네 결제할게요", "네 결제"),
        ("네 잔 주세요", "4 잔"),
        ("이 잔", "2 잔"),
    ],
)
def test_korean_normalisation(text: str, expected: str) -> None:
    assert normalize(text, "ko").text == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Can I get two large iced lattes, please?", "2 large iced lattes"),
        ("well, a latte,, and a mocha.", "latte , mocha"),
        ("uh I'd like um three muffins", "3 muffins"),
        ("a twelve ounce latte", "12oz latte"),
        ("a 12-ounce latte", "12oz latte"),
        ("12 oz latte", "12oz latte"),
        ("twenty ounce mocha", "20oz mocha"),
        ("That's all", "thats all"),
        ("one latte and one muffin", "1 latte , 1 muffin"),
    ],
)
def test_english_normalisation(text: str, expected: str) -> None:
    assert normalize(text, "en").text == expected


def test_request_and_question_cues() -> None:
    assert normalize("아메리카노 주세요", "ko").request
    assert normalize("결제할게요", "ko").request
    assert not normalize("아메리카노", "ko").request
    assert normalize("can I get a latte", "en").request
    assert normalize("배달 되나요?", "ko").question


def test_keep_words_are_not_cut() -> None:
    assert normalize("애플파이 하나", "ko").text == "애플파 1"  # 이 looks like a particle...
    assert normalize("애플파이 하나", "ko", keep=frozenset({"애플파이"})).text == "애플파이 1"


def test_tokens_keep_surface_and_particle() -> None:
    token = normalize("아이스로", "ko").tokens[0]
    assert (token.text, token.surface, token.particle) == ("아이스", "아이스로", "로")


def test_jamo_decomposition_and_fuzzy_lookup() -> None:
    assert to_jamo("아메") == "ㅇㅏㅁㅔ"
    assert to_jamo("latte") == "latte"
    index = AliasIndex([(match_key(["아메리카노"]), Target("item", "americano")),
                        (match_key(["latte"]), Target("item", "latte")),
                        (match_key(["차"]), Target("item", "tea"))])
    assert index.lookup(match_key(["아미리카노"])).targets[0].id == "americano"
    assert index.lookup(match_key(["아메리카", "노"])).score == 100
    assert index.lookup(match_key(["lattes"])).score == 100
    assert index.lookup(match_key(["자"])) is None  # short words must match exactly
    assert index.lookup(match_key(["피자"])) is None


def test_sound_key_folds_spelling_and_asr_slips() -> None:
    from voicegw.nlu.phonetic import cluster_reduced, rhyme, sound_key

    assert sound_key("skim") == sound_key("skin") == "skn"  # nasals fold
    assert sound_key("light roast") == "ltrst" and sound_key("lightrose") == "ltrs"  # gh silent
    assert rhyme(sound_key("garage")) == rhyme(sound_key("large")) == "rj"  # soft g
    assert cluster_reduced(sound_key("skimmilk")) == sound_key("kimmilk")
    assert sound_key("mocha") == "nX" and sound_key("카페") == ""
    assert sound_key("called") == sound_key("cold")  # why the matcher also asks for spelling


def test_dropped_article_is_marked_on_the_next_word() -> None:
    from voicegw.nlu.normalize import normalize

    tokens = normalize("for the latte, for lattes", "en").tokens
    assert [(t.text, t.after_stopword) for t in tokens] == [
        ("for", False), ("latte", True), (",", False), ("for", False), ("lattes", False)]
