"""An utterance read for FAQ matching: its terms (concepts and content words) and its form.

Terms are what a question and an FAQ paraphrase are compared by (faq.py): concepts from
faq_concepts.py (``topic:refund``, ``detail:change``), and the content words no concept explains
(``word:반려``), so an operator's own question about something the table does not know still
matches on its words. The form says whether the speaker asks (어떻게, how), asks yes or no
(되나요, can I), or tells the bot to do something (해 주세요, cancel it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from rapidfuzz import fuzz

from voicegw.nlu.faq_concepts import (
    CONCEPTS,
    FORMS,
    GENERIC_WORDS,
    IMPLIES,
    NON_TERM_PREFIXES,
    WEIGHTS,
    FormCues,
)
from voicegw.nlu.lexicon import RULES
from voicegw.nlu.matcher import singular, to_jamo
from voicegw.nlu.normalize import Normalized, Token, normalize

Form = Literal["ask", "yes_no", "command", "plain"]

MAX_PHRASE_WORDS = 4
NEAR_MIN_CHARS = 6
"""A concept word this long (in jamo or letters) also matches a slightly misheard word (알래르기)."""
NEAR_SCORE = 85.0
_FUNCTION_WORDS = frozenset().union(*(rules.function_words for rules in RULES.values()))
_GENERIC = frozenset().union(*GENERIC_WORDS.values())


@dataclass(frozen=True)
class ConceptKey:
    text: str
    """The phrase normalised like speech, spacing-free, plurals folded."""
    prefix: bool
    concept: str
    jamo: str


@dataclass(frozen=True)
class ConceptTable:
    by_first: dict[str, tuple[ConceptKey, ...]]
    """Keys by their first character: a window is only compared with keys it could start."""
    long_keys: tuple[ConceptKey, ...]
    """Noun keys long enough to be matched with a slip (NEAR_MIN_CHARS); verb forms differ by a
    letter (있는데, 왔는데) and are never matched nearly."""
    inside_keys: tuple[ConceptKey, ...]
    """Korean noun keys of two syllables or more, also found inside a word: ASR and typing drop
    spaces (주문취소, 배달주소)."""


def term_weight(term: str) -> float:
    return WEIGHTS[term.split(":", 1)[0]]


def topic_of(term: str) -> str | None:
    """The concept id of a ``topic:`` term, else None."""
    kind, _, name = term.partition(":")
    return name if kind == "topic" else None


def compact(words: Sequence[str]) -> str:
    return "".join(singular(word) for word in words)


@lru_cache(maxsize=32)
def concept_table(language: str, keep: frozenset[str]) -> ConceptTable:
    """Every concept phrase (of every language), normalised with ``language``'s rules and ``keep``."""
    keys: dict[ConceptKey, None] = {}
    for concept_id, concept in CONCEPTS.items():
        for phrases in concept.phrases.values():
            for phrase in phrases:
                tokens = normalize(phrase.rstrip("*"), language, keep).tokens
                text = compact([t.text for t in tokens if t.kind != "boundary"])
                if text:
                    keys[ConceptKey(text, phrase.endswith("*"), concept_id, to_jamo(text))] = None
    by_first: dict[str, list[ConceptKey]] = {}
    for key in keys:
        by_first.setdefault(key.text[0], []).append(key)
    return ConceptTable(
        by_first={first: tuple(found) for first, found in by_first.items()},
        long_keys=tuple(k for k in keys if len(k.jamo) >= NEAR_MIN_CHARS and CONCEPTS[k.concept].near_matched),
        inside_keys=tuple(k for k in keys if len(k.text) >= 2 and not k.text.isascii()
                          and CONCEPTS[k.concept].near_matched),
    )


def terms_of(tokens: Sequence[Token], language: str, keep: frozenset[str]) -> frozenset[str]:
    """The concepts and unexplained content words of ``tokens`` (one utterance or FAQ question)."""
    words = [t for t in tokens if t.kind != "boundary"]
    table = concept_table(language, keep)
    found, covered = _phrase_concepts([t.text for t in words], table)
    for index, token in enumerate(words):
        if index not in covered and token.kind == "word" and (held := _concepts_in_word(token.text, table)):
            found |= held
            covered.add(index)
    for rule in IMPLIES:
        if rule.needs <= found and not rule.unless & found:
            found = (found - rule.needs) | {rule.means}
    terms = {f"{CONCEPTS[c].kind}:{c}" for c in found}
    terms.update(key for index, token in enumerate(words)
                 if index not in covered and (key := _content_key(token, keep)))
    return frozenset(terms)


def _phrase_concepts(texts: list[str], table: ConceptTable) -> tuple[set[str], set[int]]:
    """Concepts whose phrases runs of words spell, and the positions of those words."""
    found: set[str] = set()
    covered: set[int] = set()
    for start in range(len(texts)):
        for end in range(start + 1, min(start + MAX_PHRASE_WORDS, len(texts)) + 1):
            text = compact(texts[start:end])
            head = len(compact(texts[start:end - 1]))
            for key in table.by_first.get(text[:1], ()):
                if _hit(key, text, head):
                    found.add(key.concept)
                    covered.update(range(start, end))
    return found, covered


def _concepts_in_word(word: str, table: ConceptTable) -> set[str]:
    """Concepts a word holds without starting with their phrase: a noun inside a compound
    (주문취소, 배달주소), or a slightly misheard noun (알래르기, adress)."""
    inside = {key.concept for key in table.inside_keys if key.text in word}
    if inside:
        return inside
    near = _near_concept(word, table)
    return {near} if near else set()


def _hit(key: ConceptKey, text: str, head: int) -> bool:
    """Whole-word equality; a prefix phrase must reach into the window's last word (intents.py)."""
    if key.prefix:
        return text.startswith(key.text) and head < len(key.text)
    return text == key.text


def _near_concept(word: str, table: ConceptTable) -> str | None:
    """A concept whose long phrase ``word`` nearly spells (알래르기, adress, delivary)."""
    jamo = to_jamo(singular(word))
    if len(jamo) < NEAR_MIN_CHARS:
        return None
    for key in table.long_keys:
        said = jamo[: len(key.jamo) + 1] if key.prefix else jamo
        if said[:1] == key.jamo[:1] and fuzz.ratio(said, key.jamo) >= NEAR_SCORE:
            return key.concept
    return None


def _content_key(token: Token, keep: frozenset[str]) -> str | None:
    """A content word's term: ``menu:`` for a menu word, else ``word:`` with Korean cut to its
    first two syllables (데려가도 ~ 데려갈) and English singular with -ing/-ed cut; None for
    function, generic and question words."""
    text = token.text
    if token.kind != "word" or text in _FUNCTION_WORDS or text in _GENERIC:
        return None
    if text in keep:
        return f"menu:{singular(text)}"
    if not text.isascii():
        if len(text) < 2 or text.startswith(NON_TERM_PREFIXES.get("ko", ())):
            return None
        return f"word:{text[:2]}"
    word = singular(text)
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
    return f"word:{word}" if len(word) >= 3 and word.isalpha() else None


def form_of(normalized: Normalized, *, marks: bool = True, named: frozenset[int] = frozenset()) -> Form:
    """Ask (how, 어떻게) before command (해 주세요, can you) before yes/no (되나요, can I).

    ``marks=False`` reads the words alone: a question mark does not make a question (speech
    recognition writes "a large latte?" for an order), nor does a word the menu or a quantity
    explains (``named`` token positions) that ends like one (사이다도 하나요 orders one cider and
    샷 추가요 adds a shot; 어떻게 하나요 and 되나요 ask)."""
    surfaces = [t.surface for t in normalized.tokens if t.kind != "boundary"]
    worded = surfaces if marks else [t.surface for i, t in enumerate(normalized.tokens)
                                      if t.kind not in ("boundary", "number") and i not in named]
    cues = tuple(FORMS.values())
    said = normalized.cleaned.split()  # the words the cleaning dropped (I, we) count for word order
    if any(_asks(worded, c) for c in cues):
        return "ask"
    if normalized.request_words or any(_commands(surfaces, c) for c in cues):
        return "command"
    if marks and normalized.question:
        return "yes_no"
    if any(_yes_no(worded, c, said) for c in cues):
        return "yes_no"
    return "plain"


def _leads(surfaces: list[str], words: frozenset[str], cues: FormCues, knowing: bool) -> bool:
    """One of ``words`` opens the sentence (after openers), or follows a knowing verb."""
    for index, surface in enumerate(surfaces):
        if surface in words and (all(s in cues.openers for s in surfaces[:index])
                                 or (knowing and any(s in cues.knowing for s in surfaces[:index]))):
            return True
    return False


def _asks(surfaces: list[str], cues: FormCues) -> bool:
    return (any(part in surface for surface in surfaces for part in cues.ask_inside)
            or any(surface in cues.ask_anywhere for surface in surfaces)
            or _leads(surfaces, cues.ask_words, cues, knowing=True))


def _commands(surfaces: list[str], cues: FormCues) -> bool:
    you_modal = any(a in cues.you_modals and b == "you" for a, b in zip(surfaces, surfaces[1:]))
    return (you_modal or any(surface in cues.command_words for surface in surfaces)
            or any(surface.endswith(cues.command_endings) for surface in surfaces if cues.command_endings))


def _yes_no(surfaces: list[str], cues: FormCues, said: list[str]) -> bool:
    stated = {word for before, word in zip(said, said[1:]) if before in cues.subjects}
    stated |= {word for word, after in zip(said, said[1:]) if word in cues.ordering_leads and after in cues.indefinites}
    return (_leads(surfaces, cues.yes_no_lead - stated, cues, knowing=False)
            or any(surface in cues.yes_no_words for surface in surfaces)
            or any(part in surface for surface in surfaces for part in cues.yes_no_inside)
            or any(surface.endswith(cues.yes_no_endings) for surface in surfaces if cues.yes_no_endings))
