"""faster-whisper behind a small ``Transcriber`` interface (the queue in front of it: pool.py)."""

from __future__ import annotations

import logging
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import cast

import numpy as np

from voicegw.asr.device import DeviceChoice
from voicegw.asr.guards import guard_readings, guard_segments
from voicegw.asr.hallucinations import bias_words, is_repetition_loop
from voicegw.asr.nbest import Decoded, Window, batch_key, decode_window, decode_windows, fits_one_window
from voicegw.asr.pool import Saturated, TranscriberPool  # re-exported
from voicegw.asr.transcript import (  # re-exported: the rest of the code imports them from here
    Reading,
    Transcriber,
    TranscribeOptions,
    Transcript,
    TranscriptSegment,
)
from voicegw.errors import ModelError

__all__ = [
    "Reading",
    "Saturated",
    "Transcriber",
    "TranscriberPool",
    "TranscribeOptions",
    "Transcript",
    "TranscriptSegment",
    "WhisperTranscriber",
    "guard_segments",
    "warm_up",
]

log = logging.getLogger(__name__)

#: Tokens Whisper may write per second of speech: a cap that stops repetition loops on noise,
#: which otherwise ran 15-20 s on a 3 s clip. Korean takes about one token a syllable, and fast
#: conversational Korean with its pauses cut out by the VAD reaches 9-10 syllables a second, so
#: the cap leaves room above that (a loop is also caught by the compression-ratio guard).
TOKENS_PER_SECOND = 16
MIN_NEW_TOKENS = 24


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

    def batch_key(self, samples: np.ndarray, options: TranscribeOptions) -> Hashable | None:
        """Clips with the same key are transcribed together by ``transcribe_batch``; None: this
        clip is transcribed alone (one reading asked for, its language left to Whisper, longer
        than one window)."""
        window = self._window(samples, options)
        return None if window is None else batch_key(self._model, window)

    def transcribe_batch(self, clips: Sequence[tuple[np.ndarray, TranscribeOptions]]) -> list[Transcript]:
        """The clips' transcripts in one encoder and one decoder call; the clips share a ``batch_key``."""
        windows = [self._window(samples, options) for samples, options in clips]
        if any(window is None for window in windows):
            raise ValueError("transcribe_batch takes clips with a batch_key")
        decoded = decode_windows(self._model, cast("list[Window]", windows))
        return [self._heard(samples, options, one) for (samples, options), one in zip(clips, decoded, strict=True)]

    def transcribe(self, samples: np.ndarray, options: TranscribeOptions) -> Transcript:
        window = self._window(samples, options)
        if window is None:
            return self._transcribe_in_full(samples, options)
        return self._heard(samples, options, decode_window(self._model, window))

    def _language(self, options: TranscribeOptions) -> str | None:
        """The clip's language: English-only models read English whatever was asked."""
        return options.language if self.multilingual else "en"

    def _window(self, samples: np.ndarray, options: TranscribeOptions) -> Window | None:
        language = self._language(options)
        if options.readings <= 1 or language is None or not fits_one_window(samples):
            return None
        return Window(samples, language, options.readings, options.beam_size, _max_new_tokens(samples),
                      options.initial_prompt, options.hotwords, options.grammar)

    def _heard(self, samples: np.ndarray, options: TranscribeOptions, decoded: Decoded) -> Transcript:
        language = self._language(options)
        assert language is not None  # a window has its language
        bias = bias_words(options.hotwords)
        transcript = guard_readings(decoded.whispers, language, options.no_speech_threshold, bias,
                                    decoded.within_grammar)
        if not (transcript.is_empty and loops(decoded.whispers)) and not stops_early(decoded.whispers, samples):
            return transcript
        # Asked for five finished beams, the search can settle into a repetition loop that a
        # search for one result leaves early (espeak Korean: "치즈버거, 세트, 치킨버거, 세트, ...").
        # A loop is not silence; and Whisper may end its reading before the speech ends (the
        # last sentence of a 16 s turn), which faster-whisper's own decoding picks up by
        # decoding again from there: hear the clip that way, fallback included.
        return self._transcribe_in_full(samples, options)

    def _transcribe_in_full(self, samples: np.ndarray, options: TranscribeOptions) -> Transcript:
        """faster-whisper's own decoding: window after window, with its temperature fallback."""
        segments, info = self._model.transcribe(
            samples,
            language=self._language(options),
            beam_size=options.beam_size,
            initial_prompt=options.initial_prompt,
            hotwords=options.hotwords,
            no_speech_threshold=options.no_speech_threshold,
            condition_on_previous_text=False,
            vad_filter=False,  # webrtcvad already cut the speech out
            max_new_tokens=_max_new_tokens(samples),
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


def _max_new_tokens(samples: np.ndarray) -> int:
    return max(MIN_NEW_TOKENS, int(TOKENS_PER_SECOND * len(samples) / 16_000))


#: Speech left after the last timestamp of Whisper's best reading from which the reading is
#: taken to have stopped early (its closing timestamp normally falls within the last second).
EARLY_STOP_MS = 1500


def stops_early(hypotheses: list[list[TranscriptSegment]], samples: np.ndarray) -> bool:
    """Whisper's best reading closes with a timestamp well before the audio ends: speech was left
    unread. (A reading whose text ends without a closing timestamp has read to the end.)"""
    if not hypotheses or not hypotheses[0]:
        return False
    last = hypotheses[0][-1]
    return last.end_ms > last.start_ms and len(samples) * 1000 // 16_000 - last.end_ms > EARLY_STOP_MS


def loops(hypotheses: list[list[TranscriptSegment]]) -> bool:
    """Whisper's best beam is a repetition loop."""
    return bool(hypotheses) and is_repetition_loop(" ".join(s.text for s in hypotheses[0]))


def warm_up(transcriber: Transcriber, language: str | None) -> None:
    """One second of low noise through the model, so the first request is not the slow one."""
    rng = np.random.default_rng(0)
    samples = (rng.standard_normal(16_000) * 0.001).astype(np.float32)
    transcriber.transcribe(samples, TranscribeOptions(language=language, beam_size=1))
    log.info("asr warmed up")
