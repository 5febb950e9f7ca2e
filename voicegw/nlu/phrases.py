"""Intent phrasings per language, as data. Each phrase is normalised like speech before use.

A phrase ending in ``*`` matches words that start with it (되나* covers 되나요, 되나여); others
match whole words, spacing ignored (주문취소 = 주문 취소). Keys: ``cancel`` (whole order, or an item when one is named), ``remove`` (an item), ``confirm``,
``handoff``, ``greeting``, and ``question`` (words that make an utterance a question, for FAQ).
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
                    "이대로 주문*", "그대로 주문*", "주문 넣어*", "주문 접수*", "네", "예", "맞아*", "좋아*"),
        "greeting": ("안녕*", "반갑*", "반가워*", "여보세요", "하이", "헬로"),
        "question": ("어떻게*", "언제*", "몇 시*", "가능*", "되나*", "돼나*", "되는*", "돼요", "있나*", "있어요",
                     "알려*", "궁금*", "방법*", "얼마*", "왜", "무슨", "어디*", "수 있*", "뭐예*", "뭔가*", "들어가*"),
    },
    "en": {
        "handoff": ("talk to person", "speak to person", "talk to someone", "speak to someone", "real person",
                    "human", "agent", "representative", "staff", "manager", "operator", "talk to human"),
        "cancel": ("cancel order", "cancel everything", "cancel it all", "cancel all", "cancel", "never mind",
                   "forget it", "forget order", "scratch that"),
        "remove": ("remove", "take off", "take out", "delete", "drop", "dont want", "no more", "cancel",
                   "get rid"),
        "confirm": ("thats all", "that will be all", "thatll be all", "thats it", "place order", "place it",
                    "confirm", "checkout", "check out", "submit", "done", "im done", "pay", "go ahead",
                    "yes", "yeah", "yep", "correct", "sounds good", "thats right", "nothing else"),
        "greeting": ("hello", "hi", "hey", "good morning", "good afternoon", "good evening", "hi there"),
        "question": ("how", "when", "what", "where", "why", "is it", "are you", "do you", "does", "can i",
                     "is there", "policy", "which"),
    },
}
