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
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

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


def fits_one_window(samples: np.ndarray) -> bool:
    return len(samples) <= WINDOW_S * SAMPLE_RATE_HZ


def decode_window(
    model: WhisperModel,
    samples: np.ndarray,
    *,
    language: str,
    readings: int,
    beam_size: int,
    max_new_tokens: int,
    initial_prompt: str | None = None,
    hotwords: str | None = None,
    grammar: Sequence[str] = (),
) -> tuple[list[list[TranscriptSegment]], list[list[TranscriptSegment]]]:
    """The ``readings`` best beams for one window, best first, each split into timed segments;
    and, when Whisper's best writes a word outside ``grammar`` (words; empty: no such pass), the
    best beams of a second search over the same encoder output that writes only the grammar's
    words (``voicegw.asr.grammar``), else none."""
    from faster_whisper.audio import pad_or_trim
    from faster_whisper.tokenizer import Tokenizer
    from faster_whisper.transcribe import get_suppressed_tokens

    tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language=language)
    features = model.feature_extractor(samples)
    # The extractor adds one frame of padding; faster-whisper leaves it out of the content too.
    encoder_output = model.encode(pad_or_trim(features[:, : features.shape[-1] - 1]))
    previous = tokenizer.encode(" " + initial_prompt.strip()) if initial_prompt else []
    prompt = model.get_prompt(tokenizer, previous, without_timestamps=False, hotwords=hotwords)
    whisper_suppressed = get_suppressed_tokens(tokenizer, [-1])

    def search(suppressed: list[int]):  # noqa: ANN202 - CTranslate2's WhisperGenerationResult
        return model.model.generate(
            encoder_output,
            [prompt],
            beam_size=max(beam_size, readings),
            num_hypotheses=readings,
            # Whisper's decoder holds 448 positions; a long menu prompt leaves fewer for the words.
            max_length=min(len(prompt) + max_new_tokens, model.max_length),
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=suppressed,
            max_initial_timestamp_index=MAX_INITIAL_TIMESTAMP_INDEX,
        )[0]

    result = search(whisper_suppressed)
    # The no-speech probability is read before any text, so the grammar's pass cannot change it.
    no_speech_prob = float(result.no_speech_prob)

    def hypotheses(found) -> list[list[TranscriptSegment]]:  # noqa: ANN001 - a WhisperGenerationResult
        # CTranslate2 scores a beam by its log-probability over its length; faster-whisper's
        # avg_logprob divides by one more token (the end of text).
        return [split_segments(tokens, tokenizer, float(score) * len(tokens) / (len(tokens) + 1), no_speech_prob)
                for tokens, score in zip(found.sequences_ids, found.scores, strict=True)]

    allowed = allowed_tokens(tokenizer, grammar) if grammar else frozenset()
    if allowed and result.sequences_ids and leaves_grammar(result.sequences_ids[0], tokenizer, allowed):
        return hypotheses(result), hypotheses(search(suppressed_tokens(tokenizer, allowed, whisper_suppressed)))
    return hypotheses(result), []


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
