"""The store's menu words, given to Whisper as a sample-sentence prompt and/or hotwords, and as
the grammar of a second decoding pass."""

from __future__ import annotations

from voicegw.nlu.menu import Menu
from voicegw.nlu.vocabulary import grammar_words, menu_prompt, menu_vocabulary

_cache: dict[tuple[str, str], tuple[Menu, str, str]] = {}
_grammar_cache: dict[tuple[str, str], tuple[Menu, tuple[str, ...]]] = {}


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


def grammar_for_menu(menu: Menu, language: str) -> tuple[str, ...]:
    """The words the menu-grammar pass may write for ``menu`` in ``language`` (built once per loaded menu)."""
    cached = _grammar_cache.get((menu.id, language))
    if cached is None or cached[0] is not menu:
        cached = (menu, grammar_words(menu, language))
        _grammar_cache[(menu.id, language)] = cached
    return cached[1]
