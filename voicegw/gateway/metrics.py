"""Prometheus metrics, fed by the pipeline's turn events."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from voicegw.events import TurnEvent

_STAGE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16)


class Metrics:
    """One registry per app, so several apps (tests) never collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.turns = Counter(
            "voicegw_turns", "Turns answered", ["channel", "status"], registry=self.registry
        )
        self.stage_seconds = Histogram(
            "voicegw_stage_seconds", "Time spent per pipeline stage", ["stage"],
            buckets=_STAGE_BUCKETS, registry=self.registry,
        )
        self.errors = Counter("voicegw_errors", "Requests answered with an error", ["code"], registry=self.registry)
        self.kakao_callbacks = Counter("voicegw_kakao_callbacks", "Open Builder callbacks: sent, failed, expired",
                                       ["outcome"], registry=self.registry)
        self.asr_pending = Gauge("voicegw_asr_pending", "Clips running or waiting for a recogniser", registry=self.registry)
        self.asr_batch_size = Histogram("voicegw_asr_batch_size", "Clips decoded together in one recogniser call",
                                        buckets=(1, 2, 4, 8, 16, 32, 64), registry=self.registry)
        self.model_loaded = Gauge("voicegw_model_loaded", "1 when the speech model is loaded", registry=self.registry)

    def on_event(self, event: TurnEvent) -> None:
        self.stage_seconds.labels(event.stage).observe(event.elapsed_ms / 1000)

    def render(self) -> bytes:
        return generate_latest(self.registry)
