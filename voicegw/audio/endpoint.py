"""End-pointing a live stream: when an utterance starts and when it is over, frame by frame.

A hands-free customer has no button, so the stream itself must say when a sentence begins and
ends. The end-pointer is clock-free and audio-free, like ``vad.SpeechSegmenter``: it is advanced
by one webrtcvad verdict per frame and answers with events; the stream keeps the audio and cuts
the utterance by the times the events give.

- An utterance starts once ``min_speech_ms`` of the last ``start_window_ms`` were speech (a
  click or a cough is shorter, so it never starts one); it starts ``pre_roll_ms`` before the
  first speech frame of that window, keeping a soft first syllable.
- It ends when at most ``END_SPEECH_SHARE`` of the last ``silence_ms`` was speech: a lone frame
  of noise in a pause does not hold the utterance open; or when it reaches ``max_utterance_ms``;
  or when the client says stop.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from typing import Literal

#: A pause in which this share of frames is still called speech counts as silence (webrtcvad
#: calls single frames of noise speech).
END_SPEECH_SHARE = 0.1

Sensitivity = Literal["relaxed", "default", "aggressive"]
StopReason = Literal["silence", "max_length", "client", "end_of_stream"]


@dataclass(frozen=True)
class EndpointOptions:
    silence_ms: int = 700
    """Silence that ends an utterance."""
    max_utterance_ms: int = 15_000
    """An utterance is cut here even if the speaker goes on."""
    min_speech_ms: int = 200
    """Speech needed to start an utterance; shorter sounds are ignored."""
    aggressiveness: int = 2
    """webrtcvad's mode for the stream (3 drops most noise)."""
    frame_ms: int = 30
    pre_roll_ms: int = 500
    """Audio kept before the first speech frame."""

    def __post_init__(self) -> None:
        if self.frame_ms not in (10, 20, 30):
            raise ValueError(f"frame_ms must be 10, 20 or 30, not {self.frame_ms}")
        if not self.frame_ms <= self.silence_ms <= 10_000:
            raise ValueError("silence_ms must be between one frame and 10 s")
        if not self.frame_ms <= self.min_speech_ms < self.max_utterance_ms:
            raise ValueError("min_speech_ms must be at least one frame and shorter than max_utterance_ms")
        if self.aggressiveness not in (0, 1, 2, 3):
            raise ValueError(f"aggressiveness must be 0-3, not {self.aggressiveness}")

    @property
    def start_window_ms(self) -> int:
        # Twice the speech needed, and never under 300 ms: a short "네" still fits.
        return max(300, 2 * self.min_speech_ms)


#: Presets: ``relaxed`` waits longer for slow speakers and takes shorter words; ``aggressive``
#: rejects more noise (noisy cabins) and ends sooner.
SENSITIVITY: dict[Sensitivity, EndpointOptions] = {
    "relaxed": EndpointOptions(silence_ms=1200, min_speech_ms=150, aggressiveness=1),
    "default": EndpointOptions(),
    "aggressive": EndpointOptions(silence_ms=500, min_speech_ms=300, aggressiveness=3),
}


def endpoint_options(
    sensitivity: Sensitivity = "default",
    *,
    silence_ms: int | None = None,
    max_utterance_ms: int | None = None,
    min_speech_ms: int | None = None,
) -> EndpointOptions:
    """A preset with any value given explicitly put over it."""
    given = {"silence_ms": silence_ms, "max_utterance_ms": max_utterance_ms, "min_speech_ms": min_speech_ms}
    return replace(SENSITIVITY[sensitivity], **{k: v for k, v in given.items() if v is not None})


@dataclass(frozen=True)
class SpeechStarted:
    at_ms: int
    """The first speech frame, from the stream's start."""
    utterance_start_ms: int
    """Where the utterance's audio begins (``pre_roll_ms`` earlier, never before the stream or
    the previous utterance's end)."""


@dataclass(frozen=True)
class SpeechStopped:
    at_ms: int
    """The end of the last speech frame."""
    utterance_start_ms: int
    utterance_end_ms: int
    """Where the utterance's audio ends: where the decision was made (its trailing silence included)."""
    reason: StopReason


Event = SpeechStarted | SpeechStopped


class Endpointer:
    """Feed one ``is_speech`` verdict per ``frame_ms`` of audio; read the events it returns."""

    def __init__(self, options: EndpointOptions | None = None) -> None:
        self.options = options or EndpointOptions()
        self.now_ms = 0
        self._window: deque[tuple[int, bool]] = deque()  # (start_ms, is_speech), the last frames
        self._started: SpeechStarted | None = None
        self._last_speech_end_ms = 0
        self._previous_end_ms = 0

    @property
    def in_utterance(self) -> bool:
        return self._started is not None

    @property
    def last_speech_end_ms(self) -> int:
        """The end of the last frame called speech."""
        return self._last_speech_end_ms

    @property
    def utterance_start_ms(self) -> int | None:
        return self._started.utterance_start_ms if self._started else None

    def process(self, is_speech: bool) -> list[Event]:
        """Advance by one frame."""
        o = self.options
        start = self.now_ms
        self.now_ms += o.frame_ms
        span = o.silence_ms if self._started else o.start_window_ms
        self._window.append((start, is_speech))
        while (len(self._window) - 1) * o.frame_ms >= span:  # the fewest frames that cover ``span``
            self._window.popleft()
        if is_speech:
            self._last_speech_end_ms = self.now_ms
        if self._started is None:
            return self._maybe_start()
        if self.now_ms - self._started.at_ms >= o.max_utterance_ms:
            return [self._stop("max_length")]
        window_ms = o.frame_ms * len(self._window)
        speech_ms = o.frame_ms * sum(speech for _, speech in self._window)
        if window_ms >= o.silence_ms and speech_ms <= END_SPEECH_SHARE * o.silence_ms:
            return [self._stop("silence")]
        return []

    def stop(self, reason: StopReason = "client") -> list[Event]:
        """End the utterance now (the client's ``stop``, or the end of the stream), if one is open."""
        return [self._stop(reason)] if self._started else []

    def _maybe_start(self) -> list[Event]:
        o = self.options
        if o.frame_ms * sum(speech for _, speech in self._window) < o.min_speech_ms:
            return []
        first_speech = next(start for start, speech in self._window if speech)
        begin = max(self._previous_end_ms, first_speech - o.pre_roll_ms, 0)
        self._started = SpeechStarted(at_ms=first_speech, utterance_start_ms=begin)
        self._window.clear()
        return [self._started]

    def _stop(self, reason: StopReason) -> SpeechStopped:
        assert self._started is not None
        stopped = SpeechStopped(
            at_ms=max(self._last_speech_end_ms, self._started.at_ms),
            utterance_start_ms=self._started.utterance_start_ms,
            utterance_end_ms=self.now_ms,
            reason=reason,
        )
        self._started, self._previous_end_ms = None, self.now_ms
        self._window.clear()
        return stopped
