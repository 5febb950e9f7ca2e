"""Device choice, the silence/hallucination guards and the bounded pool, without the model."""

import asyncio
import threading

import numpy as np
import pytest

from voicegw.asr.device import choose_device
from voicegw.asr.engine import (
    Saturated,
    TranscribeOptions,
    Transcript,
    TranscriberPool,
    TranscriptSegment,
    guard_segments,
)
from voicegw.asr.hallucinations import bias_words
from voicegw.asr.hallucinations import is_hallucination


@pytest.mark.parametrize(
    "device, compute, gpus, expected",
    [
        ("auto", "auto", 0, ("cpu", "int8")),
        ("auto", "auto", 1, ("cuda", "float16")),
        ("cpu", "auto", 2, ("cpu", "int8")),
        ("cuda", "int8_float16", 1, ("cuda", "int8_float16")),
        ("auto", "float32", 0, ("cpu", "float32")),
    ],
)
def test_device_choice(device, compute, gpus, expected) -> None:
    choice = choose_device(device, compute, gpus)
    assert (choice.device, choice.compute_type) == expected


@pytest.mark.parametrize(
    "text",
    ["시청해주셔서 감사합니다.", "Thank you for watching!", "  ", "Thank you. Thank you.", "구독과 좋아요 부탁드립니다"],
)
def test_known_hallucinations(text: str) -> None:
    assert is_hallucination(text)


@pytest.mark.parametrize(
    "text",
    ["아이스 아메리카노 두 잔 주세요", "thank you, and a large latte please", "can I get two lattes"],
)
def test_real_requests_are_not_hallucinations(text: str) -> None:
    assert not is_hallucination(text)


def _segment(text: str, no_speech: float = 0.01, logprob: float = -0.2) -> TranscriptSegment:
    return TranscriptSegment(text=text, start_ms=0, end_ms=1000, avg_logprob=logprob, no_speech_prob=no_speech)


def test_guard_drops_silent_and_hallucinated_segments() -> None:
    transcript = guard_segments(
        [
            _segment(" 아이스 아메리카노 두 잔 주세요"),
            _segment(" 음...", no_speech=0.9, logprob=-1.5),
            _segment(" 시청해주셔서 감사합니다"),
        ],
        "ko",
        0.6,
    )
    assert transcript.text == "아이스 아메리카노 두 잔 주세요"
    assert len(transcript.dropped) == 2
    assert 0.7 < transcript.confidence < 0.9


def test_guard_keeps_confident_speech_despite_no_speech_prob() -> None:
    # Whisper's rule: silent only when no-speech is likely AND the words are unsure.
    transcript = guard_segments([_segment(" two lattes", no_speech=0.9, logprob=-0.3)], "en", 0.6)
    assert transcript.text == "two lattes"


def test_guard_drops_near_random_output() -> None:
    transcript = guard_segments([_segment(" chocolate, chocolate, green tea, cardiology", logprob=-3.1)], "en", 0.6)
    assert transcript.is_empty


def test_guard_drops_a_recital_of_the_menu_on_doubtful_audio() -> None:
    bias = bias_words("아메리카노, 바닐라 시럽, 시럽 없이, 아이스, cream cheese, butter, sugar")
    for text, no_speech, logprob in [
        (" 바닐라 시럽 없이, 바닐라 시럽", 0.43, -0.74),  # cafe babble, cafe-ko
        (" cream cheese, butter, cream cheese", 0.23, -0.86),  # street noise, coffee-en
        (" bread, bread, bread, bread", 0.27, -1.39),  # repeats, not menu words
        (" do you like bread?", 0.31, -2.9 + 1.0),  # unsure words on doubtful audio
    ]:
        assert guard_segments([_segment(text, no_speech, logprob)], "ko", 0.6, bias).is_empty, text


def test_guard_keeps_orders_said_clearly_or_in_noise() -> None:
    bias = bias_words("아메리카노, 바닐라 시럽, 시럽 없이, 아이스, latte, oat milk, iced, large")
    for text, no_speech, logprob in [
        (" 아이스, 아메리카노", 0.01, -0.4),  # all menu words, but clearly speech
        (" hot, iced, hot, iced, americano", 0.008, -0.58),  # repeats, clearly speech
        (" 바닐라 시럽 없이 아메리카노 두 잔 주세요", 0.18, -0.74),  # doubtful audio, a real order
        (" a large iced latte with oat milk please", 0.18, -0.9),
    ]:
        assert guard_segments([_segment(text, no_speech, logprob)], "ko", 0.6, bias).text == text.strip(), text


def test_guard_empties_a_pure_hallucination() -> None:
    transcript = guard_segments([_segment(" Thank you."), _segment(" Thank you.")], "en", 0.6)
    assert transcript.is_empty and transcript.confidence == 0.0


class _BlockingTranscriber:
    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0

    def transcribe(self, samples: np.ndarray, options: TranscribeOptions) -> Transcript:
        self.calls += 1
        self.release.wait(5)
        return Transcript(text="ok", language="en")


async def test_pool_refuses_beyond_queue_limit() -> None:
    blocking = _BlockingTranscriber()
    pool = TranscriberPool(blocking, workers=1, queue_limit=1)
    options = TranscribeOptions(language="en")
    samples = np.zeros(16000, dtype=np.float32)
    running = [asyncio.create_task(pool.transcribe(samples, options)) for _ in range(2)]
    await asyncio.sleep(0.05)
    with pytest.raises(Saturated) as info:
        await pool.transcribe(samples, options)
    assert info.value.http_status == 503 and info.value.retry_after_s >= 1
    blocking.release.set()
    results = await asyncio.gather(*running)
    assert [r.text for r in results] == ["ok", "ok"]
    assert pool.pending == 0
    pool.close()


def _clip(seconds: float) -> np.ndarray:
    return np.zeros(int(16000 * seconds), dtype=np.float32)


async def test_pool_admits_a_clip_only_if_its_answer_can_come_by_the_deadline() -> None:
    blocking = _BlockingTranscriber()
    pool = TranscriberPool(blocking, workers=1, queue_limit=16, deadline_s=5.0, rtf=0.5)
    options = TranscribeOptions(language="en")
    running = [asyncio.create_task(pool.transcribe(_clip(1), options))]  # a free worker: always admitted
    await asyncio.sleep(0.05)
    with pytest.raises(Saturated) as info:  # 0.7 s ahead + 10 s x 0.5 + 0.2 = 5.9 s > 5 s
        await pool.transcribe(_clip(10), options)
    assert info.value.retry_after_s == 1
    running.append(asyncio.create_task(pool.transcribe(_clip(2), options)))  # 0.7 + 1.2 = 1.9 s
    running.append(asyncio.create_task(pool.transcribe(_clip(4), options)))  # 1.9 + 2.2 = 4.1 s
    await asyncio.sleep(0.05)
    with pytest.raises(Saturated) as info:  # about 4 s ahead + 2.2 s
        await pool.transcribe(_clip(4), options)
    # When 4 s would fit (the queue ahead below 2.8 s), not always 1; the running clip's estimate
    # shrinks as it runs, hence a second of play.
    assert 1 <= info.value.retry_after_s <= 2
    with pytest.raises(Saturated) as info:  # a clip too long to fit at all waits for an idle recogniser
        await pool.transcribe(_clip(12), options)
    assert 4 <= info.value.retry_after_s <= 5
    blocking.release.set()
    assert [r.text for r in await asyncio.gather(*running)] == ["ok"] * 3
    assert pool.pending == 0 and pool.rtf < 0.5  # measured: these clips took no time
    pool.close()


async def test_a_clip_nobody_waits_for_leaves_the_queue_unheard() -> None:
    """A client that hangs up cancels its handler: its clip must not be transcribed after all."""
    blocking = _BlockingTranscriber()
    pool = TranscriberPool(blocking, workers=1, queue_limit=4)
    options = TranscribeOptions(language="en")
    first = asyncio.create_task(pool.transcribe(_clip(1), options))
    abandoned = [asyncio.create_task(pool.transcribe(_clip(1), options)) for _ in range(3)]
    await asyncio.sleep(0.05)
    assert pool.pending == 4
    for task in abandoned:
        task.cancel()
    await asyncio.sleep(0.05)
    assert pool.pending == 1  # room again at once, not when the abandoned clips would have run
    blocking.release.set()
    assert (await first).text == "ok"
    await asyncio.sleep(0.05)
    assert blocking.calls == 1 and pool.pending == 0
    pool.close()


def test_guard_drops_a_repetition_loop_even_on_clear_audio() -> None:
    # A noisy meeting clip under running tap water, Whisper base with the coffee menu's hotwords.
    loop = " " + ", ".join(["coffee"] * 10) + "."
    assert guard_segments([_segment(loop, no_speech=0.02, logprob=-0.4)], "en", 0.6).is_empty
    # Two segments that loop only together are one loop.
    halves = [_segment(" milk, milk, milk, milk,"), _segment(" milk, milk, milk, milk")]
    assert guard_segments(halves, "en", 0.6).is_empty


def test_a_long_order_is_not_a_loop() -> None:
    text = " Can I get two large iced americanos, one small hot latte with almond milk, and three chocolate muffins"
    assert guard_segments([_segment(text)], "en", 0.6).text == text.strip()


def test_guard_drops_a_menu_term_echoed_three_times() -> None:
    # Fixture questions that Whisper with the store's hotwords wrote as echoes (espeak Korean, a
    # meeting under running tap water): not a word of them was an order.
    words = bias_words("계란찜, 족발, 보쌈, drip coffee, iced latte")
    for text in (" 계란찜, 계란찜, 계란찜, 계란찜, 계란찜", " coffee, coffee, coffee, coffee, coffee,", " iced latte, iced latte, iced latte"):
        heard = guard_segments([_segment(text, no_speech=0.02, logprob=-0.3)], "ko", 0.6, words)
        assert heard.is_empty and heard.unclear, text  # speech, unreadable: asked again, not "no speech"
    # The same echo where Whisper doubted there was speech at all (noise) is silence.
    assert not guard_segments([_segment(" 계란찜, 계란찜, 계란찜", no_speech=0.4, logprob=-0.3)], "ko", 0.6, words).unclear
    # What a customer says: a term twice, a number repeated, a run of words that are not menu words.
    for text in (" 족발, 족발 두 개요", " 짜장면 두 두 두 그릇", " no no no, an iced latte", " an iced latte and a drip coffee"):
        assert guard_segments([_segment(text, no_speech=0.02, logprob=-0.3)], "ko", 0.6, words).text == text.strip(), text
