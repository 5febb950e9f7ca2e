"""Number words of Korean (native and Sino-Korean) and English, as pure lookups."""

from __future__ import annotations

KO_NATIVE_UNITS = {
    "하나": 1, "한": 1, "둘": 2, "두": 2, "셋": 3, "세": 3, "석": 3, "넷": 4, "네": 4, "넉": 4,
    "다섯": 5, "여섯": 6, "일곱": 7, "여덟": 8, "아홉": 9,
}
KO_NATIVE_TENS = {"열": 10, "스물": 20, "스무": 20, "서른": 30}
KO_SINO_DIGITS = {"일": 1, "이": 2, "삼": 3, "사": 4, "오": 5, "육": 6, "칠": 7, "팔": 8, "구": 9}
KO_ATTRIBUTIVE_ONLY = frozenset({"한", "세", "네", "석", "넉"})
"""Native forms that are also ordinary words (네 = yes): numbers only before a counter."""

EN_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "dozen": 12, "couple": 2,
}


def parse_ko_native(word: str) -> int | None:
    """열두 -> 12, 다섯 -> 5, 스무 -> 20; None when ``word`` is not a native numeral."""
    for tens_word, tens in KO_NATIVE_TENS.items():
        if word == tens_word:
            return tens
        if word.startswith(tens_word) and word[len(tens_word):] in KO_NATIVE_UNITS:
            return tens + KO_NATIVE_UNITS[word[len(tens_word):]]
    return KO_NATIVE_UNITS.get(word)


def parse_ko_sino(word: str) -> int | None:
    """이십삼 -> 23, 십 -> 10, 오 -> 5 (0 < n < 100); None otherwise."""
    if not word or any(ch not in KO_SINO_DIGITS and ch != "십" for ch in word):
        return None
    if "십" not in word:
        return KO_SINO_DIGITS[word] if len(word) == 1 else None
    head, _, tail = word.partition("십")
    if len(head) > 1 or len(tail) > 1 or "십" in tail:
        return None
    return KO_SINO_DIGITS.get(head, 1) * 10 + KO_SINO_DIGITS.get(tail, 0)


def parse_number(word: str, language: str, before_counter: bool) -> int | None:
    """The quantity ``word`` names, if any; ambiguous words count only before a counter."""
    if word.isdigit():
        return int(word)
    if language == "en":
        return EN_NUMBERS.get(word)
    native = parse_ko_native(word)
    if native is not None and (before_counter or word not in KO_ATTRIBUTIVE_ONLY):
        return native
    return parse_ko_sino(word) if before_counter else None


def split_counter(word: str, counters: frozenset[str]) -> tuple[str, str] | None:
    """'두잔' -> ('두', '잔'), '2잔' -> ('2', '잔'); None when no counter ends the word."""
    for counter in sorted(counters, key=len, reverse=True):
        if word.endswith(counter) and len(word) > len(counter):
            return word[: -len(counter)], counter
    return None
