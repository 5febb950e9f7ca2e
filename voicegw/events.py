"""Typed events each turn emits; metrics, logs and QA subscribe instead of being wired in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TurnEvent:
    """One stage of one turn finished."""

    stage: str
    """decoded, speech_found, transcribed, no_speech, understood, replied, failed."""
    store: str
    session: str
    elapsed_ms: int
    """How long the stage took."""
    data: dict[str, Any] = field(default_factory=dict)
    """Stage facts (durations, intent name, confidence); never audio, never transcripts."""
