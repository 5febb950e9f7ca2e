"""Intent phrasings per language, from the language packs (``intents:`` in languages/*.yaml).

A phrase ending in ``*`` matches words that start with it (되나* covers 되나요, 되나여); others
match whole words, spacing ignored (주문취소 = 주문 취소). Each phrase is normalised like speech
before use. Keys: ``cancel`` (whole order, or an item when one is named), ``remove`` (an item),
``confirm``, ``handoff``, ``greeting``, ``change`` (an item or option in the cart becomes another),
``status`` (read back the cart or the last order), ``frustrated`` (anger or impatience,
answered with empathy and the offer of a person), and ``yes`` / ``no`` (the answer to an offer). Whether a question asks an FAQ is read by
faq_terms.py.
"""

from __future__ import annotations

from voicegw.nlu.packs import LANGUAGES, pack

INTENT_PHRASES: dict[str, dict[str, tuple[str, ...]]] = {
    language: {key: tuple(phrases) for key, phrases in pack(language).intents.items()} for language in LANGUAGES
}
