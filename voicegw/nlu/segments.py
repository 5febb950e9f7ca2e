"""Tagged spans -> one segment per ordered item, holding the spans that describe it."""

from __future__ import annotations

from dataclasses import dataclass, replace

from voicegw.nlu.lexicon import LanguageRules
from voicegw.nlu.matcher import Target, match_key
from voicegw.nlu.menu import Item, Menu
from voicegw.nlu.normalize import Token, clean
from voicegw.nlu.tagger import Span


@dataclass(frozen=True)
class Segment:
    """An item mention and the option, amount and number spans that belong to it."""

    item: Span
    spans: tuple[Span, ...]
    """The other spans of this segment, in utterance order (the item span excluded)."""

    @property
    def start(self) -> int:
        return min(s.start for s in (self.item, *self.spans))

    @property
    def end(self) -> int:
        return max(s.end for s in (self.item, *self.spans))


def segment(spans: list[Span], tokens: tuple[Token, ...], menu: Menu, rules: LanguageRules) -> list[Segment]:
    """Split ``spans`` at items; the words between two items go to one side by language rules."""
    spans = absorb_options(imply_items(drop_carriers(one_name(spans), menu), menu, tokens), tokens, menu, rules)
    anchors = [i for i, s in enumerate(spans) if s.kind == "item"]
    if not anchors:
        return []
    owner = [0] * len(spans)
    for n, (left, right) in enumerate(zip(anchors, anchors[1:])):
        cut = _back_to_taker(spans, left, right, _cut(spans, left, right, tokens, rules), menu)
        for i in range(left + 1, right):
            owner[i] = n if i < cut else n + 1
    for i in range(anchors[-1] + 1, len(spans)):
        owner[i] = len(anchors) - 1
    others = [(i, s) for i, s in enumerate(spans) if s.kind != "item"]
    return [Segment(spans[a], tuple(s for i, s in others if owner[i] == n)) for n, a in enumerate(anchors)]


def one_name(spans: list[Span]) -> list[Span]:
    """Two item spans side by side naming the same item are one name said in pieces ("clasic ahi
    bowl": a slip of its first word and the rest of it), not two of it."""
    out: list[Span] = []
    for span in spans:
        last = out[-1] if out else None
        if (last is not None and last.kind == span.kind == "item" and last.end == span.start
                and set(last.targets) == set(span.targets)):
            out[-1] = replace(last, end=span.end, score=max(last.score, span.score))
            continue
        out.append(span)
    return out


def drop_carriers(spans: list[Span], menu: Menu) -> list[Span]:
    """An item named right after an option of the item being described, when the option's group is
    named after that item, says what the option is, not a second item: "tuna salad on a whole
    wheat bagel" (the group is the kind of bagel) is one sandwich."""
    out: list[Span] = []
    describing: set[str] = set()
    for position, span in enumerate(spans):
        if span.kind == "boundary":
            describing = set()
        elif span.kind == "item":
            item = menu.item(span.targets_of("item")[0].id)
            before = spans[position - 1] if position > 0 else None
            groups = before.option_groups & describing if before is not None else set()
            if any(_group_holds_name(menu, group, item) for group in groups):
                out.append(replace(span, kind="word", targets=()))
                continue
            describing = set(item.option_groups)
        out.append(span)
    return out


def _group_holds_name(menu: Menu, group_id: str, item: Item) -> bool:
    group_keys = [match_key(clean(a).split()) for names in menu.group(group_id).names.values() for a in names]
    return any(_names_inside(item, key) for key in group_keys)


def imply_items(spans: list[Span], menu: Menu, tokens: tuple[Token, ...]) -> list[Span]:
    """Between boundaries, an option only one item can take names that item (a green tea), unless
    an item said just before or anywhere after takes it."""
    out: list[Span] = []
    chunk: list[Span] = []
    for position, span in enumerate([*spans, None]):
        if span is not None and span.kind != "boundary":
            chunk.append(span)
            continue
        earlier = [s for s in out if s.kind == "item"]
        taken = set(menu.item(earlier[-1].targets_of("item")[0].id).option_groups) if earlier else set()
        # an item said later can take it too ("a twenty ounce, hot cocoa": a pause, not two drinks)
        taken |= {g for s in spans[position:] if s.kind == "item" for g in menu.item(s.targets_of("item")[0].id).option_groups}
        out += _with_implied_item(chunk, menu, taken, tokens)
        chunk = []
        if span is not None:
            out.append(span)
    return out


def _with_implied_item(chunk: list[Span], menu: Menu, taken: set[str], tokens: tuple[Token, ...]) -> list[Span]:
    """Only when the option's (or group's) own name contains the item's name (green tea > tea,
    everything bagel > bagel, 순대 내장 > 순대), or its group is named by the item's name (tea_kind is 'tea': an earl grey, a
    chamomile are teas), and the item said just before cannot take it ("a large hot tea, english
    breakfast" is one tea). Of several items taking the option, the one its name contains."""
    if any(s.kind == "item" for s in chunk):
        return chunk
    for position, span in enumerate(chunk):
        for target in span.targets:
            if target.kind not in ("option", "group"):
                continue
            group = target.group if target.kind == "option" else target.id
            if group in taken:
                continue
            owners = [item for item in menu.items if group in item.option_groups]
            named = [item for item in owners if _names_inside(item, span.alias)]
            if target.kind == "option" and len(owners) == 1 and (
                    _group_named_as(menu, group, owners[0]) or _orders_it(chunk, position, tokens)):
                named = owners
            if len(named) == 1:
                implied = Span(span.start, span.start, "item", (Target("item", named[0].id),), span.score)
                return [*chunk[:position], implied, *chunk[position:]]
    return chunk


def _orders_it(chunk: list[Span], position: int, tokens: tuple[Token, ...]) -> bool:
    """The option is said as a thing ordered, not a change: first in its chunk after a quantity or
    an article ("a full stack with blueberries", "two short stacks"), not "hold the onions"."""
    before = chunk[:position]
    if any(s.kind not in ("number", "counter") for s in before):
        return False
    return bool(before) or tokens[chunk[position].start].after_stopword


def _group_named_as(menu: Menu, group_id: str, item: Item) -> bool:
    group_keys = {match_key(clean(a).split()) for names in menu.group(group_id).names.values() for a in names}
    item_keys = {match_key(clean(a).split()) for names in item.names.values() for a in names}
    return bool(group_keys & item_keys)


def _names_inside(item: Item, alias_key: str) -> bool:
    keys = (match_key(clean(alias).split()) for aliases in item.names.values() for alias in aliases)
    return any(key and key in alias_key for key in keys)


def absorb_options(spans: list[Span], tokens: tuple[Token, ...], menu: Menu, rules: LanguageRules) -> list[Span]:
    """A later item that is also an option of the item before it becomes that option
    (불고기버거 세트 콜라 대신 사이다로, a combo with cheese sticks and a coke zero).

    A boundary closes the item's options unless the list of its options goes on ("with fries
    and a coke"), a tying word follows it ("combo, with a sprite": a pause, not a new line) or the
    next words name one of its groups or a portion of it (…, 사이드는 치즈스틱으로; …, 하나는 사이다로). A quantity closes them too, unless a particle ties the item back
    (세트 하나 제로콜라로) or it is the one given up (세트 하나 콜라 대신 사이다로).
    """
    out: list[Span] = []
    groups: set[str] = set()
    open_ = after_number = absorbed_last = False
    for position, span in enumerate(spans):
        if span.kind == "boundary":
            open_ = absorbed_last or (open_ and ties_back(spans, position + 1, tokens, rules))
        elif span.kind == "group" and any(t.id in groups for t in span.targets_of("group")):
            open_, after_number = True, False
        elif span.kind == "number":
            after_number = True
            open_ = open_ or _names_portion(span, tokens, rules)
        elif span.kind == "item":
            tied = open_ and (not after_number or tokens[span.end - 1].particle in rules.attach_back_particles
                              or _given_up(span, tokens, rules))
            options = tuple(t for t in span.targets_of("option") if t.group in groups) if tied else ()
            absorbed_last = bool(options)
            if options:
                out.append(replace(span, kind="option", targets=options))
                continue
            groups = _option_groups(span, spans[position + 1:], tokens, menu, rules)
            open_, after_number = True, False
        out.append(span)
    return out


def _option_groups(item: Span, after: list[Span], tokens: tuple[Token, ...], menu: Menu, rules: LanguageRules) -> set[str]:
    """The item's option groups, and its set's when a set counter follows (불고기버거 두 세트)."""
    found = menu.item(item.targets_of("item")[0].id)
    groups = set(found.option_groups)
    for span in after:
        if span.kind in ("item", "boundary"):
            break
        if span.kind == "counter" and tokens[span.start].text in rules.set_counters:
            groups |= {g for i in menu.items if i.base_item == found.id for g in i.option_groups}
    return groups


def _names_portion(number: Span, tokens: tuple[Token, ...], rules: LanguageRules) -> bool:
    """하나는, 두 잔은: a number marked as the topic picks out some of the item before it."""
    ends = (tokens[number.end - 1], tokens[number.end] if number.end < len(tokens) else None)
    return any(t is not None and t.particle in rules.topic_particles for t in ends)


def _given_up(span: Span, tokens: tuple[Token, ...], rules: LanguageRules) -> bool:
    after = tokens[span.end].text if span.end < len(tokens) else ""
    before = tokens[span.start - 1].text if span.start > 0 else ""
    return after in rules.replaced_after or before in rules.replaced_before


def _cut(spans: list[Span], left: int, right: int, tokens: tuple[Token, ...], rules: LanguageRules) -> int:
    """Index of the first span between anchors ``left`` and ``right`` that belongs to ``right``."""
    gap = range(left + 1, right)
    for i in gap:
        if spans[i].kind == "boundary" and not ties_back(spans, i + 1, tokens, rules):
            return i + 1
    for i in gap:
        if spans[i].kind == "number":
            if not rules.quantity_follows_item:
                return i
            follows = i + 1 < right and spans[i + 1].kind == "counter"
            return i + 2 if follows else i + 1
    return _cut_by_attachment(spans, gap, tokens, rules)


def ties_back(spans: list[Span], i: int, tokens: tuple[Token, ...], rules: LanguageRules) -> bool:
    """Span ``i`` is a word that ties what follows to the item before ("a mocha, with almond milk"):
    the boundary before it is a pause in the item's description, not the start of a new line."""
    return i < len(spans) and spans[i].kind == "word" and tokens[spans[i].start].text in rules.attach_back_words


def _back_to_taker(spans: list[Span], left: int, right: int, cut: int, menu: Menu) -> int:
    """Options after the cut that the item before takes and the item after does not stay with the
    item before: "a latte, oat milk, and a muffin", "a latte, iced, and a bagel". The run ends at
    the next item's quantity or name; an option either item could take leaves the cut alone."""
    takes = [set(menu.item(spans[i].targets_of("item")[0].id).option_groups) for i in (left, right)]
    moved = cut
    for i in range(cut, right):
        span = spans[i]
        if span.kind in ("number", "counter"):
            break
        groups = span.option_groups
        if groups:
            if not (groups <= takes[0]) or groups & takes[1]:
                return cut
            moved = i + 1  # an amount just before the option ("lots of") moves with it
    return moved


def _cut_by_attachment(spans: list[Span], gap: range, tokens: tuple[Token, ...], rules: LanguageRules) -> int:
    """Without a boundary or a number: options go forward unless a particle or word ties them back."""
    cut = gap.start
    tied = False
    for i in gap:
        token = tokens[spans[i].end - 1]
        if tokens[spans[i].start].text in rules.attach_back_words:
            tied = True
        if tied or token.particle in rules.attach_back_particles:
            cut = i + 1
    return cut
