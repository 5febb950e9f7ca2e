"""Redaction of personal data: realistic transcripts per kind, look-alikes that must stay, and
properties (idempotent, never cuts or grows a number)."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voicegw.privacy.redact import Finding, Kind, luhn_ok, mask_personal_numbers, redact, rrn_plausible
from voicegw.privacy.spoken_digits import digit_view

# (transcript, kind, the personal value that must be gone). Korean and English, as Whisper
# writes them: digits, digit words, or both mixed.
PHONES = [
    ("제 번호는 010-1234-5678이에요", "010-1234-5678"),
    ("01012345678로 연락 주세요", "01012345678"),
    ("010 9876 5432", "010 9876 5432"),
    ("연락처 010.2345.6789 입니다", "010.2345.6789"),
    ("집 전화는 02-123-4567", "02-123-4567"),
    ("031-987-6543으로 전화 주세요", "031-987-6543"),
    ("(02) 3456-7890", "3456-7890"),
    ("070-4321-8765", "070-4321-8765"),
    ("+82 10-1234-5678", "+82 10-1234-5678"),
    ("+82-10-2345-6789 로 문자 주세요", "+82-10-2345-6789"),
    ("+82 (0)10 1234 5678", "1234 5678"),
    ("You can reach me at +1 415 555 0100.", "+1 415 555 0100"),
    ("My UK number is +44 20 7946 0958", "+44 20 7946 0958"),
    ("call me at (415) 555-0100 when it's ready", "(415) 555-0100"),
    ("my cell is 415-555-0142", "415-555-0142"),
    ("text 212.555.0199 please", "212.555.0199"),
    ("뒷번호는 2345-6789예요", "2345-6789"),
    ("0212345678", "0212345678"),
    ("공일공 일이삼사 오육칠팔", "일이삼사 오육칠팔"),
    ("공일공에 일이삼사에 오육칠팔이요", "일이삼사에 오육칠팔"),
    ("010 일이삼사 5678", "일이삼사 5678"),
    ("번호는 공일공 구팔칠육 오사삼이 입니다", "구팔칠육 오사삼이"),
    ("영일영 삼삼삼삼 사사사사", "삼삼삼삼 사사사사"),
    ("010 빼고 일이삼사 오육칠팔이요", "일이삼사 오육칠팔"),
    ("공일공 다시 일이삼사 다시 오육칠팔", "일이삼사 다시 오육칠팔"),
    ("oh one oh, one two three four, five six seven eight", "five six seven eight"),
    ("zero one zero one two three four five six seven eight", "five six seven eight"),
    ("it's five five five, one two three four", "one two three four"),
    ("four one five, five five five, oh one four two", "oh one four two"),
    ("Double five five, one two three four.", "one two three four"),
    ("my number is 0 1 0 1 2 3 4 5 6 7 8", "5 6 7 8"),
]
RRNS = [
    ("주민번호 900101-1234567", "900101-1234567"),
    ("9001011234567", "9001011234567"),
    ("주민등록번호는 851231-2345678입니다", "851231-2345678"),
    ("011015-3456789", "011015-3456789"),
    ("050505-4123456이요", "050505-4123456"),
    ("900101 1234567", "900101 1234567"),
    ("외국인등록번호 920315-5123456", "920315-5123456"),
    ("앞자리만 880808-1******", "880808-1"),
    ("My resident number is 770707-2123456", "770707-2123456"),
    ("구공공일공일 다시 일이삼사오육칠", "일이삼사오육칠"),
    ("구공공일공일 일이삼사오육칠이요", "일이삼사오육칠"),
]
CARDS = [
    ("카드번호 4111 1111 1111 1111", "4111 1111 1111 1111"),
    ("4111-1111-1111-1111로 결제할게요", "4111-1111-1111-1111"),
    ("4111111111111111", "4111111111111111"),
    ("5500 0000 0000 0004", "5500 0000 0000 0004"),
    ("amex 3782 822463 10005", "3782 822463 10005"),
    ("3714 496353 98431 expires 12/27", "3714 496353 98431"),
    ("6011 1111 1111 1117", "6011 1111 1111 1117"),
    ("비씨카드 9410-1234-5678-9010", "9410-1234-5678-9010"),
    ("4222222222222", "4222222222222"),
    ("my card is 5105 1051 0510 5100", "5105 1051 0510 5100"),
    ("유니온페이 6214 1234 5678 9012 36", "6214 1234 5678 9012 36"),
    ("사일일일 일일일일 일일일일 일일일일", "일일일일 일일일일"),
    ("four one one one, one one one one, one one one one, one one one one", "one one one one"),
    # Read out in threes, as Whisper wrote a spoken 15-digit Amex number.
    ("my card number is 378 282 246 310 005", "246 310 005"),
    ("card 3782-8224-6310-005", "3782-8224-6310-005"),
]
EMAILS = [
    ("kim.minsu@naver.com 으로 보내 주세요", "kim.minsu@naver.com"),
    ("영수증은 minsu_kim92@gmail.com", "minsu_kim92@gmail.com"),
    ("jane.doe+coffee@example.co.uk", "jane.doe+coffee@example.co.uk"),
    ("email me at john@example.com.", "john@example.com"),
    ("park@daum.net이요", "park@daum.net"),
    ("kim at naver dot com", "kim"),
    ("john dot smith at gmail dot com", "smith"),
    ("minsu 골뱅이 네이버 닷컴", "minsu"),
    ("lee@korea.ac.kr", "lee@korea.ac.kr"),
    ("Send it to Sarah.Connor@Cyberdyne.io please", "Sarah.Connor@Cyberdyne.io"),
    ("hong123 at gmail.com", "hong123"),
    ("메일은 kim01012345678@naver.com", "kim01012345678"),
    # Said without a pause, Whisper glued "at" into the word.
    ("my email is hungildonatexample.com", "hungildonatexample.com"),
    ("receipt to minsuatnaver.com please", "minsuatnaver.com"),
]
ADDRESSES = [
    ("서울시 강남구 테헤란로 123", "테헤란로 123"),
    ("판교역로 235 에이치스퀘어 N동 8층", "판교역로 235"),
    ("역삼동 123-45번지", "역삼동 123-45"),
    ("101동 1203호로 갖다 주세요", "101동 1203호"),
    ("서울특별시 종로구 세종대로 209", "세종대로 209"),
    ("경기도 성남시 분당구 판교역로 235로 배달해 주세요", "판교역로 235"),
    ("주소는 판교역로 235요", "판교역로 235"),
    ("강남구 역삼동 823", "역삼동 823"),
    ("도산대로45길 12", "도산대로45길 12"),
    ("가로수길 15로 와 주세요", "가로수길 15"),
    ("부산 해운대구 우동 1411-1", "우동 1411-1"),
    ("서울 강남구 테헤란로 152 강남파이낸스센터 20층", "강남파이낸스센터 20층"),
    ("래미안 101동 1203호", "101동 1203호"),
    ("배달지는 봉은사로 524 (삼성동)", "봉은사로 524 (삼성동)"),
    ("양평군 서종면 문호리 123", "문호리 123"),
    ("350 5th Avenue, Suite 300", "350 5th Avenue"),
    ("deliver to 1600 Pennsylvania Avenue", "1600 Pennsylvania Avenue"),
    ("123 Main Street, Apt 4B", "Apt 4B"),
    ("42 Wallaby Way, Sydney", "42 Wallaby Way"),
    ("88 Colin P Kelly Jr Street", "Colin P Kelly"),
    ("my postcode is SW1A 1AA", "SW1A 1AA"),
    ("deliver to m1 1ae please", "m1 1ae"),
    ("postcode EC1A1BB", "EC1A1BB"),
]
POSITIVES = (
    [(t, Kind.PHONE, v) for t, v in PHONES] + [(t, Kind.RRN, v) for t, v in RRNS]
    + [(t, Kind.CARD, v) for t, v in CARDS] + [(t, Kind.EMAIL, v) for t, v in EMAILS]
    + [(t, Kind.ADDRESS, v) for t, v in ADDRESSES]
)

# Order talk that looks like personal data and must come through untouched.
LOOK_ALIKES = [
    "아메리카노 4,500원이에요", "₩9,000 결제할게요", "That's $4.75", "총 12,500원입니다", "합계 1,234,567원",
    "배달비 3,000원", "4500-5000원 사이", "주문번호 A-0001", "주문번호 1234 맞아요", "order number 1042",
    "사이렌 오더 A-23", "아이스 아메리카노 2잔", "a 12 oz latte", "one 20-ounce cold brew", "오후 3시에 찾으러 갈게요",
    "10:30에 픽업", "12시 30분", "아이스 아메리카노 두 잔", "샷 2 추가", "영업시간 09:00-22:00",
    "영업시간 0900-2200", "평일 오전 7시부터 밤 10시까지", "open 7am to 9pm, Sunday 8 to 6", "2023-2024 시즌 메뉴",
    "2024-10-31", "10/31 until 5 pm", "아이스로 2잔", "라지로 3개요", "카드로 3개월 할부", "그대로 2개 주세요",
    "포장으로 2개", "고객센터 1588-1234", "대표번호 1577-1234로 문의", "오일 파스타 하나", "사이즈 업 해 주세요",
    "이 사이에 빨대 넣어 주세요", "일일 한정 메뉴", "Grande latte, 2 pumps vanilla", "2 large lattes and one mocha",
    "one, two, three cookies", "4111-1111-1111-1112", "1234 5678 9012 3456", "쿠폰 번호 2024103100123",
    "칼로리 250kcal, 500ml", "테이블 5번", "강남역 2번 출구", "5호점", "2층으로 올라오세요", "3.5% 할인",
    "라떼 2잔이랑 케이크 1개", "make it 2 shots, 3 pumps", "room for 2 or 3 people", "1, 2, 3, 4 순서로 나와요",
    # A word ending in 로 and a bare number, after words ending like a 시/구/면 prefix.
    "혹시 라지로 2 돼요?", "다시 아이스로 2 주세요", "그러면 라지로 2 주세요", "친구 아이스로 2 할게요",
    "역시 그대로 1 주세요", "짜장면 곱빼기로 1", "열두시 테이크아웃으로 3 주세요", "이동 1-2분 걸려요", "우리 1-2 명이요",
]


@pytest.mark.parametrize(("text", "kind", "value"), POSITIVES)
def test_personal_data_is_redacted(text: str, kind: Kind, value: str) -> None:
    result = redact(text)
    assert kind in result.kinds, result
    assert value not in result.text
    assert kind.placeholder in result.text


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alikes_stay(text: str) -> None:
    result = redact(text)
    assert result.text == text
    assert result.findings == ()


def test_enough_examples_per_kind() -> None:
    for kind in Kind:
        assert sum(k is kind for _, k, _ in POSITIVES) >= 10, kind
    assert len(LOOK_ALIKES) >= 20


def test_findings_are_spans_of_the_original_and_hold_no_values() -> None:
    text = "제 번호는 010-1234-5678이고 메일은 kim@naver.com 이에요"
    result = redact(text)
    assert result.text == "제 번호는 <phone>이고 메일은 <email> 이에요"
    assert [(f.kind, text[f.start:f.end]) for f in result.findings] == [
        (Kind.PHONE, "010-1234-5678"), (Kind.EMAIL, "kim@naver.com")]
    assert set(Finding.__dataclass_fields__) == {"kind", "start", "end"}


def test_one_transcript_with_every_kind() -> None:
    text = ("공일공 일이삼사 오육칠팔로 연락 주시고 서울시 강남구 테헤란로 123 101동 1203호로 배달해 주세요. "
            "카드는 4111 1111 1111 1111, 주민번호 900101-1234567, 메일 kim@naver.com. 아메리카노 2잔 4,500원")
    result = redact(text)
    assert result.text == ("<phone>로 연락 주시고 <address>로 배달해 주세요. "
                           "카드는 <card>, 주민번호 <rrn>, 메일 <email>. 아메리카노 2잔 4,500원")


def test_several_numbers_in_a_row_are_each_redacted() -> None:
    assert redact("010-1234-5678, 010-9876-5432").text == "<phone>, <phone>"
    assert redact("010-1234-5678 010-9876-5432").text == "<phone> <phone>"


def test_business_numbers_are_kept_and_personal_tails_are_not() -> None:
    assert redact("1588-1234").findings == ()
    assert redact("1644-0000").findings == ()
    assert redact("2345-6789").kinds == {Kind.PHONE}


def test_a_number_inside_a_longer_number_is_not_cut_out() -> None:
    for text in ("010-1234-5678-9999", "9010-1234-5678", "12345678901234567890123"):
        assert redact(text).text == text


def test_card_needs_the_luhn_check() -> None:
    assert luhn_ok("4111111111111111")
    assert not luhn_ok("4111111111111112")
    assert redact("4111 1111 1111 1111").kinds == {Kind.CARD}
    assert redact("4111 1111 1111 1112").findings == ()


def test_registration_number_needs_a_real_birth_date_and_gender_digit() -> None:
    assert rrn_plausible("900101", "1") and rrn_plausible("000229", "3")  # 2000 was a leap year
    assert not rrn_plausible("900229", "1")  # 1990 was not
    assert not rrn_plausible("901301", "2")
    assert redact("901301-1234567").kinds != {Kind.RRN}
    assert redact("900101-9234567").kinds != {Kind.RRN}


def test_spoken_digit_count_threshold() -> None:
    assert redact("five five five one two three four").kinds == {Kind.PHONE}  # 7 digits
    assert redact("five five five one two three").findings == ()  # 6: too short to be a number
    assert redact("일이삼사 오육").findings == ()


def test_road_name_alone_needs_a_second_sign() -> None:
    assert redact("판교역로 235").findings == ()  # could be anything; with a cue or details it is an address
    assert redact("주소는 판교역로 235").kinds == {Kind.ADDRESS}
    assert redact("판교역로 235 8층").kinds == {Kind.ADDRESS}


def test_digit_view_maps_back_to_whole_words() -> None:
    view = digit_view("번호 oh one oh, 일이삼사에 5678")
    assert view.text == "번호 010, 1234에 5678"
    start = view.text.index("010")
    assert view.source_span(start, start + 3) == (3, 12)  # "oh one oh"
    assert view.has_spoken(start, start + 3) and not view.has_spoken(0, 2)


@pytest.mark.parametrize("unit", ["1-", "a dot ", "a.b-c_", "강남구 ", "역삼동 1-", "one, ", "+1 (2) ", "공일 "])
def test_long_hostile_text_takes_linear_time(unit: str) -> None:
    """Log lines can hold request bodies; a pattern that rescans from every position would take
    tens of seconds on this (three patterns did: 1.4 s for a quarter of this before they were fixed)."""
    text = unit * (40_000 // len(unit))
    started = time.perf_counter()
    redact(text)
    assert time.perf_counter() - started < 2.0


# --- properties --------------------------------------------------------------------------------

_PIECES = st.sampled_from([
    "0", "1", "2", "5", "9", "010", "1234", "5678", "4111", "900101", "1588", " ", "-", ".", ", ", "+", "(", ")",
    "<", ">", "<phone>", "공", "일", "이", "오", "팔", "에", "이요", "oh", "one", "five", " five", "double",
    "@", "kim", "naver", ".com", " at ", " dot ", "com", "로", "동", "길", "번지", "호", "층", "강남구 ", "테헤란로",
    "역삼동 ", "잔", "원", "아메리카노", "주소는 ", "Main ", "Street", "a", "\n",
])
_TEXTS = st.lists(_PIECES, max_size=30).map("".join)


def _digit_runs(text: str) -> list[str]:
    return re.findall(r"\d+", text)


@settings(max_examples=400, deadline=None)
@given(_TEXTS)
def test_redaction_is_idempotent(text: str) -> None:
    once = redact(text).text
    assert redact(once).text == once


@settings(max_examples=400, deadline=None)
@given(_TEXTS)
def test_redaction_never_cuts_or_joins_numbers(text: str) -> None:
    """Every number left in the output is a whole number of the input: none is cut short (half a
    phone number left behind) or grown (two numbers glued into a longer one)."""
    result = redact(text)
    assert set(_digit_runs(result.text)) <= set(_digit_runs(text))
    for f in result.findings:
        assert 0 <= f.start < f.end <= len(text)
        assert not (f.start > 0 and text[f.start - 1].isdigit() and text[f.start].isdigit())
        assert not (f.end < len(text) and text[f.end - 1].isdigit() and text[f.end].isdigit())


def test_personal_numbers_are_masked_for_understanding_and_nothing_else() -> None:
    """Understanding reads the masked text: a card or phone number is never a quantity."""
    assert mask_personal_numbers("one latte please my card is 4111 1111 1111 1111") == "one latte please my card is <card>"
    assert mask_personal_numbers("라떼 한 잔 연락처는 공일공 일이삼사 오육칠팔") == "라떼 한 잔 연락처는 <phone>"
    kept = "two lattes to 123 Main Street, kim@naver.com"  # addresses and e-mails are no numbers to mistake
    assert mask_personal_numbers(kept) == kept

