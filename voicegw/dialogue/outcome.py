"""What one turn did to a session: the dialogue's output, before the backend stores it."""

from __future__ import annotations

from dataclasses import dataclass

from voicegw.dialogue.cart import Cart
from voicegw.dialogue.replies import Reply
from voicegw.dialogue.state import DialogueState
from voicegw.nlu.types import IntentName
from voicegw.turn import TurnStatus


@dataclass(frozen=True)
class TurnOutcome:
    cart: Cart
    """The cart after the turn (unchanged for anything but add/remove/change/cancel)."""
    reply: Reply
    status: TurnStatus = "ok"
    reason: str | None = None
    submit: bool = False
    """order.confirm on a non-empty cart: the caller submits ``cart`` and calls ``order_placed``."""
    handoff: bool = False
    """A person should take over the conversation."""
    order_id: str | None = None
    state: DialogueState | None = None
    """The dialogue state after the turn; None: as it was."""
    intent: IntentName | None = None
    """The intent in the light of the conversation, when it differs from the understood one
    ("라지요" answers "which size?" -> order.add; said to a full cart -> order.change)."""

    @property
    def failed(self) -> bool:
        return self.status in ("not_understood", "needs_clarification")
