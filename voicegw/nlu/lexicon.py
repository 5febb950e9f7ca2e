"""Per-language word lists the normaliser and parser use, built from the language packs
(voicegw/nlu/languages/*.yaml): data, not branches."""

from __future__ import annotations

from dataclasses import dataclass

from voicegw.nlu.packs import LANGUAGES, NumbersData, RulesData, pack


@dataclass(frozen=True)
class LanguageRules:
    """How one language marks fillers, politeness, particles, counters and conjunctions."""

    language: str
    fillers: frozenset[str]
    """Whole words dropped before matching (음, 어, uh, um)."""
    stopwords: frozenset[str]
    """Function words dropped before matching (a, the, of); also dropped from aliases."""
    polite_phrases: tuple[str, ...]
    """Multi-word request phrases removed (해 주세요, can i get); their presence marks a request."""
    polite_inserts: frozenset[str]
    """Softening words that may sit inside a request phrase (could I *also* have, can I *please* get)."""
    polite_endings: tuple[str, ...]
    """Verb endings cut from the end of a word (결제할게요 -> 결제), longest first."""
    particles: tuple[str, ...]
    """Noun particles cut from the end of a word (라떼는 -> 라떼), longest first."""
    conjunction_particles: frozenset[str]
    """Particles that also end an order line (콜라랑, 라떼하고)."""
    boundary_words: frozenset[str]
    """Words that separate order lines (and, 그리고)."""
    counters: frozenset[str]
    """Counter words after a number (잔, 개, 세트)."""
    set_counters: frozenset[str]
    """Counters that turn a single item into its set (두 세트, two combos)."""
    ounce_words: frozenset[str] = frozenset()
    """Unit words merged with the number before them (12 ounce -> 12oz)."""
    number_homophones: tuple[tuple[str, int], ...] = ()
    """ASR slips that stand for a number in quantity position only: first in a clause and right
    before an item, size or temperature word (to lattes -> 2, free croissants -> 3; slots.py)."""
    attach_back_particles: frozenset[str] = frozenset()
    """A particle that ties an option to the item before it (아메리카노 아이스로)."""
    attach_back_words: frozenset[str] = frozenset()
    """A word that ties the options after it to the item before it (latte with oat milk)."""
    replaced_after: frozenset[str] = frozenset()
    """Words after an option that cancel it (콜라 대신 사이다)."""
    replaced_before: frozenset[str] = frozenset()
    """Words before an option that cancel it (instead of coke)."""
    function_words: frozenset[str] = frozenset()
    """Words that carry no content (you, what, can, is): neither evidence for an order nor against
    it, so the parser's coverage (coverage.py) leaves them out. Kept in the tokens, unlike stopwords."""
    spellings: tuple[tuple[str, str], ...] = ()
    """Spelling variants rewritten inside words before anything else (셋트 -> 세트, 주세여 -> 주세요)."""
    contractions: tuple[tuple[str, str], ...] = ()
    """Whole words that are a noun and a particle run together (걸로 -> 거로: 큰 걸로 = 큰 거로)."""
    repair_words: frozenset[str] = frozenset()
    """A word between two quantities that takes the first one back (한 잔, 아니 두 잔 -> 두 잔)."""
    distributive_particles: frozenset[str] = frozenset()
    """A particle on a counter that gives its quantity to each item listed before it too
    (크루아상이랑 베이글 두 개씩 -> two of each)."""
    topic_particles: frozenset[str] = frozenset()
    """Particles that make a noun the topic (라떼는: the latte, as for it): an item named as one
    already there, or a portion picked out (하나는)."""
    object_particles: frozenset[str] = frozenset()
    """Particles that make a noun the object (아메리카노를 라지로): an item named to be made some way."""
    subject_particles: frozenset[str] = frozenset()
    """Particles that make a noun the subject (콜라가): with the topic and object particles they close
    a noun phrase, so no menu name runs across them."""
    target_words: frozenset[str] = frozenset()
    """Words before an item that make it what a line becomes (change it *to* a sprite)."""
    all_words: frozenset[str] = frozenset()
    """Words for all of them (전부, 모두, all, both): options said alone go to every line."""
    setting_particles: frozenset[str] = frozenset()
    """Particles on a quantity that set it rather than add it (두 개로, 한 잔만: make it two, just one)."""
    amending_words: frozenset[str] = frozenset()
    """Words before an item that name it as one already there (honey in the tea, cheese on the burger)."""
    amending_particles: frozenset[str] = frozenset()
    """Particles that name an item as the place something goes (라면에 계란: in the ramen)."""
    question_openers: frozenset[str] = frozenset()
    """First words that make an utterance a question without a question mark (is delivery available)."""
    subject_verbs: frozenset[str] = frozenset()
    """Verbs that make the item before them the subject of a statement ("the muffin has nuts"):
    said about the item, not ordering it."""
    demonstratives: frozenset[str] = frozenset()
    """Words that point at an item ("this muffin ..."): without a request phrase, a remark about
    it; with one ("I'll have this muffin") an order as usual."""
    quantity_follows_item: bool = True
    """Korean says the quantity after the item (라떼 두 잔); English before (two lattes)."""
    make_it_phrases: tuple[str, ...] = ()
    """Request phrases that ask for an item to be made a way (로 해 주세요), as said."""
    min_stem_chars: int = 2
    """A particle or ending is cut only when this many characters stay."""
    number_words: frozenset[str] = frozenset()
    """The language's number words (둘, 셋, two): short stems that still take particles (둘이요)."""

    @property
    def closing_particles(self) -> frozenset[str]:
        return self.topic_particles | self.subject_particles | self.object_particles

    @property
    def grammar_words(self) -> frozenset[str]:
        """Words that carry structure, not menu content (with, for, instead, to)."""
        return (self.function_words | self.attach_back_words | self.replaced_before | self.replaced_after
                | {word for word, _ in self.number_homophones})


def rules_from(data: RulesData, numbers: NumbersData, language: str) -> LanguageRules:
    """A language pack's word lists as the rules the normaliser and parser read."""
    return LanguageRules(
        language=language,
        fillers=frozenset(data.fillers),
        stopwords=frozenset(data.stopwords),
        polite_phrases=tuple(data.polite_phrases),
        polite_inserts=frozenset(data.polite_inserts),
        polite_endings=tuple(data.polite_endings),
        particles=tuple(data.particles),
        conjunction_particles=frozenset(data.conjunction_particles),
        boundary_words=frozenset(data.boundary_words),
        counters=frozenset(data.counters),
        set_counters=frozenset(data.set_counters),
        ounce_words=frozenset(data.ounce_words),
        number_homophones=tuple(data.number_homophones.items()),
        attach_back_particles=frozenset(data.attach_back_particles),
        attach_back_words=frozenset(data.attach_back_words),
        replaced_after=frozenset(data.replaced_after),
        replaced_before=frozenset(data.replaced_before),
        function_words=frozenset(data.function_words),
        spellings=tuple(data.spellings),
        contractions=tuple(data.contractions),
        repair_words=frozenset(data.repair_words),
        distributive_particles=frozenset(data.distributive_particles),
        topic_particles=frozenset(data.topic_particles),
        object_particles=frozenset(data.object_particles),
        subject_particles=frozenset(data.subject_particles),
        amending_words=frozenset(data.amending_words),
        amending_particles=frozenset(data.amending_particles),
        setting_particles=frozenset(data.setting_particles),
        all_words=frozenset(data.all_words),
        target_words=frozenset(data.target_words),
        question_openers=frozenset(data.question_openers),
        subject_verbs=frozenset(data.subject_verbs),
        demonstratives=frozenset(data.demonstratives),
        quantity_follows_item=data.quantity_follows_item,
        make_it_phrases=tuple(data.make_it_phrases),
        min_stem_chars=data.min_stem_chars,
        number_words=frozenset(numbers.cardinal) | frozenset(numbers.tens),
    )


RULES = {language: rules_from(pack(language).rules, pack(language).numbers, language) for language in LANGUAGES}

AMOUNT_WORDS: dict[str, tuple[str, ...]] = {
    level: tuple(word for language in LANGUAGES for word in pack(language).amounts.get(level, ()))
    for level in ("none", "light", "regular", "extra")
}
"""Amount levels (DESIGN.md) and the words for them, every language (stopwords already gone):
a Korean speaker at an English store may still say 많이."""


def rules_for(language: str) -> LanguageRules:
    """The rules for ``language``; unknown languages fall back to English word handling."""
    return RULES.get(language, RULES["en"])
