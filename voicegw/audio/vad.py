"""Find the speech in a finished clip with webrtcvad, smoothed so single frames do not count.

The segmenter is clock-free: it is advanced by ``(frame_ms, is_speech)`` and knows nothing of
audio, so its logic is tested with plain booleans. The webrtcvad call is injected into
:func:`find_speech`. Smoothing follows the py-webrtcvad example: a segment starts when most
frames in a ``padding_ms`` window are speech and ends when nearly all of them are not.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from voicegw.audio.pcm import Pcm

#: Rates webrtcvad accepts.
VAD_RATES_HZ = (8_000, 16_000, 32_000, 48_000)


@dataclass(frozen=True)
class VadOptions:
    """How speech is told from the rest."""

    aggressiveness: int = 2
    """webrtcvad mode, 0 (keeps most) to 3 (drops most non-speech)."""
    frame_ms: int = 30
    """Frame length given to webrtcvad: 10, 20 or 30 ms."""
    padding_ms: int = 500
    """Smoothing window, and the audio kept before (twice: the window that opened the segment and
    one more) and after each segment."""
    min_speech_ms: int = 150
    """Segments with fewer speech frames than this (in ms) are dropped as clicks and bumps."""
    merge_gap_ms: int = 300
    """Segments closer than this are joined into one."""
    start_ratio: float = 0.6
    """Share of the window that must be speech to open a segment."""
    end_ratio: float = 0.9
    """Share of the window that must be non-speech to close it."""

    def __post_init__(self) -> None:
        if self.aggressiveness not in (0, 1, 2, 3):
            raise ValueError(f"aggressiveness must be 0-3, not {self.aggressiveness}")
        if self.frame_ms not in (10, 20, 30):
            raise ValueError(f"frame_ms must be 10, 20 or 30, not {self.frame_ms}")
        if self.padding_ms < self.frame_ms:
            raise ValueError(
                f"padding_ms ({self.padding_ms}) must be at least frame_ms ({self.frame_ms})"
            )
        if self.min_speech_ms < 0 or self.merge_gap_ms < 0:
            raise ValueError("min_speech_ms and merge_gap_ms must not be negative")
        if not (0.0 < self.start_ratio <= 1.0 and 0.0 < self.end_ratio <= 1.0):
            raise ValueError("start_ratio and end_ratio must be in (0, 1]")


@dataclass(frozen=True)
class SpeechSegment:
    """A span of the clip holding speech, padding included."""

    start_ms: int
    end_ms: int

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


@dataclass(frozen=True)
class VadResult:
    """The speech found in one clip."""

    segments: tuple[SpeechSegment, ...]
    """In time order, not overlapping."""
    speech_ms: int
    """Total length of the segments (padding included): the length of :func:`speech_only`."""
    total_ms: int
    """Length of the clip that was examined."""
    voiced_ms: int = 0
    """Frames the detector called speech inside the segments (no padding)."""

    @property
    def has_speech(self) -> bool:
        return bool(self.segments)


@dataclass
class _Span:
    start_ms: int
    end_ms: int
    voiced_ms: int


class SpeechSegmenter:
    """Turns a stream of ``(frame_ms, is_speech)`` into speech segments of a finished clip."""

    def __init__(self, options: VadOptions | None = None) -> None:
        self.options = options or VadOptions()
        self._window: deque[tuple[int, int, bool]] = deque()  # (start_ms, frame_ms, is_speech)
        self._window_ms = 0
        self._now_ms = 0
        self._open: _Span | None = None
        self._spans: list[_Span] = []
        self.voiced_ms = 0
        """Speech frames (in ms) inside the segments :meth:`finish` returned."""

    @property
    def now_ms(self) -> int:
        """Audio consumed so far."""
        return self._now_ms

    def process(self, frame_ms: int, is_speech: bool) -> None:
        """Advance by one frame."""
        self._window.append((self._now_ms, frame_ms, is_speech))
        self._window_ms += frame_ms
        while self._window_ms - self._window[0][1] >= self.options.padding_ms:
            self._window_ms -= self._window.popleft()[1]
        self._now_ms += frame_ms
        if self._open is None:
            self._maybe_open()
        else:
            self._open.end_ms = self._now_ms
            self._open.voiced_ms += frame_ms if is_speech else 0
            self._maybe_close()

    def finish(self) -> tuple[SpeechSegment, ...]:
        """Close any open segment at the end of the clip; merge and filter the segments."""
        if self._open is None and self._window:
            # Speech in the last part-window (or a clip shorter than the window) still counts.
            self._maybe_open(require_full=False)
        if self._open is not None:
            self._spans.append(self._open)
            self._open = None
        merged: list[_Span] = []
        for span in self._spans:
            if merged and span.start_ms - merged[-1].end_ms < self.options.merge_gap_ms:
                merged[-1].end_ms = span.end_ms
                merged[-1].voiced_ms += span.voiced_ms
            else:
                merged.append(_Span(span.start_ms, span.end_ms, span.voiced_ms))
        kept = [s for s in merged if s.voiced_ms >= self.options.min_speech_ms]
        self.voiced_ms = sum(s.voiced_ms for s in kept)
        return tuple(SpeechSegment(s.start_ms, s.end_ms) for s in kept)

    def _window_full(self) -> bool:
        return self._window_ms >= self.options.padding_ms

    def _speech_ms(self) -> int:
        return sum(ms for _, ms, speech in self._window if speech)

    def _maybe_open(self, *, require_full: bool = True) -> None:
        if require_full and not self._window_full():
            return
        if self._speech_ms() < self.options.start_ratio * self._window_ms:
            return
        # The window's audio and one more padding length before it become the segment's leading
        # padding: a word said right at the start, weak in frames the detector calls speech ("Eight",
        # "네"), fills the window too slowly to open it (LJSpeech LJ002-0035 lost its "Eight").
        previous_end = self._spans[-1].end_ms if self._spans else 0
        start = max(previous_end, self._window[0][0] - self.options.padding_ms)
        self._open = _Span(start, self._now_ms, self._speech_ms())
        self._clear_window()

    def _maybe_close(self) -> None:
        assert self._open is not None
        silent_ms = self._window_ms - self._speech_ms()
        if self._window_full() and silent_ms >= self.options.end_ratio * self._window_ms:
            self._spans.append(self._open)  # the silent window stays as trailing padding
            self._open = None
            self._clear_window()

    def _clear_window(self) -> None:
        self._window.clear()
        self._window_ms = 0


def find_speech(
    pcm: Pcm,
    options: VadOptions | None = None,
    is_speech: Callable[[bytes, int], bool] | None = None,
) -> VadResult:
    """Run the detector over ``pcm`` frame by frame; a trailing part-frame is ignored."""
    options = options or VadOptions()
    if pcm.sample_rate_hz not in VAD_RATES_HZ:
        raise ValueError(f"webrtcvad needs one of {VAD_RATES_HZ} Hz, not {pcm.sample_rate_hz}")
    if is_speech is None:
        import webrtcvad  # imported here so the segmenter works where webrtcvad is missing

        is_speech = webrtcvad.Vad(options.aggressiveness).is_speech
    frame_bytes = 2 * pcm.sample_rate_hz * options.frame_ms // 1000
    audio = pcm.to_int16_bytes()
    segmenter = SpeechSegmenter(options)
    for offset in range(0, len(audio) - frame_bytes + 1, frame_bytes):
        frame = audio[offset : offset + frame_bytes]
        segmenter.process(options.frame_ms, is_speech(frame, pcm.sample_rate_hz))
    total_ms = pcm.duration_ms
    segments = tuple(SpeechSegment(s.start_ms, min(s.end_ms, total_ms)) for s in segmenter.finish())
    return VadResult(segments, sum(s.duration_ms for s in segments), total_ms, segmenter.voiced_ms)


def speech_only(pcm: Pcm, result: VadResult) -> Pcm:
    """The segments' audio joined end to end (padding included), for the recogniser."""
    parts = [pcm.slice_ms(s.start_ms, s.end_ms).samples for s in result.segments]
    samples = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
    return Pcm(samples.astype(np.float32, copy=False), pcm.sample_rate_hz)
