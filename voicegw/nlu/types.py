"""What understanding produces: an intent and the order lines of one turn."""

from __future__ import annotations

from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Amount = Literal["none", "light", "regular", "extra"]
Sentiment = Literal["neutral", "frustrated"]

MAX_QUANTITY = 999
"""The most of one line a single order can hold; more is refused (``too_many``), not stored."""


class IntentName(str, Enum):
    """The intent names of the public turn result contract (DESIGN.md)."""

    ORDER_ADD = "order.add"
    ORDER_REMOVE = "order.remove"
    ORDER_CHANGE = "order.change"
    ORDER_CONFIRM = "order.confirm"
    ORDER_CANCEL = "order.cancel"
    ORDER_STATUS = "order.status"
    FAQ = "faq"
    HANDOFF = "handoff"
    GREETING = "greeting"
    UNKNOWN = "unknown"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


ANY_VALUE = "*"
"""An option value meaning the one the line has ("extra cheese on that" on a line with cheddar):
said as a group and an amount, for a group with several values and no default."""


class LineOption(Frozen):
    """One chosen option value on an order line."""

    group: str
    """Option group id from the menu (temperature, size, milk, ...)."""
    value: str
    """Option value id within the group (ice, large, oat, ...)."""
    amount: Amount = "regular"
    """How much of it, for groups with ``amounts: true``; ``regular`` otherwise."""


class OrderLine(Frozen):
    """One understood line: an item, how many, and how it is made."""

    item_id: str
    name: str
    """Display name in the turn's language, with the options that change what it is (아이스 아메리카노)."""
    quantity: int = Field(ge=1, le=MAX_QUANTITY)
    options: tuple[LineOption, ...] = ()
    unit_price: int
    """Item price plus option prices, in the menu currency's minor-free unit (KRW, or cents for USD)."""
    origin: str = ""
    """The words of the utterance this line came from, for the skill protocol's ``origin``."""
    quantity_said: bool | None = None
    """The customer said the quantity (두 잔, two): a change or removal then uses it, else it keeps
    the cart line's or takes the whole line. None when not known (a line built elsewhere)."""


class Intent(Frozen):
    name: IntentName
    confidence: float = Field(ge=0.0, le=1.0)


Asks = Literal["price", "contents"]
Answer = Literal["yes", "no"]


class Offer(Frozen):
    """The action a question names ("how do I cancel my order?", "is it extra to make it a
    large?"): a question never acts, so the action is only offered, and done on the customer's yes."""

    intent: IntentName
    """order.cancel, order.change, order.add, order.remove, or handoff (after "shall I get a member
    of staff?"). The other fields are the Understanding's of the action (its docs say what each is)."""
    lines: tuple[OrderLine, ...] = ()
    options: tuple[LineOption, ...] = ()
    replaced: tuple[OrderLine, ...] = ()
    held_quantity: int | None = None
    every_line: bool = False
    by_change_word: bool = False
    either: tuple[OrderLine, ...] = ()
    swaps_in: bool = False
    amending: tuple[int, ...] = ()

    def as_understanding(self) -> Understanding:
        """The action, as if the customer had asked for it: what a yes does."""
        action = {name: value for name, value in self if name != "intent"}
        return Understanding(intent=Intent(name=self.intent, confidence=1.0), **action)


class Asked(Frozen):
    """What a question about menu items names ("does the wrap come with onions?", "is the large
    extra?"), to be answered from the menu."""

    lines: tuple[OrderLine, ...] = ()
    """The items, each with only the options said with it."""
    options: tuple[LineOption, ...] = ()
    """Options said without an item."""


class Understanding(Frozen):
    """The result of ``understand(text, menu, ...)``: pure data, no I/O behind it."""

    intent: Intent
    lines: tuple[OrderLine, ...] = ()
    reason: str | None = None
    """Why the turn is not plainly ok (unknown_item, ambiguous_item, sold_out, low_confidence, ...)."""
    candidates: tuple[str, ...] = ()
    """Display names to offer as quick replies when the turn is ambiguous (for ``missing_option``:
    the missing group's values)."""
    options: tuple[LineOption, ...] = ()
    """Options said without an item ("make that a large", "자몽으로요"): the dialogue applies them
    to the line it asked about, or the newest line that takes them."""
    replaced: tuple[OrderLine, ...] = ()
    """order.change: the lines the turn's ``lines`` replace ("콜라는 제로 콜라로": cola)."""
    held_quantity: int | None = None
    """A quantity said without its item: for ``ambiguous_item`` the unclear item's, kept until the
    customer chooses; for order.remove with no lines, how many fewer of the newest line."""
    every_line: bool = False
    """Options said alone for every line that takes them (전부 특으로 해 주세요, make them all large)."""
    by_change_word: bool = False
    """order.change said with a change word (바꿔, change, swap), not only an "instead": with nothing
    to change in the cart it is ``not_in_cart``, where "콜라 말고 사이다요" just orders the cider."""
    either: tuple[OrderLine, ...] = ()
    """ambiguous_item said of a line in the cart ("샌드위치는 데워서 주세요", "만두는 한 판만"): the
    line for each item the name may mean; the dialogue amends the one the cart holds, else asks."""
    swaps_in: bool = False
    """order.change naming one item as what a line becomes (제로콜라로 바꿔 주세요, change it to a
    sprite): with none of it in the cart, the newest line of its category turns into it."""
    amending: tuple[int, ...] = ()
    """order.add: the indices of ``lines`` whose item is named as one already ordered ("베이글은
    데워서 주세요", "honey in the tea"; they hold only what was said): the dialogue changes the
    cart's line of that item instead of adding one, if it has one. The other lines are new."""
    missing_group: str | None = None
    """missing_option: the required option group (of ``lines``) nobody named."""
    sentiment: Sentiment = "neutral"
    """``frustrated`` when the customer sounds angry or impatient (답답해, I already told you)."""
    normalized_text: str = ""
    """The transcript after normalisation, as the parser saw it."""
    offer: Offer | None = None
    """faq: the action the question names, offered after the answer."""
    asks: Asks | None = None
    """faq: what a question about menu items asks (their price, what comes in them) ..."""
    asked: Asked | None = None
    """... of which items and options: answered from the menu."""
    answer: Answer | None = None
    """The turn is a plain yes or no (네, 아니요, sure, no thanks): the answer to an offer, if one
    is pending."""

    @property
    def amends(self) -> bool:
        """Some line names one already in the cart."""
        return bool(self.amending)
