"""One understood turn applied to a cart: pure, no I/O.

The caller (the skill server) does the I/O around it: it loads the cart and the FAQ answer
before, and stores the cart or submits the order after (``TurnOutcome.submit``), then calls
``order_placed`` for the confirmation reply.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from voicegw.dialogue import replies as R
from voicegw.dialogue.cart import Cart
from voicegw.dialogue.replies import Reply
from voicegw.nlu.types import IntentName, OrderLine, Understanding
from voicegw.turn import TurnStatus


#: Turn status for each non-ok ``Understanding.reason``; unlisted reasons are ``not_understood``.
REASON_STATUS: dict[str, TurnStatus] = {
    "no_speech": "no_speech",
    "unknown_item": "not_understood",
    "not_understood": "not_understood",
    "sold_out": "rejected",
    "ambiguous_item": "needs_clarification",
    "low_confidence": "needs_clarification",
}

#: An utterance names a quantity ("한 잔", "2개", "two"): then remove/change use it, otherwise
#: "아메리카노 빼줘" means the whole line, not one cup.
_QUANTITY = re.compile(
    r"\d|(?:한|하나|두|둘|세|셋|석|네|넷|다섯|여섯|일곱|여덟|아홉|열)\s*(?:잔|개|컵|병|조각|판|인분)"
    r"|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|a couple)\b",
    re.IGNORECASE,
)
_MAX_QUICK_REPLIES = 10  # Open Builder's limit


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


def says_quantity(origin: str) -> bool:
    return bool(_QUANTITY.search(origin))


def _option_key(line: OrderLine) -> frozenset[tuple[str, str, str]]:
    return frozenset((o.group, o.value, o.amount) for o in line.options)


def _matches(cart_line: OrderLine, target: OrderLine) -> bool:
    """Same item, and every option the user named is on the cart line ("the iced one")."""
    have = {(o.group, o.value) for o in cart_line.options}
    return cart_line.item_id == target.item_id and all((o.group, o.value) in have for o in target.options)


def _explicit_quantity(line: OrderLine) -> bool:
    # Without the words (a line built by hand) only a quantity above 1 can have been said.
    return says_quantity(line.origin) if line.origin else line.quantity > 1


def add_lines(cart: Cart, lines: tuple[OrderLine, ...]) -> Cart:
    """Append lines; a line with the same item and options as one in the cart adds its quantity."""
    result = list(cart.lines)
    for new in lines:
        for i, old in enumerate(result):
            if old.item_id == new.item_id and _option_key(old) == _option_key(new):
                result[i] = replace_line(old, quantity=old.quantity + new.quantity)
                break
        else:
            result.append(new)
    return cart.model_copy(update={"lines": tuple(result)})


def replace_line(line: OrderLine, **changes: object) -> OrderLine:
    return line.model_copy(update=changes)


def remove_lines(cart: Cart, targets: tuple[OrderLine, ...]) -> tuple[Cart, tuple[OrderLine, ...]]:
    """Remove matching lines, newest first; a said quantity reduces instead. Returns what went."""
    result = list(cart.lines)
    removed: list[OrderLine] = []
    for target in targets:
        left = target.quantity if _explicit_quantity(target) else None  # None: all of them
        for i in range(len(result) - 1, -1, -1):
            line = result[i]
            if line is None or not _matches(line, target) or left == 0:
                continue
            take = line.quantity if left is None else min(left, line.quantity)
            removed.append(replace_line(line, quantity=take))
            result[i] = replace_line(line, quantity=line.quantity - take) if take < line.quantity else None
            if left is not None:
                left -= take
    kept = tuple(line for line in result if line is not None)
    return cart.model_copy(update={"lines": kept}), tuple(removed)


def change_lines(cart: Cart, targets: tuple[OrderLine, ...]) -> tuple[Cart, tuple[OrderLine, ...]]:
    """Replace the newest line of the same item with the understood one (keeping its quantity
    unless one was said). Returns the new lines."""
    result = list(cart.lines)
    changed: list[OrderLine] = []
    for target in targets:
        for i in range(len(result) - 1, -1, -1):
            if result[i].item_id == target.item_id:
                quantity = target.quantity if _explicit_quantity(target) else result[i].quantity
                result[i] = replace_line(target, quantity=quantity)
                changed.append(result[i])
                break
    return cart.model_copy(update={"lines": tuple(result)}), tuple(changed)


def readback(cart: Cart, language: str, categories: Mapping[str, str] | None = None) -> str:
    if not cart.lines:
        return R.text("cart_empty", language)
    return R.text(
        "cart_readback",
        language,
        lines=R.format_lines(cart.lines, language, categories),
        total=R.format_money(cart.total, cart.currency, language),
    )


def _reason_outcome(cart: Cart, u: Understanding, language: str) -> TurnOutcome:
    reason = u.reason or "not_understood"
    status = REASON_STATUS.get(reason, "not_understood")
    candidates = tuple(u.candidates[:_MAX_QUICK_REPLIES])
    choices = R.format_choices(candidates, language)
    if reason == "sold_out":
        item = u.lines[0].name if u.lines else R.text("this_item", language)
        key = "sold_out_alternatives" if candidates else "sold_out"
        text = R.text(key, language, item=item, particle=R.topic_particle(item), candidates=choices)
    elif reason == "unknown_item":
        text = R.text("unknown_item_candidates" if candidates else "unknown_item", language, candidates=choices)
    elif reason == "ambiguous_item" and candidates:
        text = R.text("ambiguous_item", language, candidates=choices)
    elif reason in ("ambiguous_item", "low_confidence", "no_speech"):
        text = R.text("no_speech" if reason == "no_speech" else "low_confidence", language)
    else:
        text = R.text("not_understood", language)
    quick = candidates or (R.quick_replies("ordering", language) if cart.lines else R.quick_replies("help", language))
    return TurnOutcome(cart=cart, reply=Reply(text, quick), status=status, reason=reason)


def apply_turn(
    cart: Cart,
    understanding: Understanding,
    *,
    language: str = R.DEFAULT_LANGUAGE,
    faq_answer: str | None = None,
    last_order_id: str | None = None,
    categories: Mapping[str, str] | None = None,
) -> TurnOutcome:
    """Apply one understood turn to ``cart``.

    ``faq_answer``: the answer to the FAQ ``understanding.candidates[0]`` names, looked up by the
    caller. ``last_order_id``: the session's latest order, for order.status on an empty cart.
    ``categories``: item id -> menu category, for Korean counter words (잔, 개).
    A turn with a ``reason`` never changes the cart: a refused or unclear turn asks again.
    """
    u, lang = understanding, language
    ordering = R.quick_replies("ordering", lang)
    if u.reason is not None:
        return _reason_outcome(cart, u, lang)
    name = u.intent.name
    if name is IntentName.ORDER_ADD and u.lines:
        new_cart = add_lines(cart, u.lines)
        return TurnOutcome(new_cart, Reply(R.text("added", lang, lines=R.format_lines(u.lines, lang, categories)), ordering))
    if name in (IntentName.ORDER_REMOVE, IntentName.ORDER_CHANGE) and u.lines:
        op, key = (remove_lines, "removed") if name is IntentName.ORDER_REMOVE else (change_lines, "changed")
        new_cart, done = op(cart, u.lines)
        if not done:
            said = u.lines[0].name
            text = R.text(
                "not_in_cart", lang, lines=said, particle=R.subject_particle(said), cart=readback(cart, lang, categories)
            )
            return TurnOutcome(cart, Reply(text, ordering if cart.lines else ()), "not_understood", "not_in_cart")
        said = R.format_lines(done, lang, categories)
        text = R.text(key, lang, lines=said, particle=R.direction_particle(said), cart=readback(new_cart, lang, categories))
        return TurnOutcome(new_cart, Reply(text, ordering if new_cart.lines else ()))
    if name is IntentName.ORDER_CANCEL:
        return TurnOutcome(Cart(currency=cart.currency), Reply(R.text("cancelled", lang), R.quick_replies("start", lang)))
    if name is IntentName.ORDER_CONFIRM:
        if not cart.lines:
            return TurnOutcome(cart, Reply(R.text("confirm_empty", lang), R.quick_replies("start", lang)), reason="empty_cart")
        return TurnOutcome(cart, Reply(readback(cart, lang, categories)), submit=True)
    if name is IntentName.ORDER_STATUS:
        if not cart.lines and last_order_id:
            text = R.text("last_order", lang, order_id=last_order_id, particle=R.topic_particle(last_order_id))
            return TurnOutcome(cart, Reply(text, R.quick_replies("start", lang)))
        return TurnOutcome(cart, Reply(readback(cart, lang, categories), ordering if cart.lines else ()))
    if name is IntentName.FAQ:
        if faq_answer:
            return TurnOutcome(cart, Reply(faq_answer, ordering if cart.lines else ()))
        text = R.text("faq_not_found", lang)
        return TurnOutcome(cart, Reply(text, R.quick_replies("faq_missing", lang)), "not_understood", "faq_not_found")
    if name is IntentName.HANDOFF:
        return TurnOutcome(cart, Reply(R.text("handoff", lang)), handoff=True)
    if name is IntentName.GREETING:
        return TurnOutcome(cart, Reply(R.text("greeting", lang), R.quick_replies("start", lang)))
    return _reason_outcome(cart, u.model_copy(update={"reason": "not_understood"}), lang)


def order_placed(
    outcome: TurnOutcome,
    order_id: str,
    lines: tuple[OrderLine, ...],
    total: int,
    currency: str,
    *,
    language: str = R.DEFAULT_LANGUAGE,
    categories: Mapping[str, str] | None = None,
) -> TurnOutcome:
    """The outcome once the caller has stored the order: an empty cart and the confirmation."""
    text = R.text(
        "order_placed",
        language,
        order_id=order_id,
        lines=R.format_lines(lines, language, categories),
        total=R.format_money(total, currency, language),
    )
    reply = Reply(text, R.quick_replies("after_order", language))
    return replace(outcome, cart=Cart(currency=currency), reply=reply, submit=False, order_id=order_id)
