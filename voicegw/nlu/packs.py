"""Language packs: what voicegw knows of a language, as data (``voicegw/nlu/languages/*.yaml``).

One file per language holds how its speakers order, count, ask and change their minds; a file of
concepts says what FAQ questions are about, whatever the language. They are read and validated
once per process; the modules that use them (lexicon, numerals, phrases, faq_concepts,
builtin_faq, counting) build their tables from here. Adding a language is adding a file, not an ``if`` in the parser.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

PACKS_DIR = Path(__file__).with_name("languages")
LANGUAGES = ("ko", "en")
"""The languages voicegw understands (one pack file each)."""


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RulesData(_Data):
    """Word lists of one language (lexicon.LanguageRules documents each)."""

    fillers: list[str] = []
    stopwords: list[str] = []
    function_words: list[str] = []
    polite_phrases: list[str] = []
    polite_inserts: list[str] = []
    polite_endings: list[str] = []
    make_it_phrases: list[str] = []
    particles: list[str] = []
    conjunction_particles: list[str] = []
    attach_back_particles: list[str] = []
    distributive_particles: list[str] = []
    topic_particles: list[str] = []
    object_particles: list[str] = []
    subject_particles: list[str] = []
    amending_words: list[str] = []
    amending_particles: list[str] = []
    setting_particles: list[str] = []
    all_words: list[str] = []
    target_words: list[str] = []
    boundary_words: list[str] = []
    repair_words: list[str] = []
    attach_back_words: list[str] = []
    replaced_after: list[str] = []
    replaced_before: list[str] = []
    question_openers: list[str] = []
    subject_verbs: list[str] = []
    demonstratives: list[str] = []
    counters: list[str] = []
    set_counters: list[str] = []
    ounce_words: list[str] = []
    number_homophones: dict[str, int] = {}
    spellings: list[tuple[str, str]] = []
    contractions: list[tuple[str, str]] = []
    clitics: list[str] = []
    """Endings written after an apostrophe (I'd, don't): the pack's words are kept without it,
    Whisper writes it (voicegw.asr.grammar)."""
    quantity_follows_item: bool = True
    min_stem_chars: int = 2


class NumbersData(_Data):
    cardinal: dict[str, int] = {}
    """A number word and its value (하나 1, two 2)."""
    tens: dict[str, int] = {}
    """Words for tens that a cardinal may follow in one word (열두 = 12)."""
    attributive_only: list[str] = []
    """Forms that are numbers only before a counter (네 is also "yes")."""
    sino_digits: dict[str, int] = {}
    """Sino-Korean digits (일 이 삼), read only before a counter."""
    sino_ten: str = ""
    """The Sino-Korean word for ten (십) that joins its digits (이십삼 = 23)."""


class FormsData(_Data):
    """The cues of a question and of a command (faq_concepts.FormCues documents each)."""

    ask_words: list[str] = []
    ask_inside: list[str] = []
    ask_anywhere: list[str] = []
    knowing: list[str] = []
    openers: list[str] = []
    yes_no_lead: list[str] = []
    subjects: list[str] = []
    ordering_leads: list[str] = []
    indefinites: list[str] = []
    yes_no_words: list[str] = []
    yes_no_inside: list[str] = []
    yes_no_endings: list[str] = []
    command_words: list[str] = []
    command_endings: list[str] = []
    you_modals: list[str] = []
    ability: list[str] = []


class FaqData(_Data):
    concepts: dict[str, list[str]] = {}
    """Concept id (concepts.yaml) -> phrases in this language (``x*`` = prefix)."""
    forms: FormsData = FormsData()
    generic_words: list[str] = []
    """Words that say nothing about which FAQ is meant (주문, order, today)."""
    non_term_prefixes: list[str] = []
    """Words starting like these are verbs, endings or question words, not content (Korean)."""


class DefaultFaqData(_Data):
    """A question every store gets answered until its own FAQ answers it (builtin_faq.py)."""

    id: str = Field(min_length=1)
    topic: str = Field(min_length=1)
    """The concept the entry is about (concepts.yaml): a store entry mostly about it replaces it."""
    category: str = Field(min_length=1)
    questions: list[str] = Field(min_length=1)
    answer: str = Field(min_length=1)


class CountersData(_Data):
    """The counter word replies put after a quantity (아메리카노 2잔, 떡볶이 1개)."""

    by_category: dict[str, list[str]] = {}
    """Counter -> the general category words it counts (잔: coffee, drink, 음료)."""
    default: str = Field(min_length=1)
    """For any other category."""
    without_menu: str = Field(min_length=1)
    """With no menu at hand (a reply rebuilt from stored lines)."""


class LanguagePack(_Data):
    language: str = Field(min_length=2)
    rules: RulesData
    amounts: dict[Literal["none", "light", "regular", "extra"], list[str]] = {}
    numbers: NumbersData = NumbersData()
    intents: dict[str, list[str]] = {}
    """Intent key -> phrases (``x*`` = prefix), see phrases.py for the keys."""
    faq: FaqData = FaqData()
    default_faq: list[DefaultFaqData] = []
    reply_counters: CountersData | None = None
    """Only for languages that count with counter words."""


class ConceptData(_Data):
    kind: Literal["topic", "detail"]
    actionable: bool = False
    about_items: bool = False
    noun: bool = False


class ImplicationData(_Data):
    needs: list[str]
    means: str
    unless: list[str] = []


class ConceptsData(_Data):
    concepts: dict[str, ConceptData]
    implies: list[ImplicationData] = []
    weights: dict[str, float]


def _read(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a language file must be a mapping")
    return data


@cache
def pack(language: str) -> LanguagePack:
    """The pack of ``language`` (one of LANGUAGES), read and validated once."""
    if language not in LANGUAGES:
        raise KeyError(f"no language pack for {language!r} (have {', '.join(LANGUAGES)})")
    loaded = LanguagePack.model_validate(_read(PACKS_DIR / f"{language}.yaml"))
    if loaded.language != language:
        raise ValueError(f"{language}.yaml says it is {loaded.language!r}")
    return loaded


@cache
def concepts() -> ConceptsData:
    """The FAQ concepts shared by every language; each must have phrases in some pack."""
    data = ConceptsData.model_validate(_read(PACKS_DIR / "concepts.yaml"))
    for language in LANGUAGES:
        unknown = set(pack(language).faq.concepts) - set(data.concepts)
        if unknown:
            raise ValueError(f"{language}.yaml names concepts that concepts.yaml lacks: {sorted(unknown)}")
    return data
