"""faster-whisper behind a small ``Transcriber`` interface, and a bounded pool off the event loop."""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from voicegw.asr.device import DeviceChoice
from voicegw.asr.hallucinations import bias_fraction, bias_words, is_hallucination, repeats_a_phrase
from voicegw.errors import ModelError, VoicegwError

log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class TranscriptSegment:
    text: str
    start_ms: int
    end_ms: int
    avg_logprob: float
    no_speech_prob: float


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

    @property
    def is_empty(self) -> bool:
        return not self.text.strip()


class Transcriber(Protocol):
    """Blocking speech-to-text; the pool runs it off the event loop."""

    def transcribe(self, samples: np.ndarray, options: TranscribeOptions) -> Transcript: ...


#: Below this mean log-probability per token the words are near-random guesses (seen on babble
#: noise at -3.1; speech, even espeak-ng Korean, stays above -1.5 on our fixtures).
GIBBERISH_LOGPROB = -2.0
#: Whisper's no-speech probability from which a segment is in doubt. Measured on the fixtures
#: (scripts in the eval README): segments Whisper wrote on noise-only clips under cafe, street,
#: train and kitchen noise 0.19-0.75; spoken orders 0.00-0.07 clean, at most 0.18 at 6 dB SNR.
DOUBT_NO_SPEECH_PROB = 0.15
#: A doubtful segment is dropped when it is nearly all menu words (noise recitals: 0.67-1.0, most
#: 1.0; spoken orders 0.3-0.86: a lost order is asked again, a phantom one is cooked) ...
RECITAL_BIAS_FRACTION = 0.8
#: ... or when Whisper is unsure of its words too.
DOUBT_LOGPROB = -1.0
#: Tokens Whisper may write per second of speech (Korean runs ~7 a second): a cap that stops
#: repetition loops on noise, which otherwise ran 15-20 s on a 3 s clip.
TOKENS_PER_SECOND = 12
MIN_NEW_TOKENS = 24


def _keep_segment(segment: TranscriptSegment, threshold: float, bias: frozenset[str]) -> bool:
    # Whisper's own rule: silent only when it is both likely no-speech and unsure of the words.
    if segment.no_speech_prob > threshold and segment.avg_logprob < -1.0:
        return False
    if segment.avg_logprob < GIBBERISH_LOGPROB:
        return False
    if segment.no_speech_prob >= DOUBT_NO_SPEECH_PROB and (
        bias_fraction(segment.text, bias) >= RECITAL_BIAS_FRACTION
        or repeats_a_phrase(segment.text)
        or segment.avg_logprob < DOUBT_LOGPROB
    ):
        return False
    return not is_hallucination(segment.text)


def guard_segments(
    segments: list[TranscriptSegment], language: str, threshold: float, bias: frozenset[str] = frozenset()
) -> Transcript:
    """Drop silent, hallucinated and bias-echo segments; join the rest into one transcript."""
    kept = [s for s in segments if _keep_segment(s, threshold, bias)]
    dropped = tuple(s.text for s in segments if s not in kept)
    text = " ".join(s.text.strip() for s in kept).strip()
    if kept and is_hallucination(text):
        kept, dropped, text = [], dropped + tuple(s.text for s in kept), ""
    confidence = math.exp(sum(s.avg_logprob for s in kept) / len(kept)) if kept else 0.0
    return Transcript(
        text=text,
        language=language,
        segments=tuple(kept),
        dropped=dropped,
        confidence=min(1.0, confidence),
    )


class WhisperTranscriber:
    """One faster-whisper model per process; thread-safe for ``workers`` concurrent calls."""

    def __init__(self, model_dir: Path, device: DeviceChoice, *, cpu_threads: int = 0, workers: int = 1) -> None:
        from faster_whisper import WhisperModel

        try:
            self._model = WhisperModel(
                str(model_dir),
                device=device.device,
                compute_type=device.compute_type,
                cpu_threads=cpu_threads,
                num_workers=workers,
                local_files_only=True,
            )
        except Exception as err:  # CTranslate2 raises RuntimeError/ValueError for bad files
            raise ModelError(
                "model_load_failed",
                f"could not load the Whisper model from {model_dir} on {device.device}/{device.compute_type}: {err}; "
                "run `voicegw models install` or point asr.model at a CTranslate2 Whisper directory",
            ) from err
        self.device = device
        self.model_dir = model_dir
        self.multilingual = bool(self._model.model.is_multilingual)

    def transcribe(self, samples: np.ndarray, options: TranscribeOptions) -> Transcript:
        language = options.language if self.multilingual else "en"
        segments, info = self._model.transcribe(
            samples,
            language=language,
            beam_size=options.beam_size,
            initial_prompt=options.initial_prompt,
            hotwords=options.hotwords,
            no_speech_threshold=options.no_speech_threshold,
            condition_on_previous_text=False,
            vad_filter=False,  # webrtcvad already cut the speech out
            max_new_tokens=max(MIN_NEW_TOKENS, int(TOKENS_PER_SECOND * len(samples) / 16_000)),
        )
        collected = [
            TranscriptSegment(
                text=s.text,
                start_ms=int(s.start * 1000),
                end_ms=int(s.end * 1000),
                avg_logprob=float(s.avg_logprob),
                no_speech_prob=float(s.no_speech_prob),
            )
            for s in segments
        ]
        return guard_segments(collected, info.language, options.no_speech_threshold, bias_words(options.hotwords))


class Saturated(VoicegwError):
    """Every worker is busy and the queue is full; the client should retry shortly."""

    http_status = 503

    def __init__(self, retry_after_s: int) -> None:
        super().__init__("saturated", "the gateway is busy; retry shortly")
        self.retry_after_s = retry_after_s


@dataclass
class TranscriberPool:
    """Runs blocking transcriptions in a bounded thread pool, refusing work beyond the queue limit."""

    transcriber: Transcriber
    workers: int = 1
    queue_limit: int = 16
    _executor: ThreadPoolExecutor = field(init=False)
    _pending: int = field(init=False, default=0)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="asr")

    async def transcribe(self, samples: np.ndarray, options: TranscribeOptions) -> Transcript:
        with self._lock:
            if self._pending >= self.workers + self.queue_limit:
                raise Saturated(retry_after_s=1)
            self._pending += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, self.transcriber.transcribe, samples, options)
        finally:
            with self._lock:
                self._pending -= 1

    @property
    def pending(self) -> int:
        return self._pending

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


def warm_up(transcriber: Transcriber, language: str | None) -> None:
    """One second of low noise through the model, so the first request is not the slow one."""
    rng = np.random.default_rng(0)
    samples = (rng.standard_normal(16_000) * 0.001).astype(np.float32)
    transcriber.transcribe(samples, TranscribeOptions(language=language, beam_size=1))
    log.info("asr warmed up")
