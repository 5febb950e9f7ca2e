"""Which device and compute type to run Whisper on: decided from what is available, passed in."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeviceChoice:
    device: str
    """``cpu`` or ``cuda``."""
    compute_type: str
    """A CTranslate2 compute type (int8, float16, ...)."""


def choose_device(requested_device: str, requested_compute_type: str, cuda_devices: int) -> DeviceChoice:
    """CUDA with float16 when a GPU is there (or asked for), CPU with int8 otherwise.

    ``cuda_devices`` is what the caller found (``ctranslate2.get_cuda_device_count()``), so this
    decision is tested without a GPU.
    """
    if requested_device == "auto":
        device = "cuda" if cuda_devices > 0 else "cpu"
    else:
        device = requested_device
    if requested_compute_type != "auto":
        return DeviceChoice(device, requested_compute_type)
    return DeviceChoice(device, "float16" if device == "cuda" else "int8")


def detect_cuda_devices() -> int:
    """How many CUDA devices CTranslate2 can use; 0 when it was built without CUDA or has none."""
    try:
        import ctranslate2

        return int(ctranslate2.get_cuda_device_count())
    except Exception:  # a CPU-only build raises on CUDA queries; that simply means no GPU
        return 0
