"""One 30-second window decoded into several readings: Whisper's finished beams as an N-best list.

faster-whisper's ``transcribe`` keeps only the best beam. On a noisy or accented order that beam is
often "free croissants, hot toasted" while the third one is "three croissants, not toasted"; the
pipeline weighs the readings against the store's menu (``voicegw.nlu.rescoring``), the way a
cashier who half-heard an order thinks of what it could have been. Everything the gateway accepts
fits one window (``audio.max_duration_s`` is 30 s), so this is the same single decoder call
faster-whisper makes, asked for ``n`` hypotheses, without its temperature fallback: sampling would
make a replayed clip answer differently each time, and the guards drop what the fallback rescues.
When Whisper's best beam writes a word the store's menu and language do not have, a second search
over the same encoder output adds the beams that write only those words (``voicegw.asr.grammar``).

Several clips decode in one encoder call and one decoder call (``decode_windows``; the batching
queue: ``voicegw.asr.batching``): CTranslate2 searches each clip of a batch on its own, so a clip
reads the same alone or in company (tests/integration/test_batched_decoding.py compares them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from voicegw.asr.grammar import allowed_tokens, leaves_grammar, suppressed_tokens
from voicegw.asr.transcript import TranscriptSegment

if TYPE_CHECKING:
    from faster_whisper import WhisperModel
    from faster_whisper.tokenizer import Tokenizer

SAMPLE_RATE_HZ = 16_000
WINDOW_S = 30
#: Whisper's timestamp resolution.
TIME_PRECISION_S = 0.02
#: faster-whisper's default: the first timestamp within 1 s of the window start.
MAX_INITIAL_TIMESTAMP_INDEX = 50

Hypotheses = list[list[TranscriptSegment]]


@dataclass(frozen=True)
class Window:
    """What one clip (at most one window long) is decoded with."""

    samples: np.ndarray
    language: str
    readings: int
    beam_size: int
    max_new_tokens: int
    initial_prompt: str | None = None
    hotwords: str | None = None
    grammar: Sequence[str] = ()
    """The words of the menu-grammar pass; empty: no such pass."""


@dataclass(frozen=True)
class Decoded:
    """The ``readings`` best beams, best first, each split into timed segments; and, when
    Whisper's best wrote a word outside the window's grammar, the best beams of the grammar's
    pass (``voicegw.asr.grammar``), else none."""

    whispers: Hypotheses
    within_grammar: Hypotheses


def fits_one_window(samples: np.ndarray) -> bool:
    return len(samples) <= WINDOW_S * SAMPLE_RATE_HZ


def batch_key(model: WhisperModel, window: Window) -> tuple[int, int, int]:
    """Windows with the same key decode in one call: CTranslate2 takes one beam size and one number
    of hypotheses per call, and needs <|startoftranscript|> at the same place in every prompt (so
    the menu words before it must be as many tokens long)."""
    tokenizer = _tokenizer(model, window.language)
    return _key(window, tokenizer, _prompt(model, tokenizer, window))


def _key(window: Window, tokenizer: Tokenizer, prompt: list[int]) -> tuple[int, int, int]:
    return max(window.beam_size, window.readings), window.readings, prompt.index(tokenizer.sot)


def decode_window(model: WhisperModel, window: Window) -> Decoded:
    return decode_windows(model, [window])[0]


def decode_windows(model: WhisperModel, windows: Sequence[Window]) -> list[Decoded]:
    """Each window's readings, in order; the windows must share their ``batch_key``."""
    from faster_whisper.audio import pad_or_trim
    from faster_whisper.transcribe import get_suppressed_tokens

    tokenizers = [_tokenizer(model, window.language) for window in windows]
    prompts = [_prompt(model, tokenizer, window) for tokenizer, window in zip(tokenizers, windows, strict=True)]
    keys = {_key(*found) for found in zip(windows, tokenizers, prompts, strict=True)}
    if len(keys) != 1:
        raise ValueError("decode_windows takes windows with one batch_key")
    beam_size, readings, _ = next(iter(keys))
    features = []
    for window in windows:
        extracted = model.feature_extractor(window.samples)
        # The extractor adds one frame of padding; faster-whisper leaves it out of the content too.
        features.append(pad_or_trim(extracted[:, : extracted.shape[-1] - 1]))
    encoder_output = model.encode(np.stack(features))
    # Whisper's own suppressed symbols come from the vocabulary, the same in every language.
    whisper_suppressed = get_suppressed_tokens(tokenizers[0], [-1])
    # Whisper's decoder holds 448 positions; a long menu prompt leaves fewer for the words. One
    # call has one limit: the longest clip's (the limit is there to cut repetition loops short).
    max_length = min(max(len(p) + w.max_new_tokens for p, w in zip(prompts, windows, strict=True)), model.max_length)

    def search(rows: list[int], suppressed: list[int]) -> list[Any]:  # CTranslate2's WhisperGenerationResults
        return model.model.generate(
            _rows(encoder_output, rows, len(windows)),
            [prompts[row] for row in rows],
            beam_size=beam_size,
            num_hypotheses=readings,
            max_length=max_length,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=suppressed,
            max_initial_timestamp_index=MAX_INITIAL_TIMESTAMP_INDEX,
        )

    every_row = list(range(len(windows)))
    results = search(every_row, whisper_suppressed)
    # The no-speech probability is read before any text, so the grammar's pass cannot change it.
    no_speech = [float(result.no_speech_prob) for result in results]
    # The grammar's pass, for the windows whose best reading leaves their grammar: one search for
    # the windows that share a grammar (a decoder call has one list of suppressed tokens).
    grammar_rows: dict[tuple[int, ...], list[int]] = {}
    for row, (window, tokenizer, result) in enumerate(zip(windows, tokenizers, results, strict=True)):
        allowed = allowed_tokens(tokenizer, window.grammar) if window.grammar else frozenset()
        if allowed and result.sequences_ids and leaves_grammar(result.sequences_ids[0], tokenizer, allowed):
            grammar_rows.setdefault(tuple(suppressed_tokens(tokenizer, allowed, whisper_suppressed)), []).append(row)
    within: dict[int, Any] = {}
    for suppressed, rows in grammar_rows.items():
        within.update(zip(rows, search(rows, list(suppressed)), strict=True))
    return [
        Decoded(
            _hypotheses(results[row], tokenizers[row], no_speech[row]),
            _hypotheses(within[row], tokenizers[row], no_speech[row]) if row in within else [],
        )
        for row in every_row
    ]


def _tokenizer(model: WhisperModel, language: str) -> Tokenizer:
    from faster_whisper.tokenizer import Tokenizer

    return Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language=language)


def _prompt(model: WhisperModel, tokenizer: Tokenizer, window: Window) -> list[int]:
    previous = tokenizer.encode(" " + window.initial_prompt.strip()) if window.initial_prompt else []
    return model.get_prompt(tokenizer, previous, without_timestamps=False, hotwords=window.hotwords)


def _rows(encoder_output: Any, rows: list[int], total: int) -> Any:
    """The encoder output of some windows of a batch (a CTranslate2 StorageView): all of it, or a
    copy of those rows on the host (CTranslate2 moves features to the model's device itself)."""
    if len(rows) == total:
        return encoder_output
    import ctranslate2

    host = encoder_output if encoder_output.device == "cpu" else encoder_output.to_device(ctranslate2.Device.cpu)
    return ctranslate2.StorageView.from_array(np.ascontiguousarray(np.asarray(host)[rows]))


def _hypotheses(found: Any, tokenizer: Tokenizer, no_speech_prob: float) -> Hypotheses:
    # CTranslate2 scores a beam by its log-probability over its length; faster-whisper's
    # avg_logprob divides by one more token (the end of text).
    return [split_segments(tokens, tokenizer, float(score) * len(tokens) / (len(tokens) + 1), no_speech_prob)
            for tokens, score in zip(found.sequences_ids, found.scores, strict=True)]


def split_segments(
    tokens: list[int], tokenizer: Tokenizer, avg_logprob: float, no_speech_prob: float
) -> list[TranscriptSegment]:
    """Text between timestamp tokens becomes one segment, as faster-whisper splits a window."""
    segments: list[TranscriptSegment] = []
    start_s = 0.0
    text_tokens: list[int] = []
    for token in tokens:
        if token < tokenizer.eot:
            text_tokens.append(token)
            continue
        if token < tokenizer.timestamp_begin:
            continue  # end of text and other specials
        at_s = (token - tokenizer.timestamp_begin) * TIME_PRECISION_S
        if text_tokens:
            segments.append(_segment(tokenizer, text_tokens, start_s, at_s, avg_logprob, no_speech_prob))
            text_tokens = []
        start_s = at_s
    if text_tokens:
        segments.append(_segment(tokenizer, text_tokens, start_s, start_s, avg_logprob, no_speech_prob))
    return segments


def _segment(
    tokenizer: Tokenizer, tokens: list[int], start_s: float, end_s: float, avg_logprob: float, no_speech_prob: float
) -> TranscriptSegment:
    return TranscriptSegment(
        text=tokenizer.decode(tokens),
        start_ms=int(start_s * 1000),
        end_ms=int(end_s * 1000),
        avg_logprob=avg_logprob,
        no_speech_prob=no_speech_prob,
    )
