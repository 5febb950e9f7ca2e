"""The store's menu words, given to Whisper as a sample-sentence prompt and/or hotwords."""

from __future__ import annotations

from voicegw.nlu.menu import Menu
from voicegw.nlu.vocabulary import menu_prompt, menu_vocabulary

_cache: dict[tuple[str, str], tuple[Menu, str, str]] = {}


def _bias(menu: Menu, language: str) -> tuple[str, str]:
    # Built once per loaded menu; the stored menu object tells a reloaded menu of the same id apart.
    cached = _cache.get((menu.id, language))
    if cached is None or cached[0] is not menu:
        cached = (menu, menu_prompt(menu, language), ", ".join(menu_vocabulary(menu, language)))
        _cache[(menu.id, language)] = cached
    return cached[1], cached[2]


def bias_for_menu(menu: Menu, language: str, mode: str) -> tuple[str | None, str | None]:
    """(initial_prompt, hotwords) for a menu in a language, as the ``asr.bias`` setting asks."""
    if mode == "none":
        return None, None
    prompt, hotwords = _bias(menu, language)
    return (
        prompt if mode in ("prompt", "both") else None,
        hotwords if mode in ("hotwords", "both") else None,
    )
