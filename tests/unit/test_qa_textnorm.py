"""Scoring normalisation: the exact equivalences docs/scoring.md promises."""

from __future__ import annotations

import pytest

from voicegw.qa.textnorm import normalize_for_cer, normalize_for_wer


@pytest.mark.parametrize(
    "variant",
    ["12 oz", "twelve ounce", "12-ounce", "12oz", "Twelve-Ounce", "12 ounces", "12 oz."],
)
def test_ounce_spellings_are_one_form(variant: str) -> None:
    assert normalize_for_wer(variant, "en") == ["12", "oz"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Two small cappuccinos.", ["2", "small", "cappuccinos"]),
        ("one medium drip coffee, dark roast", ["1", "medium", "drip", "coffee", "dark", "roast"]),
        ("twenty-five", ["25"]),
        ("twenty five", ["25"]),
        ("one hundred and two", ["102"]),
        ("six hundred thousand", ["600000"]),
        ("1,000 cups", ["1000", "cups"]),
        ("a hundred", ["100"]),
        ("IN EIGHTEEN THIRTEEN", ["in", "1813"]),
        ("one two three", ["1", "2", "3"]),
        ("five twenty", ["5", "20"]),
        ("twelve twelve-ounce lattes", ["12", "12", "oz", "lattes"]),
        ("two croissants and one iced americano", ["2", "croissants", "and", "1", "iced", "americano"]),
        ("a dozen bagels", ["a", "dozen", "bagels"]),
        ("a large iced latte", ["a", "large", "iced", "latte"]),
        ("a 12% chance", ["a", "12", "percent", "chance"]),
        ("$4.50, please", ["4.50", "please"]),
        ("6 × 10 = 60", ["6", "10", "60"]),
        ("Mr. Quilter", ["mr", "quilter"]),
        ("cream-cheese", ["cream", "cheese"]),
    ],
)
def test_english_words(text: str, words: list[str]) -> None:
    assert normalize_for_wer(text, "en") == words


def test_contractions_are_kept_and_apostrophes_unified() -> None:
    assert normalize_for_wer("That’s all, place the order", "en") == [
        "that's", "all", "place", "the", "order",
    ]
    assert normalize_for_wer("This isn't it", "en") == ["this", "isn't", "it"]
    assert normalize_for_wer("'quoted' words", "en") == ["quoted", "words"]


def test_nfc_and_case() -> None:
    decomposed = "cafe\u0301 LATTE"
    assert normalize_for_wer(decomposed, "en") == ["caf\u00e9", "latte"]
    # Hangul typed as separate jamo (NFD) compares equal to precomposed syllables.
    import unicodedata

    assert normalize_for_cer(unicodedata.normalize("NFD", "라떼"), "ko") == "라떼"


@pytest.mark.parametrize(
    "variant",
    ["아이스 아메리카노 두 잔 주세요", "아이스 아메리카노 2잔 주세요", "아이스아메리카노 2 잔 주세요",
     "아이스 아메리카노 두잔 주세요.", "아이스 아메리카노, 두 잔 주세요!"],
)
def test_korean_spacing_and_spelled_numbers_do_not_count(variant: str) -> None:
    assert normalize_for_cer(variant, "ko") == "아이스아메리카노2잔주세요"


@pytest.mark.parametrize(
    ("text", "cer_form"),
    [
        ("녹차 라떼 한 잔이랑 치즈케이크 두 개 주세요", "녹차라떼1잔이랑치즈케이크2개주세요"),
        ("카푸치노 큰 사이즈로 세 잔 주세요", "카푸치노큰사이즈로3잔주세요"),
        ("새우버거 세트 두 개랑 치즈버거 세트 세 개", "새우버거세트2개랑치즈버거세트3개"),
        ("열두 잔", "12잔"),
        ("스무 잔", "20잔"),
        ("스물 두 잔", "22잔"),
        ("세 세트", "3세트"),
        # Not before a counter: left alone (하나, 세트, 세요, 열어 are words).
        ("콜드브루 라지 하나 주세요", "콜드브루라지하나주세요"),
        ("문 열어 주세요", "문열어주세요"),
        ("네 맞아요", "네맞아요"),
    ],
)
def test_korean_numbers_before_counters(text: str, cer_form: str) -> None:
    assert normalize_for_cer(text, "ko") == cer_form


def test_korean_words_for_wer_keep_spacing_but_unify_numbers() -> None:
    assert normalize_for_wer("라떼 두 잔", "ko") == ["라떼", "2잔"]
    assert normalize_for_wer("라떼 2 잔", "ko") == ["라떼", "2잔"]
    assert normalize_for_wer("latte 두 잔", "ko") == ["latte", "2잔"]


def test_cer_for_english_drops_spaces_only() -> None:
    assert normalize_for_cer("Two lattes, please", "en") == "2lattesplease"


def test_empty_and_punctuation_only() -> None:
    assert normalize_for_wer("", "en") == []
    assert normalize_for_wer(" ... !? ", "en") == []
    assert normalize_for_cer("", "ko") == ""
