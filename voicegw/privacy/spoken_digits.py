"""Spoken digits written as words, turned into Arabic digits with a map back to the original text.

Whisper writes a phone number read out digit by digit as words about as often as it writes the
digits: "공일공 일이삼사 오육칠팔", "공일공에 일이삼사에 오육칠팔이요", "oh one oh, one two three
four". The redactor's number patterns run on the digit view of the text built here; every
character of the view remembers which span of the original it came from, so a match on the view
is redacted in the original.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Sino-Korean digit syllables; phone, card and registration numbers are read with these, one
#: syllable per digit ("공" and "영" are both zero).
KO_DIGITS = {"공": "0", "영": "0", "일": "1", "이": "2", "삼": "3", "사": "4", "오": "5",
             "육": "6", "륙": "6", "칠": "7", "팔": "8", "구": "9"}

#: Particles Whisper leaves glued to the last digit of a group ("일이삼사에", "오육칠팔이요",
#: "오육칠팔로"). They stay in the view as text, so they separate groups like a hyphen does. A bare
#: "이" is not one of them: it is the digit 2 ("공일공이" is 0102).
KO_SUFFIXES = ("이에요", "입니다", "이고요", "이구요", "이니까", "으로요", "이요", "에요", "예요", "이고",
               "이랑", "하고", "으로", "로요", "인데", "이야", "까지", "번이요", "번", "에", "요", "로", "고",
               "랑", "은", "는", "가", "을", "를", "도", "만", "야")

EN_DIGITS = {"zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3", "four": "4",
             "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9"}
EN_REPEATS = {"double": 2, "triple": 3}

_KO_WORD = re.compile(
    "(?<![가-힣A-Za-z\\d])(?P<digits>[" + "".join(KO_DIGITS) + "]+?)"
    "(?P<suffix>" + "|".join(KO_SUFFIXES) + ")?(?![가-힣A-Za-z\\d])"
)
_EN_WORD = re.compile(
    r"\b(?:(?P<repeat>" + "|".join(EN_REPEATS) + r")\s+)?"
    r"(?P<digit>" + "|".join(sorted(EN_DIGITS, key=len, reverse=True)) + r")\b(?!')",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class DigitView:
    """The text with spoken digit words replaced by Arabic digits."""

    text: str
    """The view: original text where no digit word was, digits where one was."""
    starts: tuple[int, ...]
    """For each character of the view, where its source begins in the original text."""
    ends: tuple[int, ...]
    """For each character of the view, where its source ends (exclusive) in the original text."""
    spoken: tuple[bool, ...]
    """For each character of the view, whether it came from a digit word."""

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """The original-text span of the view span ``[start, end)`` (whole words, never half)."""
        return self.starts[start], self.ends[end - 1]

    def has_spoken(self, start: int, end: int) -> bool:
        return any(self.spoken[start:end])


@dataclass(frozen=True)
class _Word:
    start: int
    end: int
    """Span of the digit part in the original text (the suffix is not part of it)."""
    digits: str
    english: bool


def _words(text: str) -> list[_Word]:
    words = [_Word(m.start(), m.end("digits"), "".join(KO_DIGITS[c] for c in m["digits"]), False)
             for m in _KO_WORD.finditer(text)]
    for m in _EN_WORD.finditer(text):
        times = EN_REPEATS[m["repeat"].lower()] if m["repeat"] else 1
        words.append(_Word(m.start(), m.end(), EN_DIGITS[m["digit"].lower()] * times, True))
    return sorted(words, key=lambda w: w.start)


def digit_view(text: str) -> DigitView:
    """Replace each digit word by its digits; English digit words in a row become one group.

    "oh one oh" is three words but one group "010" (English reads one word per digit), while
    "공일공 일이삼사" keeps its space: each Korean word is already a group.
    """
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    spoken: list[bool] = []

    def copy(start: int, end: int) -> None:
        for i in range(start, end):
            out.append(text[i])
            starts.append(i)
            ends.append(i + 1)
            spoken.append(False)

    pos = 0
    previous: _Word | None = None
    for word in _words(text):
        if word.start < pos:  # overlapping matches of the two languages: keep the first
            continue
        gap = text[pos:word.start]
        joined = previous is not None and previous.english and word.english and (gap == "" or gap.isspace())
        if not joined:
            copy(pos, word.start)
        for digit in word.digits:
            out.append(digit)
            starts.append(word.start)
            ends.append(word.end)
            spoken.append(True)
        pos = word.end
        previous = word
    copy(pos, len(text))
    return DigitView("".join(out), tuple(starts), tuple(ends), tuple(spoken))
