"""A session's cart: pure data and pure operations on it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from voicegw.nlu.types import OrderLine


class Cart(BaseModel):
    """What a session has ordered so far and has not yet submitted."""

    model_config = ConfigDict(frozen=True)

    lines: tuple[OrderLine, ...] = ()
    currency: str = "KRW"

    @property
    def total(self) -> int:
        return sum(line.unit_price * line.quantity for line in self.lines)

    def to_public(self) -> dict:
        """The turn result's ``cart`` object."""
        return {
            "lines": [line.model_dump(exclude={"origin", "quantity_said"}) for line in self.lines],
            "total": self.total,
            "currency": self.currency,
        }
