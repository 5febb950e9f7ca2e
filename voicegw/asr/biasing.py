"""The store's menu words, given to Whisper as a sample-sentence prompt and/or hotwords, and as
the grammar of a second decoding pass."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from voicegw.nlu.menu import Menu
from voicegw.nlu.vocabulary import grammar_words, menu_prompt, menu_vocabulary

T = TypeVar("T")
_cache: dict[tuple[Callable, str, str], tuple[Menu, object]] = {}


def _per_menu(build: Callable[[Menu, str], T], menu: Menu, language: str) -> T:
    # Built once per loaded menu; the stored menu object tells a reloaded menu of the same id apart.
    key = (build, menu.id, language)
    cached = _cache.get(key)
    if cached is None or cached[0] is not menu:
        cached = (menu, build(menu, language))
        _cache[key] = cached
    return cached[1]  # type: ignore[return-value]


def _bias(menu: Menu, language: str) -> tuple[str, str]:
    return menu_prompt(menu, language), ", ".join(menu_vocabulary(menu, language))


def bias_for_menu(menu: Menu, language: str, mode: str) -> tuple[str | None, str | None]:
    """(initial_prompt, hotwords) for a menu in a language, as the ``asr.bias`` setting asks."""
    if mode == "none":
        return None, None
    prompt, hotwords = _per_menu(_bias, menu, language)
    return (
        prompt if mode in ("prompt", "both") else None,
        hotwords if mode in ("hotwords", "both") else None,
    )


def grammar_for_menu(menu: Menu, language: str) -> tuple[str, ...]:
    """The words the menu-grammar pass may write for ``menu`` in ``language`` (built once per loaded menu)."""
    return _per_menu(grammar_words, menu, language)
