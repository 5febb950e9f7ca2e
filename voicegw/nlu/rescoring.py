"""Choose among Whisper's readings of a clip the one that makes sense at this store.

Whisper ranks its beams by sound alone. "cappuccino with oat milk and oat sugar" and "...and no
sugar" sound nearly the same, but only one is something a customer orders. Each reading is
understood against the menu, and a reading whose words the menu and grammar explain gains on one
that leaves words unexplained, by at most ``FIT_WEIGHT`` nats per token. Readings Whisper thinks
much less likely than its best (more than ``MARGIN`` below it) are never considered, so the menu
can tip a close call but cannot talk the recogniser into an order it did not hear. For the same
reason a reading may only win with the intent of Whisper's best (which latte, not whether there
is one), except that a question can replace a reading nobody understood: answering a FAQ cooks
nothing. Measured on the eval's noisy clips, letting an order replace a not-understood reading won
10 clips and turned 22 into wrong or phantom orders. Readings of the menu-grammar pass
(``voicegw.asr.grammar``) are not Whisper's beams: one may win only where the menu explains more
of it than of any of Whisper's readings weighed (docs/tuning.md, round 7).
"""

from __future__ import annotations

from collections.abc import Sequence

from voicegw.asr.transcript import Reading
from voicegw.nlu.menu import Menu
from voicegw.nlu.parser import understand
from voicegw.nlu.types import IntentName, Understanding

FIT_WEIGHT = 3.0
"""Log-probability per token a fully understood reading gains over one understood not at all.
One unexplained word in a twenty-word order costs about 0.15 (docs/tuning.md, round 6: chosen on
real speech, checked on clips it was not chosen on)."""

MARGIN = 0.3
"""Readings more than this many nats per token below Whisper's best are not weighed."""


def menu_fit(understanding: Understanding) -> float:
    """0..1: how well the menu and grammar account for a reading (0 when it is not understood)."""
    if understanding.intent.name is IntentName.UNKNOWN or understanding.reason:
        return 0.0
    return understanding.intent.confidence


def choose_reading(readings: Sequence[Reading], menu: Menu, language: str) -> tuple[Reading, Understanding]:
    """The reading to act on, understood. ``readings`` is best-first and not empty; Whisper's
    own come before the menu-grammar pass's (``Reading.within_grammar``)."""
    best = readings[0].avg_logprob
    weighed = [
        (reading, understand(reading.text, menu, language))
        for reading in readings
        if not reading.within_grammar and best - reading.avg_logprob <= MARGIN
    ]
    first = weighed[0][1].intent.name
    eligible = [pair for pair in weighed if may_replace(first, pair[1].intent.name)]
    # The grammar's readings are scored over the allowed words only, so they weigh heavier than
    # Whisper's: one may win only where the menu explains more of it than of any reading weighed.
    whispers_fit = max(menu_fit(understanding) for _, understanding in weighed)
    within = [(reading, understand(reading.text, menu, language)) for reading in readings if reading.within_grammar]
    eligible += [
        pair for pair in within if menu_fit(pair[1]) > whispers_fit and may_replace(first, pair[1].intent.name)
    ]
    # max() keeps the first of equal scores: Whisper's own order breaks ties.
    return max(eligible, key=lambda pair: pair[0].avg_logprob + FIT_WEIGHT * menu_fit(pair[1]))


def may_replace(best: IntentName, other: IntentName) -> bool:
    """Whether a reading with intent ``other`` may win over Whisper's best, read as ``best``."""
    return other is best or (best is IntentName.UNKNOWN and other is IntentName.FAQ)
