"""Which variant a session hears, and the reply in that variant's words (pure).

Assignment is a hash of (experiment, store, session): the same session hears the same variant on
every channel and every gateway, with nothing stored to look up. The phase is left out of the
hash on purpose, so that moving weights (10/90 -> 50/50) moves only the sessions it must.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from voicegw.dialogue.replies import TEXTS, language_of
from voicegw.experiments.config import Experiment, Variant


@dataclass(frozen=True)
class Exposure:
    """A session heard a reply an experiment varies (in any variant, the control included)."""

    experiment: str
    phase: str
    variant: str


@dataclass(frozen=True)
class Varied:
    text: str
    exposure: Exposure | None


def bucket(experiment: str, store: str, session: str) -> float:
    """A uniform number in [0, 1) fixed by the experiment, store and session."""
    digest = hashlib.sha256("\x00".join((experiment, store, session)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign(experiment: Experiment, store: str, session: str) -> Variant:
    point = bucket(experiment.id, store, session) * sum(v.weight for v in experiment.variants)
    for variant in experiment.variants:
        point -= variant.weight
        if point < 0:
            return variant
    return experiment.variants[-1]  # rounding at the very top


def languages(experiment: Experiment) -> set[str]:
    """Languages every variant has words for: elsewhere the arms would say the same thing, so
    nobody there is counted."""
    return set.intersection(*(set(v.text) for v in experiment.variants[1:]))


def vary_reply(
    experiments: Mapping[str, Experiment], store: str, session: str, language: str,
    text: str, kind: str | None, values: Mapping[str, str],
) -> Varied:
    """``text`` as the session's variant says it, when a running experiment varies reply ``kind``
    here; ``values`` are what filled the shipped template. A text that is not exactly the
    shipped reply (a backend that added to it) is left alone and counts no exposure."""
    lang = language_of(language)
    experiment = next((e for e in experiments.values() if e.reply == kind and e.runs_in(store)), None)
    if experiment is None or kind is None or lang not in languages(experiment):
        return Varied(text, None)
    try:
        if TEXTS[kind][lang].format(**values) != text:
            return Varied(text, None)
        variant = assign(experiment, store, session)
        said = variant.text[lang].format(**values) if variant.text else text
    except (KeyError, IndexError, ValueError):  # values that do not fill the template
        return Varied(text, None)
    return Varied(said, Exposure(experiment.id, experiment.phase, variant.name))

