"""End-pointing a live stream, driven by plain speech/non-speech verdicts (30 ms frames)."""

from __future__ import annotations

import pytest

from voicegw.audio.endpoint import (
    SENSITIVITY,
    EndpointOptions,
    Endpointer,
    SpeechStarted,
    SpeechStopped,
    endpoint_options,
)

F = 30


def frames(pattern: str) -> list[bool]:
    """``"s"`` a speech frame, ``"."`` a silent one; digits repeat the next symbol: ``"10s"``."""
    out: list[bool] = []
    count = ""
    for ch in pattern.replace(" ", ""):
        if ch.isdigit():
            count += ch
            continue
        out += [ch == "s"] * int(count or 1)
        count = ""
    return out


def run(pattern: str, options: EndpointOptions | None = None) -> tuple[Endpointer, list]:
    endpointer = Endpointer(options)
    events = []
    for speech in frames(pattern):
        events += endpointer.process(speech)
    return endpointer, events


def test_an_utterance_starts_once_enough_speech_is_heard_and_keeps_its_pre_roll() -> None:
    _, events = run("40. 20s")  # 1.2 s of silence, then speech from 1200 ms
    started = events[0]
    assert isinstance(started, SpeechStarted)
    assert started.at_ms == 1200
    assert started.utterance_start_ms == 1200 - 500


def test_it_ends_after_the_silence_and_reports_the_end_of_speech() -> None:
    endpointer, events = run("10. 30s 30.")
    stopped = events[-1]
    assert isinstance(stopped, SpeechStopped) and stopped.reason == "silence"
    assert stopped.at_ms == 40 * F  # the last speech frame ended at 1200 ms
    # Decided once the last 700 ms (24 frames cover them) hold at most 10% speech: 22 silent
    # frames after the speech; the audio runs to the decision.
    assert stopped.utterance_end_ms == 40 * F + 22 * F
    assert not endpointer.in_utterance


def test_a_pause_shorter_than_the_silence_does_not_end_it() -> None:
    _, events = run("20s 20. 20s 30.")  # a 600 ms pause mid-sentence
    assert [type(e) for e in events] == [SpeechStarted, SpeechStopped]


def test_single_noise_frames_in_the_pause_do_not_hold_it_open() -> None:
    _, events = run("20s" + " 11. s" * 6)  # one false speech frame every 360 ms
    assert isinstance(events[-1], SpeechStopped) and events[-1].reason == "silence"


def test_a_click_or_a_cough_starts_nothing() -> None:
    _, events = run("10. 3s 40. s 40.")  # 90 ms, then 30 ms of "speech"
    assert events == []


def test_a_short_word_still_starts_one() -> None:
    _, events = run("10. 8s 30.")  # "네": 240 ms
    assert [type(e) for e in events] == [SpeechStarted, SpeechStopped]


def test_a_long_utterance_is_cut_at_the_maximum() -> None:
    options = EndpointOptions(max_utterance_ms=3000)
    _, events = run("200s", options)
    stops = [e for e in events if isinstance(e, SpeechStopped)]
    assert stops[0].reason == "max_length"
    assert stops[0].utterance_end_ms - 0 <= 3000 + F
    assert len(stops) >= 2  # the speaker goes on: a next utterance starts at once


def test_the_client_can_end_it_and_stop_without_one_does_nothing() -> None:
    endpointer, _ = run("10s")
    stopped = endpointer.stop()
    assert len(stopped) == 1 and stopped[0].reason == "client"
    assert endpointer.stop() == []


def test_a_next_utterance_never_reaches_back_into_the_last() -> None:
    _, events = run("20s 25. 20s 30.")
    first_stop, second_start = events[1], events[2]
    assert isinstance(second_start, SpeechStarted)
    assert second_start.utterance_start_ms >= first_stop.utterance_end_ms


def test_presets_and_explicit_values() -> None:
    assert SENSITIVITY["relaxed"].silence_ms > SENSITIVITY["default"].silence_ms > SENSITIVITY["aggressive"].silence_ms
    assert SENSITIVITY["aggressive"].aggressiveness == 3
    chosen = endpoint_options("relaxed", silence_ms=900)
    assert chosen.silence_ms == 900 and chosen.min_speech_ms == SENSITIVITY["relaxed"].min_speech_ms
    # A relaxed stream waits out a 900 ms pause that ends a default one.
    assert len(run("20s 30. 20s 50.", SENSITIVITY["relaxed"])[1]) == 2
    assert len(run("20s 30. 20s 50.")[1]) == 4


@pytest.mark.parametrize("bad", [dict(frame_ms=25), dict(silence_ms=10), dict(min_speech_ms=20_000), dict(aggressiveness=4)])
def test_nonsense_options_are_refused(bad) -> None:
    with pytest.raises(ValueError):
        EndpointOptions(**bad)
