"""faster-whisper behind a small ``Transcriber`` interface (the queue in front of it: pool.py)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from voicegw.asr.device import DeviceChoice
from voicegw.asr.guards import guard_readings, guard_segments
from voicegw.asr.hallucinations import bias_words, is_repetition_loop
from voicegw.asr.nbest import decode_window, fits_one_window
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

    def transcribe(self, samples: np.ndarray, options: TranscribeOptions) -> Transcript:
        language = options.language if self.multilingual else "en"
        max_new_tokens = max(MIN_NEW_TOKENS, int(TOKENS_PER_SECOND * len(samples) / 16_000))
        bias = bias_words(options.hotwords)
        if options.readings > 1 and language is not None and fits_one_window(samples):
            hypotheses, within_grammar = decode_window(
                self._model,
                samples,
                language=language,
                readings=options.readings,
                beam_size=options.beam_size,
                max_new_tokens=max_new_tokens,
                initial_prompt=options.initial_prompt,
                hotwords=options.hotwords,
                grammar=options.grammar,
            )
            transcript = guard_readings(hypotheses, language, options.no_speech_threshold, bias, within_grammar)
            if not (transcript.is_empty and loops(hypotheses)) and not stops_early(hypotheses, samples):
                return transcript
            # Asked for five finished beams, the search can settle into a repetition loop that a
            # search for one result leaves early (espeak Korean: "치즈버거, 세트, 치킨버거, 세트, ...").
            # A loop is not silence; and Whisper may end its reading before the speech ends (the
            # last sentence of a 16 s turn), which faster-whisper's own decoding picks up by
            # decoding again from there: hear the clip that way, fallback included.
        segments, info = self._model.transcribe(
            samples,
            language=language,
            beam_size=options.beam_size,
            initial_prompt=options.initial_prompt,
            hotwords=options.hotwords,
            no_speech_threshold=options.no_speech_threshold,
            condition_on_previous_text=False,
            vad_filter=False,  # webrtcvad already cut the speech out
            max_new_tokens=max_new_tokens,
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
        return guard_segments(collected, info.language, options.no_speech_threshold, bias)


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
