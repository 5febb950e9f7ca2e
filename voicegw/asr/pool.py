"""The recogniser's queue: transcriptions off the event loop, admitted only when their answer can
come in time, and dropped when nobody waits for them any more.

A clip is admitted when a worker is free, or when the clips ahead of it and its own transcription
are estimated to end within ``deadline_s`` (Open Builder gives a skill 5 s; a kiosk's customer
waits no longer). The estimate is the audio's length times the real-time factor measured on the
clips transcribed so far. Otherwise the answer is 503 at once, with a ``Retry-After`` of the time
after which the same clip would be admitted. A caller that stops waiting (its client hung up, so
aiohttp cancels the handler) cancels its job: if it has not started it never runs. The clips go
to a ``Batcher`` (voicegw/asr/batching.py), which decodes clips waiting together in one call when
``batch_size`` is above 1; the real-time factor is then measured per batch, over all its audio.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from voicegw.asr.batching import Batcher, Job
from voicegw.asr.transcript import Transcriber, TranscribeOptions, Transcript
from voicegw.errors import VoicegwError

SAMPLE_RATE_HZ = 16_000
FIRST_RTF = 0.5
"""Processing seconds per audio second assumed until one clip has been measured (Whisper base
int8 on 2 CPU cores runs at 0.15-0.3; a slower first guess refuses early rather than late)."""
JOB_OVERHEAD_S = 0.2
"""Fixed cost of a transcription beyond its length (the decoder's first window, the hand-over)."""
RTF_SMOOTHING = 0.2


class Saturated(VoicegwError):
    """The clip's answer could not come in time (or the queue is full); retry after ``retry_after_s``."""

    http_status = 503

    def __init__(self, retry_after_s: int) -> None:
        super().__init__("saturated", f"the recogniser is busy; retry in {retry_after_s} s")
        self.retry_after_s = retry_after_s


@dataclass
class _Job:
    estimate_s: float
    started: float | None = None

    def remaining_s(self, now: float) -> float:
        if self.started is None:
            return self.estimate_s
        return max(0.1, self.estimate_s - (now - self.started))


@dataclass
class TranscriberPool:
    """Runs blocking transcriptions in a bounded thread pool, admitting by deadline."""

    transcriber: Transcriber
    workers: int = 1
    queue_limit: int = 16
    """Clips allowed to wait for a worker, whatever the estimate says."""
    deadline_s: float | None = None
    """The longest a client should wait for its transcript; None admits up to ``queue_limit``."""
    rtf: float = FIRST_RTF
    """Processing time per audio second, measured (smoothed) on every finished clip or batch."""
    batch_size: int = 1
    """Clips decoded together at most (by a transcriber that can; others take them one by one)."""
    batch_wait_ms: float = 0.0
    """How long a lone clip waits for company before it is decoded alone."""
    on_batch: Callable[[int], None] | None = None
    """Told the size of every batch decoded (metrics)."""
    _batcher: Batcher = field(init=False)
    _jobs: dict[int, _Job] = field(init=False, default_factory=dict)
    _serial: int = field(init=False, default=0)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._batcher = Batcher(self.transcriber, workers=self.workers, batch_size=self.batch_size,
                                batch_wait_s=self.batch_wait_ms / 1000, on_start=self._started,
                                on_done=self._measured)

    async def transcribe(self, samples: np.ndarray, options: TranscribeOptions) -> Transcript:
        job_id = self._admit(len(samples) / SAMPLE_RATE_HZ)
        try:
            future = self._batcher.submit(samples, options, job_id)
        except BaseException:
            self._release(job_id)
            raise
        future.add_done_callback(lambda _: self._release(job_id))  # also when cancelled before it ran
        return await asyncio.wrap_future(future)

    @property
    def batching(self) -> bool:
        """Whether clips waiting together are decoded together."""
        return self._batcher.batching

    def _admit(self, duration_s: float) -> int:
        with self._lock:
            own = self.rtf * duration_s + JOB_OVERHEAD_S
            wait = self._wait_s(time.monotonic())
            busy = len(self._jobs) >= self.workers
            late = self.deadline_s is not None and wait + own > self.deadline_s
            if len(self._jobs) >= self.workers + self.queue_limit or (busy and late):
                # When the same clip would be admitted: once the work ahead has shrunk enough for
                # its own transcription to end by the deadline (or, if it alone is longer, to nothing).
                slack = max(0.0, self.deadline_s - own) if self.deadline_s is not None else 0.0
                raise Saturated(retry_after_s=max(1, math.ceil(wait - slack)))
            self._serial += 1
            self._jobs[self._serial] = _Job(own)
            return self._serial

    def _wait_s(self, now: float) -> float:
        """How long a new clip would wait for a worker: the work ahead of it, spread over the workers."""
        if len(self._jobs) < self.workers:
            return 0.0
        return sum(job.remaining_s(now) for job in self._jobs.values()) / self.workers

    def _started(self, jobs: Sequence[Job]) -> None:
        now = time.monotonic()
        with self._lock:
            for job in jobs:
                if (admitted := self._jobs.get(job.tag)) is not None:
                    admitted.started = now

    def _measured(self, jobs: Sequence[Job], elapsed_s: float) -> None:
        audio_s = sum(len(job.samples) for job in jobs) / SAMPLE_RATE_HZ
        if audio_s >= 0.5:  # a blip says little about the speed
            measured = max(0.0, elapsed_s - JOB_OVERHEAD_S) / audio_s
            with self._lock:
                self.rtf += RTF_SMOOTHING * (measured - self.rtf)
        if self.on_batch is not None:
            self.on_batch(len(jobs))

    def _release(self, job_id: int) -> None:
        with self._lock:
            self._jobs.pop(job_id, None)

    @property
    def pending(self) -> int:
        """Clips admitted and not finished (running or waiting)."""
        return len(self._jobs)

    def close(self) -> None:
        self._batcher.close()
