"""Number words, read with the language packs' tables (native and Sino-Korean, English): pure lookups."""

from __future__ import annotations

from voicegw.nlu.packs import LANGUAGES, NumbersData, pack


def parse_native(word: str, numbers: NumbersData) -> int | None:
    """열두 -> 12, 다섯 -> 5, 스무 -> 20, seven -> 7; None when ``word`` is not a number word."""
    for tens_word, tens in numbers.tens.items():
        if word == tens_word:
            return tens
        if word.startswith(tens_word) and word[len(tens_word):] in numbers.cardinal:
            return tens + numbers.cardinal[word[len(tens_word):]]
    return numbers.cardinal.get(word)


def parse_sino(word: str, numbers: NumbersData) -> int | None:
    """이십삼 -> 23, 십 -> 10, 오 -> 5 (0 < n < 100); None otherwise or without Sino digits."""
    digits, ten = numbers.sino_digits, numbers.sino_ten
    if not word or not ten or any(ch not in digits and ch != ten for ch in word):
        return None
    if ten not in word:
        return digits[word] if len(word) == 1 else None
    head, _, tail = word.partition(ten)
    if len(head) > 1 or len(tail) > 1 or ten in tail:
        return None
    return digits.get(head, 1) * 10 + digits.get(tail, 0)


def parse_number(word: str, language: str, before_counter: bool) -> int | None:
    """The quantity ``word`` names, if any; ambiguous words count only before a counter."""
    if word.isdigit():
        return int(word)
    numbers = pack(language if language in LANGUAGES else "en").numbers
    native = parse_native(word, numbers)
    if native is not None and (before_counter or word not in numbers.attributive_only):
        return native
    return parse_sino(word, numbers) if before_counter else None


def split_counter(word: str, counters: frozenset[str]) -> tuple[str, str] | None:
    """'두잔' -> ('두', '잔'), '2잔' -> ('2', '잔'); None when no counter ends the word."""
    for counter in sorted(counters, key=len, reverse=True):
        if word.endswith(counter) and len(word) > len(counter):
            return word[: -len(counter)], counter
    return None
