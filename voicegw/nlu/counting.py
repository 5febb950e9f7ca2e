"""The counter word a reply puts after a quantity (아메리카노 2잔, 국밥 1그릇, 떡볶이 1개).

A menu item may name its own (``counter:``); otherwise its category decides, from the language
pack's general category words. Languages without counter words have none.
"""

from __future__ import annotations

from collections.abc import Mapping

from voicegw.nlu.menu import Menu
from voicegw.nlu.packs import LANGUAGES, CountersData, pack


def item_counters(menu: Menu | None, language: str) -> dict[str, str]:
    """Item id -> counter word in ``language``; empty when the language counts without them."""
    counting = _counting(language)
    if counting is None or menu is None:
        return {}
    return {item.id: item.counter or _by_category(item.category, counting) for item in menu.items}


def counter_for(item_id: str, counters: Mapping[str, str], language: str) -> str | None:
    """The counter of one line: its item's, or the language's word for a line no menu explains."""
    counting = _counting(language)
    if counting is None:
        return None
    return counters.get(item_id, counting.without_menu)


def _by_category(category: str, counting: CountersData) -> str:
    word = category.strip().lower().replace("_", "-")  # non_coffee is non-coffee
    return next((c for c, categories in counting.by_category.items() if word in categories), counting.default)


def _counting(language: str) -> CountersData | None:
    return pack(language).reply_counters if language in LANGUAGES else None
