"""How each session ended, from its logged turns (pure).

| outcome     | the session                                                              |
|-------------|--------------------------------------------------------------------------|
| handed_off  | was handed to a person                                                   |
| ordered     | placed an order (and was not handed off)                                 |
| abandoned   | put items in the cart and never ordered, or its last turn was not        |
|             | understood, asked again or heard nothing                                 |
| answered    | ended on an answered FAQ, with nothing in the cart                       |
| open        | had a turn in the last ``OPEN_FOR`` before the report's end: not over    |
| other       | anything else (a greeting, an order-status check)                        |

Containment is the share of ended sessions resolved without a person: ordered or answered.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby

from voicegw.analytics.records import TurnRecord

OUTCOMES = ("ordered", "answered", "handed_off", "abandoned", "other", "open")
OPEN_FOR = timedelta(minutes=30)
"""A session with a turn this recent may still go on: it is neither abandoned nor resolved."""
UNRESOLVED = ("not_understood", "needs_clarification", "no_speech")
FUNNEL = ("started", "item_added", "confirmed")


@dataclass(frozen=True)
class SessionSummary:
    store: str
    session: str
    turns: tuple[TurnRecord, ...]
    outcome: str

    @property
    def last(self) -> TurnRecord:
        return self.turns[-1]

    @property
    def added(self) -> bool:
        return any(t.added for t in self.turns)

    @property
    def ordered(self) -> bool:
        return any(t.order_id for t in self.turns)

    @property
    def handed_off(self) -> bool:
        return any(t.handoff for t in self.turns)


def outcome_of(turns: Sequence[TurnRecord], until: datetime) -> str:
    if any(t.handoff for t in turns):
        return "handed_off"
    if any(t.order_id for t in turns):
        return "ordered"
    if datetime.fromisoformat(turns[-1].at) > until - OPEN_FOR:
        return "open"
    last = turns[-1]
    if any(t.added for t in turns) or last.status in UNRESOLVED:
        return "abandoned"
    if last.intent == "faq" and last.status == "ok":
        return "answered"
    return "other"


def sessions(turns: Iterable[TurnRecord], until: str) -> list[SessionSummary]:
    """The turns (any order) grouped by store and session, each session's turns oldest first."""
    end = datetime.fromisoformat(until)
    key = lambda t: (t.store, t.session)  # noqa: E731
    ordered = sorted(turns, key=lambda t: (t.store, t.session, t.at))
    return [
        SessionSummary(store, session, group, outcome_of(group, end))
        for (store, session), group in ((k, tuple(g)) for k, g in groupby(ordered, key=key))
    ]


def outcome_counts(summaries: Sequence[SessionSummary]) -> dict[str, int]:
    counts = Counter(s.outcome for s in summaries)
    return {name: counts.get(name, 0) for name in OUTCOMES}


def containment(summaries: Sequence[SessionSummary]) -> float | None:
    ended = [s for s in summaries if s.outcome != "open"]
    return sum(s.outcome in ("ordered", "answered") for s in ended) / len(ended) if ended else None


def funnel(summaries: Sequence[SessionSummary]) -> list[dict[str, object]]:
    """Sessions that started, put an item in the cart, and placed an order."""
    counts = (len(summaries), sum(s.added for s in summaries), sum(s.ordered for s in summaries))
    return [{"step": step, "sessions": n} for step, n in zip(FUNNEL, counts, strict=True)]


def drop_off(summaries: Sequence[SessionSummary]) -> dict[str, int]:
    """Abandoned sessions by their last turn: its status when it failed, else its intent."""
    counts = Counter(
        s.last.status if s.last.status != "ok" else (s.last.intent or "unknown")
        for s in summaries if s.outcome == "abandoned"
    )
    return dict(counts.most_common())
