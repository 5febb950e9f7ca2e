"""Build the configured transcriber: resolve the model offline, pick the device, load it once; or,
with ``asr.url``, the remote recogniser (with a local model behind it when ``asr.fallback: local``)."""

from __future__ import annotations

import logging

from voicegw.asr.device import choose_device, detect_cuda_devices
from voicegw.asr.engine import WhisperTranscriber
from voicegw.asr.models import resolve_model
from voicegw.asr.remote import RemoteTranscriber
from voicegw.asr.transcript import Transcriber
from voicegw.settings import AsrSettings

log = logging.getLogger(__name__)


def load_transcriber(settings: AsrSettings) -> Transcriber:
    """Blocking: hash-checks and loads the model (seconds), unless recognition is remote without a
    local fallback. Raises ModelError with the fix in its message."""
    if settings.url is None:
        return load_local_transcriber(settings)
    fallback = load_local_transcriber(settings) if settings.fallback == "local" else None
    log.info("speech recognition by the remote recogniser at %s (kind %s; when it fails: %s)", settings.url,
             settings.remote_kind, "the local model" if fallback is not None else "503 asr_unavailable")
    return RemoteTranscriber.from_settings(settings, fallback=fallback)


def load_local_transcriber(settings: AsrSettings) -> WhisperTranscriber:
    """The Whisper model of ``asr.model`` on this machine, whatever ``asr.url`` says."""
    model_dir = resolve_model(settings.model, settings.models_dir)
    device = choose_device(settings.device, settings.compute_type, detect_cuda_devices())
    workers = settings.workers_on(device.device)
    threads = settings.threads_per_worker(device.device)
    transcriber = WhisperTranscriber(model_dir, device, cpu_threads=threads, workers=workers)
    log.info("loaded Whisper model %s on %s (%s), %d worker(s)%s", model_dir, device.device, device.compute_type,
             workers, f" of {threads} thread(s)" if device.device == "cpu" else "")
    return transcriber


def local_part(transcriber: Transcriber) -> Transcriber | None:
    """The model on this machine behind ``transcriber`` (to warm up): itself, a remote one's local
    fallback, or None when every clip goes to another machine."""
    if isinstance(transcriber, RemoteTranscriber):
        return transcriber.fallback
    return transcriber
