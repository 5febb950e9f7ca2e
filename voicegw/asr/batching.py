"""Clips that wait at the same moment are decoded together, in one CTranslate2 call.

A worker thread takes the clip at the head of the queue and the waiting clips it can be decoded
with (the same ``batch_key``: beam size, number of readings, prompt layout), up to ``batch_size``;
when fewer are waiting it gives them ``batch_wait_s`` from the head's arrival to come, then decodes
what it has. A busy gateway never waits: its queue already holds the company. Clips of another key
stay queued, in order, for the next batch. A clip whose caller stopped waiting (cancelled) is left
out. When a batch fails, its clips are transcribed one by one, so that one hostile clip fails
alone and its neighbours are still answered.

With ``batch_size`` 1 this is a plain queue in front of ``workers`` threads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from voicegw.asr.transcript import Transcriber, TranscribeOptions, Transcript

log = logging.getLogger(__name__)


@runtime_checkable
class BatchTranscriber(Transcriber, Protocol):
    """A transcriber that can decode several clips in one call."""

    def batch_key(self, samples: np.ndarray, options: TranscribeOptions) -> Hashable | None:
        """Clips with equal keys go in one batch; None: this clip is transcribed alone."""

    def transcribe_batch(self, clips: Sequence[tuple[np.ndarray, TranscribeOptions]]) -> list[Transcript]:
        """The clips' transcripts, in order; the clips share a key."""


@dataclass(eq=False)
class Job:
    samples: np.ndarray
    options: TranscribeOptions
    key: Hashable | None
    tag: int
    """The caller's name for the job (the pool's admission ticket)."""
    queued_at: float = field(default_factory=time.monotonic)
    future: Future[Transcript] = field(default_factory=Future)


class Batcher:
    """``workers`` threads, each decoding a batch of compatible waiting clips at a time."""

    def __init__(
        self,
        transcriber: Transcriber,
        *,
        workers: int = 1,
        batch_size: int = 1,
        batch_wait_s: float = 0.0,
        on_start: Callable[[Sequence[Job]], None] = lambda jobs: None,
        on_done: Callable[[Sequence[Job], float], None] = lambda jobs, elapsed_s: None,
    ) -> None:
        self.transcriber = transcriber
        self.batching = batch_size > 1 and isinstance(transcriber, BatchTranscriber)
        self.batch_size = batch_size if self.batching else 1
        self.batch_wait_s = batch_wait_s
        self._on_start = on_start
        self._on_done = on_done
        self._queue: deque[Job] = deque()
        self._changed = threading.Condition()
        self._closed = False
        self._threads = [threading.Thread(target=self._work, name=f"asr-{n}", daemon=True) for n in range(workers)]
        for thread in self._threads:
            thread.start()

    def submit(self, samples: np.ndarray, options: TranscribeOptions, tag: int) -> Future[Transcript]:
        """Queue a clip; its future holds the transcript (or the error), and cancelling it before
        it runs keeps it from running."""
        key = self.transcriber.batch_key(samples, options) if self.batching else None  # type: ignore[attr-defined]
        job = Job(samples, options, key, tag)
        with self._changed:
            if self._closed:
                raise RuntimeError("the recogniser is shut down")
            self._queue.append(job)
            self._changed.notify_all()
        return job.future

    def close(self) -> None:
        """Cancel the clips still waiting and let the running batches finish."""
        with self._changed:
            self._closed = True
            waiting = list(self._queue)
            self._queue.clear()
            self._changed.notify_all()
        for job in waiting:
            job.future.cancel()
        for thread in self._threads:
            thread.join()

    def _work(self) -> None:
        while (batch := self._next_batch()) is not None:
            running = [job for job in batch if job.future.set_running_or_notify_cancel()]
            if running:
                self._run(running)

    def _next_batch(self) -> list[Job] | None:
        with self._changed:
            while not self._queue:
                if self._closed:
                    return None
                self._changed.wait()
            head = self._queue.popleft()
            batch = [head]
            if head.key is None:
                return batch
            deadline = head.queued_at + self.batch_wait_s
            while True:
                self._take_company(batch)
                remaining_s = deadline - time.monotonic()
                if len(batch) >= self.batch_size or remaining_s <= 0 or self._closed:
                    return batch
                self._changed.wait(remaining_s)

    def _take_company(self, batch: list[Job]) -> None:
        """Move the waiting clips that share the head's key into ``batch``, oldest first."""
        for job in list(self._queue):
            if len(batch) >= self.batch_size:
                return
            if job.key == batch[0].key and not job.future.cancelled():
                self._queue.remove(job)
                batch.append(job)

    def _run(self, batch: list[Job]) -> None:
        outcomes: list[Transcript | BaseException]
        try:
            self._on_start(batch)
            started = time.monotonic()
            outcomes = self._transcribe(batch)
            self._on_done(batch, time.monotonic() - started)
        except Exception as err:  # never leave a caller waiting for ever
            log.exception("the recogniser's bookkeeping failed")
            outcomes = [err] * len(batch)
        for job, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                job.future.set_exception(outcome)
            else:
                job.future.set_result(outcome)

    def _transcribe(self, batch: list[Job]) -> list[Transcript | BaseException]:
        if len(batch) == 1:
            return [self._alone(batch[0])]
        try:
            return list(self.transcriber.transcribe_batch(  # type: ignore[attr-defined]
                [(job.samples, job.options) for job in batch]))
        except Exception:
            log.exception("a batch of %d clips failed; transcribing them one by one", len(batch))
            return [self._alone(job) for job in batch]

    def _alone(self, job: Job) -> Transcript | BaseException:
        try:
            return self.transcriber.transcribe(job.samples, job.options)
        except Exception as err:  # the caller gets it
            return err
