"""Whisper's beams as readings: segment splitting and the guards, without the model."""

from __future__ import annotations

import numpy as np

from voicegw.asr.guards import guard_readings
from voicegw.asr.nbest import TIME_PRECISION_S, fits_one_window, split_segments
from voicegw.asr.transcript import Reading, TranscriptSegment


class _Tokenizer:
    """Token ids: words below ``eot``; ``eot`` itself; timestamps from ``timestamp_begin``."""

    eot = 100
    timestamp_begin = 200
    words = {1: " two", 2: " lattes", 3: " and", 4: " a", 5: " muffin"}

    def decode(self, tokens: list[int]) -> str:
        return "".join(self.words[t] for t in tokens)


def _at(seconds: float) -> int:
    return _Tokenizer.timestamp_begin + round(seconds / TIME_PRECISION_S)


def test_text_between_timestamps_becomes_one_segment_each() -> None:
    tokens = [_at(0.0), 1, 2, _at(1.2), _at(1.4), 3, 4, 5, _at(2.5), _Tokenizer.eot]
    segments = split_segments(tokens, _Tokenizer(), avg_logprob=-0.3, no_speech_prob=0.02)
    assert [(s.text, s.start_ms, s.end_ms) for s in segments] == [
        (" two lattes", 0, 1200),
        (" and a muffin", 1400, 2500),
    ]
    assert all(s.avg_logprob == -0.3 and s.no_speech_prob == 0.02 for s in segments)


def test_text_without_a_closing_timestamp_is_kept() -> None:
    segments = split_segments([_at(0.0), 1, 2], _Tokenizer(), avg_logprob=-0.3, no_speech_prob=0.0)
    assert [s.text for s in segments] == [" two lattes"]


def test_every_clip_the_gateway_accepts_fits_one_window() -> None:
    assert fits_one_window(np.zeros(30 * 16_000, np.float32))
    assert not fits_one_window(np.zeros(30 * 16_000 + 1, np.float32))


def _beam(text: str, logprob: float, no_speech: float = 0.01) -> list[TranscriptSegment]:
    return [TranscriptSegment(text=text, start_ms=0, end_ms=1000, avg_logprob=logprob, no_speech_prob=no_speech)]


def test_the_best_beam_is_the_transcript_and_the_others_are_alternatives() -> None:
    transcript = guard_readings(
        [_beam(" two lattes.", -0.2), _beam(" two lattes", -0.25), _beam(" two lattes.", -0.3), _beam(" to lattes", -0.4)],
        "en",
        0.6,
    )
    assert transcript.text == "two lattes."
    # The same text twice is one reading; punctuation makes another.
    assert transcript.alternatives == (Reading("two lattes", -0.25), Reading("to lattes", -0.4))


def test_beams_the_guards_empty_are_not_readings() -> None:
    transcript = guard_readings([_beam(" a latte", -0.3), _beam(" Thank you.", -0.4), _beam(" a lot", -2.5)], "en", 0.6)
    assert transcript.alternatives == ()


def test_noise_stays_noise_when_the_best_beam_is_judged_silent() -> None:
    # The other beams of the same audio share its no-speech probability: no side door for them.
    bias = frozenset({"cream", "cheese"})
    transcript = guard_readings(
        [_beam(" cream cheese, cream cheese", -0.8, 0.3), _beam(" a cream cheese bagel please", -0.9, 0.3)], "en", 0.6, bias
    )
    assert transcript.is_empty and transcript.readings == ()


def test_no_beams_is_no_speech() -> None:
    assert guard_readings([], "en", 0.6).is_empty


def test_a_loop_in_the_best_beam_is_told_apart_from_silence() -> None:
    from voicegw.asr.engine import loops

    loop = _beam(" " + ", ".join(["치킨버거, 세트"] * 8), -0.2)
    assert loops([loop, _beam(" 치즈버거 세트 하나", -0.3)])
    assert not loops([_beam(" 치즈버거 세트 하나", -0.2)]) and not loops([])


def test_readings_of_the_grammar_pass_follow_whispers_and_are_marked() -> None:
    transcript = guard_readings(
        [_beam(" a small pizza", -0.4), _beam(" a small mocha", -0.5)], "en", 0.6,
        within_grammar=[[*_beam(" a small mocha", -0.2)], [*_beam(" a small latte", -0.3)], [*_beam(" Thank you.", -0.1)]],
    )
    assert transcript.text == "a small pizza"
    # The same text is one reading (Whisper's); the guards drop the grammar's hallucination too.
    assert transcript.alternatives == (Reading("a small mocha", -0.5), Reading("a small latte", -0.3, within_grammar=True))
