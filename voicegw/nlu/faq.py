"""Which FAQ entry a question asks, scored against the menu's example questions."""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz

from voicegw.nlu.compiled import CompiledMenu
from voicegw.nlu.matcher import to_jamo
from voicegw.nlu.normalize import Normalized

SURE_SCORE = 93.0
"""Above this an utterance is that FAQ even without a question word."""
QUESTION_SCORE = 60.0
"""With a question word (어떻게, how), this much likeness is enough."""


@dataclass(frozen=True)
class FaqMatch:
    faq_id: str
    score: float
    """0-100: half plain likeness (length-aware), half shared-words likeness."""


def match_faq(normalized: Normalized, compiled: CompiledMenu, language: str) -> FaqMatch | None:
    """The closest FAQ entry in ``language`` (or the menu language), or None when there are none."""
    keys = compiled.faq.get(language) or compiled.faq.get(compiled.menu.language, ())
    query = to_jamo(" ".join(t.text for t in normalized.tokens if t.kind != "boundary"))
    if not keys or not query:
        return None
    scored = ((0.5 * fuzz.ratio(query, k.text) + 0.5 * fuzz.token_set_ratio(query, k.text), k.faq_id)
              for k in keys)
    score, faq_id = max(scored)
    return FaqMatch(faq_id, score)


def is_faq(match: FaqMatch | None, question: bool) -> bool:
    if match is None:
        return False
    return match.score >= SURE_SCORE or (question and match.score >= QUESTION_SCORE)
