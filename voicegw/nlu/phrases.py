"""Intent phrasings per language, as data. Each phrase is normalised like speech before use.

A phrase ending in ``*`` matches words that start with it (되나* covers 되나요, 되나여); others
match whole words, spacing ignored (주문취소 = 주문 취소). Keys: ``cancel`` (whole order, or an item when one is named), ``remove`` (an item), ``confirm``,
``handoff``, ``greeting``, ``change`` (an item or option in the cart becomes another),
``status`` (read back the cart or the last order), and ``frustrated`` (anger or impatience, answered
with empathy and the offer of a person). Whether a question asks an FAQ is read by faq_terms.py.
"""

from __future__ import annotations

INTENT_PHRASES: dict[str, dict[str, tuple[str, ...]]] = {
    "ko": {
        "handoff": ("상담원*", "상담사*", "직원 연결*", "직원 불러*", "사람 연결*", "사람이랑 통화*",
                    "사람하고 얘기*", "매니저*", "점원*", "직원분*", "사람 바꿔*"),
        "cancel": ("주문 취소*", "전부 취소*", "다 취소*", "전체 취소*", "모두 취소*", "주문 안 할*", "주문 안할*",
                   "그만*", "취소*", "주문 없던 걸로"),
        "remove": ("빼", "빼 줘", "빼줘", "빼 주", "없애*", "삭제*", "지워*", "안 먹을*", "필요 없*", "제외*", "취소*"),
        "confirm": ("주문 완료*", "주문 확정*", "결제*", "계산*", "그게 다*", "이게 다*", "다 됐*", "됐어*", "끝*",
                    "이대로*", "그대로*", "이렇게 주문*", "그렇게 주문*", "이걸로 주문*", "주문 넣어*", "주문 접수*",
                    "네", "예", "맞아*", "좋아*", "주문", "주문할*", "주문 할*", "주문해*", "주문 해*"),
        "greeting": ("안녕*", "반갑*", "반가워*", "여보세요", "하이", "헬로"),
        "change": ("바꿔*", "바꾸*", "바까*", "변경*", "교체*", "늘려*", "늘리*", "줄여*", "줄이*", "라고 했*",
                   "라니까*", "말했잖*"),
        "status": ("장바구니*", "담긴 거*", "담은 거*", "주문 내역*", "주문 상태*", "주문 확인*", "내 주문*",
                   "제 주문*", "뭐 담겼*", "뭐 시켰*", "얼마 나왔*", "총 얼마*", "합계*", "전부 얼마*", "다 해서 얼마*",
                   "지금까지 얼마*", "얼마예*", "얼마에요", "얼마죠", "얼마야", "얼마 나와*"),
        "frustrated": ("답답*", "짜증*", "몇 번을 말*", "몇번을 말*", "몇 번 말*", "말귀*", "못 알아듣*", "못알아듣*",
                       "못 알아 듣*", "장난*", "화나*", "화가 나*", "열받*", "열 받*", "최악*", "어이없*", "미치겠*",
                       "몇 번째*", "말이 안 통*", "제대로 좀*", "왜 이래*", "왜 이러*"),
    },
    "en": {
        "handoff": ("talk to person", "speak to person", "talk to someone", "speak to someone", "real person",
                    "human", "agent", "representative", "staff", "manager", "operator", "talk to human"),
        "cancel": ("cancel order", "cancel everything", "cancel it all", "cancel all", "cancel", "never mind",
                   "forget it", "forget order", "scratch that"),
        "remove": ("remove", "take off", "take out", "delete", "drop", "dont want", "no more", "cancel",
                   "get rid", "off", "one less", "fewer"),
        "confirm": ("thats all", "that will be all", "thatll be all", "thats it", "place order", "place it",
                    "confirm", "checkout", "check out", "submit", "done", "im done", "pay", "go ahead",
                    "yes", "yeah", "yep", "correct", "sounds good", "thats right", "nothing else",
                    "thats everything", "that is all", "that is it", "order it", "ring it up", "ring up",
                    "ring me up", "thats my order", "send it", "send order", "put it through"),
        "greeting": ("hello", "hi", "hey", "good morning", "good afternoon", "good evening", "hi there"),
        "change": ("change", "switch", "swap", "make that", "make it", "replace", "actually make", "i said", "i meant",
                   "i asked for", "no i said"),
        "status": ("cart", "basket", "order status", "read back", "read it back", "read order back", "total",
                   "how much is it", "how much do i owe", "how much is that", "where is my order",
                   "is my order ready", "what did i order", "what have i got", "what do i have", "check my order",
                   "wheres my order"),
        "frustrated": ("frustrat*", "annoy*", "ridiculous", "useless", "stupid", "terrible", "are you kidding",
                       "already told you", "already said", "how many times", "not listening", "you never listen",
                       "not what i said", "this is awful", "fed up", "sick of", "unbelievable", "come on"),
    },
}
