"""Personal data out of text: ``redact(text)`` replaces phone, registration and card numbers,
e-mail addresses and postal addresses with typed placeholders (``<phone>``, ``<rrn>``,
``<card>``, ``<email>``, ``<address>``) before the text is logged or stored outside the order.

Pure and deterministic. The findings carry kinds and spans, never the values. Every detector runs
for every language: Korean customers spell e-mails in English and read digits in either.

Decisions (the tests in tests/unit/test_redact.py hold each one):

- Number matches start and end on a digit-run boundary, so a kept number is never cut short and a
  placeholder never glues two numbers into a longer one; a number joined to another by ``-`` or
  ``.`` ("010-1234-5678-9999") is one longer number and is not a phone number.
- Korean 전국대표번호 (15xx/16xx/18xx-xxxx) are kept: they are assigned to businesses only. Every
  other phone-shaped number is redacted; over-redacting a shop's landline costs nothing.
- Written numbers need a phone shape (a known Korean prefix, ``+`` and a country code, a North
  American 3-3-4, or a 4-4 mobile tail ``5678-1234`` whose first digit is 2-9, which leaves store
  hours ``0900-2200`` and year ranges alone). Numbers read out digit by digit (as words, or as
  single digits "5 5 5 1 2 3 4") need only length: 7 or more in a row are a phone number (a US
  local number has 7, a Korean mobile given without 010 has 8); an order never has prices,
  amounts or order numbers read digit by digit.
- Registration numbers: a valid birth date and a gender digit 1-8 (5-8 are foreign residents,
  just as personal); no check digit, since numbers issued after October 2020 have none. The masked
  form ``900101-1******`` still gives birth date and sex, so it is redacted too.
- Card numbers: 13-19 digits, bare or in the printed groups, and the Luhn check must pass; a
  16-digit order or tracking number that fails it stays.
- Addresses: a road (...로/길 + building number) or lot (...동/리/N가 + number) counts when
  something else says it is an address: a 시/도 or 시/군/구 before it (읍/면 only after one:
  "그러면" is "then"), details after it (동, 층, 호, a building), ``번지``, a hyphenated lot
  number, a ...길 road, or a cue just before it (주소는, 배달지, address). Alone, "아이스로 2" or
  "판교역로 235" stays; "...으로", "걸로", "그대로" are never roads; a number followed by a
  counter (잔, 개, 원, 시, oz, ...) is never a building number. ``101동 1203호`` always counts.
  English: "123 Main Street, Apt 4B" (capitalised names and a street type).
- Idempotent: every pattern treats a placeholder like the word it replaced, so redacting redacted
  text changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from voicegw.privacy.spoken_digits import DigitView, digit_view


class Kind(StrEnum):
    """What a finding is; the placeholder is ``<kind>``."""

    PHONE = "phone"
    RRN = "rrn"
    CARD = "card"
    EMAIL = "email"
    ADDRESS = "address"

    @property
    def placeholder(self) -> str:
        return f"<{self.value}>"


#: When two findings overlap they become one, of the kind listed first (an e-mail may hold a phone number).
PRIORITY = (Kind.EMAIL, Kind.RRN, Kind.CARD, Kind.PHONE, Kind.ADDRESS)


@dataclass(frozen=True)
class Finding:
    """One piece of personal data found in the text (its value is never kept)."""

    kind: Kind
    start: int
    """Where it began in the original text."""
    end: int
    """Where it ended in the original text (exclusive)."""


@dataclass(frozen=True)
class Redacted:
    """The text with every finding replaced by its placeholder."""

    text: str
    findings: tuple[Finding, ...]
    """In text order, spans of the original text."""

    @property
    def kinds(self) -> set[Kind]:
        return {f.kind for f in self.findings}


# --- numbers (matched on the digit view, where spoken digits are digits) ----------------------

_SEP = r"(?:\s?[-.]\s?|\s|,\s|에\s?|\s?다시\s?)"
"""Between digit groups: hyphen, dot, space, a comma and space, or a spoken dash ("에", "다시")."""
_OPT = _SEP + "?"
# A number does not start next to a digit, a letter, a '+' or a placeholder ('>': every pattern
# treats a placeholder like the word it replaced, so a second pass finds nothing new), nor just after
# a digit and a hyphen or dot (it would be the tail of a longer number); and symmetrically.
_LEFT = r"(?<![A-Za-z\d+>])(?<![\d>][-.])"
_RIGHT = r"(?!\d)(?![-.][\d<])"
# Shapes weaker than a Korean prefix or a '+' also keep away from digits one space away.
_WEAK_LEFT = _LEFT + r"(?<![\d>][\s,])(?<![\d>],\s)"
# ... and are no phone numbers when an amount's unit follows ("4500-5000원" is a price range).
_WEAK_RIGHT = _RIGHT + r"(?![\s,][\d<])(?!,\s[\d<])(?!\s?(?:원|달러|won|dollars?|kcal|칼로리|ml|oz|%|개|잔))"
_KR_AREA = r"0(?:2|[3-6][1-5]|70|50\d|80)"
"""Seoul, the provinces, internet phones (070), safe numbers (050x), toll-free (080)."""

MIN_SPOKEN_DIGITS = 7
"""Digits read out as words in a row that make a phone number (see the module notes)."""

_PHONES = [
    re.compile(_LEFT + r"01[016789]" + _OPT + r"\d{3,4}" + _OPT + r"\d{4}" + _RIGHT),
    re.compile(_LEFT + r"(?:\(" + _KR_AREA + r"\)\s?|" + _KR_AREA + _OPT + r")\d{3,4}" + _OPT + r"\d{4}" + _RIGHT),
    re.compile(r"(?<![\w+>])\+\s?\d{1,3}(?:" + _OPT + r"\(?\d{1,4}\)?){2,6}" + _RIGHT),
    re.compile(_WEAK_LEFT + r"(?:1" + _OPT + r")?(?:\([2-9]\d{2}\)\s?|[2-9]\d{2}" + _OPT + r")[2-9]\d{2}" + _OPT + r"\d{4}" + _WEAK_RIGHT),
    re.compile(_WEAK_LEFT + r"(?P<first>[2-9]\d{3})(?:\s?-\s?|\s|에\s?)(?P<second>\d{4})" + _WEAK_RIGHT),
    # Digits written one at a time, the way Whisper sometimes writes them read out: "0 1 0 1 2 3 4 ...".
    re.compile(_LEFT + r"\d(?:(?:\s|\s?-\s?|,\s)\d){" + str(MIN_SPOKEN_DIGITS - 1) + ",}" + _RIGHT),
]
_RRN = re.compile(_LEFT + r"(?P<birth>\d{6})(?:\s?-\s?|\s)?(?P<rest>[1-8](?:\d{6}|\*{6}))" + _RIGHT)
_CARD = re.compile(
    _LEFT + r"(?:\d{13,19}|\d{4}(?P<s>[ -])\d{4}(?P=s)\d{4}(?P=s)\d{1,4}(?:(?P=s)\d{1,3})?"
    r"|\d{4}(?P<t>[ -])\d{6}(?P=t)\d{4,5})" + _RIGHT
)
_DIGIT_RUN = re.compile(_LEFT + r"\d+(?:" + _SEP + r"\d+)*" + _RIGHT)


def _digits(s: str) -> str:
    return re.sub(r"\D", "", s)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def rrn_plausible(birth: str, gender: str) -> bool:
    """A real birth date in the century the gender digit gives (1/2/5/6: 1900s, 3/4/7/8: 2000s)."""
    century = 1900 if gender in "1256" else 2000
    try:
        date(century + int(birth[:2]), int(birth[2:4]), int(birth[4:6]))
    except ValueError:
        return False
    return True


def _number_kind(digits: str) -> Kind:
    """What a long run of spoken digits is: registration, card or (the default) phone number."""
    if len(digits) == 13 and digits[6] in "12345678" and rrn_plausible(digits[:6], digits[6]):
        return Kind.RRN
    if 13 <= len(digits) <= 19 and luhn_ok(digits):
        return Kind.CARD
    return Kind.PHONE


def _is_phone(m: re.Match[str]) -> bool:
    groups = m.groupdict()
    if groups.get("first"):  # 4-4 tail: not a year range like 2023-2025
        first, second = int(groups["first"]), int(groups["second"])
        return not (1900 <= first <= 2099 and first < second <= first + 10)
    digits = _digits(m.group())
    return 8 <= len(digits) <= 15 if m.group().lstrip().startswith("+") else True


def _number_findings(view: DigitView) -> list[Finding]:
    found: list[Finding] = []

    def add(kind: Kind, m: re.Match[str]) -> None:
        found.append(Finding(kind, *view.source_span(m.start(), m.end())))

    for pattern in _PHONES:
        for m in pattern.finditer(view.text):
            if _is_phone(m):
                add(Kind.PHONE, m)
    for m in _RRN.finditer(view.text):
        if rrn_plausible(m["birth"], m["rest"][0]):
            add(Kind.RRN, m)
    for m in _CARD.finditer(view.text):
        if luhn_ok(_digits(m.group())):
            add(Kind.CARD, m)
    for m in _DIGIT_RUN.finditer(view.text):
        digits = _digits(m.group())
        if len(digits) >= MIN_SPOKEN_DIGITS and view.has_spoken(m.start(), m.end()):
            add(_number_kind(digits), m)
        elif 13 <= len(digits) <= 19 and luhn_ok(digits):
            # A card read out in any grouping Whisper chose to write ("378 282 246 310 005").
            add(Kind.CARD, m)
    return found


# --- e-mail (repetitions bounded here and below: a log line must never take quadratic time) -

_TLD = r"(?:com|net|org|edu|gov|io|co\.kr|co|kr|jp|uk|me|컴|넷|케이알)"
_EMAILS = [
    re.compile(r"(?<![\w.+>-])[A-Za-z0-9][\w.%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w@<])"),
    # Read out: "kim at naver dot com", "minsu.kim 골뱅이 네이버 닷컴".
    re.compile(
        r"(?<![\w.>-])[A-Za-z0-9][A-Za-z0-9._-]*(?:\s(?:dot|underscore|dash)\s[A-Za-z0-9][A-Za-z0-9._-]*){0,4}"
        r"(?:\s?(?:@|골뱅이|앳)\s?|\s(?i:at)\s)"
        r"[A-Za-z0-9가-힣][A-Za-z0-9가-힣-]*(?:(?:\s?\.\s?|\s?닷\s?|\s(?i:dot)\s)[A-Za-z0-9가-힣-]+?){0,3}?"
        r"(?:\s?\.\s?|\s?닷\s?|\s(?i:dot)\s)" + _TLD + r"(?![A-Za-z0-9<])",
        re.IGNORECASE,
    ),
]


# Read out without a pause, Whisper glues "at" into one word: "hongildongatexample.com".
_GLUED_EMAIL = re.compile(r"(?<![\w.@>-])[A-Za-z0-9][A-Za-z0-9._-]*at[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\." + _TLD
                          + r"(?![A-Za-z0-9<])", re.IGNORECASE)


# --- addresses ---------------------------------------------------------------------------------

_SIDO = (r"(?:서울|부산|대구|인천|광주|대전|울산|세종|경기|강원|충북|충남|전북|전남|경북|경남|제주"
         r"|충청[남북]|전라[남북]|경상[남북])(?:특별자치시|특별자치도|특별시|광역시|시|도)?")
# 시/군/구 names have a stem of two syllables or more, but for the 중/동/서/남/북구 of the big cities
# (a one-syllable stem would take 혹시, 다시, 친구); 읍/면 only after one ("그러면" is "then").
_PREFIX = (r"(?P<prefix>(?:(?:" + _SIDO + r"|[가-힣]{2,4}(?:시|군|구)|[중동서남북]구)\s*){1,3}"
           r"(?:[가-힣]{1,4}(?:읍|면)\s*)?)?")
_CUE = r"(?P<cue>(?:주소|배달지|배송지|도착지|(?i:address|deliver(?:y)?\s(?:to|address)))\s?(?:는|은|가|이|:|(?i:is|to))?\s*)?"
_COUNTER = (r"(?:잔|개|원|명|시간|시|분|초|번(?![지길])|일|월|년|살|세|인분|인|병|컵|샷|세트|장|조각|그릇|봉지|박스"
            r"|kcal|칼로리|ml|oz|g|%|퍼센트|달러|불|배|회|차|등|점|km|m|미터|키로|킬로|개월|주|가지|대|마리|번째)")
# A building or lot number ends where a counter does not follow it ("2잔", "3 개요" are amounts).
_NUMBER_END = (r"(?![\d<])(?![-.]\d)(?!" + _COUNTER + r")"
               r"(?!\s" + _COUNTER + r"(?:$|[^가-힣]|이요|요|만|에|씩|짜리|은|는|을|를|이|도))")
_TAIL = (r"(?P<tail>(?:\s?,?\s?(?:\([가-힣\d\s,·.-]{1,30}\)"
         r"|[가-힣A-Za-z]{1,15}(?:아파트|빌딩|빌라|타워|오피스텔|스퀘어|센터|맨션|하이츠|캐슬|프라자|플라자)"
         r"|(?:[가-힣A-Za-z]{2,15}\s)?(?:[A-Za-z\d]{1,4}\s?동|(?:지하\s?|B)?\d{1,3}\s?층|[A-Za-z]?\d{1,5}\s?호(?!점)))){0,6})")
_START = r"(?<![가-힣A-Za-z\d>])"
_ROAD = re.compile(
    _CUE + r"(?P<addr>" + _START + _PREFIX
    + r"(?P<road>[가-힣][가-힣\d]{0,10}?(?:대로|로|길)(?P<gil>\s?\d{1,3}(?:번|가)?길)?)"
    + r"\s?(?:지하\s?)?\d{1,4}(?:-\d{1,4})?" + _NUMBER_END + _TAIL + ")"
)
_LOT = re.compile(
    _CUE + r"(?P<addr>" + _START + _PREFIX
    + r"[가-힣]{1,6}?(?:\d{1,2}동|동(?:\d{1,2}가)?|\d{1,2}가|리)\s?(?:산\s?)?(?P<lot>\d{1,4}(?:-\d{1,4})?)"
    + r"(?P<bunji>\s?번지)?" + _NUMBER_END + _TAIL + ")"
)
_APARTMENT = re.compile(r"(?<![A-Za-z\d>])[A-Za-z\d]{1,4}\s?동\s?\d{1,5}\s?호(?!점)")
_STREET = re.compile(
    r"(?<![\w.>])\d{1,6}[A-Za-z]?\s+(?:(?:[NSEW]\.?|North|South|East|West)\s+)?"
    r"(?:[A-Z][A-Za-z]*\.?\s+|\d{1,3}(?:st|nd|rd|th)\s+){1,4}"
    r"(?i:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Way|Court|Ct|Place|Pl|Terrace|Parkway|Pkwy)\b\.?"
    r"(?:,?\s(?i:Apt|Apartment|Suite|Ste|Unit)\.?\s?#?[A-Za-z\d-]{1,6}(?![\w-]))?"
)


# A UK postcode (outward code, space, inward code): "SW1A 1AA", "m1 1ae". The inward code is a digit
# and two letters, which no order or price has.
_UK_POSTCODE = re.compile(r"(?<![\w>])[A-Za-z]{1,2}\d[A-Za-z\d]?\s?\d[ABD-HJLNP-UW-Zabd-hjlnp-uw-z]{2}(?![\w<])")


#: Words ending like a road name that are particles: "아이스로", "라지로" stay possible roads
#: (they need a second sign), these never are.
_NOT_ROAD = re.compile(r"(?:으로|걸로|거로|그대로|이대로|저대로|마음대로|맘대로)$")


def _address_findings(text: str) -> list[Finding]:
    found: list[Finding] = []
    for m in _ROAD.finditer(text):
        if _NOT_ROAD.search(m["road"]):
            continue
        if m["prefix"] or m["cue"] or m["tail"] or m["gil"] or m["road"].endswith("길"):
            found.append(Finding(Kind.ADDRESS, m.start("addr"), m.end("addr")))
    for m in _LOT.finditer(text):
        if m["prefix"] or m["cue"] or m["tail"] or m["bunji"] or "-" in m["lot"]:
            found.append(Finding(Kind.ADDRESS, m.start("addr"), m.end("addr")))
    for pattern in (_APARTMENT, _STREET, _UK_POSTCODE):
        found.extend(Finding(Kind.ADDRESS, m.start(), m.end()) for m in pattern.finditer(text))
    return found


# --- putting it together -----------------------------------------------------------------------


def find_personal_data(text: str) -> list[Finding]:
    """Every finding in text order; overlapping ones merge into one of the higher-priority kind,
    so no part of either is left in the text."""
    candidates = _number_findings(digit_view(text)) + _address_findings(text)
    candidates += [Finding(Kind.EMAIL, m.start(), m.end()) for p in (*_EMAILS, _GLUED_EMAIL) for m in p.finditer(text)]
    merged: list[Finding] = []
    for f in sorted(candidates, key=lambda f: f.start):
        last = merged[-1] if merged else None
        if last is not None and f.start < last.end:
            kind = min(last.kind, f.kind, key=PRIORITY.index)
            merged[-1] = Finding(kind, last.start, max(last.end, f.end))
        else:
            merged.append(f)
    return merged


def redact(text: str, language: str | None = None) -> Redacted:
    """``text`` with personal data replaced by placeholders.

    ``language`` is accepted for callers that know it, but every detector runs regardless: a
    Korean transcript may hold an English e-mail and an English one a Korean address.
    """
    findings = find_personal_data(text)
    return Redacted(_replaced(text, findings), tuple(findings))


def _replaced(text: str, findings: Iterable[Finding]) -> str:
    """``text`` with each finding (in text order, not overlapping) replaced by its placeholder."""
    parts: list[str] = []
    pos = 0
    for f in findings:
        parts += [text[pos:f.start], f.kind.placeholder]
        pos = f.end
    parts.append(text[pos:])
    return "".join(parts)


NUMBER_KINDS = frozenset({Kind.PHONE, Kind.RRN, Kind.CARD})


def mask_personal_numbers(text: str) -> str:
    """``text`` with phone, registration and card numbers replaced by their placeholders, the rest
    as it was: understanding reads "one latte, my card is 4111 1111 1111 1111" as one latte, not
    as 4111 of something."""
    return _replaced(text, (f for f in find_personal_data(text) if f.kind in NUMBER_KINDS))

