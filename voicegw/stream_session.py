"""One live stream: audio in, utterances cut by end-pointing, each one a turn of the pipeline.

Transport-free: the WebSocket route (``gateway/stream_route.py``) feeds decoded samples and the
client's commands in, and sends whatever this puts in ``outbox``. Each utterance becomes a turn
through ``Pipeline.voice_turn_pcm``, the same stages a posted clip goes through, one turn at a
time in the order spoken; the stream keeps listening while a turn is worked on.

Messages (``docs/api.md``, "Streaming"): ``speech_started``, ``partial``, ``speech_stopped``,
``turn``, ``no_speech``, ``error``. Times are milliseconds of audio from the stream's start.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from voicegw.asr.pool import Saturated
from voicegw.audio.endpoint import EndpointOptions, Endpointer, SpeechStarted, SpeechStopped, StopReason
from voicegw.audio.pcm import TARGET_RATE_HZ, Pcm
from voicegw.errors import VoicegwError
from voicegw.pipeline import Pipeline, TurnContext
from voicegw.turn import TurnResult

log = logging.getLogger(__name__)

Message = dict[str, Any]
IsSpeech = Callable[[bytes, int], bool]
TurnListener = Callable[[TurnResult], Awaitable[None]]

PARTIAL_EVERY_MS = 1000
"""Audio between two partial transcripts of one utterance."""
MIN_PARTIAL_MS = 600
"""No partial of less audio than this (Whisper guesses at a syllable)."""
MAX_WAITING_UTTERANCES = 2
"""Utterances of one stream waiting for the recogniser (besides the one being read); beyond it the oldest is dropped."""
MAX_SATURATED_WAIT_S = 15.0
"""How long an utterance waits for a busy recogniser before the stream says ``saturated``."""
PARTIAL_ONLY_WITHIN_MS = 90
"""A partial starts only while speech is heard (the last speech frame this recent)."""
SPECULATE_AFTER_MS = 300
"""Silence after which the utterance so far is recognised before the end-pointer is sure it is
over: if no speech follows, the turn uses that reading and arrives ``silence_ms - 300`` sooner."""


@dataclass
class _Speculation:
    """An utterance recognised early, valid while no speech follows ``speech_end_ms``."""

    utterance: int
    speech_end_ms: int
    started: float
    timings: dict[str, int]
    task: asyncio.Task


@dataclass(frozen=True)
class StreamOptions:
    endpoint: EndpointOptions
    partials: bool = True


def _quiet(task: asyncio.Task) -> None:
    """Read a dropped task's failure so asyncio does not log it as never retrieved."""
    if not task.cancelled():
        task.exception()


def _ms_to_samples(ms: int) -> int:
    return ms * TARGET_RATE_HZ // 1000


class StreamSession:
    """Feed it 16 kHz samples (``add_samples``) and commands (``stop``, ``finish``); read ``outbox``."""

    def __init__(
        self,
        pipeline: Pipeline,
        ctx: TurnContext,
        options: StreamOptions,
        is_speech: IsSpeech,
        *,
        partial_ready: Callable[[], bool] = lambda: True,
        on_turn: TurnListener | None = None,
        admit: Callable[[], float | None] = lambda: None,
    ) -> None:
        self.pipeline, self.ctx, self.options = pipeline, ctx, options
        self._is_speech = is_speech
        self._partial_ready = partial_ready
        self._on_turn = on_turn
        self._admit = admit
        self.endpointer = Endpointer(options.endpoint)
        self.outbox: asyncio.Queue[Message] = asyncio.Queue()
        self._frame_bytes = 2 * _ms_to_samples(options.endpoint.frame_ms)
        self._unframed = b""  # PCM16 short of a whole frame, carried to the next samples
        # Audio from ``_kept_from_ms`` on: the open utterance, or the pre-roll a next one may need.
        self._kept: list[np.ndarray] = []
        self._kept_from_ms = 0
        self._turns: asyncio.Queue[tuple[Pcm, SpeechStopped, _Speculation | None] | None] = asyncio.Queue()
        self._worker = asyncio.create_task(self._work_turns())
        self._utterance = 0  # serial of the open (or last) utterance: stale partials are dropped
        self._partial: asyncio.Task | None = None
        self._next_partial_ms = 0
        self._speculation: _Speculation | None = None
        self._early_readings: set[asyncio.Task] = set()  # the open utterance's, and those of utterances queued
    @property
    def heard_ms(self) -> int:
        return self.endpointer.now_ms

    # --- input ------------------------------------------------------------------------------

    def add_samples(self, samples: np.ndarray) -> None:
        """The next decoded audio (16 kHz mono float32)."""
        samples = samples.astype(np.float32, copy=False)
        self._kept.append(samples)
        audio = self._unframed + Pcm(samples).to_int16_bytes()
        whole = len(audio) - len(audio) % self._frame_bytes
        for start in range(0, whole, self._frame_bytes):
            frame = audio[start : start + self._frame_bytes]
            for event in self.endpointer.process(self._is_speech(frame, TARGET_RATE_HZ)):
                self._on_event(event)
        self._unframed = audio[whole:]
        self._trim()
        self._maybe_speculate()
        self._maybe_partial()

    def stop(self, reason: StopReason = "client") -> bool:
        """End the open utterance now and recognise it; False when none was open."""
        events = self.endpointer.stop(reason)
        for event in events:
            self._on_event(event)
        return bool(events)

    async def finish(self) -> None:
        """The stream ended: recognise an utterance still open, wait for every turn, stop."""
        self.stop("end_of_stream")
        await self._turns.put(None)
        await self._worker
        await self._cancel_partial()

    def cancel(self) -> None:
        """The client is gone: drop queued utterances, cancel a turn already running. Synchronous,
        so a handler being cancelled itself still leaves no task behind."""
        for task in self._tasks():
            task.cancel()

    async def abort(self) -> None:
        """``cancel``, then wait until every task has ended."""
        tasks = self._tasks()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _tasks(self) -> list[asyncio.Task]:
        return [task for task in (self._worker, self._partial, *self._early_readings) if task is not None]

    # --- end-pointing -----------------------------------------------------------------------

    def _on_event(self, event: SpeechStarted | SpeechStopped) -> None:
        if isinstance(event, SpeechStarted):
            self._utterance += 1
            self._next_partial_ms = event.at_ms + PARTIAL_EVERY_MS
            self._send({"type": "speech_started", "at_ms": event.at_ms})
            return
        self._send({"type": "speech_stopped", "at_ms": event.at_ms, "reason": event.reason})
        audio = self._audio_between(event.utterance_start_ms, event.utterance_end_ms)
        speculation, self._speculation = self._speculation, None
        if speculation is not None and speculation.speech_end_ms != event.at_ms:
            speculation.task.cancel()
            speculation = None
        if self._turns.qsize() >= MAX_WAITING_UTTERANCES:
            self._drop_oldest_waiting()
        self._turns.put_nowait((audio, event, speculation))

    def _drop_oldest_waiting(self) -> None:
        """The recogniser has fallen behind this stream (noise a detector calls speech, cut into
        15 s pieces): the oldest utterance still waiting is answered with an error, not hours late."""
        job = self._turns.get_nowait()
        if job is None:  # the stream is finishing: keep the end marker last
            self._turns.put_nowait(job)
            return
        _, stopped, speculation = job
        if speculation is not None:
            speculation.task.cancel()
        self._send({"type": "error", "code": "stream_backlog", "at_ms": stopped.at_ms,
                    "message": "the recogniser fell behind this stream; this utterance was not heard, please say it again"})

    def _audio_between(self, start_ms: int, end_ms: int) -> Pcm:
        kept = np.concatenate(self._kept) if self._kept else np.zeros(0, dtype=np.float32)
        self._kept = [kept]
        first = _ms_to_samples(start_ms - self._kept_from_ms)
        last = _ms_to_samples(end_ms - self._kept_from_ms)
        return Pcm(kept[max(0, first):max(0, last)].copy())

    def _trim(self) -> None:
        """Keep only what the open utterance, or the pre-roll of a next one, can still need."""
        start = self.endpointer.utterance_start_ms
        o = self.options.endpoint
        keep_from = start if start is not None else max(0, self.endpointer.now_ms - o.pre_roll_ms - o.start_window_ms)
        drop = _ms_to_samples(keep_from - self._kept_from_ms)
        if drop <= 0:
            return
        kept = np.concatenate(self._kept) if len(self._kept) > 1 else self._kept[0]
        self._kept = [kept[drop:]]
        self._kept_from_ms += drop * 1000 // TARGET_RATE_HZ

    # --- turns ------------------------------------------------------------------------------

    async def _work_turns(self) -> None:
        while (job := await self._turns.get()) is not None:
            audio, stopped, speculation = job
            await self._cancel_partial()
            wait_s = self._admit()
            if wait_s is not None:  # the key's rate limit: each utterance is a turn, as a posted clip is
                if speculation is not None:
                    speculation.task.cancel()
                self._send({"type": "error", "code": "rate_limited", "at_ms": stopped.at_ms,
                            "message": f"too many turns for this key; retry in {math.ceil(wait_s)} s"})
                continue
            try:
                result = await self._turn(audio, speculation)
            except VoicegwError as err:  # this utterance failed (a saturated recogniser); the stream goes on
                self._send({"type": "error", "code": err.code, "message": err.message, "at_ms": stopped.at_ms})
                continue
            if result.status == "no_speech":
                self._send({"type": "no_speech", "at_ms": stopped.at_ms, "result": result.to_json()})
            else:
                self._send({"type": "turn", "at_ms": stopped.at_ms, "result": result.to_json()})
            if self._on_turn is not None:
                await self._on_turn(result)

    async def _turn(self, audio: Pcm, speculation: _Speculation | None) -> TurnResult:
        if speculation is not None:
            try:
                transcript = await speculation.task
            except VoicegwError:  # e.g. refused by a busy recogniser: read it again now
                pass
            except asyncio.CancelledError:
                if asyncio.current_task().cancelling():  # the stream is being torn down, not the reading
                    raise
            else:
                return await self.pipeline.turn_of_transcript(transcript, self.ctx, speculation.timings, speculation.started)
        waited_s = 0.0
        while True:
            try:
                return await self.pipeline.voice_turn_pcm(audio, self.ctx)
            except Saturated as err:
                # A posting client is told to retry; a streaming one cannot send the audio again,
                # so the stream waits for the recogniser itself, for a while.
                if waited_s + err.retry_after_s > MAX_SATURATED_WAIT_S:
                    raise
                await asyncio.sleep(err.retry_after_s)
                waited_s += err.retry_after_s

    # --- early recognition ------------------------------------------------------------------

    def _maybe_speculate(self) -> None:
        e = self.endpointer
        spec = self._speculation
        if spec is not None and (spec.utterance != self._utterance or spec.speech_end_ms != e.last_speech_end_ms):
            self._drop_speculation()  # the customer spoke again: that reading is of half a sentence
        start = e.utterance_start_ms
        if start is None or self._speculation is not None or e.now_ms - e.last_speech_end_ms < SPECULATE_AFTER_MS:
            return
        timings: dict[str, int] = {}
        audio = self._audio_between(start, e.now_ms)
        task = asyncio.create_task(self.pipeline.transcribe_pcm_for_store(audio, self.ctx, timings))
        self._early_readings.add(task)
        task.add_done_callback(self._early_readings.discard)
        task.add_done_callback(_quiet)
        self._speculation = _Speculation(self._utterance, e.last_speech_end_ms, time.perf_counter(), timings, task)

    def _drop_speculation(self) -> None:
        if self._speculation is not None:
            self._speculation.task.cancel()
            self._speculation = None

    # --- partial transcripts ----------------------------------------------------------------

    def _maybe_partial(self) -> None:
        start = self.endpointer.utterance_start_ms
        if not self.options.partials or start is None or self._partial is not None:
            return
        now = self.endpointer.now_ms
        if now < self._next_partial_ms or now - start < MIN_PARTIAL_MS or not self._turns.empty():
            return
        if self._speculation is not None:  # the whole utterance is being read already
            return
        if now - self.endpointer.last_speech_end_ms > PARTIAL_ONLY_WITHIN_MS:
            return  # a pause may be the end: the recogniser stays free for the turn
        if not self._partial_ready():  # the recogniser is busy with a turn: words on screen can wait
            return
        self._next_partial_ms = now + PARTIAL_EVERY_MS
        audio = self._audio_between(start, now)
        self._partial = asyncio.create_task(self._run_partial(self._utterance, audio, now))

    async def _run_partial(self, utterance: int, audio: Pcm, at_ms: int) -> None:
        try:
            transcript = await self.pipeline.transcribe_pcm_for_store(audio, self.ctx, {}, partial=True)
        except VoicegwError as err:
            log.debug("partial transcript skipped: %s", err.code)
            return
        finally:
            self._partial = None
        if transcript is not None and utterance == self._utterance and self.endpointer.in_utterance:
            self._send({"type": "partial", "at_ms": at_ms, "text": transcript.text})

    async def _cancel_partial(self) -> None:
        task = self._partial
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def _send(self, message: Message) -> None:
        self.outbox.put_nowait(message)
