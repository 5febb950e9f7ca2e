"""``understand``: transcript + menu -> intent and order lines. Pure; no I/O."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from dataclasses import dataclass, replace

from voicegw.nlu.builders import (
    add,
    answer,
    change,
    faq,
    phrase_intent,
    remove,
    remove_quantity,
    set_quantity,
    too_many,
    unknown,
)
from voicegw.nlu.changes import bare_options, setting_quantity, split_replaced
from voicegw.nlu.compiled import CompiledMenu, compile_menu
from voicegw.nlu.evidence import MIN_ORDER_COVERAGE, coverage, supported
from voicegw.nlu.faq import FaqMatch, is_faq, match_faq
from voicegw.nlu.faq_terms import Form, form_of, terms_of
from voicegw.nlu.intents import PhraseHits, find_phrases
from voicegw.nlu.lexicon import rules_for
from voicegw.nlu.lines import LineContext
from voicegw.nlu.menu import Menu
from voicegw.nlu.normalize import Normalized, normalize
from voicegw.nlu.questions import asks, question
from voicegw.nlu.segments import Segment, segment
from voicegw.nlu.slots import fill_slots
from voicegw.nlu.tagger import Span, tag
from voicegw.nlu.types import MAX_QUANTITY, Answer, IntentName, LineOption, Understanding
from voicegw.privacy.redact import mask_personal_numbers


@dataclass(frozen=True)
class Reading:
    """Everything the decision rules look at, computed once per utterance."""

    normalized: Normalized
    spans: tuple[Span, ...]
    segments: tuple[Segment, ...]
    phrases: PhraseHits
    faq: FaqMatch | None
    ctx: LineContext
    coverage: float
    """The share of content words the menu and grammar explain (evidence.coverage)."""
    terms: frozenset[str] = frozenset()
    """Its FAQ terms: concepts and content words (faq_terms.py)."""
    unnamed_terms: frozenset[str] = frozenset()
    """The terms of the words no menu name or quantity explains ("free" in a muffin, not in
    "sugar free syrup")."""

    @cached_property
    def form(self) -> Form:
        """Ask, yes/no, command or plain, by the words alone (a question mark is not enough)."""
        named = {i for s in self.spans if s.kind not in ("word", "boundary") for i in range(s.start, s.end)}
        # a rhetorical question is frustration, not a question (몇 번을 말해요, are you kidding)
        named |= self.phrases.positions.get("frustrated", frozenset())
        return form_of(self.normalized, marks=False, named=frozenset(named))

    @cached_property
    def asks(self) -> bool:
        """It asks rather than requests (questions.py): it must not act."""
        return asks(self)

    @cached_property
    def as_question(self) -> Understanding | None:
        """The ``faq`` turn when it asks about something the bot does or the menu tells (questions.py)."""
        return question(self, self.acting) if self.asks else None

    @cached_property
    def acting(self) -> Understanding:
        """What the words would do said as a request: the first acting decision that applies."""
        return _first(ACTING, self)

    @property
    def sounds_like_order(self) -> bool:
        kinds = {s.kind for s in self.spans}
        if self.normalized.request or bool(kinds & {"counter", "option", "amount"}):
            return True
        # A bare number in talk ("in 1813", "6 times 10") is not an order for something missing.
        return "number" in kinds and self.coverage >= MIN_ORDER_COVERAGE

    @cached_property
    def options(self) -> tuple[LineOption, ...]:
        """Options named without an item (make that a large, 자몽으로요); read by several rules."""
        return bare_options(self.spans, self.segments, self.ctx, swapping=self.phrases.has("change"))

    @property
    def too_many(self) -> bool:
        """A quantity no order holds (아메리카노 99999999999999999999잔)."""
        return any(s.kind == "number" and (s.value or 0) > MAX_QUANTITY for s in self.spans)

    @property
    def said_quantity(self) -> int | None:
        """The one quantity said in an utterance that names no item."""
        numbers = [s.value for s in self.spans if s.kind == "number" and s.value]
        return numbers[0] if len(numbers) == 1 else None

    @property
    def every_line(self) -> bool:
        """A word for all of them (전부, 다, all, both): options said alone go to every line."""
        return any(t.text in self.ctx.rules.all_words for t in self.normalized.tokens)

    @property
    def confirms(self) -> bool:
        """A confirm phrase beyond a plain yes ("네 데워 주세요" answers the question with its options)."""
        said = self.phrases.positions.get("confirm", frozenset())
        return bool(said - self.phrases.positions.get("yes", frozenset()))

    @property
    def sets_quantity(self) -> bool:
        """A quantity said to replace the one ordered ("make it two", "두 개로 해 주세요", "한 잔만",
        or the quantity alone: "actually just two")."""
        if self.said_quantity is None:
            return False
        words = [t for t in self.normalized.tokens if t.kind != "boundary"]
        return (self.phrases.has("change") or self.normalized.make_it or setting_quantity(self.spans, self.ctx)
                or all(t.kind in ("number", "counter") for t in words))

    @property
    def removes_items(self) -> bool:
        """A remove or cancel phrase that is not an option's amount ("휘핑 빼" takes the whipped
        cream off a drink being ordered; "라떼 빼" takes the latte off the order)."""
        option_ends = {s.end for s in self.spans if s.kind in ("option", "group")}
        hits = self.phrases.positions.get("remove", frozenset()) | self.phrases.positions.get("cancel", frozenset())
        return any(p not in option_ends for p in hits)

    @property
    def swaps_items(self) -> bool:
        """One item named as given up for another (사이다 말고 콜라, a cappuccino instead of the latte)."""
        return len(self.segments) >= 2 and 0 < len(split_replaced(self.segments, self.ctx, marked_only=True)[0])

    @property
    def doubtful_change(self) -> bool:
        """A change names items that are more likely talk (the same evidence as an order)."""
        return bool(self.segments) and self.doubtful

    @property
    def doubtful(self) -> bool:
        """Item lines that are more likely talk than an order (evidence.py), or asked about ("is the
        muffin nut free?" names a muffin without ordering one)."""
        asked_for = self.normalized.request or self.form == "command"  # can you do hot salsa on those nachos
        return (self.coverage < MIN_ORDER_COVERAGE or not supported(self.segments, self.normalized, self.ctx.menu)
                or ((self.normalized.opens_question or self.describes_an_item) and not asked_for))

    @property
    def describes_an_item(self) -> bool:
        """An item is the subject of a statement or pointed at ("the muffin has three", "this
        muffin not free"): said about it, not ordering it. Whisper's readings of "is the muffin
        nut free" in noise; the caller lets a request phrase make it an order again."""
        tokens, rules = self.normalized.tokens, self.ctx.rules
        if any(map(self.phrases.has, ("change", "remove", "cancel"))):
            return False  # "make those tacos corn", "take that muffin off": the cart's item, pointed at
        return any(
            s.kind == "item"
            and ((s.end < len(tokens) and tokens[s.end].text in rules.subject_verbs)
                 or (s.start > 0 and tokens[s.start - 1].text in rules.demonstratives))
            for s in self.spans
        )


def understand(text: str, menu: Menu | CompiledMenu, language: str) -> Understanding:
    """What ``text`` (a transcript or typed message) asks of the store with ``menu``.

    Phone, card and registration numbers are read as what they are, never as quantities. A
    matched FAQ comes back as ``intent=faq`` with the FAQ entry id as the only candidate.
    Items heard in talk rather than an order (evidence.py: low coverage, or a fuzzy item with no
    order evidence) come back as ``unknown`` with ``low_confidence`` + candidates or ``not_understood``.
    """
    compiled = menu if isinstance(menu, CompiledMenu) else compile_menu(menu)
    reading = read(mask_personal_numbers(text), compiled, language)  # a card number is no quantity
    return _with_feelings(_first(DECISIONS, reading), reading).model_copy(
        update={"normalized_text": reading.normalized.text, "answer": _yes_or_no(reading)})


def _first(decisions: Decisions, r: Reading) -> Understanding:
    for applies, build in decisions:
        if applies(r):
            return build(r)
    raise AssertionError("the last decision always applies")


def _yes_or_no(r: Reading) -> Answer | None:
    """A plain yes or no (네, 아니요 괜찮아요, sure): the answer to an offer, if one is pending."""
    if r.segments or r.options:
        return None
    said = [key for key in ("yes", "no") if r.phrases.has(key)]
    return said[0] if len(said) == 1 else None


def _with_feelings(u: Understanding, r: Reading) -> Understanding:
    """Mark frustration; when it is all the turn says, that is its reason (the dialogue answers
    with empathy and offers a person instead of "I didn't understand")."""
    if not r.phrases.has("frustrated"):
        return u
    update: dict[str, object] = {"sentiment": "frustrated"}
    if u.intent.name is IntentName.UNKNOWN:
        update["reason"] = "frustrated"
    return u.model_copy(update=update)


def read(text: str, compiled: CompiledMenu, language: str) -> Reading:
    rules = rules_for(language)
    normalized = normalize(text, language, compiled.keep, compiled.menu.shorthands.get(language))
    terms = terms_of(normalized.tokens, language, compiled.keep)
    tagged = tag(normalized.tokens, compiled.index, rules.grammar_words, rules.closing_particles)
    phrases = find_phrases(normalized.tokens, compiled, language)
    spans = _phrases_first(fill_slots(tagged, normalized.tokens, compiled.menu, compiled.index, rules), phrases)
    ctx = LineContext(compiled.menu, normalized.tokens, rules, language, compiled.index)
    named = {i for s in spans if s.kind not in ("word", "boundary") for i in range(s.start, s.end)}
    unnamed = [t for i, t in enumerate(normalized.tokens) if i not in named]
    return Reading(
        normalized=normalized,
        spans=tuple(spans),
        segments=tuple(segment(spans, normalized.tokens, compiled.menu, rules)),
        phrases=phrases,
        faq=match_faq(normalized, compiled, language, terms),
        ctx=ctx,
        coverage=coverage(normalized, spans, phrases, rules),
        terms=terms,
        unnamed_terms=terms_of(unnamed, language, compiled.keep) if named else terms,
    )


def _phrases_first(spans: list[Span], phrases: PhraseHits) -> list[Span]:
    """A menu name only guessed (a fuzzy match) inside an intent phrase is that phrase: "that's
    everything" closes the order, it does not ask for an everything bagel."""
    said = set().union(*phrases.positions.values()) if phrases.positions else set()
    return [replace(s, kind="word", targets=()) if s.kind == "item" and s.score < 100
            and all(p in said for p in range(s.start, s.end)) else s for s in spans]


Decisions = tuple[tuple[Callable[[Reading], bool], Callable[[Reading], Understanding]], ...]

# What the words do, said as a request, in order: the first that applies builds the turn.
ACTING: Decisions = (
    (lambda r: bool(r.segments) and r.too_many, too_many),
    (lambda r: r.phrases.has("handoff"), phrase_intent(IntentName.HANDOFF, "handoff")),
    (lambda r: r.phrases.has("cancel") and not r.segments, phrase_intent(IntentName.ORDER_CANCEL, "cancel")),
    (lambda r: r.phrases.has("status") and not r.segments, phrase_intent(IntentName.ORDER_STATUS, "status")),
    (lambda r: (r.phrases.has("change") and (bool(r.segments) or bool(r.options)) or r.swaps_items)
     and not r.doubtful_change, change),
    (lambda r: not r.segments and not r.options and r.sets_quantity and not r.removes_items, set_quantity),
    (lambda r: bool(r.segments) and r.removes_items, remove),
    (lambda r: bool(r.segments), add),
    (lambda r: r.removes_items and r.said_quantity is not None, remove_quantity),
    (lambda r: bool(r.options) and r.coverage >= MIN_ORDER_COVERAGE and not r.confirms, answer),
    (lambda r: r.phrases.has("confirm"), phrase_intent(IntentName.ORDER_CONFIRM, "confirm")),
    (lambda r: r.phrases.has("greeting"), phrase_intent(IntentName.GREETING, "greeting")),
    (lambda r: True, unknown),
)

# An FAQ first, so that "주문 취소 어떻게 하나요" is answered; then any other question, which only
# offers what its words would do (questions.py); then the words as a request.
DECISIONS: Decisions = (
    (lambda r: is_faq(r.faq), faq),
    (lambda r: r.as_question is not None, lambda r: r.as_question),  # type: ignore[return-value]
    *ACTING,
)
