"""Reading what clients send: raw or multipart audio with its fields, and JSON bodies.

Size limits are checked on the declared length first and enforced while reading, so an oversize
body is refused before it is buffered, let alone decoded.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from aiohttp import BodyPartReader, web
from pydantic import BaseModel, ValidationError

from voicegw.asr.wire import WHISPER_LANGUAGES
from voicegw.errors import AudioError, RequestError, VoicegwError
from voicegw.jsonbody import parse_json

_ID = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")
#: Whisper's language codes (faster_whisper.tokenizer) and ``auto``: any other code would reach
#: the model and fail there, as a 500 instead of a 400.
LANGUAGES = WHISPER_LANGUAGES | {"auto"}
#: Text fields of a multipart upload (store, session, lang, prompt) are short.
MAX_FIELD_BYTES = 4096
#: Parts of one multipart upload: the audio and a few fields (an OpenAI client sends up to eight).
#: 100,000 empty parts in 5 MB once held the event loop for 9 s; the 33rd part is refused.
MAX_PARTS = 32

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class AudioUpload:
    """An audio clip and the turn fields that came with it."""

    audio: bytes
    content_type: str | None
    fields: dict[str, str]


def valid_id(value: str | None, name: str, *, required: bool = True) -> str | None:
    """Store and session ids: short, printable, no spaces or quotes (they end up in logs and SQL params)."""
    if value is None or value == "":
        if required:
            raise RequestError(f"missing_{name}", f"the {name!r} field is required")
        return None
    if not _ID.match(value):
        raise RequestError(f"invalid_{name}", f"{name!r} must be 1-128 characters of letters, digits and ._:@-")
    return value


def valid_language(value: str | None) -> str | None:
    if value in (None, ""):
        return None
    if value not in LANGUAGES:
        raise RequestError("invalid_lang", "'lang' must be a language code Whisper knows, such as ko or en, or auto (detect)")
    return value


def new_session_id() -> str:
    return f"s-{uuid.uuid4().hex[:16]}"


def _check_declared_length(request: web.Request, max_bytes: int) -> None:
    if request.content_length is not None and request.content_length > max_bytes:
        raise AudioError("audio_too_large", f"the body is {request.content_length} bytes; the limit is {max_bytes}", http_status=413)


async def read_limited(reader, max_bytes: int, too_large: Callable[[], VoicegwError]) -> bytes:
    # A multipart part reads with read_chunk(); the request body stream with read(); both end on b"".
    read = reader.read_chunk if hasattr(reader, "read_chunk") else reader.read
    chunks: list[bytes] = []
    size = 0
    while chunk := await read(64 * 1024):
        size += len(chunk)
        if size > max_bytes:
            raise too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def _audio_too_large(max_bytes: int) -> Callable[[], VoicegwError]:
    return lambda: AudioError("audio_too_large", f"the audio is larger than the limit of {max_bytes} bytes", http_status=413)


def _field_too_large(name: str) -> Callable[[], VoicegwError]:
    return lambda: RequestError(
        "field_too_large", f"the form field {name[:64]!r} is larger than {MAX_FIELD_BYTES} bytes", http_status=413
    )


async def for_each_part(
    request: web.Request, max_parts: int, too_many: str, take: Callable[[BodyPartReader], Awaitable[None]]
) -> None:
    """``take`` each part of a multipart body in turn, refusing the part after ``max_parts``
    (``too_many`` says why); broken framing is a 400 ``bad_multipart``, not a 500."""
    try:
        reader = await request.multipart()
        parts = 0
        while (part := await reader.next()) is not None:
            parts += 1
            if parts > max_parts:
                raise RequestError("too_many_parts", too_many)
            await take(part)  # type: ignore[arg-type]  # a form's parts are body parts, not nested readers
    except (AudioError, RequestError):
        raise
    except Exception as err:  # aiohttp raises ValueError/AssertionError on broken multipart framing
        raise RequestError("bad_multipart", f"the multipart body could not be read: {err}") from err


async def read_audio_upload(request: web.Request, max_bytes: int, file_field: str = "audio") -> AudioUpload:
    """Raw audio (the Content-Type names the format) or multipart with a file part and text fields."""
    _check_declared_length(request, max_bytes + 64 * 1024)
    fields = {key: value for key, value in request.query.items()}
    if request.content_type.startswith("multipart/"):
        audio: bytes | None = None
        content_type: str | None = None

        async def take(part: BodyPartReader) -> None:
            nonlocal audio, content_type
            if part.name == file_field:
                content_type = part.headers.get("Content-Type")
                audio = await read_limited(part, max_bytes, _audio_too_large(max_bytes))
            elif part.name:
                value = await read_limited(part, MAX_FIELD_BYTES, _field_too_large(part.name))
                fields[part.name] = value.decode("utf-8", "replace")

        await for_each_part(request, MAX_PARTS, f"a multipart upload may have at most {MAX_PARTS} parts", take)
        if audio is None:
            raise AudioError("audio_missing", f"the multipart body has no {file_field!r} file part")
        return AudioUpload(audio, content_type, fields)
    audio = await read_limited(request.content, max_bytes, _audio_too_large(max_bytes))
    return AudioUpload(audio, request.headers.get("Content-Type"), fields)


async def read_json(request: web.Request, model: type[M], max_bytes: int = 64 * 1024) -> M:
    """A JSON body validated by a pydantic model; anything else is a 400 that says what is wrong."""

    def too_large() -> RequestError:
        return RequestError("body_too_large", f"the JSON body is larger than {max_bytes} bytes", http_status=413)

    if request.content_length is not None and request.content_length > max_bytes:
        raise too_large()
    data = parse_json(await read_limited(request.content, max_bytes, too_large))
    try:
        return model.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise RequestError("invalid_body", f"{where}: {first['msg']}") from err
