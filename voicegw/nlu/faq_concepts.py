"""What FAQ questions are about: concept words per language, and the cues of a question, from the
language packs (languages/concepts.yaml and the ``faq:`` section of each language file).

No model is downloaded for FAQ matching, so meaning comes from these tables: words that say the
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

from voicegw.nlu.packs import LANGUAGES, concepts, pack

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


@dataclass(frozen=True)
class Implication:
    """Concepts (``needs``) that together mean another (``means``), unless one of ``unless`` is there."""

    needs: frozenset[str]
    means: str
    unless: frozenset[str] = frozenset()



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
    subjects: frozenset[str] = frozenset()
    """English: a yes/no lead right after one of these is a statement's verb ("and I have a
    latte", Whisper's "can I have" under noise), not a question, where the verb comes first."""
    ordering_leads: frozenset[str] = frozenset()
    """English: a yes/no lead that is also an ordering verb; before one of ``indefinites`` it
    orders ("have a latte"), before anything else it asks ("have you got oat milk")."""
    indefinites: frozenset[str] = frozenset()
    """English: the articles of something wanted (a, an, some)."""
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
    ability: tuple[str, ...] = ()
    """Asking to be allowed (can I, 수 있): with something concrete named, a polite request
    ("can I swap the muffin for a scone"); without, a question ("can I cancel my order?")."""



_TABLE = concepts()

CONCEPTS: dict[str, Concept] = {
    concept_id: Concept(
        data.kind,
        phrases={lang: tuple(pack(lang).faq.concepts.get(concept_id, ())) for lang in LANGUAGES},
        actionable=data.actionable,
        about_items=data.about_items,
        noun=data.noun,
    )
    for concept_id, data in _TABLE.concepts.items()
}

IMPLIES: tuple[Implication, ...] = tuple(
    Implication(frozenset(rule.needs), rule.means, frozenset(rule.unless)) for rule in _TABLE.implies
)
"""Concepts that together mean another, applied in order, the parts replaced by the whole
(concepts.yaml says why)."""

WEIGHTS: dict[str, float] = dict(_TABLE.weights)
"""How much a shared term counts, by kind (topic, detail, word, menu)."""

FORMS: dict[str, FormCues] = {
    lang: FormCues(**{
        name: frozenset(words) if isinstance(getattr(FormCues, name, None), frozenset) else tuple(words)
        for name, words in pack(lang).faq.forms.model_dump().items()
    })
    for lang in LANGUAGES
}
"""Question and command cues per language; every language's cues are read (a Korean speaker at
an English store still says 어떻게)."""

GENERIC_WORDS: dict[str, frozenset[str]] = {lang: frozenset(pack(lang).faq.generic_words) for lang in LANGUAGES}
"""Words that say nothing about which FAQ is meant (주문, order, today): never a matching term."""

NON_TERM_PREFIXES: dict[str, tuple[str, ...]] = {lang: tuple(pack(lang).faq.non_term_prefixes) for lang in LANGUAGES}
"""Words starting like these are verbs, endings or question words, not content (Korean)."""
