"""Limits checked before expensive work, so a hostile clip costs little."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AudioLimits:
    """What a single clip may be; every check happens before the next costly step."""

    max_bytes: int = 10 * 1024 * 1024
    """Largest encoded body accepted, in bytes (checked before decoding)."""
    max_duration_s: float = 30.0
    """Longest clip accepted, in seconds (checked from the header, then while decoding)."""
    min_duration_ms: int = 100
    """Shorter clips are treated as empty."""
