"""Reply texts (ko, en) as data, and the few formatters they need (money, line lists, particles).

Texts are ``str.format`` templates keyed by reply id then language. Adding a language is adding
a column here, not an ``if`` in the dialogue.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from voicegw.nlu.counting import counter_for
from voicegw.nlu.types import OrderLine

DEFAULT_LANGUAGE = "ko"

TEXTS: dict[str, dict[str, str]] = {
    "added": {
        "ko": "{lines} 담았어요. 더 필요하신 건 없으세요?",
        "en": "Added {lines}. Anything else?",
    },
    "removed": {
        "ko": "{lines} 뺐어요. {cart}",
        "en": "Removed {lines}. {cart}",
    },
    "changed": {
        "ko": "{lines}{particle} 바꿨어요. {cart}",
        "en": "Changed to {lines}. {cart}",
    },
    "changed_and_added": {
        "ko": "{lines}{particle} 바꾸고 {added} 담았어요. {cart}",
        "en": "Changed to {lines} and added {added}. {cart}",
    },
    "not_in_cart": {
        "ko": "장바구니에 {lines}{particle} 없어요. {cart}",
        "en": "There is no {lines} in your cart. {cart}",
    },
    "cart_readback": {
        "ko": "지금 {lines} 담겨 있어요. 합계 {total}입니다.",
        "en": "You have {lines}. The total is {total}.",
    },
    "cart_empty": {
        "ko": "장바구니가 비어 있어요.",
        "en": "Your cart is empty.",
    },
    "confirm_empty": {
        "ko": "아직 담긴 메뉴가 없어요. 무엇을 드릴까요?",
        "en": "Your cart is empty. What would you like?",
    },
    "order_placed": {
        "ko": "주문이 접수됐어요. 주문번호 {order_id}, {lines}, 합계 {total}입니다.",
        "en": "Your order {order_id} is in: {lines}, total {total}.",
    },
    "last_order": {
        "ko": "장바구니는 비어 있고, 최근 주문 {order_id}{particle} 접수되어 있어요.",
        "en": "Your cart is empty; your last order {order_id} has been placed.",
    },
    "cancelled": {
        "ko": "주문을 취소하고 장바구니를 비웠어요.",
        "en": "Your order is cancelled and your cart is empty.",
    },
    "greeting": {
        "ko": "안녕하세요! 무엇을 드릴까요?",
        "en": "Hello! What would you like?",
    },
    "handoff": {
        "ko": "직원을 연결해 드릴게요. 잠시만 기다려 주세요.",
        "en": "I'll get a member of staff for you. One moment, please.",
    },
    "faq_not_found": {
        "ko": "죄송해요, 그 질문에는 답을 찾지 못했어요. 직원을 연결해 드릴까요?",
        "en": "Sorry, I don't have an answer to that. Shall I get a member of staff?",
    },
    "unknown_item": {
        "ko": "죄송해요, 메뉴에서 찾지 못했어요. 다시 말씀해 주시겠어요?",
        "en": "Sorry, I couldn't find that on the menu. Could you say it again?",
    },
    "unknown_item_candidates": {
        "ko": "죄송해요, 메뉴에서 찾지 못했어요. 혹시 {candidates} 중에 있으세요?",
        "en": "Sorry, I couldn't find that on the menu. Did you mean {candidates}?",
    },
    "sold_out": {
        "ko": "죄송해요, {item}{particle} 지금 품절이에요.",
        "en": "Sorry, {item} is sold out right now.",
    },
    "sold_out_alternatives": {
        "ko": "죄송해요, {item}{particle} 지금 품절이에요. 대신 {candidates} 어떠세요?",
        "en": "Sorry, {item} is sold out right now. How about {candidates} instead?",
    },
    "ambiguous_item": {
        "ko": "{candidates} 중 어떤 걸로 드릴까요?",
        "en": "Which one would you like: {candidates}?",
    },
    "missing_option": {
        "ko": "{item}{particle} 어떤 {group}{group_particle} 드릴까요? {candidates}",
        "en": "Which {group} would you like for the {item}: {candidates}?",
    },
    "too_many": {
        "ko": "죄송해요, 한 메뉴는 한 번에 {most}개까지 주문할 수 있어요. 수량을 다시 말씀해 주세요.",
        "en": "Sorry, one order can hold at most {most} of an item. How many would you like?",
    },
    "missing_item": {
        "ko": "어떤 메뉴로 드릴까요?",
        "en": "Which item would you like that for?",
    },
    "gave_up": {
        "ko": "죄송해요, {item}{particle} 담지 못했어요. 직원을 연결해 드릴까요?",
        "en": "Sorry, I couldn't add the {item}. Shall I get a member of staff?",
    },
    "empathy": {
        "ko": "불편을 드려 죄송해요.",
        "en": "I'm sorry about the trouble.",
    },
    "frustrated": {
        "ko": "불편을 드려 정말 죄송해요. 직원을 연결해 드릴까요, 아니면 원하시는 메뉴를 다시 한 번 말씀해 주시겠어요?",
        "en": "I'm really sorry for the trouble. Shall I get a member of staff, or would you like to tell me your order again?",
    },
    "offer_staff": {
        "ko": "계속 어려우시면 직원을 연결해 드릴게요.",
        "en": "If this keeps going wrong, I can get a member of staff for you.",
    },
    "handoff_cart": {
        "ko": "직원을 연결해 드릴게요. 장바구니에 담긴 {lines}(합계 {total})도 함께 전달했어요. 잠시만 기다려 주세요.",
        "en": "I'll get a member of staff for you and pass on your cart: {lines}, total {total}. One moment, please.",
    },
    "low_confidence": {
        "ko": "잘 못 들었어요. 다시 한 번 말씀해 주시겠어요?",
        "en": "Sorry, I didn't catch that. Could you say it again?",
    },
    "no_speech": {
        "ko": "말씀을 듣지 못했어요. 다시 말씀해 주세요.",
        "en": "I didn't hear anything. Please try again.",
    },
    "unclear_speech": {
        "ko": "죄송해요, 잘 알아듣지 못했어요. 다시 한 번 말씀해 주세요.",
        "en": "Sorry, I couldn't make that out. Could you say it again?",
    },
    "not_understood": {
        "ko": "죄송해요, 잘 이해하지 못했어요. 메뉴 이름과 수량을 말씀해 주세요.",
        "en": "Sorry, I didn't understand. Please tell me the item and how many.",
    },
    "price_item": {
        "ko": "{item}{particle} {price}이에요.",
        "en": "The {item} is {price}.",
    },
    "price_option": {
        "ko": "{option}{particle} {price} 추가돼요.",
        "en": "{option} is {price} extra.",
    },
    "price_free": {
        "ko": "{option}{particle} 추가 요금이 없어요.",
        "en": "There's no extra charge for {option}.",
    },
    "contents_default": {
        "ko": "{item}에는 {option}{particle} 기본으로 들어가요.",
        "en": "The {item} comes with {option}.",
    },
    "contents_optional": {
        "ko": "{item}에 {option}{particle} 넣어 드릴 수 있어요.",
        "en": "You can have {option} on the {item}.",
    },
    "contents_unknown": {
        "ko": "죄송해요, 그건 메뉴 정보에 없어서 정확히 알려 드리기 어려워요. 직원을 연결해 드릴까요?",
        "en": "Sorry, the menu doesn't say, so I can't tell you for sure. Shall I get a member of staff?",
    },
    "offer_cancel": {
        "ko": "지금 주문을 취소해 드릴까요?",
        "en": "Shall I cancel your order now?",
    },
    "offer_add": {
        "ko": "{lines} 담아 드릴까요?",
        "en": "Shall I add {lines}?",
    },
    "offer_change": {
        "ko": "{what}{particle} 바꿔 드릴까요?",
        "en": "Shall I change it to {what}?",
    },
    "offer_remove": {
        "ko": "{lines} 빼 드릴까요?",
        "en": "Shall I take off {lines}?",
    },
    "offer_declined": {
        "ko": "알겠어요. 더 필요하신 건 없으세요?",
        "en": "All right. Anything else?",
    },
    "wait": {
        "ko": "잠시만요, 확인하고 있어요.",
        "en": "One moment, please.",
    },
    "busy": {
        "ko": "주문을 처리하는 데 시간이 조금 걸리고 있어요. 잠시 후 '장바구니 확인'으로 주문 상태를 확인해 주세요.",
        "en": "This is taking a little longer than usual. In a moment, tap 'Show my cart' to see where your order stands.",
    },
    "turn_failed": {
        "ko": "죄송해요, 지금은 주문을 처리하지 못했어요. 직원을 연결해 드릴까요?",
        "en": "Sorry, I couldn't handle that just now. Shall I get a member of staff?",
    },
    "this_item": {"ko": "그 메뉴", "en": "that item"},
    "or": {"ko": ", ", "en": " or "},
}

QUICK_REPLIES: dict[str, dict[str, tuple[str, ...]]] = {
    "ordering": {"ko": ("주문 완료", "취소"), "en": ("Place order", "Cancel")},
    "after_order": {"ko": ("주문 상태",), "en": ("Order status",)},
    "start": {"ko": ("메뉴 추천", "직원 연결"), "en": ("Recommend something", "Talk to staff")},
    "help": {"ko": ("장바구니 확인", "직원 연결"), "en": ("Show my cart", "Talk to staff")},
    "faq_missing": {"ko": ("직원 연결",), "en": ("Talk to staff",)},
    "staff": {"ko": ("직원 연결",), "en": ("Talk to staff",)},
    "offer": {"ko": ("네", "아니요"), "en": ("Yes", "No")},
    "frustrated": {"ko": ("직원 연결", "장바구니 확인"), "en": ("Talk to staff", "Show my cart")},
}

@dataclass(frozen=True)
class Reply:
    """What the bot says back: the text and the message quick replies offered with it."""

    text: str
    quick_replies: tuple[str, ...] = field(default=())

    def to_public(self) -> dict:
        return {"text": self.text, "quick_replies": list(self.quick_replies)}


def language_of(language: str) -> str:
    """ko, en (and ko-KR, en-US, Open Builder's kr) -> a language we have texts for; else English."""
    code = (language or DEFAULT_LANGUAGE).lower()[:2]
    code = "ko" if code == "kr" else code
    return code if code in TEXTS["greeting"] else "en"


class Rendered(str):
    """A reply text that remembers which reply it is and what filled it, so an A/B test
    (voicegw/experiments) can say the same reply from another template. Text built around it
    (an apology before it, two replies joined) is a plain ``str`` again and is never varied."""

    kind: str
    values: Mapping[str, str]

    def __new__(cls, value: str, kind: str, values: Mapping[str, str]) -> Rendered:
        rendered = super().__new__(cls, value)
        rendered.kind, rendered.values = kind, dict(values)
        return rendered


def text(key: str, language: str, **values: object) -> Rendered:
    return Rendered(TEXTS[key][language_of(language)].format(**values), key, {k: str(v) for k, v in values.items()})


def quick_replies(key: str, language: str) -> tuple[str, ...]:
    return QUICK_REPLIES[key][language_of(language)]


def topic_particle(word: str) -> str:
    """은 after a final consonant (batchim), 는 after a vowel; 은(는) when it is not Hangul."""
    b = _batchim(word)
    if b is not None:
        return "은" if b else "는"
    last = word.strip()[-1:]
    if last.isdigit():
        return "은" if last in "0136789" else "는"
    return "은(는)"


def _batchim(word: str) -> int | None:
    """Index of the final consonant of the last Hangul syllable (0: none); None if not Hangul."""
    last = word.strip()[-1:]
    return (ord(last) - 0xAC00) % 28 if last and "가" <= last <= "힣" else None


def subject_particle(word: str) -> str:
    """이 after a final consonant, 가 after a vowel."""
    b = _batchim(word)
    return "이(가)" if b is None else ("이" if b else "가")


def object_particle(word: str) -> str:
    """을 after a final consonant, 를 after a vowel."""
    b = _batchim(word)
    return "을(를)" if b is None else ("을" if b else "를")


def direction_particle(word: str) -> str:
    """으로 after a final consonant other than ㄹ (index 8), 로 otherwise."""
    b = _batchim(word)
    return "(으)로" if b is None else ("으로" if b and b != 8 else "로")


def format_money(amount: int, currency: str, language: str) -> str:
    """KRW 9000 -> 9,000원 (ko) / ₩9,000 (en); USD cents 950 -> $9.50."""
    currency = currency.upper()
    if currency == "KRW":
        return f"{amount:,}원" if language_of(language) == "ko" else f"₩{amount:,}"
    if currency == "USD":
        return f"${amount / 100:,.2f}"
    return f"{amount / 100:,.2f} {currency}"


def _plural(name: str) -> str:
    if name.endswith(("s", "x", "ch", "sh")):
        return name + "es"
    if len(name) > 1 and name.endswith("y") and name[-2] not in "aeiou":
        return name[:-1] + "ies"
    return name + "s"


def format_line(line: OrderLine, counter: str | None = None) -> str:
    """아이스 아메리카노 2잔 / 치즈케이크 1개 (a language with counter words) / 2 large iced lattes."""
    if counter is not None:
        return f"{line.name} {line.quantity}{counter}"
    return f"{line.quantity} {_plural(line.name) if line.quantity != 1 else line.name}"


def format_lines(lines: Iterable[OrderLine], language: str, counters: Mapping[str, str] | None = None) -> str:
    """``counters``: item id -> counter word (counting.item_counters)."""
    lang = language_of(language)
    parts = [format_line(line, counter_for(line.item_id, counters or {}, lang)) for line in lines]
    if lang == "ko" or len(parts) < 2:
        return ", ".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def format_choices(choices: Iterable[str], language: str) -> str:
    return TEXTS["or"][language_of(language)].join(choices)


def unheard_reply(reason: str, language: str) -> tuple[str, tuple[str, ...]]:
    """The reply for a clip nothing was read from (``no_speech``: silence; ``unclear_speech``:
    speech Whisper could not read); the gateway answers these without the backend."""
    return text(reason, language), ()
