"""Words read by their place in an English order, after tagging: quantity homophones ("free
croissants"), a misheard size before an item ("for garage coffee"), the menu's misheard option
names ("a nice latte", "with oatmeal"), and an item name that sits where an option goes ("with
lots of mocha milk"). Languages whose quantity follows the item (Korean) have only the menu's
misheard names."""

from __future__ import annotations

from dataclasses import replace

from voicegw.nlu.lexicon import LanguageRules
from voicegw.nlu.matcher import AliasIndex, match_key
from voicegw.nlu.menu import Menu
from voicegw.nlu.normalize import Token
from voicegw.nlu.tagger import Span


def fill_slots(spans: list[Span], tokens: tuple[Token, ...], menu: Menu, index: AliasIndex,
               rules: LanguageRules) -> list[Span]:
    """``spans`` with slot words re-read; pure, the input list is not changed."""
    spans = _misheard_options(spans, tokens, menu, index, rules)
    if rules.quantity_follows_item:
        return spans
    spans = _sizes_by_rhyme(spans, tokens, menu, index, rules)
    spans = _misheard_units(spans, tokens, index, rules)
    spans = _homophone_quantities(spans, tokens, menu, rules)
    return _items_in_option_slots(spans, tokens, menu, rules)


def _name_word(span: Span | None, menu: Menu) -> bool:
    """An item, or a value said as part of its name (large, iced): what follows a quantity."""
    if span is None:
        return False
    return span.kind == "item" or (
        span.kind == "option" and any(menu.group(t.group).in_name for t in span.targets_of("option")))


def _before_name(spans: list[Span], i: int, menu: Menu) -> bool:
    """Span ``i`` starts a name: a name word, or option words that lead to an item (toasted bagels)."""
    if _name_word(_at(spans, i), menu):
        return True
    while i < len(spans) and spans[i].kind == "option":
        i += 1
    return i < len(spans) and spans[i].kind == "item" and i > 0 and spans[i - 1].kind == "option"


def _at(spans: list[Span], i: int) -> Span | None:
    return spans[i] if 0 <= i < len(spans) else None


def _sizes_by_rhyme(spans: list[Span], tokens: tuple[Token, ...], menu: Menu, index: AliasIndex,
                    rules: LanguageRules) -> list[Span]:
    """An unknown word right before an item, where only a quantity, a clause start or another name
    word can come before it, is a size or temperature if it rhymes with exactly one (garage ~ large)."""
    homophones = dict(rules.number_homophones)
    out = list(spans)
    for i, span in enumerate(out):
        word = tokens[span.start].text
        before = _at(out, i - 1)
        leads = before is None or before.kind in ("boundary", "number") or _name_word(before, menu) or (
            before.kind == "word" and tokens[before.start].text in homophones)
        if span.kind != "word" or not word.isalpha() or not leads or not _name_word(_at(out, i + 1), menu):
            continue
        if word in rules.function_words or word in homophones:
            continue
        match = index.rhymes_with(word, lambda t: t.kind == "option" and menu.group(t.group).in_name)
        if match is not None:
            out[i] = replace(span, kind="option", targets=match.targets, score=match.score, alias=match.alias)
    return out


def _misheard_units(spans: list[Span], tokens: tuple[Token, ...], index: AliasIndex,
                    rules: LanguageRules) -> list[Span]:
    """A number and a word nothing explains, before an option or an item, is a size when the menu
    has that number in a unit ("20 Ls", "eight-down", "12 ones" for 20, 8 and 12 ounce): speech
    recognition mishears the unit far more often than anyone orders 20 coffees that way."""
    if not rules.ounce_words:
        return spans
    out: list[Span] = []
    i = 0
    while i < len(spans):
        span, word, after = spans[i], _at(spans, i + 1), _next_named(spans, i + 2)
        if (span.kind == "number" and span.value and word is not None and word.kind == "word"
                and tokens[word.start].text.isalpha() and after is not None and after.kind in ("option", "item")):
            match = index.lookup(match_key([f"{span.value}oz"]), exact_only=True)  # the form _merge_units writes
            if match is not None and any(t.kind == "option" for t in match.targets):
                options = tuple(t for t in match.targets if t.kind == "option")
                out.append(Span(span.start, word.end, "option", options, match.score, alias=match.alias))
                i += 2
                continue
        out.append(span)
        i += 1
    return out


def _next_named(spans: list[Span], i: int) -> Span | None:
    """The first span from ``i`` on that is not a boundary."""
    while i < len(spans) and spans[i].kind == "boundary":
        i += 1
    return _at(spans, i)


def _homophone_quantities(spans: list[Span], tokens: tuple[Token, ...], menu: Menu,
                          rules: LanguageRules) -> list[Span]:
    """free/for/to/won -> 3/4/2/1 only in quantity position: first in its clause and right before a
    name (item, size, temperature, or options leading to an item) with no article between
    ('for cold brew' is 4; 'coffee for my friend', 'and for the latte', 'go to the store' are not)."""
    homophones = dict(rules.number_homophones)
    out = list(spans)
    for i, span in enumerate(out):
        word = tokens[span.start].text
        after = _at(out, i + 1)
        before = _at(out, i - 1)
        first_in_clause = before is None or before.kind == "boundary"
        if span.kind != "word" or word not in homophones or not first_in_clause:
            continue
        if _before_name(out, i + 1, menu) and after is not None and not tokens[after.start].after_stopword:
            out[i] = Span(span.start, span.end, "number", value=homophones[word])
    return out


def _misheard_options(spans: list[Span], tokens: tuple[Token, ...], menu: Menu, index: AliasIndex,
                      rules: LanguageRules) -> list[Span]:
    """A word the menu lists as misheard is the option name it stands for when that is an option
    of the item of its clause and the clause names no other value of the option's group ("a nice
    latte" is an iced latte; "a nice hot latte" and "that's nice, a latte" stay as they are)."""
    slips = menu.misheard.get(rules.language, {})  # type: ignore[call-overload]
    if not slips:
        return spans
    out = list(spans)
    for i, span in enumerate(out):
        word = tokens[span.start].text
        if span.kind != "word" or word not in slips:
            continue
        clause = _clause(out, i)
        items = [s for s in clause if s.kind == "item"]
        match = index.lookup(match_key(slips[word].split()), exact_only=True)
        if len(items) != 1 or match is None:
            continue
        groups = set(menu.item(items[0].targets_of("item")[0].id).option_groups)
        said = {t.group for s in clause for t in s.targets_of("option")}
        targets = tuple(t for t in match.targets if t.kind == "option" and t.group in groups and t.group not in said)
        if targets:
            out[i] = replace(span, kind="option", targets=targets, score=match.score, alias=match.alias)
    return out


def _clause(spans: list[Span], i: int) -> list[Span]:
    """The spans between the boundaries around span ``i``."""
    start, end = i, i
    while start > 0 and spans[start - 1].kind != "boundary":
        start -= 1
    while end + 1 < len(spans) and spans[end + 1].kind != "boundary":
        end += 1
    return spans[start:end + 1]


def _items_in_option_slots(spans: list[Span], tokens: tuple[Token, ...], menu: Menu,
                           rules: LanguageRules) -> list[Span]:
    """In 'mocha with lots of mocha milk' the second 'mocha' fills the milk slot (a misheard value):
    an item after a tying word (with) in the same clause, directly followed by an option or group
    word of the clause's item, is not a new item."""
    out = list(spans)
    groups: set[str] = set()
    tied = False
    for i, span in enumerate(out):
        if span.kind == "boundary":
            groups, tied = set(), False
        elif span.kind == "word" and tokens[span.start].text in rules.attach_back_words:
            tied = bool(groups)
        elif span.kind == "item":
            after = _at(out, i + 1)
            if tied and after is not None and after.option_groups & groups:
                out[i] = replace(span, kind="word", targets=(), alias="")
                continue
            groups, tied = set(menu.item(span.targets_of("item")[0].id).option_groups), False
    return out


__all__ = ["fill_slots"]
