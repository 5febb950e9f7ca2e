"""The Kakao i Open Builder skill protocol (payload and response v2.0), modelled once.

Python fields are snake_case; the wire names are Open Builder's camelCase aliases. Dump with
``to_wire()`` (by alias, no ``None`` fields). Request models keep unknown fields (Open Builder
sends more than we read: ``contexts``, ``intent.extra``, ``userRequest.callbackUrl``, ...), so a
request parsed and dumped again is the same request.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

Channel = Literal["voice", "text"]


class _Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")

    def to_wire(self) -> dict[str, Any]:
        """The JSON object as Open Builder spells it."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


# --- request (skill payload) -------------------------------------------------------------


class SkillIntent(_Wire):
    id: str = ""
    name: str = ""


class SkillBlock(_Wire):
    id: str = ""
    name: str = ""


class SkillUser(_Wire):
    id: str
    """botUserKey for KakaoTalk; voicegw puts the session id here."""
    type: str = "botUserKey"
    properties: dict[str, Any] = Field(default_factory=dict)


class UserRequest(_Wire):
    timezone: str = "Asia/Seoul"
    params: dict[str, Any] = Field(default_factory=dict)
    block: SkillBlock = Field(default_factory=SkillBlock)
    utterance: str = ""
    """What the user said or typed: the transcript for voice."""
    lang: str | None = None
    """Open Builder sends ``kr``, ``ko``, ``en`` or null."""
    user: SkillUser


class SkillBot(_Wire):
    id: str = ""
    """Open Builder bot id; voicegw puts the store (menu) id here."""
    name: str = ""


class DetailParam(_Wire):
    origin: str = ""
    """The words the value was recognised from."""
    value: str = ""
    """The canonical value (an item, option or FAQ id)."""
    group_name: str = ""


class SkillAction(_Wire):
    id: str = ""
    name: str = ""
    """The skill or, from voicegw, the intent name (``order.add``)."""
    params: dict[str, Any] = Field(default_factory=dict)
    detail_params: dict[str, DetailParam] = Field(default_factory=dict)
    client_extra: dict[str, Any] | None = None


class SkillRequest(_Wire):
    intent: SkillIntent = Field(default_factory=SkillIntent)
    user_request: UserRequest
    bot: SkillBot = Field(default_factory=SkillBot)
    action: SkillAction = Field(default_factory=SkillAction)
    contexts: list[Any] = Field(default_factory=list)


class OrderExtra(_Wire):
    lines: list[dict[str, Any]] = Field(default_factory=list)
    """OrderLine dicts (voicegw.nlu.types.OrderLine)."""


class VoicegwExtra(BaseModel):
    """What voicegw puts in ``action.clientExtra``. A plain Open Builder request has none of it."""

    model_config = ConfigDict(extra="allow")

    store: str | None = None
    session: str | None = None
    channel: Channel = "text"
    language: str | None = None
    order: OrderExtra = Field(default_factory=OrderExtra)
    reason: str | None = None
    candidates: list[str] = Field(default_factory=list)
    idempotency_key: str | None = None
    request_digest: str | None = None
    """sha256 of what the customer's client sent (audio or text, store, session, language): a retry
    under one idempotency key is the same request only if this is the same."""
    confidence: float | None = None
    understanding: dict[str, Any] | None = None
    """The whole ``Understanding`` (nlu/types.py): what voicegw's own skill server reads first."""

    @classmethod
    def of(cls, request: SkillRequest) -> VoicegwExtra:
        return cls.model_validate(request.action.client_extra or {})


# --- response ----------------------------------------------------------------------------

#: The label of Open Builder's operator button, which moves the chat to the store's 상담톡 agents.
_OPERATOR_LABELS = {"ko": "상담직원 연결", "en": "Chat with staff"}


def operator_label(language: str) -> str:
    return _OPERATOR_LABELS.get((language or "en")[:2].lower(), _OPERATOR_LABELS["en"])


class SimpleText(_Wire):
    text: str


class SkillOutput(_Wire):
    """One output component; only simpleText is typed, other components pass through as extra."""

    simple_text: SimpleText | None = None


class QuickReply(_Wire):
    label: str
    action: str = "message"
    message_text: str | None = None
    block_id: str | None = None


class SkillTemplate(_Wire):
    outputs: list[SkillOutput] = Field(default_factory=list)
    quick_replies: list[QuickReply] = Field(default_factory=list)


class ContextValue(_Wire):
    name: str
    life_span: int
    params: dict[str, Any] = Field(default_factory=dict)


class SkillContext(_Wire):
    values: list[ContextValue] = Field(default_factory=list)


class SkillResponse(_Wire):
    version: str = "2.0"
    template: SkillTemplate = Field(default_factory=SkillTemplate)
    context: SkillContext | None = None
    data: dict[str, Any] | None = None
    """Custom data; the reference server puts ``status``, ``cart``, ``order_id``, ``handoff`` here."""

    @classmethod
    def simple(
        cls, text: str, quick_replies: list[str] | tuple[str, ...] = (), data: dict[str, Any] | None = None
    ) -> SkillResponse:
        """One simpleText output with message quick replies (label = the text sent back)."""
        return cls(
            template=SkillTemplate(
                outputs=[SkillOutput(simple_text=SimpleText(text=text))],
                quick_replies=[QuickReply(label=q, message_text=q) for q in quick_replies],
            ),
            data=data,
        )

    def with_operator_button(self, label: str) -> SkillResponse:
        """Add a textCard whose button hands the chat to a person (Open Builder's ``operator``
        button action, the channel's 상담톡 agents)."""
        card = {"textCard": {"text": label, "buttons": [{"label": label, "action": "operator"}]}}
        outputs = [*self.template.outputs, SkillOutput.model_validate(card)]
        return self.model_copy(update={"template": self.template.model_copy(update={"outputs": outputs})})

    @property
    def text(self) -> str:
        """All simpleText outputs joined by newlines (what a voice client reads out)."""
        return "\n".join(o.simple_text.text for o in self.template.outputs if o.simple_text is not None)

    @property
    def quick_reply_labels(self) -> list[str]:
        return [q.label for q in self.template.quick_replies]
