"""What a change or a short answer says: which lines are replaced, which options were named
without an item, which item names are ambiguous, whether an item is named as one in the cart
(refers_to_cart) or as what a line becomes (named_as_target), and whether a quantity is said to
replace the one ordered (setting_quantity). Pure."""

from __future__ import annotations

from voicegw.nlu.lines import LineContext, given_up
from voicegw.nlu.menu import Item, display_name
from voicegw.nlu.segments import Segment
from voicegw.nlu.tagger import Span
from voicegw.nlu.types import ANY_VALUE, LineOption




def split_replaced(
    segments: tuple[Segment, ...], ctx: LineContext, *, marked_only: bool = False
) -> tuple[tuple[Segment, ...], tuple[Segment, ...]]:
    """(replaced, new) segments of a change naming two or more items.

    The item marked as the one given up wins ("콜라 말고 사이다", "sprite instead of coke");
    otherwise (unless ``marked_only``) the first item named is the one changed ("콜라는 제로 콜라로
    바꿔", "change the coke to a sprite"). A single segment replaces nothing: it is the new form
    of a line in the cart.
    """
    if len(segments) < 2:  # "감자튀김 말고 코울슬로로 바꿔" gives up the one item it names
        return (segments, ()) if segments and _marked_replaced(segments[0], ctx) else ((), segments)
    marked = tuple(seg for seg in segments if _marked_replaced(seg, ctx))
    if not marked and _topic_then_choice(segments, ctx):
        marked = segments[:1]  # 콜라는 사이다로 (해 주세요)
    if marked and len(marked) < len(segments):
        return marked, tuple(seg for seg in segments if seg not in marked)
    return ((), segments) if marked_only else (segments[:1], segments[1:])


def _marked_replaced(seg: Segment, ctx: LineContext) -> bool:
    tokens, rules = ctx.tokens, ctx.rules
    after = tokens[seg.item.end].text if seg.item.end < len(tokens) else ""
    before = tokens[seg.item.start - 1].text if seg.item.start > 0 else ""
    return after in rules.replaced_after or before in rules.replaced_before


def _topic_then_choice(segments: tuple[Segment, ...], ctx: LineContext) -> bool:
    """Two items, the first the topic (은/는) and the second the choice (로/으로)."""
    first, second = segments[0], segments[1]
    return (ctx.tokens[first.item.end - 1].particle in ctx.rules.topic_particles
            and ctx.tokens[second.item.end - 1].particle in ctx.rules.attach_back_particles)


def bare_options(spans: tuple[Span, ...], segments: tuple[Segment, ...], ctx: LineContext,
                 swapping: bool = False) -> tuple[LineOption, ...]:
    """Options named outside every item's segment, in order: every group a word can mean ("라지":
    a drink's size or a set's), the dialogue keeping those the line it changes takes. A group
    word with an amount ("얼음은 빼 주세요") is its default value in that amount, or, with no default,
    whichever value the line has (ANY_VALUE: "extra cheese on that"). A span naming
    again a group already named is a recitation of the menu, not an answer (바닐라 시럽 없이,
    바닐라 시럽): none at all; unless the utterance swaps ("swap the cheddar for swiss"), where
    the one named last is the choice."""
    owned = {id(s) for seg in segments for s in seg.spans}
    loose = [s for s in spans if id(s) not in owned]
    found: dict[str, LineOption] = {}
    for position, span in enumerate(loose):
        if given_up(span, ctx):
            continue  # "oat milk instead of the juice" chooses oat milk
        if span.kind == "option":
            amount = _amount_near(loose, position, ctx.rules.quantity_follows_item)
            options = [LineOption(group=t.group, value=t.id, amount=amount if amount and ctx.menu.group(t.group).amounts
                                  else "regular") for t in span.targets_of("option")]
        elif span.kind == "group" and (amount := _amount_near(loose, position, ctx.rules.quantity_follows_item)) is not None:
            options = [LineOption(group=t.id, value=ctx.menu.group(t.id).default or ANY_VALUE, amount=amount)
                       for t in span.targets_of("group") if ctx.menu.group(t.id).amounts]
        else:
            continue
        if any(o.group in found for o in options) and not swapping:
            return ()
        found.update({o.group: o for o in options})
    return tuple(found.values())


def _amount_near(spans: list[Span], position: int, amount_after: bool) -> str | None:
    """The amount said with the option: after it in Korean (얼음 빼고), before it in English (hold
    the onions, extra cheese)."""
    near = spans[position + 1:position + 3] if amount_after else spans[max(0, position - 2):position][::-1]
    for other in near:
        if other.kind == "amount":
            return other.targets_of("amount")[0].id
    return None


def ambiguous_items(seg: Segment, ctx: LineContext) -> tuple[Item, ...]:
    """The items an alias shared by several of them could mean (케이크: cheesecake or tiramisu);
    empty when the name is clear."""
    ids = list(dict.fromkeys(t.id for t in seg.item.targets_of("item")))
    if len(ids) < 2:
        return ()
    return tuple(ctx.menu.item(i) for i in ids)


def item_names(items: tuple[Item, ...], ctx: LineContext) -> tuple[str, ...]:
    return tuple(display_name(i.names, ctx.language, ctx.menu.language) for i in items)


def setting_quantity(spans: tuple[Span, ...] | list[Span], ctx: LineContext) -> bool:
    """A quantity whose number or counter carries a setting particle (두 개로, 한 잔만, 두 병만:
    the counter may also name an option, the bottle)."""
    numbers = [s.end for s in spans if s.kind == "number"]
    tokens = ctx.tokens
    ends = [end - 1 for end in numbers] + [end for end in numbers if end < len(tokens) and tokens[end].kind == "counter"]
    return any(tokens[i].particle in ctx.rules.setting_particles for i in ends)


def refers_to_cart(seg: Segment, ctx: LineContext, make_it: bool) -> bool:
    """The item is named as something already there ("베이글은 데워서 주세요", "아메리카노를 라지로",
    "honey in the tea") or asked to be made some way ("라떼 차가운 걸로 해 주세요"): options for
    it, no quantity; or named with a quantity that replaces the one ordered ("맥주는 한 잔만 할게요",
    "짜장면 세 개로 해 주세요"). The dialogue amends the cart's line when it has one, else adds it."""
    if ctx.tokens[seg.item.end - 1].particle in ctx.rules.amending_particles and any(s.kind == "option" for s in seg.spans):
        return True  # 라면에 계란도 하나: a number there counts the egg, not the ramen
    if any(s.kind == "number" for s in seg.spans):
        return setting_quantity(seg.spans, ctx) or (make_it and _named_as_there(seg, ctx))
    if not any(s.kind == "option" for s in seg.spans):
        return False
    return make_it or _named_as_there(seg, ctx)


def named_as_target(seg: Segment, ctx: LineContext) -> bool:
    """The item is what something becomes (제로콜라로, to a sprite), not the thing changed."""
    name = ctx.tokens[seg.item.end - 1]
    before = ctx.tokens[seg.item.start - 1].text if seg.item.start > 0 else ""
    return name.particle in ctx.rules.attach_back_particles or before in ctx.rules.target_words


def _named_as_there(seg: Segment, ctx: LineContext) -> bool:
    """The item is the topic, object or place (라떼는, 라떼를, 라면에) or follows an amending word,
    past a pointing word (in the tea, on those nachos)."""
    name = ctx.tokens[seg.item.end - 1]
    before = seg.item.start - 1
    while before >= 0 and ctx.tokens[before].text in ctx.rules.demonstratives:
        before -= 1
    named = ctx.rules.topic_particles | ctx.rules.object_particles | ctx.rules.amending_particles
    return name.particle in named or (before >= 0 and ctx.tokens[before].text in ctx.rules.amending_words)
