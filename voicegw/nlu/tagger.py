"""Tokens -> tagged spans: which words name an item, an option, an amount, a number."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from voicegw.nlu.matcher import AliasIndex, Target, match_key
from voicegw.nlu.normalize import Token

SpanKind = Literal["item", "option", "group", "amount", "number", "counter", "boundary", "word"]
MAX_WINDOW_WORDS = 4
"""ASR splits a name into at most this many pieces (아메리카 노, 딸기 스 무디)."""
SAME_NAME_SCORE = 90.0
"""A longer fuzzy match this close that names the same option as a shorter one inside it is that
option's whole name (떡볶이 국물에 버무려 for 떡볶이 국물에 버무려서), not an item and an option."""
LONGER_NAME_SLACK = 5.0
"""A longer name matched nearly as well as a shorter one inside it is the name said."""


@dataclass(frozen=True)
class Span:
    """A run of tokens ``[start, end)`` with what it names."""

    start: int
    end: int
    kind: SpanKind
    targets: tuple[Target, ...] = ()
    score: float = 100.0
    value: int | None = None
    """The quantity of a ``number`` span."""
    alias: str = ""
    """The match key of the alias this span matched (empty for number, word, ... spans)."""

    def targets_of(self, kind: str) -> tuple[Target, ...]:
        return tuple(t for t in self.targets if t.kind == kind)

    @property
    def option_groups(self) -> set[str]:
        """The option groups an option or group span names (none for other kinds)."""
        if self.kind == "group":
            return {t.id for t in self.targets_of("group")}
        if self.kind == "option":
            return {t.group for t in self.targets_of("option")}
        return set()


def tag(tokens: tuple[Token, ...], index: AliasIndex, grammar: frozenset[str] = frozenset(),
        closing: frozenset[str] = frozenset()) -> list[Span]:
    """Best non-overlapping alias matches; every other token becomes a span of its own kind.
    ``grammar`` words (with, for, to) are never what makes a longer match win (_longer_names);
    no name runs across a word ending in a ``closing`` particle (Korean topic, subject and object
    particles close a noun phrase: 콜라는 제로 is not 콜라 제로)."""
    chosen: list[Span] = []
    taken: set[int] = set()
    candidates = _candidates(tokens, index, closing)
    longer = _longer_names(candidates, tokens, grammar)
    for span in sorted(candidates, key=lambda s: (s not in longer, -s.score, s.start - s.end, s.start)):
        if taken.isdisjoint(range(span.start, span.end)):
            chosen.append(span)
            taken.update(range(span.start, span.end))
    for position, token in enumerate(tokens):
        if position not in taken:
            chosen.append(Span(position, position + 1, token.kind, value=token.value))
    return sorted(chosen, key=lambda s: s.start)


def _longer_names(candidates: list[Span], tokens: tuple[Token, ...], grammar: frozenset[str]) -> set[Span]:
    """A longer match that explains a content word nothing else explains beats the exact shorter
    matches inside it: 'light rose' is one roast, not the amount 'light' and a stray 'rose'; 'kim
    milk' is skim milk, not 'kim' and the bare group word 'milk'. A grammar word does not count:
    'with lots' is not 'without', 'coffee for' is not 'coffee'; nor does a word an exact name beside
    explains ('poppy seed bagel' is poppy seed and a bagel, not a guess at 'sesame bagel'). The
    longer names returned are chosen first; the shorter ones stay for when a longer one is taken."""
    longer: set[Span] = set()
    named = {i for s in candidates if s.score >= 100 for i in range(s.start, s.end)}  # words an exact name explains
    for long in candidates:
        if long.end - long.start < 2:
            continue
        parts = [s for s in candidates if long.start <= s.start and s.end <= long.end and s != long]
        covered = {i for s in parts for i in range(s.start, s.end)} | named
        # English only: Korean windows already fold particles and endings (감자튀김 빼 is not fries).
        content = {i for i in range(long.start, long.end) if tokens[i].text.isascii() and tokens[i].text not in grammar}
        # "cookie off" is "cookie" and a stray word, not a longer name: the same alias, as well matched, inside it
        junk = any(p.alias == long.alias and p.score >= long.score for p in parts)
        if parts and long.score >= 100:
            longer.add(long)  # a whole name said exactly (double bulgogi burger)
        elif parts and content - covered and not junk:
            longer.add(long)
        elif parts and long.score >= SAME_NAME_SCORE and long.score >= max(p.score for p in parts) - LONGER_NAME_SLACK \
                and not junk:
            longer.add(long)  # "spicey chiken sandwich": one whole name, typed with slips, not its shared tail
        elif parts and long.kind == "option" and long.score >= SAME_NAME_SCORE and any(
                p.kind == "option" and p.alias != long.alias and set(p.targets) & set(long.targets) for p in parts):
            longer.add(long)  # 떡볶이 국물에 버무려서: the whole name of the option an inner part names
    return longer


def _candidates(tokens: tuple[Token, ...], index: AliasIndex, closing: frozenset[str]) -> list[Span]:
    found: list[Span] = []
    for start in range(len(tokens)):
        for end in range(start + 1, min(start + MAX_WINDOW_WORDS, len(tokens)) + 1):
            window = tokens[start:end]
            if window[-1].kind == "boundary":
                break
            if len(window) > 1 and window[-2].particle in closing:
                break
            # A number inside a name only counts when the alias says it (샷 2 추가, 12oz).
            exact = any(t.kind in ("number", "counter") for t in window)
            match = index.lookup(match_key(t.text for t in window), exact_only=exact)
            if match is not None:
                found.append(Span(start, end, _kind(match.targets), match.targets, match.score, alias=match.alias))
    return found


def _kind(targets: tuple[Target, ...]) -> SpanKind:
    kinds = {t.kind for t in targets}
    for kind in ("item", "option", "group", "amount"):
        if kind in kinds:
            return kind  # type: ignore[return-value]
    raise ValueError("a match without targets")
