"""``understand``: transcript + menu -> intent and order lines. Pure; no I/O."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from voicegw.nlu.compiled import CompiledMenu, compile_menu
from voicegw.nlu.evidence import MIN_ORDER_COVERAGE, coverage, exact, supported
from voicegw.nlu.faq import FaqMatch, is_faq, match_faq
from voicegw.nlu.intents import PhraseHits, find_phrases
from voicegw.nlu.lexicon import rules_for
from voicegw.nlu.lines import LineContext, build_line, segment_item
from voicegw.nlu.menu import Item, Menu, display_name
from voicegw.nlu.normalize import Normalized, normalize
from voicegw.nlu.segments import Segment, segment
from voicegw.nlu.slots import fill_slots
from voicegw.nlu.tagger import Span, tag
from voicegw.nlu.types import Intent, IntentName, OrderLine, Understanding

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

    @property
    def question(self) -> bool:
        return self.normalized.question or self.phrases.has("question")

    @property
    def sounds_like_order(self) -> bool:
        kinds = {s.kind for s in self.spans}
        if self.normalized.request or bool(kinds & {"counter", "option", "amount"}):
            return True
        # A bare number in talk ("in 1813", "6 times 10") is not an order for something missing.
        return "number" in kinds and self.coverage >= MIN_ORDER_COVERAGE

    @property
    def doubtful(self) -> bool:
        """Item lines that are more likely talk than an order (evidence.py)."""
        return self.coverage < MIN_ORDER_COVERAGE or not supported(self.segments, self.normalized)


def understand(text: str, menu: Menu | CompiledMenu, language: str) -> Understanding:
    """What ``text`` (a transcript or typed message) asks of the store with ``menu``.

    A matched FAQ comes back as ``intent=faq`` with the FAQ entry id as the only candidate.
    Items heard in talk rather than an order (evidence.py: low coverage, or a fuzzy item with no
    order evidence) come back as ``unknown`` with ``low_confidence`` + candidates or ``not_understood``.
    """
    compiled = menu if isinstance(menu, CompiledMenu) else compile_menu(menu)
    reading = read(text, compiled, language)
    for applies, build in DECISIONS:
        if applies(reading):
            return build(reading).model_copy(update={"normalized_text": reading.normalized.text})
    raise AssertionError("the last decision always applies")


def read(text: str, compiled: CompiledMenu, language: str) -> Reading:
    rules = rules_for(language)
    normalized = normalize(text, language, compiled.keep)
    tagged = tag(normalized.tokens, compiled.index, rules.grammar_words)
    spans = fill_slots(tagged, normalized.tokens, compiled.menu, compiled.index, rules)
    ctx = LineContext(compiled.menu, normalized.tokens, rules, language)
    phrases = find_phrases(normalized.tokens, compiled, language)
    return Reading(
        normalized=normalized,
        spans=tuple(spans),
        segments=tuple(segment(spans, normalized.tokens, compiled.menu, rules)),
        phrases=phrases,
        faq=match_faq(normalized, compiled, language),
        ctx=ctx,
        coverage=coverage(normalized, spans, phrases, rules),
    )


def _faq(r: Reading) -> Understanding:
    assert r.faq is not None
    return Understanding(intent=Intent(name=IntentName.FAQ, confidence=r.faq.score / 100),
                         candidates=(r.faq.faq_id,))


def _phrase_intent(name: IntentName, key: str) -> Callable[[Reading], Understanding]:
    def build(r: Reading) -> Understanding:
        return Understanding(intent=Intent(name=name, confidence=_phrase_confidence(r, key)))
    return build


def _remove(r: Reading) -> Understanding:
    if r.doubtful:
        return _doubtful(r)
    lines = tuple(build_line(seg, segment_item(seg, r.ctx), r.ctx, with_defaults=False) for seg in r.segments)
    key = "remove" if r.phrases.has("remove") else "cancel"
    said = min(1.0, _tagged_share(r) + r.phrases.coverage(key))
    confidence = round(_match_quality(r) * (0.7 + 0.3 * said) * _coverage_factor(r), 3)
    return Understanding(intent=Intent(name=IntentName.ORDER_REMOVE, confidence=confidence), lines=lines)


def _add(r: Reading) -> Understanding:
    if r.doubtful:
        return _doubtful(r)
    lines: list[OrderLine] = []
    sold_out: list[Item] = []
    for seg in r.segments:
        item = segment_item(seg, r.ctx)
        if item.available:
            lines.append(build_line(seg, item, r.ctx))
        else:
            sold_out.append(item)
    intent = Intent(name=IntentName.ORDER_ADD, confidence=round(_match_quality(r) * _coverage_factor(r), 3))
    if sold_out:
        return Understanding(intent=intent, lines=tuple(lines), reason="sold_out",
                             candidates=_alternatives(sold_out, r))
    return Understanding(intent=intent, lines=tuple(lines))


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


# Decision rules in order: the first that applies builds the turn. FAQ comes before cancel so
# that "주문 취소 어떻게 하나요" asks about cancelling instead of cancelling.
DECISIONS: tuple[tuple[Callable[[Reading], bool], Callable[[Reading], Understanding]], ...] = (
    (lambda r: is_faq(r.faq, r.question), _faq),
    (lambda r: r.phrases.has("handoff"), _phrase_intent(IntentName.HANDOFF, "handoff")),
    (lambda r: r.phrases.has("cancel") and not r.segments, _phrase_intent(IntentName.ORDER_CANCEL, "cancel")),
    (lambda r: bool(r.segments) and (r.phrases.has("remove") or r.phrases.has("cancel")), _remove),
    (lambda r: bool(r.segments), _add),
    (lambda r: r.phrases.has("confirm"), _phrase_intent(IntentName.ORDER_CONFIRM, "confirm")),
    (lambda r: r.phrases.has("greeting"), _phrase_intent(IntentName.GREETING, "greeting")),
    (lambda r: True, _unknown),
)
