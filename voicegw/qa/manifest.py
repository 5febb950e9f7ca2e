"""The eval manifest (DESIGN.md "Eval manifest"): one JSON object a line, typed and validated.

Options arrive as ``group -> value`` or ``group -> {"value", "amount"}`` and are normalised to
``group -> ExpectedOption(value, amount | None)``: ``amount`` is None when the manifest did not
say, and then any amount the recogniser produced is accepted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from voicegw.errors import VoicegwError
from voicegw.nlu.types import Amount, IntentName

#: The expected intent of a silence or noise-only clip: the turn must end ``no_speech``.
NO_SPEECH_INTENT = "none"
_INTENTS = frozenset({i.value for i in IntentName} | {NO_SPEECH_INTENT})


class ManifestError(VoicegwError):
    """The eval manifest is missing, unreadable, or has a bad line (the message names it)."""


class ExpectedOption(NamedTuple):
    value: str
    """Option value id (ice, large, oat, ...)."""
    amount: Amount | None
    """Expected amount level, or None when any amount is right."""


class ExpectedLine(BaseModel):
    """One order line the clip should produce."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    item_id: str = Field(min_length=1)
    quantity: int = Field(ge=1)
    options: dict[str, ExpectedOption] = Field(default_factory=dict)
    """Option group id -> expected value (and amount). Groups not listed are not scored."""

    @field_validator("options", mode="before")
    @classmethod
    def _normalise_options(cls, raw: Any) -> Any:
        if not isinstance(raw, dict):
            return raw  # pydantic reports the type error
        out: dict[str, Any] = {}
        for group, spec in raw.items():
            if isinstance(spec, str):
                out[group] = (spec, None)
            elif isinstance(spec, dict):
                unknown = set(spec) - {"value", "amount"}
                if unknown or "value" not in spec:
                    raise ValueError(
                        f"option {group!r} must be a value or {{value, amount}}, got {spec!r}"
                    )
                out[group] = (spec["value"], spec.get("amount"))
            else:
                out[group] = spec
        return out


class ManifestClip(BaseModel):
    """One clip to replay and what it should yield. Unknown fields (voice, source, ...) are kept."""

    model_config = ConfigDict(frozen=True, extra="allow")

    id: str = ""
    """Stable clip id for reports: the ``audio`` path as written in the manifest unless given."""
    audio: Path
    """Audio file; :func:`load_manifest` resolves it against the manifest's folder."""
    lang: str = Field(min_length=2)
    store: str = Field(min_length=1)
    text: str
    """Reference transcript ("" for silence and noise clips)."""
    intent: str
    """Expected intent name, or ``none`` for a clip that must end ``no_speech``."""
    lines: tuple[ExpectedLine, ...] = ()
    faq: str | None = None
    """Expected FAQ entry id for ``faq`` clips, when known."""
    kind: str | None = None
    """synthetic_speech, real_speech, silence, noise, ..."""

    @field_validator("intent")
    @classmethod
    def _known_intent(cls, intent: str) -> str:
        if intent not in _INTENTS:
            raise ValueError(f"unknown intent {intent!r}; expected one of {sorted(_INTENTS)}")
        return intent

    @model_validator(mode="after")
    def _consistent(self) -> ManifestClip:
        if self.expects_no_speech and (self.lines or self.text.strip()):
            raise ValueError('an "intent": "none" clip must have no lines and an empty text')
        return self

    @property
    def expects_no_speech(self) -> bool:
        return self.intent == NO_SPEECH_INTENT


def load_manifest(path: str | Path, *, require_audio: bool = True) -> list[ManifestClip]:
    """Read a JSONL manifest; ``audio`` paths become absolute, relative to the manifest file.

    Blank lines are skipped. Raises :class:`ManifestError` naming the file and line number for
    invalid JSON, a line that does not validate, or (``require_audio``) a missing audio file.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ManifestError("manifest_unreadable", f"cannot read manifest {path}: {err}") from err
    base = path.resolve().parent
    clips: list[ManifestClip] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        where = f"{path}:{number}"
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as err:
            raise ManifestError("manifest_invalid", f"{where}: not valid JSON ({err.msg})") from err
        if not isinstance(data, dict):
            raise ManifestError("manifest_invalid", f"{where}: expected a JSON object")
        if isinstance(data.get("audio"), str):
            data.setdefault("id", data["audio"])
            data["audio"] = base / data["audio"]
        try:
            clip = ManifestClip.model_validate(data)
        except ValidationError as err:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'line'}: {e['msg']}" for e in err.errors()
            )
            raise ManifestError("manifest_invalid", f"{where}: {problems}") from err
        if require_audio and not clip.audio.is_file():
            raise ManifestError("manifest_audio_missing", f"{where}: no audio file {clip.audio}")
        clips.append(clip)
    return clips
