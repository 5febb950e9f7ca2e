"""One segment -> one order line: item, quantity, options (said, then defaults), price, name."""

from __future__ import annotations

from dataclasses import dataclass

from voicegw.nlu.lexicon import LanguageRules
from voicegw.nlu.matcher import AliasIndex, match_key
from voicegw.nlu.menu import Item, Menu, display_name
from voicegw.nlu.normalize import Token
from voicegw.nlu.segments import Segment
from voicegw.nlu.tagger import Span
from voicegw.nlu.types import LineOption, OrderLine

AMOUNT_REACH_TOKENS = 2
"""An amount word describes an option at most this many words away (오트 우유 많이, extra oat milk)."""


@dataclass(frozen=True)
class LineContext:
    menu: Menu
    tokens: tuple[Token, ...]
    rules: LanguageRules
    language: str
    index: AliasIndex | None = None
    """The menu's names, to read a span again for the item it describes (_refit)."""


def segment_item(seg: Segment, ctx: LineContext) -> Item:
    """The item a segment orders; a set counter turns a single into its set (불고기버거 두 세트)."""
    item = ctx.menu.item(seg.item.targets_of("item")[0].id)
    counters = {ctx.tokens[s.start].text for s in seg.spans if s.kind == "counter"}
    if counters & ctx.rules.set_counters:
        for candidate in ctx.menu.items:
            if candidate.base_item == item.id:
                return candidate
    return item


def build_line(seg: Segment, item: Item, ctx: LineContext, with_defaults: bool = True) -> OrderLine:
    said = said_options(seg, item, ctx)
    options = {o.group: o for o in ctx.menu.default_options(item)} if with_defaults else {}
    options.update(said)
    ordered = tuple(options[g] for g in item.option_groups if g in options)
    return OrderLine(
        item_id=item.id,
        name=line_name(item, said, ctx),
        quantity=quantity(seg, ctx),
        options=ordered,
        unit_price=ctx.menu.unit_price(item, ordered),
        origin=" ".join(t.surface for t in ctx.tokens[seg.start:seg.end] if t.kind != "boundary"),
        quantity_said=any(span.kind == "number" and span.value for span in seg.spans),
    )


def quantity(seg: Segment, ctx: LineContext) -> int:
    """The first number said for this item (homophones in quantity position are numbers by now,
    slots.py); else 1."""
    for span in seg.spans:
        if span.kind == "number" and span.value:
            return span.value
    return 1


def said_options(seg: Segment, item: Item, ctx: LineContext) -> dict[str, LineOption]:
    """Options named in the segment, later mentions winning, replaced ones (콜라 대신) dropped."""
    chosen: dict[str, LineOption] = {}
    amounts = assign_amounts(seg, ctx)
    for span in seg.spans:
        if span.kind not in ("option", "group") or given_up(span, ctx):
            continue
        picked = _pick_value(span, item, ctx.menu, taken=set(chosen), amount=span.start in amounts) or _refit(span, item, ctx)
        if picked is None:
            continue
        group_id, value_id = picked
        amount = amounts.get(span.start, "regular") if ctx.menu.group(group_id).amounts else "regular"
        if span.kind == "group" and amount == "regular" and ctx.menu.default_value(item, group_id) is not None:
            continue  # a bare group word (시럽) chooses nothing
        chosen[group_id] = LineOption(group=group_id, value=value_id, amount=amount)
    return chosen


def _refit(span: Span, item: Item, ctx: LineContext) -> tuple[str, str] | None:
    """A span naming an option the item does not take, read again for one it does: "a tub of
    scallion cream cheese" is the tub's scallion flavour, not the bagel spread of that name."""
    if ctx.index is None or span.kind != "option":
        return None
    words = [t.text for t in ctx.tokens[span.start:span.end]]
    for size in range(len(words) - 1, 0, -1):
        for start in range(len(words) - size + 1):
            found = ctx.index.lookup(match_key(words[start:start + size]), exact_only=True)
            fitting = [t for t in (found.targets if found else ()) if t.kind == "option" and t.group in item.option_groups]
            if fitting:
                return fitting[0].group, fitting[0].id
    return None


def line_name(item: Item, said: dict[str, LineOption], ctx: LineContext) -> str:
    """Display name with said size/temperature first: 아이스 아메리카노, large iced latte."""
    words = []
    for group in ctx.menu.option_groups:
        if group.in_name and group.id in said:
            value = group.value(said[group.id].value)
            words.append(display_name(value.names, ctx.language, ctx.menu.language))
    words.append(display_name(item.names, ctx.language, ctx.menu.language))
    return " ".join(words)


def _pick_value(span: Span, item: Item, menu: Menu, taken: set[str] = frozenset(),  # type: ignore[assignment]
                amount: bool = False) -> tuple[str, str] | None:
    """The group and value a span names for ``item``. A name several of its groups share ("onion":
    a kind of bagel and the onions on it) goes to a group not chosen yet in the line, and with an
    amount word ("extra onions") to a group that takes amounts."""
    fitting = [t for t in span.targets if t.kind == "option" and t.group in item.option_groups]
    fitting.sort(key=lambda t: (t.group in taken, amount and not menu.group(t.group).amounts))
    if fitting:
        return fitting[0].group, fitting[0].id
    for target in span.targets_of("group"):
        if target.id in item.option_groups:
            group = menu.group(target.id)
            if (default := menu.default_value(item, target.id)) is not None:
                return target.id, default
            if len(group.values) == 1:  # an add-on named (계란 추가): its one value
                return target.id, group.values[0].id
    return None


def assign_amounts(seg: Segment, ctx: LineContext) -> dict[int, str]:
    """Each amount word goes to its nearest option word (start -> level); on a tie, to the side
    the language puts it: after the option in Korean (시럽 많이), before it in English (extra shot)."""
    options = [s for s in seg.spans if s.kind in ("option", "group")]
    assigned: dict[int, str] = {}
    for amount in (s for s in seg.spans if s.kind == "amount"):
        ranked = sorted((_distance(amount, option, ctx.rules.quantity_follows_item), option.start)
                        for option in options)
        if ranked and ranked[0][0][0] <= AMOUNT_REACH_TOKENS:
            assigned[ranked[0][1]] = amount.targets_of("amount")[0].id
    return assigned


def _distance(amount: Span, option: Span, amount_after: bool) -> tuple[int, int]:
    after = amount.start >= option.end
    gap = amount.start - option.end if after else option.start - amount.end
    return gap, 0 if after == amount_after else 1


def given_up(span: Span, ctx: LineContext) -> bool:
    """The option is named as the one given up (콜라 대신, instead of the juice)."""
    after = ctx.tokens[span.end].text if span.end < len(ctx.tokens) else ""
    before = ctx.tokens[span.start - 1].text if span.start > 0 else ""
    return after in ctx.rules.replaced_after or before in ctx.rules.replaced_before
