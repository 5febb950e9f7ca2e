"""Transcript -> tokens: spacing, case, punctuation, fillers, politeness, particles and numbers."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from typing import Literal

from voicegw.nlu.lexicon import LanguageRules, rules_for
from voicegw.nlu.numerals import parse_number, split_counter

TokenKind = Literal["word", "number", "counter", "boundary"]

_SEPARATORS = re.compile(r"[,;.!?~…·]+")
_PUNCTUATION = re.compile(r"[\"“”()\[\]{}<>/\\|:*#@^_=+`%$&\-–—]+")
_APOSTROPHES = re.compile(r"['’‘`]")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Token:
    """One word of the normalised utterance."""

    text: str
    """The form matched against the menu: lower case, particles and endings cut, numbers as digits."""
    surface: str
    """The word as it was said (lower case), for the line's origin."""
    kind: TokenKind = "word"
    value: int | None = None
    """The quantity of a ``number`` token."""
    particle: str = ""
    """The Korean particle that was cut from this word, if any (로, 랑)."""
    after_stopword: bool = False
    """A stopword (a, the, my) was dropped right before this word: 'for the latte' is not 4 lattes."""


@dataclass(frozen=True)
class Normalized:
    """What the parser reads: tokens, plus cues the cleaning removed."""

    text: str
    tokens: tuple[Token, ...]
    request: bool = False
    """A politeness or request phrase was removed (주세요, can i get): it sounded like an order."""
    question: bool = False
    """The transcript carried a question mark."""
    request_words: int = 0
    """How many words the removed request phrases had (can i get = 3): words the grammar explains."""


def clean(text: str) -> str:
    """Case, apostrophes, punctuation and spacing only; separators become ' , '."""
    text = unicodedata.normalize("NFC", text).lower()
    text = _APOSTROPHES.sub("", text)
    text = _SEPARATORS.sub(" , ", text)
    text = _PUNCTUATION.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def normalize(text: str, language: str, keep: frozenset[str] = frozenset()) -> Normalized:
    """Normalise ``text`` in ``language``; words in ``keep`` (menu words) are never cut."""
    rules = rules_for(language)
    cleaned = clean(text)
    without_polite, request_words = _remove_polite(cleaned, rules)
    request = request_words > 0
    stripped = [_strip_word(word, rules, keep) for word in without_polite.split()]
    request = request or any(polite for *_, polite in stripped)
    words = [(surface, stem, particle) for surface, stem, particle, _ in stripped]
    tokens = _tidy_boundaries(_merge_units(_classify(words, rules), rules))
    shown = " ".join("," if t.kind == "boundary" else t.text for t in tokens)
    return Normalized(text=shown, tokens=tuple(tokens), request=request, question="?" in text,
                      request_words=request_words)


def _remove_polite(text: str, rules: LanguageRules) -> tuple[str, int]:
    """``text`` without its request phrases, and how many words those phrases had."""
    removed = 0
    padded = f" {text} "
    for phrase in sorted(rules.polite_phrases, key=len, reverse=True):
        needle = f" {clean(phrase)} "
        while needle in padded:
            padded = padded.replace(needle, " ", 1)
            removed += len(needle.split())
    return padded.strip(), removed


def _strip_word(word: str, rules: LanguageRules, keep: frozenset[str]) -> tuple[str, str, str, bool]:
    """(surface, stem, particle, polite): one polite ending, then one particle, cut off the end."""
    if word in keep or word == ",":
        return word, word, "", False
    stem, ending = _cut(word, rules.polite_endings, rules.min_stem_chars, keep)
    # A counter is short but still takes particles (잔하고, 개랑).
    stem, particle = _cut(stem, rules.particles, rules.min_stem_chars, keep, rules.counters)
    return word, stem, particle, bool(ending)


def _cut(word: str, suffixes: tuple[str, ...], min_stem: int, keep: frozenset[str],
         short_stems: frozenset[str] = frozenset()) -> tuple[str, str]:
    if word in keep:
        return word, ""
    for suffix in suffixes:
        stem = word[: -len(suffix)]
        if word.endswith(suffix) and (len(stem) >= min_stem or stem in short_stems):
            return stem, suffix
    return word, ""


def _classify(words: list[tuple[str, str, str]], rules: LanguageRules) -> list[Token]:
    tokens: list[Token] = []
    dropped = False
    for index, (surface, stem, particle) in enumerate(words):
        if stem == "," or stem in rules.boundary_words:
            tokens.append(Token(",", surface, "boundary"))
            dropped = False
            continue
        if stem in rules.fillers or stem in rules.stopwords:
            dropped = dropped or stem in rules.stopwords
            continue
        next_stem = words[index + 1][1] if index + 1 < len(words) else ""
        said = _number_tokens(surface, stem, particle, next_stem in rules.counters, rules)
        if dropped:
            said[0] = replace(said[0], after_stopword=True)
        dropped = False
        tokens.extend(said)
        if particle in rules.conjunction_particles:
            tokens.append(Token(",", particle, "boundary"))
    return tokens


def _number_tokens(surface: str, stem: str, particle: str, before_counter: bool,
                   rules: LanguageRules) -> list[Token]:
    if stem in rules.counters:
        return [Token(stem, surface, "counter", particle=particle)]
    split = split_counter(stem, rules.counters)
    if split is not None:
        value = parse_number(split[0], rules.language, before_counter=True)
        if value is not None:
            return [Token(str(value), surface, "number", value),
                    Token(split[1], surface, "counter", particle=particle)]
    value = parse_number(stem, rules.language, before_counter)
    if value is not None:
        return [Token(str(value), surface, "number", value, particle)]
    return [Token(stem, surface, particle=particle)]


def _tidy_boundaries(tokens: list[Token]) -> list[Token]:
    """No boundary first, last, or twice in a row."""
    tidy: list[Token] = []
    for token in tokens:
        if token.kind == "boundary" and (not tidy or tidy[-1].kind == "boundary"):
            continue
        tidy.append(token)
    while tidy and tidy[-1].kind == "boundary":
        tidy.pop()
    return tidy


def _merge_units(tokens: list[Token], rules: LanguageRules) -> list[Token]:
    """'12 ounce' and '12-oz' become the one word '12oz', a size rather than a quantity."""
    merged: list[Token] = []
    for token in tokens:
        previous = merged[-1] if merged else None
        if token.text in rules.ounce_words and previous is not None and previous.kind == "number":
            merged[-1] = Token(f"{previous.text}oz", f"{previous.surface} {token.surface}")
            continue
        merged.append(token)
    return merged
