"""Fuzzy alias matching: Korean compared as jamo, English with plural endings folded."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from rapidfuzz import fuzz, process

from voicegw.nlu.phonetic import cluster_reduced, rhyme, sound_key

_CHO = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
_JUNG = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
_JONG = ("", "ㄱ", "ㄲ", "ㄳ", "ㄴ", "ㄵ", "ㄶ", "ㄷ", "ㄹ", "ㄺ", "ㄻ", "ㄼ", "ㄽ", "ㄾ", "ㄿ", "ㅀ",
         "ㅁ", "ㅂ", "ㅄ", "ㅅ", "ㅆ", "ㅇ", "ㅈ", "ㅊ", "ㅋ", "ㅌ", "ㅍ", "ㅎ")
_HANGUL_FIRST, _HANGUL_LAST = 0xAC00, 0xD7A3

TargetKind = Literal["item", "option", "group", "amount"]

MIN_SOUND_CHARS = 3
"""A sound key this long at least before a sound-alike counts ('skn'); shorter keys collide."""
MIN_SOUND_SPELLING = 70.0
"""A sound-alike must still share this much spelling (skin ~ skim 75; called ~ cold 60 is not)."""


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
    """Fold a simple English plural (lattes -> latte, OJs -> oj); applied to aliases and speech alike."""
    if word.isascii() and len(word) > 2 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
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
        self._sounds = {key: sound_key(key) for key in self._keys if key.isascii()}

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
        return self._sound_alike(key)

    def _sound_alike(self, key: str) -> Match | None:
        """English by sound: the same sound key (skin ~ skim), or the alias's key with its initial
        s-cluster reduced (kim milk ~ skim milk). Scored by spelling, so confidence stays honest."""
        sound = sound_key(key)
        if len(sound) < MIN_SOUND_CHARS:
            return None
        best: Match | None = None
        for alias, alias_sound in self._sounds.items():
            if sound not in (alias_sound, cluster_reduced(alias_sound)):
                continue
            score = fuzz.ratio(key, alias)
            if score >= MIN_SOUND_SPELLING and (best is None or score > best.score):
                best = Match(self._targets[alias], float(score), alias)
        return best

    def rhymes_with(self, key: str, accept: Callable[[Target], bool]) -> Match | None:
        """The one accepted alias whose sound key matches ``key``'s after the first consonant
        (garage ~ large): only for a slot the grammar already expects, never free text."""
        ending = rhyme(sound_key(key))
        if len(ending) < MIN_SOUND_CHARS - 1:
            return None
        found = {alias: targets for alias in self._sounds
                 if rhyme(self._sounds[alias]) == ending
                 and (targets := tuple(t for t in self._targets[alias] if accept(t)))}
        if len({targets for targets in found.values()}) != 1:
            return None
        alias, targets = next(iter(found.items()))
        return Match(targets, float(fuzz.ratio(key, alias)), alias)
