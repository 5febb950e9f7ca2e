"""Menu words for ASR biasing: hotwords and a sample sentence for Whisper's initial_prompt."""

from __future__ import annotations

from voicegw.nlu.counting import item_counters
from voicegw.nlu.menu import Item, Menu, OptionGroup, display_name


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
