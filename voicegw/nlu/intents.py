"""Which intent phrases (phrases.py) an utterance contains, and how much of it they cover."""

from __future__ import annotations

from dataclasses import dataclass, field

from voicegw.nlu.compiled import CompiledMenu, PhraseKey, compact
from voicegw.nlu.normalize import Token

MAX_PHRASE_WORDS = 5


@dataclass(frozen=True)
class PhraseHits:
    """Intent key -> number of utterance characters its phrases cover."""

    covered: dict[str, int]
    total_chars: int
    positions: dict[str, frozenset[int]] = field(default_factory=dict)
    """Intent key -> indices (into the utterance's tokens) of the words its phrases cover."""

    def has(self, key: str) -> bool:
        return key in self.covered

    def coverage(self, key: str) -> float:
        """The share of the utterance (0-1) the phrases of ``key`` account for."""
        return min(1.0, self.covered.get(key, 0) / self.total_chars) if self.total_chars else 0.0


def find_phrases(tokens: tuple[Token, ...], compiled: CompiledMenu, language: str) -> PhraseHits:
    """Each intent key with a phrase equal to (or, for ``x*``, starting) a run of words."""
    at = [i for i, t in enumerate(tokens) if t.kind != "boundary" and not _counts(tokens, i)]
    words = [tokens[i].text for i in at]
    windows = [(compact(words[s:e]), len(compact(words[s:e - 1])), range(s, e))
               for s in range(len(words)) for e in range(s + 1, min(s + MAX_PHRASE_WORDS, len(words)) + 1)]
    covered: dict[str, int] = {}
    found: dict[str, frozenset[int]] = {}
    for key, phrases in compiled.phrases.get(language, {}).items():
        positions: set[int] = set()
        for text, head, span in windows:
            if any(_hit(phrase, text, head) for phrase in phrases):
                positions.update(span)
        if positions:
            covered[key] = sum(len(words[p]) for p in positions)
            found[key] = frozenset(at[p] for p in positions)
    return PhraseHits(covered, sum(len(w) for w in words), found)


def _counts(tokens: tuple[Token, ...], i: int) -> bool:
    """Token ``i`` is the counter of a quantity (김밥 두 줄): not a word of any phrase, though the
    phrase 줄이* (to reduce) is cut like speech to 줄."""
    return tokens[i].kind == "counter" and i > 0 and tokens[i - 1].kind == "number"


def _hit(phrase: PhraseKey, text: str, head: int) -> bool:
    """Whole-word equality; a prefix phrase must reach into the window's last word."""
    if phrase.prefix:
        return text.startswith(phrase.text) and head < len(phrase.text)
    return text == phrase.text
