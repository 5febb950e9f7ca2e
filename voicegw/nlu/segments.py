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
    spans = absorb_options(imply_items(spans, menu), tokens, menu, rules)
    anchors = [i for i, s in enumerate(spans) if s.kind == "item"]
    if not anchors:
        return []
    owner = [0] * len(spans)
    for n, (left, right) in enumerate(zip(anchors, anchors[1:])):
        cut = _cut(spans, left, right, tokens, rules)
        for i in range(left + 1, right):
            owner[i] = n if i < cut else n + 1
    for i in range(anchors[-1] + 1, len(spans)):
        owner[i] = len(anchors) - 1
    others = [(i, s) for i, s in enumerate(spans) if s.kind != "item"]
    return [Segment(spans[a], tuple(s for i, s in others if owner[i] == n)) for n, a in enumerate(anchors)]


def imply_items(spans: list[Span], menu: Menu) -> list[Span]:
    """Between boundaries, an option only one item can take names that item (a green tea)."""
    out: list[Span] = []
    chunk: list[Span] = []
    for span in [*spans, None]:
        if span is not None and span.kind != "boundary":
            chunk.append(span)
            continue
        out += _with_implied_item(chunk, menu)
        chunk = []
        if span is not None:
            out.append(span)
    return out


def _with_implied_item(chunk: list[Span], menu: Menu) -> list[Span]:
    """Only when the option's own name contains the item's name (green tea > tea), or its group is
    named by the item's name (tea_kind is 'tea': an earl grey, a chamomile are teas)."""
    if any(s.kind == "item" for s in chunk):
        return chunk
    for position, span in enumerate(chunk):
        for target in span.targets_of("option"):
            owners = [item for item in menu.items if target.group in item.option_groups]
            if len(owners) == 1 and (_names_inside(owners[0], span.alias)
                                     or _group_named_as(menu, target.group, owners[0])):
                implied = Span(span.start, span.start, "item", (Target("item", owners[0].id),), span.score)
                return [*chunk[:position], implied, *chunk[position:]]
    return chunk


def _group_named_as(menu: Menu, group_id: str, item: Item) -> bool:
    group_keys = {match_key(clean(a).split()) for names in menu.group(group_id).names.values() for a in names}
    item_keys = {match_key(clean(a).split()) for names in item.names.values() for a in names}
    return bool(group_keys & item_keys)


def _names_inside(item: Item, alias_key: str) -> bool:
    keys = (match_key(clean(alias).split()) for aliases in item.names.values() for alias in aliases)
    return any(key and key in alias_key for key in keys)


def absorb_options(spans: list[Span], tokens: tuple[Token, ...], menu: Menu, rules: LanguageRules) -> list[Span]:
    """A later item that is also an option of the item before it becomes that option
    (불고기버거 세트 콜라 대신 사이다로) unless a boundary, or a quantity without a tying
    particle (세트 하나 제로콜라로 still ties), separates them."""
    out: list[Span] = []
    groups: set[str] = set()
    after_number = False
    for span in spans:
        if span.kind == "boundary":
            groups = set()
        after_number = after_number or span.kind == "number"
        if span.kind == "item":
            tied = not after_number or tokens[span.end - 1].particle in rules.attach_back_particles
            options = tuple(t for t in span.targets_of("option") if t.group in groups) if tied else ()
            if options:
                out.append(replace(span, kind="option", targets=options))
                continue
            groups = set(menu.item(span.targets_of("item")[0].id).option_groups)
            after_number = False
        out.append(span)
    return out


def _cut(spans: list[Span], left: int, right: int, tokens: tuple[Token, ...], rules: LanguageRules) -> int:
    """Index of the first span between anchors ``left`` and ``right`` that belongs to ``right``."""
    gap = range(left + 1, right)
    for i in gap:
        if spans[i].kind == "boundary":
            return i + 1
    for i in gap:
        if spans[i].kind == "number":
            if not rules.quantity_follows_item:
                return i
            follows = i + 1 < right and spans[i + 1].kind == "counter"
            return i + 2 if follows else i + 1
    return _cut_by_attachment(spans, gap, tokens, rules)


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
