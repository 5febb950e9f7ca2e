"""The batching queue: which waiting clips are decoded together, how long a lone clip waits for
company, and what happens to clips that fail, are abandoned or are still queued at shutdown.
(Batched decoding with the real model: tests/integration/test_batched_decoding.py.)"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Hashable, Sequence

import numpy as np
import pytest

from voicegw.asr.batching import Batcher
from voicegw.asr.pool import TranscriberPool
from voicegw.asr.transcript import TranscribeOptions, Transcript

EN = TranscribeOptions(language="en", readings=5)
KO = TranscribeOptions(language="ko", readings=5)


def _clip(tag: int, seconds: float = 1.0) -> np.ndarray:
    """A clip whose first sample names it, so the fake can tell clips apart."""
    samples = np.zeros(int(16_000 * seconds), dtype=np.float32)
    samples[0] = tag
    return samples


def _tag(samples: np.ndarray) -> int:
    return int(samples[0])


class _Recorder:
    """A batch transcriber that records the clips of every call; its calls wait for ``gate``
    (open unless a test closes it), and a clip tagged ``poison`` makes any call it is in fail."""

    def __init__(self, poison: int | None = None) -> None:
        self.calls: list[list[int]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.poison = poison
        self.lock = threading.Lock()

    def batch_key(self, samples: np.ndarray, options: TranscribeOptions) -> Hashable | None:
        return options.language

    def transcribe_batch(self, clips: Sequence[tuple[np.ndarray, TranscribeOptions]]) -> list[Transcript]:
        return [self._heard(samples, options) for samples, options in self._call(clips)]

    def transcribe(self, samples: np.ndarray, options: TranscribeOptions) -> Transcript:
        return self._heard(*self._call([(samples, options)])[0])

    def _call(self, clips: Sequence[tuple[np.ndarray, TranscribeOptions]]) -> Sequence[tuple[np.ndarray, TranscribeOptions]]:
        with self.lock:
            self.calls.append([_tag(samples) for samples, _ in clips])
        self.gate.wait(5)
        if any(_tag(samples) == self.poison for samples, _ in clips):
            raise ValueError("a clip the model cannot read")
        return clips

    @staticmethod
    def _heard(samples: np.ndarray, options: TranscribeOptions) -> Transcript:
        return Transcript(text=f"clip {_tag(samples)}", language=options.language or "")


class _OneAtATime:
    """A transcriber with no batch call (a remote recogniser)."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def transcribe(self, samples: np.ndarray, options: TranscribeOptions) -> Transcript:
        self.calls.append(_tag(samples))
        return Transcript(text=f"clip {_tag(samples)}", language="en")


def _wait_for_calls(recorder: _Recorder, count: int) -> None:
    deadline = time.monotonic() + 5
    while len(recorder.calls) < count and time.monotonic() < deadline:
        time.sleep(0.005)


def test_clips_waiting_together_are_decoded_together_up_to_the_batch_size() -> None:
    recorder = _Recorder()
    recorder.gate.clear()
    batcher = Batcher(recorder, workers=1, batch_size=4)
    first = batcher.submit(_clip(1), EN, 1)  # an idle recogniser: decoded at once, alone
    _wait_for_calls(recorder, 1)
    waiting = [batcher.submit(_clip(n), EN, n) for n in range(2, 8)]
    recorder.gate.set()
    assert [f.result(5).text for f in [first, *waiting]] == [f"clip {n}" for n in range(1, 8)]
    assert recorder.calls == [[1], [2, 3, 4, 5], [6, 7]]
    batcher.close()


def test_a_clip_of_another_kind_waits_for_the_next_batch_in_arrival_order() -> None:
    recorder = _Recorder()
    recorder.gate.clear()
    batcher = Batcher(recorder, workers=1, batch_size=8)
    futures = [batcher.submit(_clip(1), EN, 1)]
    _wait_for_calls(recorder, 1)
    futures += [batcher.submit(_clip(n), options, n) for n, options in [(2, KO), (3, EN), (4, KO), (5, EN)]]
    recorder.gate.set()
    assert [f.result(5).language for f in futures] == ["en", "ko", "en", "ko", "en"]
    # The oldest waiting clip leads the next batch; clips of its kind join it.
    assert recorder.calls == [[1], [2, 4], [3, 5]]
    batcher.close()


def test_a_lone_clip_waits_for_company_at_most_batch_wait() -> None:
    recorder = _Recorder()
    batcher = Batcher(recorder, workers=1, batch_size=4, batch_wait_s=0.3)
    started = time.monotonic()
    lone = batcher.submit(_clip(1), EN, 1)
    assert lone.result(5).text == "clip 1"
    waited = time.monotonic() - started
    assert 0.25 <= waited < 2.0
    pair = [batcher.submit(_clip(2), EN, 2)]
    time.sleep(0.05)
    pair.append(batcher.submit(_clip(3), EN, 3))  # comes while the first waits: one call for both
    assert [f.result(5).text for f in pair] == ["clip 2", "clip 3"]
    assert recorder.calls == [[1], [2, 3]]
    batcher.close()


def test_a_failing_batch_is_read_clip_by_clip_so_only_the_bad_clip_fails() -> None:
    recorder = _Recorder(poison=3)
    recorder.gate.clear()
    batcher = Batcher(recorder, workers=1, batch_size=4)
    first = batcher.submit(_clip(1), EN, 1)
    _wait_for_calls(recorder, 1)
    batch = [batcher.submit(_clip(n), EN, n) for n in (2, 3, 4)]
    recorder.gate.set()
    assert first.result(5).text == "clip 1"
    assert batch[0].result(5).text == "clip 2" and batch[2].result(5).text == "clip 4"
    with pytest.raises(ValueError, match="cannot read"):
        batch[1].result(5)
    assert recorder.calls == [[1], [2, 3, 4], [2], [3], [4]]
    batcher.close()


def test_an_abandoned_clip_is_left_out_of_its_batch() -> None:
    recorder = _Recorder()
    recorder.gate.clear()
    batcher = Batcher(recorder, workers=1, batch_size=4)
    first = batcher.submit(_clip(1), EN, 1)
    _wait_for_calls(recorder, 1)
    kept, abandoned, also_kept = (batcher.submit(_clip(n), EN, n) for n in (2, 3, 4))
    assert abandoned.cancel()
    recorder.gate.set()
    assert [f.result(5).text for f in (first, kept, also_kept)] == ["clip 1", "clip 2", "clip 4"]
    assert recorder.calls == [[1], [2, 4]]
    batcher.close()


def test_a_transcriber_without_a_batch_call_gets_one_clip_at_a_time() -> None:
    plain = _OneAtATime()
    batcher = Batcher(plain, workers=1, batch_size=8, batch_wait_s=0.5)
    assert not batcher.batching
    started = time.monotonic()
    futures = [batcher.submit(_clip(n), EN, n) for n in range(1, 4)]
    assert [f.result(5).text for f in futures] == ["clip 1", "clip 2", "clip 3"]
    assert plain.calls == [1, 2, 3] and time.monotonic() - started < 0.5  # nobody waited for company
    batcher.close()


def test_shutdown_cancels_the_waiting_clips_and_finishes_the_running_batch() -> None:
    recorder = _Recorder()
    recorder.gate.clear()
    batcher = Batcher(recorder, workers=1, batch_size=2)
    running = batcher.submit(_clip(1), EN, 1)
    _wait_for_calls(recorder, 1)
    waiting = batcher.submit(_clip(2), EN, 2)
    threading.Timer(0.1, recorder.gate.set).start()
    batcher.close()
    assert running.result(0).text == "clip 1" and waiting.cancelled()
    with pytest.raises(RuntimeError, match="shut down"):
        batcher.submit(_clip(3), EN, 3)


async def test_the_pool_measures_batches_and_reports_their_sizes() -> None:
    recorder = _Recorder()
    recorder.gate.clear()
    sizes: list[int] = []
    pool = TranscriberPool(recorder, workers=1, batch_size=4, on_batch=sizes.append, rtf=0.5)
    assert pool.batching
    tasks = [asyncio.create_task(pool.transcribe(_clip(n, seconds=2), EN)) for n in range(1, 6)]
    await asyncio.sleep(0.1)
    assert pool.pending == 5
    recorder.gate.set()
    assert [t.text for t in await asyncio.gather(*tasks)] == [f"clip {n}" for n in range(1, 6)]
    assert sorted(sizes) == [1, 4] and pool.pending == 0  # the first alone or with the next three
    assert pool.rtf < 0.5  # measured: 10 s of audio heard in next to no time
    pool.close()
