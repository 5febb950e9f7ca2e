"""``understand``: transcript + menu -> intent and order lines. Pure; no I/O."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from dataclasses import dataclass, replace

from voicegw.nlu.changes import (
    ambiguous_items,
    bare_options,
    item_names,
    named_as_target,
    refers_to_cart,
    setting_quantity,
    split_replaced,
)
from voicegw.nlu.compiled import CompiledMenu, compile_menu
from voicegw.nlu.evidence import MIN_ORDER_COVERAGE, coverage, exact, supported
from voicegw.nlu.faq import FaqMatch, is_faq, match_faq
from voicegw.nlu.faq_terms import Form, form_of, terms_of
from voicegw.nlu.intents import PhraseHits, find_phrases
from voicegw.nlu.lexicon import rules_for
from voicegw.nlu.lines import LineContext, build_line, quantity, segment_item
from voicegw.nlu.menu import Item, Menu, display_name
from voicegw.nlu.normalize import Normalized, normalize
from voicegw.nlu.portions import split_portions
from voicegw.nlu.questions import asks, offer_of, question
from voicegw.nlu.segments import Segment, segment
from voicegw.nlu.slots import fill_slots
from voicegw.nlu.tagger import Span, tag
from voicegw.nlu.types import MAX_QUANTITY, Answer, Intent, IntentName, LineOption, OrderLine, Understanding

COVERAGE_WEIGHT = 0.5
"""How much unexplained words lower an order's confidence: ``quality * (1 - w * (1 - coverage))``."""


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

    A matched FAQ comes back as ``intent=faq`` with the FAQ entry id as the only candidate.
    Items heard in talk rather than an order (evidence.py: low coverage, or a fuzzy item with no
    order evidence) come back as ``unknown`` with ``low_confidence`` + candidates or ``not_understood``.
    """
    compiled = menu if isinstance(menu, CompiledMenu) else compile_menu(menu)
    reading = read(text, compiled, language)
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
    normalized = normalize(text, language, compiled.keep)
    terms = terms_of(normalized.tokens, language, compiled.keep)
    tagged = tag(normalized.tokens, compiled.index, rules.grammar_words, rules.closing_particles)
    phrases = find_phrases(normalized.tokens, compiled, language)
    spans = _phrases_first(fill_slots(tagged, normalized.tokens, compiled.menu, compiled.index, rules), phrases)
    ctx = LineContext(compiled.menu, normalized.tokens, rules, language, compiled.index)
    return Reading(
        normalized=normalized,
        spans=tuple(spans),
        segments=tuple(segment(spans, normalized.tokens, compiled.menu, rules)),
        phrases=phrases,
        faq=match_faq(normalized, compiled, language, terms),
        ctx=ctx,
        coverage=coverage(normalized, spans, phrases, rules),
        terms=terms,
    )


def _phrases_first(spans: list[Span], phrases: PhraseHits) -> list[Span]:
    """A menu name only guessed (a fuzzy match) inside an intent phrase is that phrase: "that's
    everything" closes the order, it does not ask for an everything bagel."""
    said = set().union(*phrases.positions.values()) if phrases.positions else set()
    return [replace(s, kind="word", targets=()) if s.kind == "item" and s.score < 100
            and all(p in said for p in range(s.start, s.end)) else s for s in spans]


def _faq(r: Reading) -> Understanding:
    """The FAQ's answer; a question naming an action ("how do I cancel my order?") also offers it."""
    assert r.faq is not None
    return Understanding(intent=Intent(name=IntentName.FAQ, confidence=r.faq.score / 100),
                         candidates=(r.faq.faq_id,), offer=offer_of(r.acting) if r.asks else None)


def _phrase_intent(name: IntentName, key: str) -> Callable[[Reading], Understanding]:
    def build(r: Reading) -> Understanding:
        return Understanding(intent=Intent(name=name, confidence=_phrase_confidence(r, key)))
    return build


def _remove(r: Reading) -> Understanding:
    if r.doubtful:
        return _doubtful(r)
    lines = _cart_references(r.segments, r, with_defaults=False)
    key = "remove" if r.phrases.has("remove") else "cancel"
    said = min(1.0, _tagged_share(r) + r.phrases.coverage(key))
    confidence = round(_match_quality(r) * (0.7 + 0.3 * said) * _coverage_factor(r), 3)
    return Understanding(intent=Intent(name=IntentName.ORDER_REMOVE, confidence=confidence), lines=lines)


def _add(r: Reading) -> Understanding:
    if r.doubtful:
        return _doubtful(r)
    lines: list[OrderLine] = []
    sold_out: list[Item] = []
    unclear: tuple[Segment, tuple[Item, ...]] | None = None
    amends = False
    for seg in r.segments:
        if unclear is None and (choices := ambiguous_items(seg, r.ctx)):
            unclear = (seg, choices)
            continue
        item = segment_item(seg, r.ctx)
        if item.available:
            amend = refers_to_cart(seg, r.ctx, r.normalized.make_it)  # only what was said: the cart's line keeps the rest
            lines += [build_line(part, item, r.ctx, with_defaults=not amend) for part in split_portions(seg)]
            amends = amends or amend
        else:
            sold_out.append(item)
    intent = Intent(name=IntentName.ORDER_ADD, confidence=round(_match_quality(r) * _coverage_factor(r), 3))
    if sold_out:
        return Understanding(intent=intent, lines=tuple(lines), reason="sold_out",
                             candidates=_alternatives(sold_out, r))
    if unclear is not None:
        seg, choices = unclear
        either = tuple(build_line(seg, item, r.ctx, with_defaults=False) for item in choices) \
            if refers_to_cart(seg, r.ctx, r.normalized.make_it) else ()
        return Understanding(intent=intent, lines=tuple(lines), reason="ambiguous_item", either=either,
                             candidates=item_names(choices, r.ctx), held_quantity=quantity(seg, r.ctx))
    for line in () if amends else lines:  # a line amended in the cart has its required options
        named = (o.group for o in line.options)
        if (group := r.ctx.menu.missing_required(r.ctx.menu.item(line.item_id), named)) is not None:
            return Understanding(intent=intent, lines=tuple(lines), reason="missing_option",
                                 candidates=r.ctx.menu.value_names(group, r.ctx.language), missing_group=group)
    return Understanding(intent=intent, lines=tuple(lines), amends=amends)


def _change(r: Reading) -> Understanding:
    """A line in the cart becomes another: options, item or quantity (lines carry only what was
    said; the dialogue merges them into the cart line). No item: the bare options."""
    replaced, new = split_replaced(r.segments, r.ctx)
    lines = _cart_references(new, r, with_defaults=False)
    old = _cart_references(replaced, r, with_defaults=False)
    said = min(1.0, _tagged_share(r) + r.phrases.coverage("change"))
    quality = _match_quality(r) if r.segments else 1.0
    confidence = round(quality * (0.7 + 0.3 * said), 3)
    # An item that is also an option (사이다 is a set's drink): if the cart has no such line, the
    # dialogue tries it as an option of one ("음료는 사이다로 바꿔 주세요" on a set).
    as_options = tuple(LineOption(group=t.group, value=t.id) for seg in new for t in seg.item.targets_of("option"))
    if replaced and not new:  # "감자튀김 말고 코울슬로로": the choice is said beside the one given up
        as_options += tuple(LineOption(group=t.group, value=t.id) for seg in replaced
                            for span in seg.spans if span.kind == "option" for t in span.targets_of("option"))
    swaps_in = not replaced and len(new) == 1 and named_as_target(new[0], r.ctx)
    return Understanding(intent=Intent(name=IntentName.ORDER_CHANGE, confidence=confidence), lines=lines,
                         replaced=old, options=r.options + as_options, swaps_in=swaps_in,
                         by_change_word=r.phrases.has("change"), every_line=not r.segments and r.every_line)


def _cart_references(segments: tuple[Segment, ...], r: Reading, *, with_defaults: bool) -> tuple[OrderLine, ...]:
    """Lines naming what is in the cart; a name several items share ("the cookies") names each
    of them, and the dialogue acts on the ones the cart holds."""
    return tuple(build_line(seg, item, r.ctx, with_defaults=with_defaults)
                 for seg in segments for item in (ambiguous_items(seg, r.ctx) or (segment_item(seg, r.ctx),)))


def _too_many(r: Reading) -> Understanding:
    return Understanding(intent=Intent(name=IntentName.ORDER_ADD, confidence=_match_quality(r)), reason="too_many")


def _set_quantity(r: Reading) -> Understanding:
    """"make it two", "두 개로 해 주세요": the line just ordered, in that quantity."""
    return Understanding(intent=Intent(name=IntentName.ORDER_CHANGE, confidence=_phrase_confidence(r, "change")),
                         held_quantity=r.said_quantity)


def _remove_quantity(r: Reading) -> Understanding:
    """"한 잔 빼 주세요", "one less": fewer of the line just ordered."""
    confidence = _phrase_confidence(r, "remove" if r.phrases.has("remove") else "cancel")
    return Understanding(intent=Intent(name=IntentName.ORDER_REMOVE, confidence=confidence),
                         held_quantity=r.said_quantity)


def _answer(r: Reading) -> Understanding:
    """Options alone ("라지요", "grapefruit please"): the answer to a question, or a change of the
    newest line; the dialogue knows which. The confidence is the share of content words
    explained: an unknown name beside the options ("a small mocca with almond milk") lowers it."""
    confidence = round(r.coverage, 3)
    return Understanding(intent=Intent(name=IntentName.ORDER_ADD, confidence=confidence), options=r.options,
                         every_line=r.every_line)


def _unknown(r: Reading) -> Understanding:
    reason = "unknown_item" if r.sounds_like_order else "not_understood"
    confidence = max(0.1, 1.0 - _tagged_share(r))
    return Understanding(intent=Intent(name=IntentName.UNKNOWN, confidence=confidence), reason=reason)


def _doubtful(r: Reading) -> Understanding:
    """Items were heard but the order evidence is thin: ask (low_confidence, the items offered)
    when an item was named exactly or the words are mostly about ordering, else not_understood."""
    confidence = round(_match_quality(r) * _coverage_factor(r), 3)
    if r.coverage < MIN_ORDER_COVERAGE and not any(exact(seg) for seg in r.segments):
        return Understanding(intent=Intent(name=IntentName.UNKNOWN, confidence=confidence), reason="not_understood")
    names: dict[str, None] = {}
    for seg in r.segments:
        item = segment_item(seg, r.ctx)
        names[display_name(item.names, r.ctx.language, r.ctx.menu.language)] = None
    return Understanding(intent=Intent(name=IntentName.UNKNOWN, confidence=confidence), reason="low_confidence",
                         candidates=tuple(names))


def _alternatives(sold_out: list[Item], r: Reading) -> tuple[str, ...]:
    """Available items of the sold-out items' categories, by display name."""
    menu, gone = r.ctx.menu, {i.id for i in sold_out}
    categories = {i.category for i in sold_out}
    return tuple(display_name(i.names, r.ctx.language, menu.language) for i in menu.items
                 if i.category in categories and i.available and i.id not in gone)


def _phrase_confidence(r: Reading, key: str) -> float:
    """0.6 for a phrase that is a small part of what was said, up to 1.0 when it is all of it."""
    return round(0.6 + 0.4 * r.phrases.coverage(key), 3)


def _match_quality(r: Reading) -> float:
    scores = [seg.item.score for seg in r.segments] or [0.0]
    return round(sum(scores) / len(scores) / 100, 3)


def _coverage_factor(r: Reading) -> float:
    return 1.0 - COVERAGE_WEIGHT * (1.0 - r.coverage)


def _tagged_share(r: Reading) -> float:
    """The share of words the menu or grammar accounts for (unmatched words lower confidence)."""
    words = [s for s in r.spans if s.kind != "boundary"]
    known = [s for s in words if s.kind != "word"]
    return len(known) / len(words) if words else 0.0


Decisions = tuple[tuple[Callable[[Reading], bool], Callable[[Reading], Understanding]], ...]

# What the words do, said as a request, in order: the first that applies builds the turn.
ACTING: Decisions = (
    (lambda r: bool(r.segments) and r.too_many, _too_many),
    (lambda r: r.phrases.has("handoff"), _phrase_intent(IntentName.HANDOFF, "handoff")),
    (lambda r: r.phrases.has("cancel") and not r.segments, _phrase_intent(IntentName.ORDER_CANCEL, "cancel")),
    (lambda r: r.phrases.has("status") and not r.segments, _phrase_intent(IntentName.ORDER_STATUS, "status")),
    (lambda r: (r.phrases.has("change") and (bool(r.segments) or bool(r.options)) or r.swaps_items)
     and not r.doubtful_change, _change),
    (lambda r: not r.segments and not r.options and r.sets_quantity and not r.removes_items, _set_quantity),
    (lambda r: bool(r.segments) and r.removes_items, _remove),
    (lambda r: bool(r.segments), _add),
    (lambda r: r.removes_items and r.said_quantity is not None, _remove_quantity),
    (lambda r: bool(r.options) and r.coverage >= MIN_ORDER_COVERAGE and not r.confirms, _answer),
    (lambda r: r.phrases.has("confirm"), _phrase_intent(IntentName.ORDER_CONFIRM, "confirm")),
    (lambda r: r.phrases.has("greeting"), _phrase_intent(IntentName.GREETING, "greeting")),
    (lambda r: True, _unknown),
)

# An FAQ first, so that "주문 취소 어떻게 하나요" is answered; then any other question, which only
# offers what its words would do (questions.py); then the words as a request.
DECISIONS: Decisions = (
    (lambda r: is_faq(r.faq), _faq),
    (lambda r: r.asks and question(r, r.acting) is not None, lambda r: question(r, r.acting)),  # type: ignore[arg-type, return-value]
    *ACTING,
)
