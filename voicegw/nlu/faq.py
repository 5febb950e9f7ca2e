"""Which FAQ entry a question asks, by meaning: shared concepts first, spelling second.

Each FAQ paraphrase is compiled into terms (faq_terms.py): concepts (환불 = 돈 돌려받 = refund)
and content words. An utterance matches the paraphrase whose terms it shares most (a weighted
Dice similarity), and only through a shared topic, never a detail alone ("what kind of milk do
you have" shares milk with nothing that is a topic). Whether that match is the FAQ depends on the
form of what was said:

* a question (어떻게, how; 되나요, can I) is the FAQ when it is similar enough;
* a command or plain statement about something the bot does (cancel) is never the FAQ:
  "주문 취소해 주세요" cancels, "주문 취소 어떻게 하나요" asks;
* any other statement (환불해 주세요, I put the wrong address) is the FAQ only when it is about
  the same topics as the paraphrase and carries no order (no quantity, no menu item unless the
  topic is about items: "my latte came out wrong").

A paraphrase said nearly word for word (spelling likeness >= VERBATIM) matches even without
shared concepts, so an operator's new question is matched as written.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz

from voicegw.nlu.compiled import CompiledMenu, FaqKey
from voicegw.nlu.faq_concepts import CONCEPTS
from voicegw.nlu.faq_terms import Form, form_of, term_weight, terms_of, topic_of
from voicegw.nlu.matcher import match_key, to_jamo
from voicegw.nlu.normalize import Normalized

VERBATIM = 92.0
"""Spelling likeness (0-100) at which an utterance is that paraphrase, word for word."""
QUESTION_SIMILARITY = 0.4
"""A question needs this much term similarity (0-1) with a paraphrase, through a shared topic."""
STATEMENT_SIMILARITY = 0.6
"""A statement or request (환불해 주세요) needs this much, and the same topics."""
MAX_ITEM_WORDS = 3


@dataclass(frozen=True)
class FaqMatch:
    faq_id: str
    score: float
    """0-100: how sure the match is (term similarity, or spelling likeness when verbatim)."""
    accepted: bool = True
    """The utterance is this FAQ (form and similarity allow it); False: closest entry only."""
    form: Form = "plain"
    similarity: float = 0.0
    """Weighted Dice similarity (0-1) of the utterance's terms and the paraphrase's."""


@dataclass(frozen=True)
class _Scored:
    key: FaqKey
    similarity: float
    spelling: float
    shared_anchor: bool

    @property
    def verbatim(self) -> bool:
        return self.spelling >= VERBATIM


def match_faq(normalized: Normalized, compiled: CompiledMenu, language: str,
              terms: frozenset[str] | None = None) -> FaqMatch | None:
    """The closest FAQ paraphrase (any language: concepts cross languages) and whether the
    utterance is that FAQ; None when the menu has no FAQ or nothing was said. ``terms``: the
    utterance's terms, when the caller has them already."""
    keys = [key for keys in compiled.faq.values() for key in keys]
    words = [t.text for t in normalized.tokens if t.kind != "boundary"]
    if not keys or not words:
        return None
    if terms is None:
        terms = terms_of(normalized.tokens, language, compiled.keep)
    query = to_jamo(" ".join(words))
    scored = [_score(terms, query, key) for key in keys]
    best = max(scored, key=lambda s: (s.verbatim, s.similarity if s.shared_anchor else 0.0, s.spelling,
                                      s.key.language == language))
    form = form_of(normalized)
    accepted = _accepts(best, terms, form, normalized, compiled)
    score = best.spelling if best.verbatim else 100 * (0.5 + 0.5 * best.similarity)
    return FaqMatch(best.key.faq_id, round(score, 1), accepted, form, round(best.similarity, 3))


def is_faq(match: FaqMatch | None) -> bool:
    """``match`` is the FAQ. The match reads the utterance's form itself, more strictly than a
    question word anywhere would ("cancel what I ordered" has a question word and is a command)."""
    return match is not None and match.accepted


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Weighted Dice: 2 * shared / (all of a + all of b), topics counting more than details."""
    total = sum(map(term_weight, a)) + sum(map(term_weight, b))
    return 2 * sum(map(term_weight, a & b)) / total if total else 0.0


def _score(terms: frozenset[str], query: str, key: FaqKey) -> _Scored:
    shared = terms & key.terms
    anchor = any(t.startswith(("topic:", "word:")) for t in shared)
    spelling = 0.5 * fuzz.ratio(query, key.text) + 0.5 * fuzz.token_set_ratio(query, key.text)
    return _Scored(key, similarity(terms, key.terms), spelling, anchor)


def _accepts(best: _Scored, terms: frozenset[str], form: Form, normalized: Normalized,
             compiled: CompiledMenu) -> bool:
    topics = {t for term in terms if (t := topic_of(term))}
    if form in ("command", "plain") and any(CONCEPTS[t].actionable for t in topics):
        return False  # 주문 취소해 주세요, cancel my order: the command itself
    if best.verbatim:
        return True
    if not best.shared_anchor:
        return False
    if form in ("ask", "yes_no"):
        return best.similarity >= QUESTION_SIMILARITY
    key_topics = {t for term in best.key.terms if (t := topic_of(term))}
    return (bool(topics) and topics == key_topics and best.similarity >= STATEMENT_SIMILARITY
            and not _orders(normalized, compiled, topics))


def _orders(normalized: Normalized, compiled: CompiledMenu, topics: set[str]) -> bool:
    """A statement that carries an order: a quantity, or a menu item with a topic that is not
    about items (배달로 라떼 주세요 orders; 라떼가 잘못 나왔어요 is about the latte)."""
    tokens = [t for t in normalized.tokens if t.kind != "boundary"]
    if any(t.kind == "number" for t in tokens):
        return True
    if all(CONCEPTS[t].about_items for t in topics):
        return False
    texts = [t.text for t in tokens]
    for start in range(len(texts)):
        for end in range(start + 1, min(start + MAX_ITEM_WORDS, len(texts)) + 1):
            found = compiled.index.lookup(match_key(texts[start:end]))
            if found is not None and any(target.kind == "item" for target in found.targets):
                return True
    return False
