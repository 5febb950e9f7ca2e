"""What each decision of the parser makes of a reading: the Understanding of an FAQ answer, an
add, a change, a removal, a quantity said alone, options said alone, or talk nobody understood.
Pure functions of a ``Reading`` (parser.py decides which applies)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from voicegw.nlu.changes import ambiguous_items, item_names, named_as_target, refers_to_cart, split_replaced
from voicegw.nlu.evidence import MIN_ORDER_COVERAGE, exact
from voicegw.nlu.lines import build_line, quantity, segment_item
from voicegw.nlu.menu import Item, display_name
from voicegw.nlu.portions import split_portions
from voicegw.nlu.questions import offer_of
from voicegw.nlu.segments import Segment
from voicegw.nlu.types import Intent, IntentName, LineOption, OrderLine, Understanding

if TYPE_CHECKING:
    from voicegw.nlu.parser import Reading

COVERAGE_WEIGHT = 0.5
"""How much unexplained words lower an order's confidence: ``quality * (1 - w * (1 - coverage))``."""


def faq(r: Reading) -> Understanding:
    """The FAQ's answer; a question naming an action ("how do I cancel my order?") also offers it."""
    assert r.faq is not None
    return Understanding(intent=Intent(name=IntentName.FAQ, confidence=r.faq.score / 100),
                         candidates=(r.faq.faq_id,), offer=offer_of(r.acting) if r.asks else None)


def phrase_intent(name: IntentName, key: str) -> Callable[[Reading], Understanding]:
    def build(r: Reading) -> Understanding:
        return Understanding(intent=Intent(name=name, confidence=_phrase_confidence(r, key)))
    return build


def remove(r: Reading) -> Understanding:
    if r.doubtful:
        return _doubtful(r)
    lines = _cart_references(r.segments, r, with_defaults=False)
    key = "remove" if r.phrases.has("remove") else "cancel"
    said = min(1.0, _tagged_share(r) + r.phrases.coverage(key))
    confidence = round(_match_quality(r) * (0.7 + 0.3 * said) * _coverage_factor(r), 3)
    return Understanding(intent=Intent(name=IntentName.ORDER_REMOVE, confidence=confidence), lines=lines)


def add(r: Reading) -> Understanding:
    if r.doubtful:
        return _doubtful(r)
    lines: list[OrderLine] = []
    sold_out: list[Item] = []
    unclear: tuple[Segment, tuple[Item, ...]] | None = None
    amending: list[int] = []
    for seg in r.segments:
        if unclear is None and (choices := ambiguous_items(seg, r.ctx)):
            unclear = (seg, choices)
            continue
        item = segment_item(seg, r.ctx)
        if item.available:
            amend = refers_to_cart(seg, r.ctx, r.normalized.make_it)  # only what was said: the cart's line keeps the rest
            said = [build_line(part, item, r.ctx, with_defaults=not amend) for part in split_portions(seg)]
            amending += range(len(lines), len(lines) + len(said)) if amend else []
            lines += said
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
    # An amending line's item is in the cart with its required options; the dialogue asks if it is not.
    new = (line for i, line in enumerate(lines) if i not in amending)
    if (group := r.ctx.menu.first_missing(new)) is not None:
        return Understanding(intent=intent, lines=tuple(lines), reason="missing_option",
                             candidates=r.ctx.menu.value_names(group, r.ctx.language), missing_group=group)
    return Understanding(intent=intent, lines=tuple(lines), amending=tuple(amending))


def change(r: Reading) -> Understanding:
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


def too_many(r: Reading) -> Understanding:
    return Understanding(intent=Intent(name=IntentName.ORDER_ADD, confidence=_match_quality(r)), reason="too_many")


def set_quantity(r: Reading) -> Understanding:
    """"make it two", "두 개로 해 주세요": the line just ordered, in that quantity."""
    return Understanding(intent=Intent(name=IntentName.ORDER_CHANGE, confidence=_phrase_confidence(r, "change")),
                         held_quantity=r.said_quantity)


def remove_quantity(r: Reading) -> Understanding:
    """"한 잔 빼 주세요", "one less": fewer of the line just ordered."""
    confidence = _phrase_confidence(r, "remove" if r.phrases.has("remove") else "cancel")
    return Understanding(intent=Intent(name=IntentName.ORDER_REMOVE, confidence=confidence),
                         held_quantity=r.said_quantity)


def answer(r: Reading) -> Understanding:
    """Options alone ("라지요", "grapefruit please"): the answer to a question, or a change of the
    newest line; the dialogue knows which. The confidence is the share of content words
    explained: an unknown name beside the options ("a small mocca with almond milk") lowers it."""
    confidence = round(r.coverage, 3)
    return Understanding(intent=Intent(name=IntentName.ORDER_ADD, confidence=confidence), options=r.options,
                         every_line=r.every_line)


def unknown(r: Reading) -> Understanding:
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
