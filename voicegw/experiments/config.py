"""A/B tests of replies: ``experiments/*.yaml``, one experiment per file (docs/experiments.md).

An experiment varies the text of one reply kind (a key of ``dialogue/replies.TEXTS``, e.g.
``added``). The first variant is the control; a variant without a text for a language says the
shipped text in that language. Every template may use only the values the shipped reply fills
({lines}, {total}, ...), which loading checks, so a typo fails at start and never mid-turn.

The phase is a digest of the variants (names, weights, texts): changing an experiment's weights
or wording starts a new phase, and a report reads one phase at a time, because sessions of an
earlier split are not comparable with the new one.
"""

from __future__ import annotations

import hashlib
import json
import string
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from voicegw.dialogue.replies import TEXTS
from voicegw.errors import VoicegwError

Metric = Literal["conversion", "answered", "handoff", "abandoned", "not_understood"]

HIGHER_IS_BETTER: dict[str, bool] = {
    "conversion": True, "answered": True, "handoff": False, "abandoned": False, "not_understood": False,
}
"""Which way each metric should move: a hand-off rate is better lower."""


class ExperimentError(VoicegwError):
    """An experiment file is unreadable or invalid."""

    http_status = 500


class Variant(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    weight: float = Field(gt=0)
    """Share of sessions, relative to the other variants' weights."""
    text: dict[str, str] = Field(default_factory=dict)
    """Language -> template; empty for the control (the shipped text)."""


class Experiment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,59}$")
    description: str = ""
    reply: str
    """The reply kind that varies (a key of the reply texts)."""
    status: Literal["running", "stopped"] = "running"
    """``stopped``: everyone hears the shipped text and nobody new is counted; reports still read it."""
    stores: tuple[str, ...] = ()
    """Stores it runs in; empty: every store."""
    variants: tuple[Variant, ...] = Field(min_length=2)
    metric: Metric = "conversion"
    guardrails: tuple[Metric, ...] = ("handoff", "not_understood")
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    baseline: float = Field(default=0.3, gt=0, lt=1)
    """The metric's expected rate in the control, for the power calculation."""
    lift: float = Field(default=0.07, gt=0, lt=1)
    """The smallest change worth finding (absolute: 0.07 is 7 points)."""
    power: float = Field(default=0.8, gt=0, lt=1)
    min_per_variant: int | None = Field(default=None, ge=1)
    """Sessions each variant needs before any verdict; None: from the power calculation."""

    @field_validator("reply")
    @classmethod
    def _known_reply(cls, reply: str) -> str:
        if reply not in TEXTS:
            raise ValueError(f"unknown reply kind {reply!r}; known: {', '.join(sorted(TEXTS))}")
        return reply

    @model_validator(mode="after")
    def _check_variants(self) -> Experiment:
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError(f"variant names repeat: {names}")
        if self.variants[0].text:
            raise ValueError("the first variant is the control and says the shipped text: give it no text")
        shipped = TEXTS[self.reply]
        for variant in self.variants[1:]:
            if not variant.text:
                raise ValueError(f"variant {variant.name!r} has no text: it would say the same as the control")
            for language, template in variant.text.items():
                if language not in shipped:
                    raise ValueError(f"variant {variant.name!r}: no shipped {self.reply!r} text in language {language!r}")
                unknown = _fields(template) - _fields(shipped[language])
                if unknown:
                    raise ValueError(
                        f"variant {variant.name!r} ({language}) uses {sorted(unknown)}, which the {self.reply!r} reply"
                        f" does not fill; it fills {sorted(_fields(shipped[language])) or 'nothing'}"
                    )
        return self

    @property
    def control(self) -> Variant:
        return self.variants[0]

    @property
    def phase(self) -> str:
        """A digest of the split and the wording: it changes when either does."""
        split = [[v.name, v.weight, sorted(v.text.items())] for v in self.variants]
        return hashlib.sha256(json.dumps(split, ensure_ascii=False).encode()).hexdigest()[:10]

    def runs_in(self, store: str) -> bool:
        return self.status == "running" and (not self.stores or store in self.stores)

    def variant(self, name: str) -> Variant | None:
        return next((v for v in self.variants if v.name == name), None)


def _fields(template: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name}
    except ValueError as err:  # an unpaired brace
        raise ValueError(f"bad template {template!r}: {err}") from err


def load_experiments(directory: str | Path) -> dict[str, Experiment]:
    """Every ``*.yaml`` in ``directory`` by id (none when the folder does not exist); at most one
    running experiment per reply kind and store, so a reply never has two authors."""
    directory = Path(directory)
    experiments: dict[str, Experiment] = {}
    for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]) if directory.is_dir() else []:
        experiment = _load(path)
        if experiment.id in experiments:
            raise ExperimentError("experiment_invalid", f"{path}: experiment id {experiment.id!r} is used twice")
        for other in experiments.values():
            if (other.reply == experiment.reply and other.status == experiment.status == "running"
                    and (not other.stores or not experiment.stores or set(other.stores) & set(experiment.stores))):
                raise ExperimentError("experiment_invalid", f"{path}: {experiment.id!r} and {other.id!r} both vary the"
                                      f" {experiment.reply!r} reply in the same stores; stop one of them")
        experiments[experiment.id] = experiment
    return experiments


def _load(path: Path) -> Experiment:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise ExperimentError("experiment_invalid", f"{path}: cannot read: {err}") from err
    try:
        return Experiment.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ExperimentError("experiment_invalid", f"{path}: {where + ': ' if where else ''}{first['msg']}") from err
