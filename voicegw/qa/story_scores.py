"""What a story run produced, and its scores per language and per tag (docs/stories.md).

- intent accuracy: turns stating an ``intent`` whose intent matched / such turns;
- exact order match: turns stating ``lines``, ``cart`` or ``total`` where all of them held / such turns;
- turns passed / stories passed: every check of the turn (of every turn of the story) held.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voicegw.qa.story_check import TurnVerdict

ALL = "all"


@dataclass(frozen=True)
class TurnRecord:
    """One replayed turn."""

    number: int
    """1-based position in the story."""
    utterance: str
    """The typed text, or the clip path for an audio turn."""
    route: str
    """text, kakao or voice."""
    verdict: TurnVerdict
    got: dict[str, Any] = field(default_factory=dict)
    """A short view of the answer for reports: status, intent, reason, transcript, reply."""
    latency_ms: float | None = None


@dataclass(frozen=True)
class StoryRecord:
    """One replayed story."""

    path: Path
    name: str
    store: str
    lang: str
    tags: tuple[str, ...]
    session: str
    turns: tuple[TurnRecord, ...]
    known_failure: str | None = None

    @property
    def passed(self) -> bool:
        return all(t.verdict.passed for t in self.turns)

    def failure_lines(self) -> list[str]:
        """``turn 2 "라떼는 아이스로": intent: expected order.change, got order.add`` for each failed check."""
        return [
            f'turn {t.number} "{t.utterance}": {message}' for t in self.turns for message in t.verdict.failures
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "name": self.name,
            "store": self.store,
            "lang": self.lang,
            "tags": list(self.tags),
            "session": self.session,
            "passed": self.passed,
            "turns": [
                {
                    "turn": t.number,
                    "utterance": t.utterance,
                    "route": t.route,
                    "passed": t.verdict.passed,
                    "intent_ok": t.verdict.intent_ok,
                    "order_ok": t.verdict.order_ok,
                    "failures": t.verdict.failures,
                    "got": t.got,
                    "latency_ms": t.latency_ms,
                }
                for t in self.turns
            ],
        }


@dataclass
class Tally:
    """Counts behind the scores of one group of stories."""

    intent_n: int = 0
    intent_ok: int = 0
    order_n: int = 0
    order_ok: int = 0
    turns_n: int = 0
    turns_ok: int = 0
    stories_n: int = 0
    stories_ok: int = 0

    def add(self, story: StoryRecord) -> None:
        self.stories_n += 1
        self.stories_ok += story.passed
        for turn in story.turns:
            verdict = turn.verdict
            self.turns_n += 1
            self.turns_ok += verdict.passed
            if verdict.intent_ok is not None:
                self.intent_n += 1
                self.intent_ok += verdict.intent_ok
            if verdict.order_ok is not None:
                self.order_n += 1
                self.order_ok += verdict.order_ok

    @property
    def intent_accuracy(self) -> float | None:
        return _rate(self.intent_ok, self.intent_n)

    @property
    def order_match(self) -> float | None:
        return _rate(self.order_ok, self.order_n)

    @property
    def turns_passed(self) -> float | None:
        return _rate(self.turns_ok, self.turns_n)

    @property
    def stories_passed(self) -> float | None:
        return _rate(self.stories_ok, self.stories_n)

    def to_dict(self) -> dict[str, Any]:
        rates = {
            "intent_accuracy": self.intent_accuracy,
            "order_match": self.order_match,
            "turns_passed": self.turns_passed,
            "stories_passed": self.stories_passed,
        }
        return {**self.__dict__, **rates}


def _rate(hits: int, total: int) -> float | None:
    return hits / total if total else None


def tally(stories: Iterable[StoryRecord]) -> Tally:
    out = Tally()
    for story in stories:
        out.add(story)
    return out


def tally_by(stories: Sequence[StoryRecord], keys: Callable[[StoryRecord], Iterable[str]]) -> dict[str, Tally]:
    """One tally per key a story has (a story with two tags counts in both), keys sorted."""
    groups: dict[str, Tally] = {}
    for story in stories:
        for key in keys(story):
            groups.setdefault(key, Tally()).add(story)
    return dict(sorted(groups.items()))


def by_language(stories: Sequence[StoryRecord]) -> dict[str, Tally]:
    return tally_by(stories, lambda s: (s.lang,))


def by_tag(stories: Sequence[StoryRecord]) -> dict[str, Tally]:
    return tally_by(stories, lambda s: s.tags)


def by_store(stories: Sequence[StoryRecord]) -> dict[str, Tally]:
    return tally_by(stories, lambda s: (s.store,))


def gate_failures(stories: Sequence[StoryRecord], threshold: float,
                  groups: Callable[[Sequence[StoryRecord]], dict[str, Tally]] = by_language) -> list[str]:
    """Groups (languages, or stores with ``groups=by_store``) whose intent accuracy or exact order
    match is below ``threshold``."""
    failures = []
    for group, t in groups(stories).items():
        for label, rate, hits, n in (
            ("intent accuracy", t.intent_accuracy, t.intent_ok, t.intent_n),
            ("exact order match", t.order_match, t.order_ok, t.order_n),
        ):
            if rate is not None and rate < threshold:
                failures.append(f"{group}: {label} {rate:.3f} ({hits}/{n}) is below {threshold}")
    return failures


def results_json(stories: Sequence[StoryRecord], meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "meta": meta,
        "overall": tally(stories).to_dict(),
        "by_language": {k: v.to_dict() for k, v in by_language(stories).items()},
        "by_store": {k: v.to_dict() for k, v in by_store(stories).items()},
        "by_tag": {k: v.to_dict() for k, v in by_tag(stories).items()},
        "stories": [s.to_dict() for s in stories],
    }
