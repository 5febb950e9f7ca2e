"""Tell the real container from the first bytes; a Content-Type header is only a hint.

KakaoTalk and browsers mislabel uploads (an m4a sent as ``audio/mpeg``, a WebM as
``application/octet-stream``), so the decoder trusts magic bytes first.
"""

from __future__ import annotations

import enum


class AudioFormat(str, enum.Enum):
    """What the first bytes say the body is."""

    WAV = "wav"
    FLAC = "flac"
    OGG = "ogg"
    AIFF = "aiff"
    MP3 = "mp3"
    MP4 = "mp4"
    WEBM = "webm"
    NOT_AUDIO = "not_audio"
    """A known non-audio file (image, document, archive, text)."""
    UNKNOWN = "unknown"
    """No signature we know; ffmpeg gets to probe it."""

    @property
    def uses_soundfile(self) -> bool:
        """libsndfile reads these natively (and faster than ffmpeg)."""
        return self in (AudioFormat.WAV, AudioFormat.FLAC, AudioFormat.OGG, AudioFormat.AIFF)


# Signatures of common uploads that are certainly not audio.
_NOT_AUDIO_PREFIXES = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",  # JPEG
    b"GIF87a",
    b"GIF89a",
    b"%PDF",
    b"PK\x03\x04",  # zip, docx, apk
    b"\x1f\x8b",  # gzip
    b"BM",  # bitmap (checked after MPEG sync below, which it cannot match)
)

#: ffmpeg demuxer to try first for an unsniffable body, by Content-Type (the hint).
HINT_DEMUXERS: dict[str, str] = {
    "audio/aac": "aac",
    "audio/aacp": "aac",
    "audio/x-aac": "aac",
    "audio/amr": "amr",
    "audio/amr-wb": "amr",
    "audio/3gpp": "mov",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
}


def sniff_format(data: bytes) -> AudioFormat:
    """The container the body really is, from its magic bytes."""
    head = data[:64]
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return AudioFormat.WAV
    if head[:4] in (b"RF64", b"BW64") and head[8:12] == b"WAVE":
        return AudioFormat.WAV
    if head[:4] == b"fLaC":
        return AudioFormat.FLAC
    if head[:4] == b"OggS":
        return AudioFormat.OGG
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return AudioFormat.AIFF
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return AudioFormat.WEBM  # EBML: WebM or Matroska
    if head[4:8] == b"ftyp":
        return AudioFormat.MP4  # ISO base media: m4a, mp4, 3gp, mov
    if head[:3] == b"ID3" or _is_mpeg_sync(head):
        # ID3 can front other streams (ADTS AAC, even FLAC); ffmpeg's probe sorts them out.
        return AudioFormat.MP3
    if head.startswith(_NOT_AUDIO_PREFIXES) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return AudioFormat.NOT_AUDIO
    if _looks_like_text(head):
        return AudioFormat.NOT_AUDIO
    return AudioFormat.UNKNOWN


def hint_demuxer(content_type: str | None) -> str | None:
    """The ffmpeg demuxer a Content-Type suggests, or None."""
    if not content_type:
        return None
    return HINT_DEMUXERS.get(content_type.split(";", 1)[0].strip().lower())


def _is_mpeg_sync(head: bytes) -> bool:
    # 11 set bits start an MPEG audio frame (MP3) or an ADTS AAC frame.
    return len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0


def _looks_like_text(head: bytes) -> bool:
    # JSON, HTML, a form field or an HLS playlist posted as audio: all printable ASCII.
    if len(head) < 8:
        return False
    return all(32 <= b < 127 or b in (9, 10, 13) for b in head)
