"""Fuzzy alias matching: Korean compared as jamo, English with plural endings folded."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from rapidfuzz import fuzz, process

_CHO = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
_JUNG = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
_JONG = ("", "ㄱ", "ㄲ", "ㄳ", "ㄴ", "ㄵ", "ㄶ", "ㄷ", "ㄹ", "ㄺ", "ㄻ", "ㄼ", "ㄽ", "ㄾ", "ㄿ", "ㅀ",
         "ㅁ", "ㅂ", "ㅄ", "ㅅ", "ㅆ", "ㅇ", "ㅈ", "ㅊ", "ㅋ", "ㅌ", "ㅍ", "ㅎ")
_HANGUL_FIRST, _HANGUL_LAST = 0xAC00, 0xD7A3

TargetKind = Literal["item", "option", "group", "amount"]


@dataclass(frozen=True)
class Target:
    """What an alias names: an item, an option value, an option group, or an amount level."""

    kind: TargetKind
    id: str
    """Item id, option value id, group id (for ``group``) or amount level."""
    group: str = ""
    """The option group of an ``option`` target."""


@dataclass(frozen=True)
class Match:
    targets: tuple[Target, ...]
    score: float
    """0-100, rapidfuzz ratio of the match keys."""
    alias: str


def to_jamo(text: str) -> str:
    """Decompose Hangul syllables into compatibility jamo (아메 -> ㅇㅏㅁㅔ); others unchanged."""
    out: list[str] = []
    for char in text:
        code = ord(char)
        if _HANGUL_FIRST <= code <= _HANGUL_LAST:
            index = code - _HANGUL_FIRST
            out.append(_CHO[index // 588] + _JUNG[(index % 588) // 28] + _JONG[index % 28])
        else:
            out.append(char)
    return "".join(out)


def singular(word: str) -> str:
    """Fold a simple English plural (lattes -> latte); applied to aliases and speech alike."""
    if word.isascii() and len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def match_key(words: Iterable[str]) -> str:
    """The spacing-free, jamo-level form two phrases are compared in."""
    return to_jamo("".join(singular(word) for word in words))


def min_score(query_key: str, alias_key: str) -> float:
    """Short words must match exactly or nearly: one wrong jamo in 차 is another word."""
    shortest = min(len(query_key), len(alias_key))
    if shortest <= 3:
        return 100.0
    if shortest <= 5:
        return 88.0
    return 80.0


def _same_start(query_key: str, alias_key: str) -> bool:
    """English slips keep the first letter (cappucino, expresso); 'nice' is not 'on ice'."""
    return not (query_key.isascii() and alias_key.isascii()) or query_key[:1] == alias_key[:1]


class AliasIndex:
    """Aliases by match key, each key naming one or more targets."""

    def __init__(self, entries: Iterable[tuple[str, Target]]) -> None:
        targets: dict[str, list[Target]] = {}
        for key, target in entries:
            if key and target not in targets.setdefault(key, []):
                targets[key].append(target)
        self._targets = {key: tuple(found) for key, found in targets.items()}
        self._keys = list(self._targets)

    def __len__(self) -> int:
        return len(self._keys)

    def lookup(self, key: str, exact_only: bool = False) -> Match | None:
        """The best alias for ``key`` above its length-dependent threshold, else None."""
        if key in self._targets:
            return Match(self._targets[key], 100.0, key)
        if exact_only or not key:
            return None
        for alias, score, _ in process.extract(key, self._keys, scorer=fuzz.ratio, limit=5, score_cutoff=75):
            if score >= min_score(key, alias) and _same_start(key, alias):
                return Match(self._targets[alias], float(score), alias)
        return None
