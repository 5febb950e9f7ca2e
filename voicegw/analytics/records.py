"""The chat-log report's reading of the database: turns and A/B exposures, within retention.

The one I/O edge of the analytics. Nothing older than the transcript retention is read, even
where the purge has not run yet, and sessions leave here only as keyed pseudonyms (the audit
log's salt): a report can count and follow a session but never name it. A deleted user's rows
are gone from the tables (privacy/subject.py), so every later report is without them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from voicegw.db import Connection
from voicegw.privacy.audit import pseudonym
from voicegw.privacy.store import PrivacyStore, iso, utcnow

CHANNELS = ("voice", "text", "kakao")


@dataclass(frozen=True)
class Window:
    """What a report reads: a period (clamped to retention) and optional store and channel."""

    since: str
    until: str
    retention_from: str
    store: str | None = None
    channel: str | None = None


def window(transcripts_days: int, since: datetime | None = None, until: datetime | None = None,
           store: str | None = None, channel: str | None = None, now: datetime | None = None) -> Window:
    now = now or utcnow()
    oldest = now - timedelta(days=transcripts_days)
    start = max(since, oldest) if since is not None else oldest
    return Window(iso(start), iso(min(until, now) if until is not None else now), iso(oldest), store, channel)


@dataclass(frozen=True)
class TurnRecord:
    store: str
    session: str
    """A pseudonym, never the client's session id."""
    at: str
    channel: str
    language: str
    transcript: str
    """Redacted when it was written."""
    intent: str | None
    status: str
    reason: str | None
    confidence: float | None
    asr_confidence: float | None
    latency_ms: int | None
    faq: str | None
    order_id: str | None
    added: int
    handoff: bool
    sentiment: str
    reply_kind: str | None


@dataclass(frozen=True)
class ExposureRecord:
    experiment: str
    phase: str
    variant: str
    store: str
    session: str
    """The same pseudonym as the session's turns."""
    at: str


def read_turns(privacy: PrivacyStore, w: Window) -> list[TurnRecord]:
    """Every logged turn in the window, oldest first."""
    where, args = _where(w, "at")
    with privacy.read() as c:
        names = _Pseudonyms(c)
        return [
            TurnRecord(
                store=r["store"], session=names(r["session"]), at=r["at"], channel=r["channel"],
                language=r["language"], transcript=r["transcript"], intent=r["intent"], status=r["status"],
                reason=r["reason"], confidence=r["confidence"], asr_confidence=r["asr_confidence"],
                latency_ms=r["latency_ms"], faq=r["faq"], order_id=r["order_id"], added=r["added"],
                handoff=bool(r["handoff"]), sentiment=r["sentiment"], reply_kind=r["reply_kind"],
            )
            for r in c.execute(f"SELECT * FROM turn_log WHERE {where} ORDER BY at, id", args)
        ]


def read_exposures(privacy: PrivacyStore, w: Window, experiment: str | None = None) -> list[ExposureRecord]:
    """Exposures in the window (a channel filter does not apply: a session's variant follows it
    across channels), oldest first."""
    where, args = _where(Window(w.since, w.until, w.retention_from, w.store), "at")
    if experiment is not None:
        where, args = where + " AND experiment = ?", [*args, experiment]
    with privacy.read() as c:
        names = _Pseudonyms(c)
        return [
            ExposureRecord(r["experiment"], r["phase"], r["variant"], r["store"], names(r["session"]), r["at"])
            for r in c.execute(f"SELECT * FROM experiment_exposures WHERE {where} ORDER BY at, id", args)
        ]


def _where(w: Window, column: str) -> tuple[str, list[str]]:
    clauses, args = [f"{column} >= ?", f"{column} <= ?"], [w.since, w.until]
    if w.store is not None:
        clauses.append("store = ?")
        args.append(w.store)
    if w.channel is not None:
        clauses.append("channel = ?")
        args.append(w.channel)
    return " AND ".join(clauses), args


class _Pseudonyms:
    """Session id -> pseudonym, each computed once per read."""

    def __init__(self, c: Connection) -> None:
        self._c = c
        self._seen: dict[str, str] = {}

    def __call__(self, session: str) -> str:
        if session not in self._seen:
            self._seen[session] = pseudonym(self._c, session)
        return self._seen[session]

