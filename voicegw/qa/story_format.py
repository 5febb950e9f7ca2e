"""Conversation stories (docs/stories.md): the YAML format as pydantic models, and its loader.

Every model forbids unknown keys, so a typo in a story file (``intnet:``) stops the run with the
file, the story and the turn named instead of silently checking nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import re

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from voicegw.errors import VoicegwError
from voicegw.nlu.types import IntentName, Sentiment
from voicegw.qa.manifest import ExpectedLine
from voicegw.turn import TurnStatus

Route = Literal["text", "kakao"]
"""Where a typed turn goes: ``/v1/text/orders`` or ``/kakao/skill``."""

#: Keys whose ``null`` is an expectation ("no reason", "no FAQ answer"), not "unchecked".
NULL_MEANS_NONE = frozenset({"reason", "faq"})
#: Keys whose expectation is about the order (they make up "exact order match").
ORDER_KEYS = ("lines", "cart", "total")


class _StoryYamlLoader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true/false. In YAML 1.1 an unquoted ``text: yes`` (or no, on, off)
    would silently become a boolean, and an English story says "yes" often."""


_StoryYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StoryYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


class StoryError(VoicegwError):
    """A story file cannot be read or does not follow the format (the message names where)."""


class StoryLine(ExpectedLine):
    """An expected order line; as in the eval manifest, but ``quantity`` defaults to 1."""

    quantity: int = Field(default=1, ge=1)


class StoryTurn(BaseModel):
    """One utterance and what the gateway must answer; keys not given are not checked."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str | None = Field(default=None, min_length=1)
    """The utterance, typed."""
    audio: Path | None = None
    """Instead of ``text``: a clip path relative to the fixtures folder (``audio_fixtures/``)."""
    via: Route | None = None
    """This turn's route, overriding the file's (typed turns only)."""
    intent: str | None = None
    status: TurnStatus | None = None
    reason: str | None = None
    lines: tuple[StoryLine, ...] | None = None
    cart: tuple[StoryLine, ...] | None = None
    total: int | None = Field(default=None, ge=0)
    faq: str | None = None
    ordered: bool | None = None
    handoff: bool | None = None
    sentiment: Sentiment | None = None
    reply_has: tuple[str, ...] = ()
    """Strings the reply text must contain (case-insensitive)."""
    reply_lacks: tuple[str, ...] = ()
    """Strings the reply text must not contain (case-insensitive)."""
    quick_replies_has: tuple[str, ...] = ()
    """Labels the quick replies must include (exactly)."""

    @field_validator("intent")
    @classmethod
    def _known_intent(cls, intent: str | None) -> str | None:
        known = [i.value for i in IntentName]
        if intent is not None and intent not in known:
            raise ValueError(f"unknown intent {intent!r} (known: {', '.join(known)})")
        return intent

    @model_validator(mode="after")
    def _one_utterance(self) -> StoryTurn:
        if (self.text is None) == (self.audio is None):
            raise ValueError("a turn needs exactly one of text or audio")
        if self.audio is not None and self.via is not None:
            raise ValueError("via applies to typed turns; an audio turn always goes to /v1/voice/orders")
        for key in self.model_fields_set - NULL_MEANS_NONE:
            if getattr(self, key) is None:
                hint = " (use [] for an empty cart)" if key == "cart" else ""
                raise ValueError(f"{key}: null is not an expectation{hint}; leave the key out to not check it")
        return self

    def expects(self, key: str) -> bool:
        """Whether the story states an expectation for ``key`` (``cart: []`` and ``reason: null`` count)."""
        return key in self.model_fields_set

    @property
    def checks_intent(self) -> bool:
        return self.intent is not None

    @property
    def checks_order(self) -> bool:
        return any(self.expects(key) for key in ORDER_KEYS)


class Story(BaseModel):
    """One customer's conversation, replayed in a session of its own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    tags: tuple[str, ...] = ()
    known_failure: str | None = Field(default=None, min_length=1)
    """Why the bot still fails this story. It is scored like any other; the per-file test lets it
    fail, and fails instead once it passes (so the note is removed when the bot learns it)."""
    turns: list[StoryTurn] = Field(min_length=1)


class StoryFile(BaseModel):
    """A YAML file of stories for one store in one language."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    store: str = Field(min_length=1)
    lang: Literal["ko", "en"]
    via: Route = "text"
    stories: list[Story] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> StoryFile:
        seen: set[str] = set()
        for story in self.stories:
            if story.name in seen:
                raise ValueError(f"two stories are named {story.name!r}; reports tell stories apart by name")
            seen.add(story.name)
        return self


@dataclass(frozen=True)
class LoadedFile:
    """A validated story file and where it came from."""

    path: Path
    content: StoryFile


def story_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given, and every ``*.yaml`` / ``*.yml`` under each directory, sorted."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
        elif path.is_file():
            found.append(path)
        else:
            raise StoryError("story_missing", f"no story file or folder {path}")
    return found


def load_story_file(path: Path, fixtures_dir: Path | None = None) -> LoadedFile:
    """Read and validate one file; with ``fixtures_dir``, every audio turn's clip must exist."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_StoryYamlLoader)  # noqa: S506 (a SafeLoader)
    except (OSError, UnicodeDecodeError) as err:
        raise StoryError("story_unreadable", f"cannot read {path}: {err}") from err
    except yaml.YAMLError as err:
        raise StoryError("story_invalid", f"{path}: not valid YAML: {err}") from err
    if not isinstance(data, dict):
        raise StoryError("story_invalid", f"{path}: expected a mapping with store, lang and stories")
    try:
        content = StoryFile.model_validate(data)
    except ValidationError as err:
        raise StoryError("story_invalid", f"{path}: " + "; ".join(_explain(e, data) for e in err.errors())) from err
    if fixtures_dir is not None:
        for story in content.stories:
            for n, turn in enumerate(story.turns, start=1):
                if turn.audio is not None and not (fixtures_dir / turn.audio).is_file():
                    raise StoryError(
                        "story_audio_missing", f"{path}: story {story.name!r} turn {n}: no clip {fixtures_dir / turn.audio}"
                    )
    return LoadedFile(path, content)


def load_stories(paths: Iterable[str | Path], fixtures_dir: Path | None = None) -> list[LoadedFile]:
    return [load_story_file(path, fixtures_dir) for path in story_paths(paths)]


def _explain(error: Any, data: dict[str, Any]) -> str:
    """One pydantic error as ``story 'name' turn 2: intnet: unknown key``."""
    loc: Sequence[Any] = error["loc"]
    where: list[str] = []
    rest = list(loc)
    if len(rest) >= 2 and rest[0] == "stories" and isinstance(rest[1], int):
        stories = data.get("stories") or []
        story = stories[rest[1]] if rest[1] < len(stories) else None
        name = story.get("name") if isinstance(story, dict) else None
        where.append(f"story {name!r}" if name else f"story #{rest[1] + 1}")
        rest = rest[2:]
        if len(rest) >= 2 and rest[0] == "turns" and isinstance(rest[1], int):
            where.append(f"turn {rest[1] + 1}")
            rest = rest[2:]
    field = ".".join(str(p) for p in rest)
    message = "unknown key (typo?)" if error["type"] == "extra_forbidden" else error["msg"]
    said = f"{field}: {message}" if field else message
    return f"{' '.join(where)}: {said}" if where else said
