"""The menu as a grammar for Whisper's decoder: which tokens a second reading may write.

Under kitchen noise Whisper's beams agree on words no customer of the store says ("a 60 ounce
iced milker", "grip talking with skim milk"), so choosing among them cannot find the order. A
second beam search over the same encoder output, allowed to write only the tokens of the words a
customer needs here (``nlu.vocabulary.grammar_words``: the menu's names and the language's own
words) and punctuation, has to spell the sound with those words: "a 16 ounce iced mocha". Its
readings follow Whisper's own (``Reading.within_grammar``), and the menu may choose one only where
it explains more of it than of any of Whisper's (``nlu.rescoring``): their probabilities are over
the allowed tokens only, so they weigh heavier than Whisper's.

CTranslate2's Whisper decoder takes a fixed list of suppressed tokens, not a per-step mask, so the
grammar is a bag of tokens: pieces of allowed words may combine into words none of them is
("milk" + "er"). A word-level prefix tree over a decoder of our own won the same clips of the
noisy real orders at several times the cost (docs/tuning.md, round 7).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from faster_whisper.tokenizer import Tokenizer

#: Written between and after words; everything else outside the grammar is suppressed.
PUNCTUATION = (",", ".", "?", "!", "'")

_allowed_cache: dict[tuple[int, int, tuple[str, ...]], frozenset[int]] = {}


def allowed_tokens(tokenizer: Tokenizer, words: Sequence[str]) -> frozenset[int]:
    """Text tokens that spell ``words`` (at a sentence start or after a space, capitalised or
    not) and punctuation. Cached per tokenizer vocabulary (English-only and multilingual Whisper
    differ) and word list."""
    key = (tokenizer.eot, tokenizer.tokenizer.get_vocab_size(), tuple(words))
    cached = _allowed_cache.get(key)
    if cached is None:
        tokens: set[int] = set()
        for word in words:
            for form in {word, word.capitalize()}:
                tokens.update(tokenizer.encode(" " + form))
                tokens.update(tokenizer.encode(form))
        for mark in PUNCTUATION:
            tokens.update(tokenizer.encode(mark))
        cached = frozenset(token for token in tokens if token < tokenizer.eot)
        _allowed_cache[key] = cached
    return cached


def suppressed_tokens(tokenizer: Tokenizer, allowed: frozenset[int], always: Iterable[int]) -> list[int]:
    """Every text token outside ``allowed``, with ``always`` (Whisper's own suppressed symbols).
    Special tokens (end of text, timestamps) stay allowed."""
    return sorted({token for token in range(tokenizer.eot) if token not in allowed} | set(always))


def leaves_grammar(tokens: Iterable[int], tokenizer: Tokenizer, allowed: frozenset[int]) -> bool:
    """Whether a reading writes a text token the grammar does not allow. Only then is the grammar's
    pass run: a search over a subset of the same paths finds Whisper's best again when it lies
    inside, and on clean speech four readings in five do (docs/tuning.md, round 7)."""
    return any(token < tokenizer.eot and token not in allowed for token in tokens)
