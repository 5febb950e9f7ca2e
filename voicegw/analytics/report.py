"""The chat-log report: what customers ask, where they give up, how the A/B tests stand.

``build_report`` reads the turn log once (records.py) and computes every figure from it with pure
functions; the same dict is ``report.json``, the admin route's answer, and what the HTML and the
terminal summary render. Figures are per segment: each store over everything (the roll-up), and
each store, channel and language.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime

import numpy as np

from voicegw.analytics.records import TurnRecord, Window, read_exposures, read_turns
from voicegw.analytics.sessions import containment, drop_off, funnel, outcome_counts, sessions
from voicegw.analytics.unmatched import Utterance, group_utterances, is_unmatched
from voicegw.experiments.config import Experiment
from voicegw.experiments.results import experiment_results
from voicegw.nlu.menu import Menu
from voicegw.privacy.store import PrivacyStore, iso, utcnow

LOW_CONFIDENCE = 0.5
"""An intent below this confidence counts as a low-confidence turn (as does a turn the bot
asked again because it was unsure)."""
TOP_FAQ = 10
FAQ_EXAMPLES = 3


def build_report(
    privacy: PrivacyStore, w: Window, menus: Mapping[str, Menu] | None = None,
    experiments: Mapping[str, Experiment] | None = None, now: datetime | None = None,
) -> dict[str, object]:
    turns = read_turns(privacy, w)
    report: dict[str, object] = {
        "generated_at": iso(now or utcnow()),
        "period": {"since": w.since, "until": w.until, "retention_from": w.retention_from},
        "filters": {"store": w.store, "channel": w.channel},
        "segments": segments(turns, w.until, menus or {}),
        "experiments": [],
    }
    wanted = [e for e in (experiments or {}).values() if w.store is None or not e.stores or w.store in e.stores]
    if wanted:
        # A session's variant follows it across channels: experiments read every channel.
        every_channel = turns if w.channel is None else read_turns(privacy, Window(w.since, w.until, w.retention_from, w.store))
        exposures = read_exposures(privacy, w)
        report["experiments"] = [experiment_results(e, exposures, every_channel, w.until) for e in wanted]
    return report


def segments(turns: Sequence[TurnRecord], until: str, menus: Mapping[str, Menu]) -> list[dict[str, object]]:
    """Each store's roll-up, then its channel-and-language segments."""
    by_store: dict[str, list[TurnRecord]] = defaultdict(list)
    for t in turns:
        by_store[t.store].append(t)
    out = []
    for store in sorted(by_store):
        out.append(segment(store, "all", "all", by_store[store], until, menus))
        parts: dict[tuple[str, str], list[TurnRecord]] = defaultdict(list)
        for t in by_store[store]:
            parts[(t.channel, t.language)].append(t)
        out.extend(segment(store, channel, language, parts[(channel, language)], until, menus)
                   for channel, language in sorted(parts))
    return out


def segment(store: str, channel: str, language: str, turns: Sequence[TurnRecord], until: str,
            menus: Mapping[str, Menu]) -> dict[str, object]:
    summaries = sessions(turns, until)
    n = len(turns)
    voice = [t for t in turns if t.channel == "voice"]
    unmatched = [Utterance(t.transcript, t.language, t.reason) for t in turns
                 if is_unmatched(t.status, t.reason, t.transcript)]
    ended = [s for s in summaries if s.outcome != "open"]
    return {
        "store": store, "channel": channel, "language": language,
        "turns": n, "sessions": len(summaries),
        "by_day": dict(sorted(Counter(t.at[:10] for t in turns).items())),
        "by_hour": _by_hour(turns),
        "intents": dict(Counter(t.intent or "none" for t in turns).most_common()),
        "statuses": dict(Counter(t.status for t in turns).most_common()),
        "rates": {
            "not_understood": _share(turns, lambda t: t.status == "not_understood"),
            "no_speech": _share(voice, lambda t: t.status == "no_speech") if voice else None,
            "low_confidence": _share(turns, _low_confidence),
            "frustrated": _share(turns, lambda t: t.sentiment == "frustrated"),
        },
        "outcomes": outcome_counts(summaries),
        "containment": containment(summaries),
        "handoff_rate": sum(s.outcome == "handed_off" for s in ended) / len(ended) if ended else None,
        "funnel": funnel(summaries),
        "drop_off": drop_off(summaries),
        "faq": _faq(turns),
        "unmatched": [g.to_json() for g in group_utterances(unmatched, menus, store)],
        "unmatched_total": len(unmatched),
        "voice": _voice(voice),
    }


def _share(turns: Sequence[TurnRecord], hit) -> float | None:
    return sum(map(hit, turns)) / len(turns) if turns else None


def _low_confidence(t: TurnRecord) -> bool:
    return t.reason == "low_confidence" or (t.confidence is not None and t.intent not in (None, "unknown")
                                           and t.confidence < LOW_CONFIDENCE)


def _by_hour(turns: Sequence[TurnRecord]) -> dict[str, int]:
    hours = Counter(int(t.at[11:13]) for t in turns)
    return {str(h): hours.get(h, 0) for h in range(24)}


def _faq(turns: Sequence[TurnRecord]) -> list[dict[str, object]]:
    asked: dict[str, list[str]] = defaultdict(list)
    for t in turns:
        if t.faq and t.status == "ok":
            asked[t.faq].append(t.transcript)
    ranked = sorted(asked.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:TOP_FAQ]
    return [{"entry": entry, "answered": len(said), "examples": list(dict.fromkeys(s for s in said if s))[:FAQ_EXAMPLES]}
            for entry, said in ranked]


def _voice(voice: Sequence[TurnRecord]) -> dict[str, object] | None:
    if not voice:
        return None
    confidence = [t.asr_confidence for t in voice if t.asr_confidence is not None]
    latency = [t.latency_ms for t in voice if t.latency_ms is not None]
    return {
        "turns": len(voice),
        "asr_confidence": _percentiles(confidence, {"p10": 10, "p50": 50}),
        "latency_ms": _percentiles(latency, {"p50": 50, "p95": 95}),
    }


def _percentiles(values: Sequence[float], which: Mapping[str, int]) -> dict[str, float | None]:
    if not values:
        return {name: None for name in which}
    return {name: round(float(np.percentile(values, q)), 3) for name, q in which.items()}
