"""The turn result: the one JSON shape every route and the CLI answer with (DESIGN.md)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from voicegw.nlu.types import IntentName

TurnStatus = Literal["ok", "no_speech", "not_understood", "needs_clarification", "rejected"]


class IntentOut(BaseModel):
    name: IntentName
    confidence: float


class LineOptionOut(BaseModel):
    group: str
    value: str
    amount: str = "regular"


class LineOut(BaseModel):
    item_id: str
    name: str
    quantity: int
    options: list[LineOptionOut] = Field(default_factory=list)
    unit_price: int


class CartOut(BaseModel):
    lines: list[LineOut] = Field(default_factory=list)
    total: int = 0
    currency: str = "KRW"


class ExposureOut(BaseModel):
    """The A/B test whose variant the reply was said in (docs/experiments.md)."""

    experiment: str
    phase: str
    variant: str


class ReplyOut(BaseModel):
    text: str = ""
    quick_replies: list[str] = Field(default_factory=list)
    kind: str | None = None
    """Which reply this is (``added``, ``not_understood``, ...), when the backend says."""
    experiment: ExposureOut | None = None


class ReadingOut(BaseModel):
    """One of Whisper's readings of a clip (its beams), as weighed against the menu."""

    text: str
    avg_logprob: float
    """Whisper's mean log-probability per token (the first reading's is its transcript confidence, as a log)."""
    chosen: bool = False
    """The reading the turn acted on (N-best rescoring, docs/tuning.md)."""
    within_grammar: bool = False
    """Read by the menu-grammar pass, which writes only the store's and the language's words
    (``asr.menu_grammar``); its log-probability is over those words only."""


class TurnResult(BaseModel):
    """One turn, spoken or typed, as the client sees it."""

    status: TurnStatus
    session: str
    store: str
    language: str
    transcript: str = ""
    intent: IntentOut | None = None
    lines: list[LineOut] = Field(default_factory=list)
    """What this turn understood."""
    cart: CartOut | None = None
    """The session's cart after this turn, as the backend reports it (None when the backend does not say)."""
    order_id: str | None = None
    faq: str | None = None
    """The FAQ entry answered, for ``faq`` turns."""
    reply: ReplyOut = Field(default_factory=ReplyOut)
    reason: str | None = None
    """Why the status is not ``ok``: no_speech, unknown_item, ambiguous_item, sold_out, low_confidence, ..."""
    handoff: bool = False
    """True when the session was handed to a person."""
    sentiment: Literal["neutral", "frustrated"] = "neutral"
    """``frustrated`` when the customer sounded angry or impatient (the reply apologises and offers a person)."""
    timings_ms: dict[str, int] = Field(default_factory=dict)
    readings: list[ReadingOut] = Field(default_factory=list)
    """Voice turns: what else Whisper heard, best first (empty for typed turns)."""
    replayed: bool = False
    """The answer given before to this Idempotency-Key, sent again: nothing was applied this time."""

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
