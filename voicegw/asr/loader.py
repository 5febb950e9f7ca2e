"""Build the configured transcriber: resolve the model offline, pick the device, load it once."""

from __future__ import annotations

import logging

from voicegw.asr.device import choose_device, detect_cuda_devices
from voicegw.asr.engine import WhisperTranscriber
from voicegw.asr.models import resolve_model
from voicegw.settings import AsrSettings

log = logging.getLogger(__name__)


def load_transcriber(settings: AsrSettings) -> WhisperTranscriber:
    """Blocking: hash-checks and loads the model (seconds). Raises ModelError with the fix in its message."""
    model_dir = resolve_model(settings.model, settings.models_dir)
    device = choose_device(settings.device, settings.compute_type, detect_cuda_devices())
    transcriber = WhisperTranscriber(model_dir, device, cpu_threads=settings.cpu_threads, workers=settings.workers)
    log.info("loaded Whisper model %s on %s (%s)", model_dir, device.device, device.compute_type)
    return transcriber
