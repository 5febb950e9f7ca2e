"""What a gateway and a remote recogniser say to each other (``POST /v1/asr/readings``): the clip
as a 16 kHz mono PCM16 WAV, the ``TranscribeOptions`` as JSON, and the ``Transcript`` back as JSON.

Both sides use these functions: the GPU gateway's route (gateway/asr_routes.py) and the CPU
gateway's ``RemoteTranscriber`` (asr/remote.py). The samples survive the trip exactly when they came
from 16-bit audio, as every clip decoded from a PCM16 file does (soundfile scales by 1/32768), so a
remote recogniser hears what a local one would.
"""

from __future__ import annotations

import io
import wave
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from voicegw.asr.transcript import Reading, TranscribeOptions, Transcript, TranscriptSegment
from voicegw.errors import AudioError, RequestError

SAMPLE_RATE_HZ = 16_000
#: Whisper's language codes (faster_whisper.tokenizer): the gateway's ``lang`` values, less ``auto``
#: (here null asks for detection).
WHISPER_LANGUAGES = frozenset(
    "af am ar as az ba be bg bn bo br bs ca cs cy da de el en es et eu fa fi fo fr gl gu ha haw he hi hr"
    " ht hu hy id is it ja jw ka kk km kn ko la lb ln lo lt lv mg mi mk ml mn mr ms mt my ne nl nn no oc"
    " pa pl ps pt ro ru sa sd si sk sl sn so sq sr su sv sw ta te tg th tk tl tr tt uk ur uz vi yi yo zh"
    " yue".split()
)
#: Limits of the options (the longest of the shipped menus: a 76-character prompt, 956 characters
#: of hotwords, 989 grammar words); Whisper reads at most 223 prompt tokens anyway.
MAX_PROMPT_CHARS = 2000
MAX_HOTWORDS_CHARS = 8000
MAX_GRAMMAR_WORDS = 5000
MAX_GRAMMAR_WORD_CHARS = 64


def known_language(code: str) -> bool:
    return code in WHISPER_LANGUAGES


# --- audio --------------------------------------------------------------------------------------


def wav_of_samples(samples: np.ndarray) -> bytes:
    """16 kHz mono float32 samples as a PCM16 WAV file (scaled by 32768, as they were read)."""
    pcm = np.clip(np.round(np.asarray(samples, dtype=np.float64) * 32768.0), -32768, 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE_HZ)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def samples_of_wav(data: bytes, max_duration_s: float) -> np.ndarray:
    """The samples of a 16 kHz mono PCM16 WAV file; anything else is refused with the reason."""
    if not data:
        raise AudioError("audio_empty", "the audio part is empty")
    try:
        with wave.open(io.BytesIO(data), "rb") as clip:
            channels, width, rate, frames = clip.getnchannels(), clip.getsampwidth(), clip.getframerate(), clip.getnframes()
            if (channels, width, rate) != (1, 2, SAMPLE_RATE_HZ):
                raise AudioError(
                    "audio_unsupported",
                    f"the audio must be a 16 kHz mono 16-bit PCM WAV file; this one has {channels} channel(s), "
                    f"{8 * width}-bit samples at {rate} Hz",
                    http_status=415,
                )
            raw = clip.readframes(frames)  # what is there: a header may claim more
    except AudioError:
        raise
    except (wave.Error, EOFError, ValueError) as err:  # not RIFF/WAVE, a compressed format, a truncated header
        raise AudioError("audio_unsupported" if isinstance(err, wave.Error) else "audio_corrupt",
                         f"the audio is not a 16 kHz mono 16-bit PCM WAV file: {err}",
                         http_status=415 if isinstance(err, wave.Error) else 400) from err
    samples = np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2")
    if samples.size == 0:
        raise AudioError("audio_empty", "the WAV file holds no samples")
    # The samples really there, not the header's claim, decide the length.
    if samples.size > max_duration_s * SAMPLE_RATE_HZ:
        raise AudioError("audio_too_long", f"the audio is {samples.size / SAMPLE_RATE_HZ:.1f} s long; the limit is "
                         f"{max_duration_s:g} s", http_status=413)
    return (samples.astype(np.float32) / 32768.0).astype(np.float32)


def max_wav_bytes(max_duration_s: float) -> int:
    """The largest WAV file of ``max_duration_s`` of 16 kHz mono PCM16 (with room for a long header)."""
    return int(max_duration_s * SAMPLE_RATE_HZ) * 2 + 4096


# --- options ------------------------------------------------------------------------------------


GrammarWord = Annotated[str, Field(min_length=1, max_length=MAX_GRAMMAR_WORD_CHARS)]


class ReadingsOptions(BaseModel):
    """``TranscribeOptions`` as ``POST /v1/asr/readings`` takes them (the ``options`` part)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    language: str | None = None
    """A Whisper language code (``ko``, ``en``, ...); null lets Whisper detect it."""
    beam_size: int = Field(default=5, ge=1, le=10)
    initial_prompt: str | None = Field(default=None, max_length=MAX_PROMPT_CHARS)
    """A sample sentence in the store's words."""
    hotwords: str | None = Field(default=None, max_length=MAX_HOTWORDS_CHARS)
    """Comma-separated menu words for Whisper's hotword prefix."""
    no_speech_threshold: float = Field(default=0.6, ge=0.0, le=1.0)
    readings: int = Field(default=1, ge=1, le=10)
    """How many of Whisper's beams to return (``alternatives``); 1: the best only."""
    grammar: list[GrammarWord] = Field(default_factory=list, max_length=MAX_GRAMMAR_WORDS)
    """The words a menu-grammar pass may write (with ``readings`` above 1); empty: no such pass."""

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        if value is not None and not known_language(value):
            raise ValueError("must be a language code Whisper knows, such as ko or en, or null (detect)")
        return value

    def to_options(self) -> TranscribeOptions:
        return TranscribeOptions(
            language=self.language,
            beam_size=self.beam_size,
            initial_prompt=self.initial_prompt,
            hotwords=self.hotwords,
            no_speech_threshold=self.no_speech_threshold,
            readings=self.readings,
            grammar=tuple(self.grammar),
        )


def options_to_json(options: TranscribeOptions) -> dict[str, Any]:
    return {
        "language": options.language,
        "beam_size": options.beam_size,
        "initial_prompt": options.initial_prompt,
        "hotwords": options.hotwords,
        "no_speech_threshold": float(options.no_speech_threshold),
        "readings": options.readings,
        "grammar": list(options.grammar),
    }


def options_of_json(data: Any) -> TranscribeOptions:
    """Validated options; a 400 ``invalid_options`` naming the first thing wrong otherwise."""
    if not isinstance(data, dict):
        raise RequestError("invalid_options", "the options must be a JSON object")
    try:
        return ReadingsOptions.model_validate(data).to_options()
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "options"
        raise RequestError("invalid_options", f"options.{where}: {first['msg']}") from err


# --- the transcript -----------------------------------------------------------------------------


class AsrSegment(BaseModel):
    text: str
    start_ms: int
    end_ms: int
    avg_logprob: float
    no_speech_prob: float


class AsrReading(BaseModel):
    text: str
    avg_logprob: float
    within_grammar: bool = False


class ReadingsAnswer(BaseModel):
    """What ``POST /v1/asr/readings`` answers: the ``Transcript`` after the guards, whole."""

    model_config = ConfigDict(extra="ignore")  # fields are only ever added

    text: str
    """Whisper's best reading that passed the guards; empty when nothing did."""
    language: str
    segments: list[AsrSegment] = Field(default_factory=list)
    dropped: list[str] = Field(default_factory=list)
    """Segment texts the guards removed."""
    confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    alternatives: list[AsrReading] = Field(default_factory=list)
    """The other readings that passed the guards, best first, then the menu-grammar pass's."""
    unclear: bool = False
    """Empty, yet not silence: speech nothing could be read from."""


def transcript_to_json(transcript: Transcript) -> dict[str, Any]:
    return {
        "text": transcript.text,
        "language": transcript.language,
        "segments": [
            {"text": s.text, "start_ms": s.start_ms, "end_ms": s.end_ms,
             "avg_logprob": s.avg_logprob, "no_speech_prob": s.no_speech_prob}
            for s in transcript.segments
        ],
        "dropped": list(transcript.dropped),
        "confidence": transcript.confidence,
        "alternatives": [
            {"text": r.text, "avg_logprob": r.avg_logprob, "within_grammar": r.within_grammar}
            for r in transcript.alternatives
        ],
        "unclear": transcript.unclear,
    }


def transcript_of_json(data: Any) -> Transcript:
    """The transcript a remote voicegw sent; raises ``ValueError`` when it is not one."""
    answer = ReadingsAnswer.model_validate(data)  # ValidationError is a ValueError
    return Transcript(
        text=answer.text,
        language=answer.language,
        segments=tuple(TranscriptSegment(s.text, s.start_ms, s.end_ms, s.avg_logprob, s.no_speech_prob)
                       for s in answer.segments),
        dropped=tuple(answer.dropped),
        confidence=answer.confidence,
        alternatives=tuple(Reading(r.text, r.avg_logprob, r.within_grammar) for r in answer.alternatives),
        unclear=answer.unclear,
    )
