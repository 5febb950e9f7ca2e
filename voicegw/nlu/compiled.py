"""A menu compiled once into lookup tables: alias index, protected words, phrases, FAQ keys."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from threading import Lock

from voicegw.nlu.builtin_faq import builtin_entries, builtin_topics
from voicegw.nlu.faq_terms import terms_of
from voicegw.nlu.lexicon import AMOUNT_WORDS, rules_for
from voicegw.nlu.matcher import AliasIndex, Target, match_key, singular, to_jamo
from voicegw.nlu.menu import FaqEntry, Menu
from voicegw.nlu.normalize import clean, normalize
from voicegw.nlu.packs import LANGUAGES
from voicegw.nlu.phrases import INTENT_PHRASES


@dataclass(frozen=True)
class PhraseKey:
    text: str
    """Spacing-free normalised phrase (주문취소)."""
    prefix: bool
    """Matches words that start with it (the data wrote ``되나*``)."""


@dataclass(frozen=True)
class FaqKey:
    faq_id: str
    text: str
    """A normalised question, jamo-decomposed, spaces kept (token-aware scoring)."""
    terms: frozenset[str] = frozenset()
    """Its concepts and content words (faq_terms.py), what questions are matched by."""
    language: str = ""


@dataclass(frozen=True)
class CompiledMenu:
    """Per-menu tables the parser reads; built by ``compile_menu`` and cached per menu id."""

    menu: Menu
    keep: frozenset[str]
    """Menu words that normalisation must not cut (애플파이 does not end in a particle)."""
    index: AliasIndex
    """Items, options, groups and amount words of every language: scripts differ, and a Korean
    speaker may say 라떼 or latte, so one index serves every turn language."""
    phrases: dict[str, dict[str, tuple[PhraseKey, ...]]]
    """Intent key -> phrase keys, per language."""
    faq: dict[str, tuple[FaqKey, ...]] = field(default_factory=dict)


_cache: dict[str, CompiledMenu] = {}
_lock = Lock()


def compile_menu(menu: Menu) -> CompiledMenu:
    """The compiled tables for ``menu``, reused while the same (equal) menu is passed."""
    cached = _cache.get(menu.id)
    if cached is not None and (cached.menu is menu or cached.menu == menu):
        return cached
    keep = _menu_words(menu)
    compiled = CompiledMenu(
        menu=menu,
        keep=keep,
        index=_alias_index(menu, keep),
        phrases={lang: _phrase_keys(lang, keep) for lang in LANGUAGES},
        faq={lang: _faq_keys(menu.faq, lang, keep) for lang in LANGUAGES},
    )
    defaults = [entry for entry in builtin_entries() if not _answered_by_store(entry, compiled)]
    compiled = replace(compiled, faq={lang: compiled.faq[lang] + _faq_keys(defaults, lang, keep) for lang in LANGUAGES})
    with _lock:
        _cache[menu.id] = compiled
    return compiled


def phrase_key(text: str, language: str, keep: frozenset[str]) -> str:
    """A phrase or alias in the form spoken words are compared in."""
    tokens = normalize(text, language, keep).tokens
    return match_key(t.text for t in tokens if t.kind != "boundary")


def _menu_words(menu: Menu) -> frozenset[str]:
    """Every word of every name, and the runs of words normalize must join into one: names that
    hold a line-boundary word ("black and white", "egg and cheese": one name, not two lines) or
    start with a filler ("그냥 우유": a name, not 우유 said with a filler)."""
    names = [alias for item in menu.items for aliases in item.names.values() for alias in aliases]
    for group in menu.option_groups:
        names += [a for aliases in group.names.values() for a in aliases]
        names += [a for value in group.values for aliases in value.names.values() for a in aliases]
    boundaries = frozenset().union(*(rules_for(lang).boundary_words for lang in LANGUAGES))
    fillers = frozenset().union(*(rules_for(lang).fillers for lang in LANGUAGES))
    runs = {" ".join(words[i - 1:i + 2]) for name in names if len(words := clean(name).split()) > 2
            for i in range(1, len(words) - 1) if words[i] in boundaries}
    # a name that starts with a filler (그냥 우유: plain milk) keeps it, joined to the next word
    runs |= {" ".join(words[:2]) for name in names if len(words := clean(name).split()) > 1 and words[0] in fillers}
    return frozenset(word for name in names for word in clean(name).split()) | runs


def _alias_entries(menu: Menu) -> list[tuple[str, str, Target]]:
    """(language, alias, target) for every name in the menu and every amount word."""
    entries = [(lang, alias, Target("item", item.id))
               for item in menu.items for lang, aliases in item.names.items() for alias in aliases]
    for group in menu.option_groups:
        entries += [(lang, alias, Target("group", group.id))
                    for lang, aliases in group.names.items() for alias in aliases]
        entries += [(lang, alias, Target("option", value.id, group.id))
                    for value in group.values for lang, aliases in value.names.items() for alias in aliases]
    entries += [(lang, word, Target("amount", level))
                for level, words in AMOUNT_WORDS.items() for word in words for lang in LANGUAGES]
    return entries


def _alias_index(menu: Menu, keep: frozenset[str]) -> AliasIndex:
    return AliasIndex((phrase_key(alias, lang, keep), target) for lang, alias, target in _alias_entries(menu))


def compact(words: Iterable[str]) -> str:
    """Words joined without spaces, plurals folded: the form intent phrases are compared in."""
    return "".join(singular(word) for word in words)


def _phrase_keys(language: str, keep: frozenset[str]) -> dict[str, tuple[PhraseKey, ...]]:
    table: dict[str, tuple[PhraseKey, ...]] = {}
    for intent, phrases in INTENT_PHRASES.get(language, {}).items():
        keys = []
        for phrase in phrases:
            tokens = normalize(phrase.rstrip("*"), language, keep).tokens
            text = compact(t.text for t in tokens if t.kind != "boundary")
            if text:
                keys.append(PhraseKey(text, phrase.endswith("*")))
        table[intent] = tuple(keys)
    return table


def _answered_by_store(entry: FaqEntry, compiled: CompiledMenu) -> bool:
    """A built-in entry whose topic the store's own FAQ answers: most questions of one of its
    entries name that topic ("주차 몇 시간 무료예요" names opening hours in passing; the parking
    entry is not about them)."""
    topic = f"topic:{builtin_topics()[entry.id]}"
    questions: dict[str, list[frozenset[str]]] = {}
    for key in (key for keys in compiled.faq.values() for key in keys):
        questions.setdefault(key.faq_id, []).append(key.terms)
    return any(2 * sum(topic in terms for terms in said) >= len(said) for said in questions.values())


def _faq_keys(entries: Iterable[FaqEntry], language: str, keep: frozenset[str]) -> tuple[FaqKey, ...]:
    keys = []
    for entry in entries:
        for question in entry.questions.get(language, []):  # type: ignore[call-overload]
            normalized = normalize(question, language, keep)
            text = normalized.text.replace(",", " ")
            terms = terms_of(normalized.tokens, language, keep)
            keys.append(FaqKey(entry.id, to_jamo(" ".join(text.split())), terms, language))
    return tuple(keys)
