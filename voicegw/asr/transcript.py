"""What a transcription is asked for and what it returns; the interface every transcriber meets."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class TranscribeOptions:
    """What one transcription is asked for."""

    language: str | None
    """ISO code; None lets Whisper detect it (only when a request asks for that)."""
    beam_size: int = 5
    initial_prompt: str | None = None
    """A sample sentence in the store's words, biasing spelling and vocabulary."""
    hotwords: str | None = None
    """Menu words given to Whisper's hotword prefix."""
    no_speech_threshold: float = 0.6
    readings: int = 1
    """How many of Whisper's beams to return (``Transcript.alternatives``); 1 keeps only the best."""
    grammar: tuple[str, ...] = ()
    """The words a second, menu-grammar search may write (``voicegw.asr.grammar``), its readings
    added to the alternatives; empty for none. Only with ``readings`` above 1."""


@dataclass(frozen=True)
class TranscriptSegment:
    text: str
    start_ms: int
    end_ms: int
    avg_logprob: float
    no_speech_prob: float


@dataclass(frozen=True)
class Reading:
    """One way the clip can be read, with Whisper's mean log-probability per token for it."""

    text: str
    avg_logprob: float
    within_grammar: bool = False
    """Read by the menu-grammar pass (``voicegw.asr.grammar``): its log-probability is over the
    allowed words only, so it weighs heavier than Whisper's own readings."""


@dataclass(frozen=True)
class Transcript:
    """What Whisper heard in one clip, after the silence and hallucination guards."""

    text: str
    language: str
    segments: tuple[TranscriptSegment, ...] = ()
    dropped: tuple[str, ...] = ()
    """Segment texts removed by the guards (no-speech probability, known hallucinations)."""
    confidence: float = 0.0
    """exp(mean avg_logprob) over kept segments, in [0, 1]."""
    alternatives: tuple[Reading, ...] = ()
    """Whisper's other beams that passed the guards, best first, then the menu-grammar pass's;
    none the same text as ``text`` or as another."""
    unclear: bool = False
    """Empty, yet not silence: Whisper was sure of speech (a low no-speech probability) and wrote
    only a repetition loop or an echo of its hotwords. The customer is asked to say it again."""

    @property
    def is_empty(self) -> bool:
        return not self.text.strip()

    @property
    def readings(self) -> tuple[Reading, ...]:
        """The transcript itself first, then the alternatives; none when nothing was heard."""
        if self.is_empty:
            return ()
        return (Reading(self.text, math.log(max(self.confidence, 1e-9))), *self.alternatives)


class Transcriber(Protocol):
    """Blocking speech-to-text; the pool runs it off the event loop."""

    def transcribe(self, samples: np.ndarray, options: TranscribeOptions) -> Transcript: ...
