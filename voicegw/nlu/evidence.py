"""How much of an utterance is about ordering: coverage of its words, and evidence per item.

Speech near a kiosk is not always an order. Whisper, biased with the menu's words, turns
"my fellow Americans" into a fuzzy match for americano; without these checks one fuzzy word in
twenty would become an order line. Two signals guard against that:

* coverage: the share of the content words that the menu (items, options, amounts), numbers,
  counters, request phrases and intent phrases explain. Fillers, stopwords and function words
  (lexicon ``function_words``) are neither for nor against and are left out.
* item evidence: an item matched only fuzzily needs order evidence nearby (a quantity, a counter,
  an option or amount in its segment, a request phrase, or another item that stands on its own).
"""

from __future__ import annotations

from collections.abc import Iterable

from voicegw.nlu.intents import PhraseHits
from voicegw.nlu.lexicon import LanguageRules
from voicegw.nlu.matcher import Target
from voicegw.nlu.menu import Menu
from voicegw.nlu.normalize import Normalized
from voicegw.nlu.segments import Segment
from voicegw.nlu.tagger import Span

MIN_ORDER_COVERAGE = 0.5
"""An order (add or remove) needs at least this share of its content words explained. Below it the
turn is talk, not an order: ``unknown``, with ``low_confidence`` and the items as candidates when an
item was named exactly, else ``not_understood``. Short real orders with one misheard word
("two large coffees with purple milk", 5 of 6) stay well above it; read speech that brushes one
menu word ("my fellow Americans, ask not ...", 1 of 6) falls well below it."""

EXACT_SCORE = 100.0
"""A span score this high is an exact alias (or exact number) match, not a fuzzy one."""

ORDER_CUE_KINDS = frozenset({"number", "counter", "option", "group", "amount"})
"""Span kinds that are order evidence for the item of their segment."""

EXPLAINING_PHRASES = ("confirm", "greeting", "remove", "cancel", "handoff", "change", "status", "frustrated")
"""Intent phrase keys whose words count as explained; ``question`` words (what, how) do not, since
they are as common in talk as in orders."""


def coverage(normalized: Normalized, spans: Iterable[Span], phrases: PhraseHits, rules: LanguageRules) -> float:
    """Explained content words / all content words (1.0 when there are none)."""
    tokens = normalized.tokens
    named = {i for s in spans if s.kind not in ("word", "boundary") for i in range(s.start, s.end)}
    said = set().union(*(phrases.positions.get(key, frozenset()) for key in EXPLAINING_PHRASES))
    grammar = rules.attach_back_words | rules.replaced_before | rules.replaced_after | rules.all_words
    explained, unexplained = normalized.request_words, 0
    for position, token in enumerate(tokens):
        if token.kind == "boundary":
            continue
        if position in named or position in said or token.text in grammar:
            explained += 1
        elif token.text not in rules.function_words:
            unexplained += 1
    total = explained + unexplained
    return explained / total if total else 1.0


def exact(seg: Segment) -> bool:
    """The item was named by one of its aliases, not matched fuzzily."""
    return seg.item.score >= EXACT_SCORE


def cued(seg: Segment, menu: Menu | None = None) -> bool:
    """The segment holds order words of its own: a quantity, counter, option or amount. With the
    menu at hand, an option counts only if the item takes it: "아이스틱, 청포도, 데우기" recites
    menu words, it does not order an iced tea made with grapes and warmed."""
    groups = _option_groups(seg, menu)
    return any(s.kind in ORDER_CUE_KINDS and (groups is None or s.kind not in ("option", "group")
                                              or any(_group_of(t) in groups for t in s.targets))
               for s in seg.spans)


def _option_groups(seg: Segment, menu: Menu | None) -> set[str] | None:
    if menu is None:
        return None
    return {g for t in seg.item.targets_of("item") for g in menu.item(t.id).option_groups}


def _group_of(target: Target) -> str:
    return target.group if target.kind == "option" else target.id


def supported(segments: tuple[Segment, ...], normalized: Normalized, menu: Menu | None = None) -> bool:
    """Every item has order evidence: exact itself, cued, or in an utterance that is evidently an
    order (a request phrase, or another item that is exact or cued)."""
    standing = [seg for seg in segments if exact(seg) or cued(seg, menu)]
    if len(standing) == len(segments):
        return True
    return normalized.request or bool(standing)
