"""``POST /v1/asr/readings``: this gateway's recogniser for other gateways (``asr.url`` there).

A store's CPU gateway finds the speech, then sends it here; a GPU gateway reads it as it reads its
own clips (N-best readings, the menu-grammar pass, the guards) and answers the whole
``Transcript``. What the OpenAI-compatible ``/v1/audio/transcriptions`` cannot carry: the options
in full, and every reading that passed the guards.

The request is ``multipart/form-data`` with two parts: ``audio``, a 16 kHz mono 16-bit PCM WAV
file (the speech, already cut out by the caller's VAD; at most ``audio.max_duration_s``), and
``options``, a JSON object of ``TranscribeOptions`` (``voicegw.asr.wire.ReadingsOptions``; at most
64 KiB, optional: the defaults). The options do not fit a header or the query: a menu's grammar
is about a thousand words. The clip goes through this server's ``TranscriberPool``, so its
admission applies (503 ``saturated`` with ``Retry-After`` when it cannot answer in time).
"""

from __future__ import annotations

from aiohttp import BodyPartReader, web

from voicegw.asr.wire import max_wav_bytes, options_of_json, samples_of_wav, transcript_to_json
from voicegw.asr.transcript import TranscribeOptions
from voicegw.errors import AudioError, ModelError, RequestError
from voicegw.gateway.inputs import for_each_part, read_limited
from voicegw.gateway.services import SERVICES
from voicegw.jsonbody import parse_json

READINGS_PATH = "/v1/asr/readings"
MAX_OPTIONS_BYTES = 64 * 1024
#: The audio and the options; a few more (a client's own fields) are read and refused.
MAX_PARTS = 4


def add_asr_routes(app: web.Application) -> None:
    app.router.add_post(READINGS_PATH, readings)


async def readings(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    settings = services.settings
    max_audio = min(settings.audio.max_body_bytes, max_wav_bytes(settings.audio.max_duration_s))
    if request.content_length is not None and request.content_length > max_audio + MAX_OPTIONS_BYTES + 16 * 1024:
        raise AudioError("audio_too_large", f"the body is {request.content_length} bytes; the audio may have "
                         f"{max_audio} and the options {MAX_OPTIONS_BYTES}", http_status=413)
    if not request.content_type.startswith("multipart/form-data"):
        raise RequestError("multipart_required", "the body must be multipart/form-data with an 'audio' part "
                           "(16 kHz mono PCM16 WAV) and an 'options' part (JSON)", http_status=415)
    audio, options_raw = await _read_parts(request, max_audio)
    if audio is None:
        raise AudioError("audio_missing", "the multipart body has no 'audio' part")
    options = options_of_json(parse_json(options_raw, code="invalid_options")) if options_raw is not None \
        else TranscribeOptions(language=None)
    samples = samples_of_wav(audio, settings.audio.max_duration_s)
    pipeline = services.pipeline
    if pipeline is None:  # the app has not started its recogniser yet
        raise ModelError("model_loading", "the speech model is still loading; retry shortly")
    transcript = await pipeline.transcriber.transcribe(samples, options)
    return web.json_response(transcript_to_json(transcript))


async def _read_parts(request: web.Request, max_audio: int) -> tuple[bytes | None, bytes | None]:
    found: dict[str, bytes] = {}

    async def take(part: BodyPartReader) -> None:
        if part.name == "audio" and "audio" not in found:
            found["audio"] = await read_limited(part, max_audio, lambda: AudioError(
                "audio_too_large", f"the audio part is larger than {max_audio} bytes", http_status=413))
        elif part.name == "options" and "options" not in found:
            found["options"] = await read_limited(part, MAX_OPTIONS_BYTES, lambda: RequestError(
                "options_too_large", f"the options part is larger than {MAX_OPTIONS_BYTES} bytes", http_status=413))
        else:
            raise RequestError("unknown_part", f"unexpected part {str(part.name)[:64]!r}: the body has one "
                               "'audio' part and one 'options' part")

    await for_each_part(request, MAX_PARTS, f"the body may have at most {MAX_PARTS} parts: 'audio' and 'options'", take)
    return found.get("audio"), found.get("options")

