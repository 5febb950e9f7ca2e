"""The silence, hallucination and menu-recital guards applied to Whisper's segments."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from voicegw.asr.hallucinations import (
    bias_fraction,
    echoes_a_menu_term,
    is_hallucination,
    is_repetition_loop,
    repeats_a_phrase,
)
from voicegw.asr.transcript import Reading, Transcript, TranscriptSegment

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


def _keep_segment(segment: TranscriptSegment, threshold: float, bias: frozenset[str]) -> bool:
    # Whisper's own rule: silent only when it is both likely no-speech and unsure of the words.
    if segment.no_speech_prob > threshold and segment.avg_logprob < -1.0:
        return False
    if segment.avg_logprob < GIBBERISH_LOGPROB or is_repetition_loop(segment.text):
        return False
    # An echo of the hotwords says nothing about what was said around it either.
    if echoes_a_menu_term(segment.text, bias):
        return False
    if segment.no_speech_prob >= DOUBT_NO_SPEECH_PROB and (
        bias_fraction(segment.text, bias) >= RECITAL_BIAS_FRACTION
        or repeats_a_phrase(segment.text)
        or segment.avg_logprob < DOUBT_LOGPROB
    ):
        return False
    return not is_hallucination(segment.text)


def _unclear(segments: list[TranscriptSegment], bias: frozenset[str]) -> bool:
    """Speech Whisper could not read: a loop or a hotword echo, alone or across its segments,
    where it was sure there was speech."""
    if not segments or min(s.no_speech_prob for s in segments) >= DOUBT_NO_SPEECH_PROB:
        return False
    texts = [" ".join(s.text for s in segments), *(s.text for s in segments)]
    return any(is_repetition_loop(text) or echoes_a_menu_term(text, bias) for text in texts)


def guard_segments(
    segments: list[TranscriptSegment], language: str, threshold: float, bias: frozenset[str] = frozenset()
) -> Transcript:
    """Drop silent, hallucinated and bias-echo segments; join the rest into one transcript."""
    kept = [s for s in segments if _keep_segment(s, threshold, bias)]
    dropped = tuple(s.text for s in segments if s not in kept)
    text = " ".join(s.text.strip() for s in kept).strip()
    # faster-whisper re-decodes a repetition loop with sampling; the N-best decoder does not
    # sample (a replayed clip must answer the same), so a loop is dropped here, whichever decoder
    # wrote it (the engine then hears a looping N-best clip again the faster-whisper way).
    if kept and (is_hallucination(text) or is_repetition_loop(text) or echoes_a_menu_term(text, bias)):
        kept, dropped, text = [], dropped + tuple(s.text for s in kept), ""
    confidence = math.exp(sum(s.avg_logprob for s in kept) / len(kept)) if kept else 0.0
    return Transcript(
        text=text,
        language=language,
        segments=tuple(kept),
        dropped=dropped,
        confidence=min(1.0, confidence),
        unclear=not kept and _unclear(segments, bias),
    )


def guard_readings(
    hypotheses: list[list[TranscriptSegment]],
    language: str,
    threshold: float,
    bias: frozenset[str] = frozenset(),
    within_grammar: Sequence[list[TranscriptSegment]] = (),
) -> Transcript:
    """The best hypothesis that survives the guards, with the other survivors as alternatives,
    then the survivors of the menu-grammar pass (``within_grammar``), marked as such.

    A reading the guards empty is no reading at all: when the best beam is judged silence or a
    hallucination, the others (the same audio, the same no-speech probability) are not let in
    through the side door, so noise stays noise.
    """
    guarded = [guard_segments(segments, language, threshold, bias) for segments in hypotheses]
    if not guarded or guarded[0].is_empty:
        return guarded[0] if guarded else Transcript(text="", language=language)
    best, seen, alternatives = guarded[0], {guarded[0].text}, []
    others = [(other, False) for other in guarded[1:]]
    others += [(guard_segments(segments, language, threshold, bias), True) for segments in within_grammar]
    for other, grammar in others:
        if other.is_empty or other.text in seen:
            continue
        seen.add(other.text)
        mean = sum(s.avg_logprob for s in other.segments) / len(other.segments)
        alternatives.append(Reading(other.text, mean, within_grammar=grammar))
    return replace(best, alternatives=tuple(alternatives))
