"""What FAQ questions are about, as data: concept words per language, and the cues of a question.

No model is downloaded for FAQ matching, so meaning comes from this table: words that say the
same thing fold into one concept (환불 = 돈 돌려받 = refund = money back), and a question and an
FAQ paraphrase are compared by the concepts they share (faq_terms.py, faq.py). Phrases are
written like intent phrases (phrases.py): ``x*`` matches words that start with it, others whole
words, spacing ignored; each is normalised like speech before use, in both languages, so a
Korean speaker's "wifi" counts too.

A ``topic`` says what the question is about (refund, delivery); a ``detail`` only narrows it
(change, wrong, how long). An FAQ match needs a shared topic: "what kind of milk do you have"
names milk, a detail, and is not the allergen FAQ. An ``actionable`` topic is one the bot does
itself (cancel -> order.cancel), so a command about it is never answered with the FAQ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ConceptKind = Literal["topic", "detail"]


@dataclass(frozen=True)
class Concept:
    kind: ConceptKind
    phrases: dict[str, tuple[str, ...]]
    """Language -> phrases (``x*`` = prefix)."""
    actionable: bool = False
    """The bot does this itself: a command naming it is the command, never the FAQ."""
    about_items: bool = False
    """A statement naming menu items can still be about this (my latte came out wrong); other
    topics in a statement with items are an order (배달로 라떼 주세요)."""
    noun: bool = False
    """A detail named by nouns (address, milk): a slightly misheard form still matches, as for
    topics. Verb forms are never matched nearly (있는데 is not 왔는데)."""

    @property
    def near_matched(self) -> bool:
        return self.kind == "topic" or self.noun


CONCEPTS: dict[str, Concept] = {
    # --- topics ---------------------------------------------------------------------------
    "cancel": Concept("topic", actionable=True, phrases={
        "ko": ("취소*", "캔슬*", "주문 철회*"),
        "en": ("cancel*", "call off"),
    }),
    "refund": Concept("topic", about_items=True, phrases={
        "ko": ("환불*", "환급*", "돈 돌려*", "돌려받*", "돌려 받*", "돈 다시 받*", "반품*", "결제 취소된 돈*"),
        "en": ("refund*", "money back", "reimburs*", "charged twice", "double charged", "chargeback"),
    }),
    "exchange": Concept("topic", about_items=True, phrases={
        "ko": ("교환*", "다시 만들어*", "새로 만들어*", "재제조*"),
        "en": ("exchange*", "remake*", "make it again", "redo", "replacement"),
    }),
    "wrong_item": Concept("topic", about_items=True, phrases={
        "ko": ("잘못 나오*", "잘못 나왔*", "잘못 나온*", "잘못 왔*", "잘못 온*", "다른 게 나왔*", "다른 게 왔*",
               "다른 메뉴가 나왔*", "다른 메뉴가 왔*", "주문한 거랑 달라*", "주문한 것과 달라*", "주문이랑 달라*", "시킨 거랑 달라*",
               "주문한 거 아니*", "시킨 거 아니*", "시킨 게 아니*",
               "빠졌*", "안 왔*", "누락*", "식었*", "상했*", "이물질*"),
        "en": ("wrong drink*", "wrong item*", "wrong order*", "wrong burger*", "wrong food", "wrong coffee",
               "came out wrong", "came wrong", "not what i ordered", "isnt what i ordered",
               "wasnt what i ordered", "drink is wrong", "drink was wrong", "order is wrong", "order was wrong",
               "food is wrong", "food was wrong", "coffee is wrong", "burger is wrong", "made wrong",
               "made it wrong", "tastes wrong", "tastes off", "didnt get", "never got",
               "never came", "didnt come", "missing item*", "is missing", "was missing",
               "cold food", "went cold", "spilled"),
    }),
    "delivery": Concept("topic", phrases={
        "ko": ("배달*", "배송*", "딜리버리*"),
        "en": ("deliver*", "delivery", "doordash", "uber eat*"),
    }),
    "address_change": Concept("topic", phrases={
        "ko": ("주소 변경*", "주소변경*", "배송지 변경*", "배송지변경*"),
        "en": ("change of address",),
    }),
    "hours": Concept("topic", phrases={
        "ko": ("영업*", "몇 시*", "몇시*", "언제까지*", "언제부터*", "언제 열*", "언제 닫*", "언제 문*", "문 열*",
               "문을 열*", "문 닫*", "문을 닫*", "닫*", "마감*", "오픈*", "쉬는 날*", "쉬는날*", "휴무*", "정기 휴일*",
               "공휴일*", "연중무휴*", "늦게까지*", "밤늦게*", "열어*", "여나*", "문 여*", "열었*", "닫혀*", "운영 시간*", "운영시간*", "24시간*", "주말*", "일요일*", "토요일*", "새벽*"),
        "en": ("hour*", "open*", "close*", "closing", "what time", "sunday*", "saturday*", "weekend*", "holiday*",
               "how late", "open late", "24 7"),
    }),
    "allergen": Concept("topic", phrases={
        "ko": ("알레르기*", "알러지*", "알레르*", "견과*", "땅콩*", "호두*", "갑각류*", "유제품*", "글루텐*", "유당*",
               "락토*", "성분*", "원재료*", "원산지*"),
        "en": ("allerg*", "nut", "nut free", "peanut*", "tree nut*", "walnut*", "dairy*", "gluten*", "lactose*",
               "shellfish*", "celiac", "coeliac", "ingredient*", "intoleran*"),
    }),
    "wifi": Concept("topic", phrases={
        "ko": ("와이파이*", "와파*", "인터넷*", "무선 인터넷*", "비밀번호*", "비번*"),
        "en": ("wifi*", "wi fi*", "internet*", "wireless", "password*"),
    }),
    "parking": Concept("topic", phrases={
        "ko": ("주차*", "차 댈*", "차를 댈*", "차를 대*", "차 대도*", "차 세울*", "차를 세울*", "차 세워*", "파킹*", "발렛*"),
        "en": ("park*", "car park", "valet"),
    }),
    # --- details --------------------------------------------------------------------------
    "address": Concept("detail", noun=True, phrases={
        "ko": ("주소*", "배송지*", "배달지*", "받는 곳*", "받을 곳*", "도착지*", "동 호수*", "아파트*", "호수*"),
        "en": ("address*", "wrong place", "apartment number", "unit number", "where it get*", "where to deliver*",
               "drop off", "dropoff"),
    }),
    "change": Concept("detail", phrases={
        "ko": ("바꾸*", "바꿀*", "바꿔*", "바꿨*", "바꾼*", "변경*", "수정*", "고치*", "고칠*", "고쳐*", "다른*"),
        "en": ("change*", "update*", "edit*", "modif*", "different", "switch*", "swap*", "replace*", "fix*"),
    }),
    "wrong": Concept("detail", phrases={
        "ko": ("잘못*", "틀렸*", "틀린*", "틀리*", "실수*", "오타*", "엉뚱*"),
        "en": ("wrong*", "mistake*", "incorrect*", "typo*", "mistyp*"),
    }),
    "entered": Concept("detail", phrases={
        "ko": ("입력*", "적었*", "적은*", "적어*", "썼*", "쓴*"),
        "en": ("put", "enter*", "typed", "type in", "wrote", "written", "gave", "filled"),
    }),
    "fee": Concept("detail", phrases={
        "ko": ("배달비*", "배송비*", "배달료*", "배송료*", "비용*", "요금*", "수수료*", "팁*", "무료*", "공짜*", "얼마", "얼마예*", "얼마에*",
               "얼만*", "얼마인*"),
        "en": ("fee*", "cost*", "charge", "how much", "price*", "free"),
    }),
    "duration": Concept("detail", phrases={
        "ko": ("걸려*", "걸리*", "걸립*", "얼마나 걸*", "소요*", "오래*"),
        "en": ("how long", "take long", "minute*", "wait*"),
    }),
    "time_limit": Concept("detail", phrases={
        "ko": ("이후*", "후에*", "지나*", "전까지*", "전에*", "나서*", "했는데*", "이미*"),
        "en": ("after", "already", "before", "once", "later", "too late"),
    }),
    "arrived": Concept("detail", phrases={
        "ko": ("나왔*", "나온*", "나와서*", "왔어*", "왔는데*", "와서*", "받았*", "받은*"),
        "en": ("came", "got", "arrived", "received", "gave"),
    }),
    "instead": Concept("detail", phrases={
        "ko": ("대신*", "말고*"),
        "en": ("instead",),
    }),
    "negation": Concept("detail", phrases={
        "ko": ("아니*", "아닌*", "달라*", "다른데*"),
        "en": ("not", "isnt", "wasnt", "arent", "werent"),
    }),
    "ordered_it": Concept("detail", phrases={
        "ko": ("주문한*", "시킨*", "주문했*", "시켰*"),
        "en": ("ordered", "i ordered", "asked for"),
    }),
    "cannot_eat": Concept("detail", phrases={
        "ko": ("못 먹*", "못 마시*", "못 마셔*", "먹으면 안*", "마시면 안*", "안 맞*", "피해야*"),
        "en": ("cant have", "cant eat", "cant drink", "cannot have", "cannot eat", "avoid*", "sensitive to"),
    }),
    "bought": Concept("detail", phrases={
        "ko": ("샀*", "산 거*", "산 걸*", "구매*", "구입*"),
        "en": ("bought", "purchase*"),
    }),
    "paid": Concept("detail", phrases={
        "ko": ("결제*", "계산*", "카드*", "현금*"),
        "en": ("pay*", "paid", "card", "cash", "charged"),
    }),
    "contains": Concept("detail", phrases={
        "ko": ("들어가*", "들어갔*", "들어간*", "들어있*", "들어 있*", "들었*", "포함*", "함유*", "첨가*", "사용*", "없는*"),
        "en": ("contain*", "in it", "made with", "use*", "free", "included"),
    }),
    "ingredient": Concept("detail", noun=True, phrases={
        "ko": ("우유*", "밀가루*", "밀", "계란*", "달걀*", "대두*", "콩*", "새우*", "아몬드*", "버터*", "치즈*", "참깨*",
               "생선*", "돼지고기*", "소고기*"),
        "en": ("milk", "egg*", "wheat", "soy*", "shrimp*", "almond*", "flour", "butter", "cheese", "sesame*", "fish",
               "pork", "beef"),
    }),
}


@dataclass(frozen=True)
class Implication:
    """Concepts (``needs``) that together mean another (``means``), unless one of ``unless`` is there."""

    needs: frozenset[str]
    means: str
    unless: frozenset[str] = frozenset()


_ADDRESS = frozenset({"address", "address_change"})

IMPLIES: tuple[Implication, ...] = (
    Implication(frozenset({"address", "change"}), "address_change"),
    Implication(frozenset({"address", "wrong"}), "address_change"),
    Implication(frozenset({"address", "entered"}), "address_change"),
    Implication(frozenset({"ingredient", "contains"}), "allergen"),
    Implication(frozenset({"ingredient", "cannot_eat"}), "allergen"),
    Implication(frozenset({"wrong", "arrived"}), "wrong_item", unless=_ADDRESS),
    Implication(frozenset({"change", "arrived"}), "wrong_item", unless=_ADDRESS),
    Implication(frozenset({"instead", "arrived"}), "wrong_item", unless=_ADDRESS),
    Implication(frozenset({"negation", "ordered_it"}), "wrong_item", unless=_ADDRESS),
    Implication(frozenset({"change", "bought"}), "exchange", unless=_ADDRESS),
)
"""Concepts that together mean another, applied in order, the parts replaced by the whole: 우유 +
들어가 = an allergen question, while 우유 alone (우유 많이 넣은 라떼, what kind of milk) is not;
주소 + 잘못 = an address change, while 주소 alone (주소로 배달돼요?) is a delivery question; 다른
음료가 나왔어요 = the wrong item came, unless it is about an address; changing what one bought is an
exchange, while "can I swap the muffin for a scone" is a change to the cart."""

WEIGHTS: dict[str, float] = {"topic": 1.0, "detail": 0.5, "word": 0.5, "menu": 0.5}
"""How much a shared term counts; ``word`` is a content word no concept explains (an operator's
own question about pets gets its words matched even though no concept knows them); ``menu`` is a
menu word (muffin): it counts, but never makes a match on its own ("how much is a muffin" is not
"is the muffin nut free")."""


@dataclass(frozen=True)
class FormCues:
    """The words that make an utterance a question, a yes/no question, or a command."""

    ask_words: frozenset[str] = frozenset()
    """Question words (how, what): someone asks about the thing rather than doing it. English
    ones count at the start, after an opener or after a knowing verb ("cancel what I ordered" is
    a command)."""
    ask_inside: tuple[str, ...] = ()
    """Korean question words, found inside any word (취소하는방법, 어떻게)."""
    ask_anywhere: frozenset[str] = frozenset()
    """Words that make a question wherever they are (policy, information)."""
    knowing: frozenset[str] = frozenset()
    """Verbs after which a question word is a question (tell me how, I want to know when)."""
    openers: frozenset[str] = frozenset()
    """Words that may come before a leading question word or yes/no word (hi, sorry, ok)."""
    yes_no_lead: frozenset[str] = frozenset()
    """English: a yes/no question opens with these (can I cancel, is it possible, do you deliver)."""
    yes_no_words: frozenset[str] = frozenset()
    """Whole words that make a yes/no question anywhere (돼요, possible)."""
    yes_no_inside: tuple[str, ...] = ()
    """Parts of a word that make a yes/no question (가능한가요, 가능할까요)."""
    yes_no_endings: tuple[str, ...] = ()
    """Korean endings of a question (되나요, 될까요, 하는지)."""
    command_words: frozenset[str] = frozenset()
    """Whole words of a request or decision (줄 in 해 줄 수 있어요; want, need)."""
    command_endings: tuple[str, ...] = ()
    """Korean endings of a request or a decision (해 주세요, 할게요, 하고 싶어요)."""
    you_modals: frozenset[str] = frozenset()
    """English: these right before "you" ask the bot to do it (can you cancel it): a command."""


FORMS: dict[str, FormCues] = {
    "ko": FormCues(
        ask_inside=("어떻게", "어떡", "방법", "어디", "언제", "몇", "며칠", "얼마", "무슨", "무엇", "뭐", "뭔", "왜", "궁금",
                    "알려", "규정", "정책", "절차", "어느", "어떤", "문의"),
        yes_no_words=frozenset({"돼요", "되요", "돼", "되죠", "돼죠", "있어요", "있어", "없어요", "되는데", "되는데요",
                                "괜찮아요", "돼여", "되여"}),
        yes_no_inside=("가능",),
        yes_no_endings=("나요", "나여", "가요", "까요", "니까", "는지", "은지", "을까", "죠", "지요", "냐", "는가",
                        "한가", "인가", "은가", "될까", "할까", "일까"),
        command_words=frozenset({"줄", "주실", "주시", "주세요", "부탁", "부탁해"}),
        command_endings=("주세요", "줘", "줘요", "주실래요", "주시겠어요", "주시겠습니까", "줄래요", "줄래", "주라",
                         "할게요", "할께요", "할게", "할께", "할래요", "할래", "하겠습니다", "하겠어요", "싶어요", "싶어",
                         "싶습니다", "싶은데요", "싶은데", "싶다", "원해요", "부탁해요", "부탁드려요", "부탁드립니다",
                         "해라", "하자", "시켜", "시켜요", "해줘", "해줘요"),
    ),
    "en": FormCues(
        ask_words=frozenset({"how", "hows", "what", "whats", "when", "whens", "where", "wheres", "why", "which",
                             "who"}),
        ask_anywhere=frozenset({"policy", "policies", "procedure", "process", "information", "info", "details",
                                "explain", "rules"}),
        knowing=frozenset({"know", "tell", "wonder", "wondering", "explain", "curious", "ask", "asking", "sure",
                           "understand", "question", "idea"}),
        openers=frozenset({"hi", "hey", "hello", "sorry", "excuse", "ok", "okay", "yes", "yeah", "no", "but", "quick",
                           "question", "also", "then", "now", "right", "wait", "and"}),
        yes_no_lead=frozenset({"can", "could", "may", "is", "are", "do", "does", "did", "will", "would", "am", "isnt",
                               "arent", "dont", "doesnt", "should", "shall", "was", "were", "have", "has", "any"}),
        yes_no_words=frozenset({"possible", "able", "allowed"}),
        command_words=frozenset({"want", "wanna", "need", "lets", "ill", "ahead"}),
        you_modals=frozenset({"can", "could", "would", "will", "cant", "couldnt", "wont"}),
    ),
}
"""Question and command cues per language; every language's cues are read (a Korean speaker at
an English store still says 어떻게)."""

GENERIC_WORDS: dict[str, frozenset[str]] = {
    "ko": frozenset({"주문", "주문한", "주문했", "매장", "가게", "메뉴", "정보", "질문", "오늘", "지금", "여기", "거기",
                     "혹시", "그럼", "그냥", "정말", "진짜", "너무", "제가", "저희", "우리", "손님", "고객", "이거", "그거",
                     "시간", "사장님", "직원", "혹시요", "근데", "그런데", "아까", "방금", "그게", "이게", "다시"}),
    "en": frozenset({"how", "hows", "what", "whats", "when", "where", "why", "which", "who", "know", "tell", "want",
                     "wanna", "like", "need", "get", "got", "make", "made", "possible", "able", "allowed", "policy",
                     "policies", "rule", "rules", "procedure", "process", "work", "works", "go", "going", "thing",
                     "way", "also", "still", "really", "ok", "okay", "hi", "hello", "hey", "sorry", "excuse",
                     "question", "info", "information", "detail", "details", "order", "ordered", "ordering", "store",
                     "shop", "cafe", "today", "tonight", "now", "please", "thank", "thanks", "help", "find", "kind",
                     "type", "sort", "anything", "something", "happen", "happens", "wonder", "wondering", "curious",
                     "explain", "sure", "ask", "asking", "let", "lets", "say", "said", "guy", "guys", "again", "just",
                     "yet", "usually", "normally", "exactly", "much", "many", "long", "time", "right",
                     "good", "great", "fine", "cool", "well", "one", "ones", "any", "some", "someone", "anyone",
                     "never", "ever", "even", "there", "here", "back", "going", "come", "came", "take", "took"}),
}
"""Words that say nothing about which FAQ is meant (주문, order, today): never a matching term."""

NON_TERM_PREFIXES: dict[str, tuple[str, ...]] = {
    "ko": ("되", "돼", "하", "해", "할", "한", "합", "했", "있", "없", "수", "가능", "어떻", "어떡", "언제", "몇", "얼마",
           "방법", "알려", "알고", "궁금", "싶", "주", "줘", "줄", "드", "괜찮", "그", "이", "저", "네", "예", "아니",
           "좀", "받", "뭐", "뭔", "무슨", "무엇", "왜", "어디", "어느", "어떤", "나", "내", "거", "것", "게", "걸", "건",
           "말", "알", "보", "봐", "요", "께", "며", "면", "는", "데", "좋", "감사", "고마", "안녕"),
}
"""Korean words starting like these are verbs, endings or question words, not content."""
