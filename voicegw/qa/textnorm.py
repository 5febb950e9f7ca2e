"""Text normalisation for *scoring* only: explicit, small and stable (docs/scoring.md).

This is deliberately not the NLU normaliser (voicegw.nlu.normalize): that one may change to
understand more, while scores must stay comparable between releases. What it does, in order:

1. Unicode NFC, lower case, curly apostrophes to ``'``.
2. Symbols that are words when spoken: ``%`` -> ``percent``, ``&`` -> ``and``; thousands
   separators in numbers dropped (``1,000`` -> ``1000``).
3. Punctuation and symbols removed; hyphens split words (``12-ounce`` -> ``12 ounce``); an
   apostrophe inside a word is kept (``that's``, ``isn't``: contractions are not expanded); a
   decimal point between digits is kept (``4.50``).
4. English: number words become digits (``twelve`` -> ``12``, ``twenty five`` -> ``25``,
   ``one hundred and two`` -> ``102``, ``a hundred`` -> ``100``, year-style
   ``eighteen thirteen`` -> ``1813`` when the first number is 13-20); otherwise ``a`` is not a
   number (``a latte``, ``a dozen`` stay words); ounce spellings become ``oz`` and a number glued to
   a unit is split (``12oz`` -> ``12 oz``).
5. Korean: native numbers before a counter become digits glued to the counter
   (``두 잔`` / ``두잔`` / ``2 잔`` -> ``2잔``). Sino-Korean numbers (일, 이, 삼) are left alone:
   ``이`` and ``삼`` are also ordinary words.

CER removes every space, so Korean spacing differences cost nothing.
"""

from __future__ import annotations

import re
import unicodedata

# --- shared character clean-up ------------------------------------------------------------

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_HYPHENS = re.compile(r"[-\u2010-\u2015\u2212]")


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFC", text).lower().translate(_APOSTROPHES)
    text = _THOUSANDS.sub("", text)
    text = text.replace("%", " percent ").replace("&", " and ")
    text = _HYPHENS.sub(" ", text)
    out: list[str] = []
    for i, ch in enumerate(text):
        if ch == "'" or ch == ".":
            prev = text[i - 1] if i > 0 else " "
            nxt = text[i + 1] if i + 1 < len(text) else " "
            keep = prev.isalnum() and nxt.isalnum() if ch == "'" else prev.isdigit() and nxt.isdigit()
            out.append(ch if keep else " ")
        elif unicodedata.category(ch)[0] in "PS":  # punctuation and symbols (×, =, $, ~)
            out.append(" ")
        else:
            out.append(ch)
    return " ".join("".join(out).split())


# --- English numbers ------------------------------------------------------------------------

_UNITS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen "
        "fourteen fifteen sixteen seventeen eighteen nineteen".split()
    )
}
_TENS = {
    w: 10 * i
    for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)
}
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000}
_OUNCE = {"oz", "ounce", "ounces"}
_GLUED_UNIT = re.compile(r"^(\d+(?:\.\d+)?)(oz)$")


def _read_number(words: list[str], i: int) -> tuple[int, int] | None:
    """A cardinal starting at ``words[i]``: (value, words used), or None.

    "one two three" is three numbers (a unit ends a number), "twenty five" one, "five twenty" two.
    """
    total = current = 0
    last = ""  # kind of the previous word: "", "unit", "tens" or "scale"
    j = i
    while j < len(words):
        w = words[j]
        if w in _UNITS and (last in ("", "scale") or (last == "tens" and _UNITS[w] < 10)):
            current += _UNITS[w]
            last = "unit"
        elif w in _TENS and last in ("", "scale"):
            current += _TENS[w]
            last = "tens"
        elif w in _SCALES and (last in ("unit", "tens") or (last == "scale" and _SCALES[w] > 100)):
            if _SCALES[w] == 100:
                current *= 100
            else:
                total, current = total + max(current, 1) * _SCALES[w], 0
            last = "scale"
        elif w == "and" and last == "scale" and j + 1 < len(words) and (
            words[j + 1] in _UNITS or words[j + 1] in _TENS
        ):
            pass  # "one hundred and two"
        else:
            break
        j += 1
    if last == "":
        return None
    return total + current, j - i


def _english_numbers(words: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(words):
        number = _read_number(words, i)
        if number is None and words[i] == "a" and i + 1 < len(words) and words[i + 1] in _SCALES:
            number = _read_number(["one", *words[i + 1 :]], 0)  # "a hundred" is 100
        if number is None:
            out.append(words[i])
            i += 1
            continue
        value, used = number
        # Year style: "eighteen thirteen" -> 1813, "twenty twenty four" -> 2024. Starts at 13
        # so that quantities ("twelve twelve-ounce") stay apart.
        nxt = _read_number(words, i + used)
        if 13 <= value <= 20 and used == 1 and nxt and 10 <= nxt[0] <= 99:
            value, used = value * 100 + nxt[0], used + nxt[1]
        out.append(str(value))
        i += used
    return out


def _english_units(words: list[str]) -> list[str]:
    out: list[str] = []
    for w in words:
        glued = _GLUED_UNIT.match(w)
        if glued:
            out.extend([glued.group(1), "oz"])
        else:
            out.append("oz" if w in _OUNCE else w)
    return out


# --- Korean numbers before counters -----------------------------------------------------------

_KO_UNITS = {"한": 1, "두": 2, "세": 3, "네": 4, "다섯": 5, "여섯": 6, "일곱": 7, "여덟": 8, "아홉": 9}
_KO_TENS = {"열": 10, "스무": 20, "스물": 20}
_KO_COUNTERS = ("잔", "개", "컵", "병", "명", "분", "그릇", "조각", "봉지", "세트", "인분", "판", "캔")
_KO_NUMBER = re.compile(
    r"(?<![\w.])(?:(?P<tens>열|스무|스물)\s?)?(?P<unit>다섯|여섯|일곱|여덟|아홉|한|두|세|네)?"
    r"\s*(?P<counter>" + "|".join(sorted(_KO_COUNTERS, key=len, reverse=True)) + ")"
)
_KO_DIGIT_COUNTER = re.compile(
    r"(?<![0-9.])(\d+)\s+(?=(?:" + "|".join(_KO_COUNTERS) + "))"
)


def _korean_numbers(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        tens, unit = m.group("tens"), m.group("unit")
        if not tens and not unit:
            return m.group(0)
        if tens == "스무" and unit:  # 스무 is only used alone (스무 잔); 스물 takes a unit
            return m.group(0)
        value = _KO_TENS.get(tens or "", 0) + _KO_UNITS.get(unit or "", 0)
        return f"{value}{m.group('counter')}"

    text = _KO_NUMBER.sub(repl, text)
    return _KO_DIGIT_COUNTER.sub(r"\1", text)


# --- public -----------------------------------------------------------------------------------


def normalize_text(text: str, lang: str) -> str:
    """The scoring form of ``text``: cleaned, numbers as digits, single spaces."""
    cleaned = _clean(text)
    if lang.startswith("ko"):
        cleaned = _korean_numbers(cleaned)
    # English rules run for every language: Korean references quote English words and digits.
    words = _english_units(_english_numbers(cleaned.split()))
    return " ".join(words)


def normalize_for_wer(text: str, lang: str) -> list[str]:
    """Words to compare for WER."""
    return normalize_text(text, lang).split()


def normalize_for_cer(text: str, lang: str) -> str:
    """Characters to compare for CER: the normalised text with every space removed."""
    return normalize_text(text, lang).replace(" ", "")
