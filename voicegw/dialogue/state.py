"""What a session's dialogue remembers between turns besides the cart: the question it asked
and how the conversation is going. Pure data, stored by the backend beside the cart."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from voicegw.nlu.types import IntentName, Offer, OrderLine


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Pending(_Frozen):
    """A question the bot asked and the order lines waiting for its answer."""

    kind: Literal["option", "choice"]
    """``option``: a required option nobody named (which flavour?); ``choice``: which of several
    items a shared name meant (치즈케이크 or 티라미수?)."""
    lines: tuple[OrderLine, ...] = ()
    """Held lines, added to the cart once the answer comes (for ``option``, some lack ``group``)."""
    group: str | None = None
    """``option``: the option group asked for."""
    choices: tuple[str, ...] = ()
    """``choice``: the candidate items' display names, as offered."""
    quantity: int = 1
    """``choice``: how many of the unclear item were asked for."""
    asked: int = 1
    """How many times the question has been put."""


class DialogueState(_Frozen):
    pending: Pending | None = None
    offer: Offer | None = None
    """An action the bot offered after answering a question about it ("주문을 취소해 드릴까요?"):
    done on the customer's yes, dropped on anything else."""
    failures: int = 0
    """Turns in a row that the bot did not understand or had to ask about."""
    handed_off: bool = False
    """A person was asked to take over this session."""

    def offering_staff(self) -> DialogueState:
        """After a reply that asks "shall I get a member of staff?": a yes hands the session
        off (and never reads as "yes, place my order")."""
        return self.model_copy(update={"offer": Offer(intent=IntentName.HANDOFF)})
