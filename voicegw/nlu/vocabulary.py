"""Menu words for ASR biasing: hotwords, a sample sentence for Whisper's initial_prompt, and the
words a menu-grammar decoding pass may write."""

from __future__ import annotations

import re
from collections.abc import Iterator

from voicegw.nlu.counting import item_counters
from voicegw.nlu.menu import Item, Menu, OptionGroup, display_name
from voicegw.nlu.packs import LANGUAGES, pack

_WORD = re.compile(r"[^\W_]+(?:['-][^\W_]+)*")
#: Quantities and cup sizes a customer may say in digits without the menu spelling them.
_NUMERALS = tuple(str(n) for n in range(1, 21))


def menu_vocabulary(menu: Menu, language: str) -> list[str]:
    """Display names of items, option values and option groups in ``language``, first seen first."""
    words: list[str] = []
    for item in menu.items:
        words.append(display_name(item.names, language, menu.language))
    for group in menu.option_groups:
        if group.names:
            words.append(display_name(group.names, language, menu.language))
        words += [display_name(v.names, language, menu.language) for v in group.values]
    return list(dict.fromkeys(words))


def grammar_words(menu: Menu, language: str) -> tuple[str, ...]:
    """Every word a customer needs to order from ``menu`` in ``language``: the words of every
    name and alias of its items, option groups and values, and the language's own words (its
    pack: how people order, count, ask and change their minds, and the endings it writes after an
    apostrophe), with numerals. The store's words come from its menu file alone."""
    names = [*(item.names for item in menu.items), *(group.names for group in menu.option_groups),
             *(value.names for group in menu.option_groups for value in group.values)]
    words = [word for found in names for name in found.get(language, []) or [] for word in _words(name)]
    if language in LANGUAGES:
        words += _pack_words(language)
    return tuple(dict.fromkeys([*words, *_NUMERALS]))


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _pack_words(language: str) -> list[str]:
    """The words of every phrase of a language pack, and of its number and counter tables (whose
    words are keys); ids, field names and the ``*`` prefix mark are not words of the language."""
    data = pack(language)
    tables = [data.numbers.cardinal, data.numbers.tens, data.numbers.sino_digits, data.rules.number_homophones,
              data.reply_counters.by_category if data.reply_counters else {}]
    phrases = data.model_dump(exclude={"language": True, "rules": {"clitics"},
                                       "default_faq": {"__all__": {"id", "topic", "category"}}})
    return [*_strings_in(phrases), *(word for table in tables for key in table for word in _words(key)),
            *data.rules.clitics]


def _strings_in(data: object) -> Iterator[str]:
    if isinstance(data, str):
        yield from _words(data.replace("*", ""))
    elif isinstance(data, dict):
        for value in data.values():
            yield from _strings_in(value)
    elif isinstance(data, list | tuple):
        for value in data:
            yield from _strings_in(value)


def menu_prompt(menu: Menu, language: str) -> str:
    """A short natural order using menu words (아이스 아메리카노 두 잔, 카페라떼 한 잔 주세요.)."""
    available = [item for item in menu.items if item.available]
    first = next((i for i in available if _name_groups(menu, i)), available[0])
    second = next((i for i in available if i.category != first.category), None)
    prefix = " ".join(_non_default_word(g, language, menu.language) for g in _name_groups(menu, first))
    name_a = " ".join(filter(None, (prefix, display_name(first.names, language, menu.language))))
    if language == "ko":
        counters = item_counters(menu, language)
        sentence = f"{name_a} 두 {counters[first.id]}"
        if second is not None:
            name_b = display_name(second.names, language, menu.language)
            sentence += f", {name_b} 한 {counters[second.id]}"
        return sentence + " 주세요."
    sentence = f"Can I get two {name_a}s"
    if second is not None:
        name_b = display_name(second.names, language, menu.language)
        sentence += f" and {'an' if name_b[:1] in 'aeiou' else 'a'} {name_b}"
    return sentence + ", please?"


def _name_groups(menu: Menu, item: Item) -> list[OptionGroup]:
    return [g for g in menu.option_groups if g.in_name and g.id in item.option_groups]


def _non_default_word(group: OptionGroup, language: str, fallback: str) -> str:
    """The last value of the group that is not its default (large, iced): what people add."""
    value = next(v for v in reversed(group.values) if v.id != group.default)
    return display_name(value.names, language, fallback)
