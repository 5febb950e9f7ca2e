"""One understood turn applied to a session (cart + dialogue state): pure, no I/O.

The caller (the skill server) does the I/O around it: it loads the cart, the state and the FAQ
answer before, and stores them or submits the order after (``TurnOutcome.submit``), then calls
``order_placed`` for the confirmation reply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from voicegw.dialogue import clarify, feelings, offers
from voicegw.dialogue import replies as R
from voicegw.dialogue.cart import Cart
from voicegw.dialogue.cart_ops import (
    add_lines,
    apply_options,
    change_lines,
    reduce_newest,
    in_cart,
    remove_lines,
    same_kind_line,
    set_newest,
    swap_lines,
    with_defaults,
)
from voicegw.dialogue.outcome import TurnOutcome  # noqa: F401  (the skill server imports it from here)
from voicegw.dialogue.replies import Reply
from voicegw.dialogue.state import DialogueState
from voicegw.nlu.menu import Menu
from voicegw.nlu.types import MAX_QUANTITY, IntentName, OrderLine, Understanding
from voicegw.turn import TurnStatus


#: Turn status for each non-ok ``Understanding.reason``; unlisted reasons are ``not_understood``.
REASON_STATUS: dict[str, TurnStatus] = {
    "no_speech": "no_speech",
    "unknown_item": "not_understood",
    "not_understood": "not_understood",
    "sold_out": "rejected",
    "ambiguous_item": "needs_clarification",
    "low_confidence": "needs_clarification",
    "missing_option": "needs_clarification",
    "missing_item": "needs_clarification",
    "frustrated": "needs_clarification",
    "not_in_cart": "not_understood",
    "empty_cart": "rejected",
    "too_many": "rejected",
}
_MAX_QUICK_REPLIES = 10  # Open Builder's limit
SURE = 0.9
"""Confidence above which options said alone, with nothing asked, change the newest line."""


def readback(cart: Cart, language: str, counters: Mapping[str, str] | None = None) -> str:
    if not cart.lines:
        return R.text("cart_empty", language)
    return R.text(
        "cart_readback",
        language,
        lines=R.format_lines(cart.lines, language, counters),
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
    elif reason == "too_many":
        text = R.text("too_many", language, most=MAX_QUANTITY)
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
    state: DialogueState | None = None,
    menu: Menu | None = None,
    faq_answer: str | None = None,
    last_order_id: str | None = None,
    counters: Mapping[str, str] | None = None,
) -> TurnOutcome:
    """Apply one understood turn to ``cart`` and the dialogue ``state``.

    ``menu``: the store's menu, to reprice changed lines and to ask for required options.
    ``faq_answer``: the answer to the FAQ ``understanding.candidates[0]`` names, looked up by the
    caller. ``last_order_id``: the session's latest order, for order.status on an empty cart.
    ``counters``: item id -> counter word (counting.item_counters), for 잔, 그릇, 개.
    A turn with a ``reason`` never changes the cart: a refused or unclear turn asks again.
    """
    state = state or DialogueState()
    facts = _Facts(menu, language, faq_answer, last_order_id, counters)
    outcome = _dispatch(cart, understanding, state, facts)
    if any(line.quantity > MAX_QUANTITY for line in outcome.cart.lines):  # 999 + 999 of one line
        too_many = understanding.model_copy(update={"reason": "too_many"})
        outcome = replace(_reason_outcome(cart, too_many, language), state=outcome.state)
    return feelings.settle(outcome, understanding, state, language)


@dataclass(frozen=True)
class _Facts:
    """What the caller knows around a turn (apply_turn's keyword arguments)."""

    menu: Menu | None
    lang: str
    faq_answer: str | None
    last_order_id: str | None
    counters: Mapping[str, str] | None


def _dispatch(cart: Cart, u: Understanding, state: DialogueState, facts: _Facts) -> TurnOutcome:
    menu, lang = facts.menu, facts.lang
    if state.offer is not None:
        answered = offers.answer_offer(cart, u, state, _acting(facts), lang)
        if answered is not None:
            return answered
        state = state.model_copy(update={"offer": None})
    if state.pending is not None:
        answered = clarify.answer_pending(cart, state, u, menu, lang, facts.counters)
        if answered is not None:
            return answered
        if u.reason is not None or u.intent.name is IntentName.UNKNOWN:
            return clarify.reask(cart, state, lang, menu)
        if u.intent.name not in (IntentName.FAQ, IntentName.ORDER_STATUS, IntentName.GREETING):
            state = state.model_copy(update={"pending": None})  # the customer moved on
    if u.reason == "missing_option" and u.missing_group:
        return clarify.ask_option(cart, u, state, menu, lang)
    if u.reason == "ambiguous_item" and u.either and (held := [c for c in u.either if in_cart(cart, c)]) and len(held) == 1:
        # "샌드위치는 데워서 주세요" with one of the sandwiches in the cart: that one
        amend = u.model_copy(update={"lines": (*u.lines, held[0]), "amending": (*u.amending, len(u.lines)), "reason": None})
        return _amend(cart, amend, state, menu, lang, facts.counters)
    if u.reason == "ambiguous_item" and u.candidates:
        return clarify.ask_choice(cart, u, state, lang)
    if u.reason is not None:
        return replace(_reason_outcome(cart, u, lang), state=state)
    outcome = _intent_outcome(cart, u, state, facts)
    return replace(outcome, state=outcome.state or state)


def _acting(facts: _Facts) -> offers.Act:
    """The turn logic for an offered action: tried before it is offered, done on a yes."""
    return lambda cart, u, state: _dispatch(cart, u, state, replace(facts, faq_answer=None))


def _intent_outcome(cart: Cart, u: Understanding, state: DialogueState, facts: _Facts) -> TurnOutcome:
    menu, lang, counters = facts.menu, facts.lang, facts.counters
    faq_answer, last_order_id = facts.faq_answer, facts.last_order_id
    ordering = R.quick_replies("ordering", lang)
    name = u.intent.name
    if name is IntentName.ORDER_ADD and u.lines and u.amends:
        return _amend(cart, u, state, menu, lang, counters)
    if name is IntentName.ORDER_ADD and u.lines:
        new_cart = add_lines(cart, u.lines)
        return TurnOutcome(new_cart, Reply(R.text("added", lang, lines=R.format_lines(u.lines, lang, counters)), ordering))
    if name is IntentName.ORDER_ADD and u.options:
        return _options_alone(cart, u, menu, lang, counters)
    if name is IntentName.ORDER_CHANGE and (u.lines or u.options or u.held_quantity):
        return _change(cart, u, menu, lang, counters)
    if name is IntentName.ORDER_REMOVE and not u.lines and u.held_quantity:
        new_cart, done = reduce_newest(cart, u.held_quantity)
        if not done:
            return _not_in_cart(cart, R.text("this_item", lang), lang, counters)
        return _changed_reply(new_cart, done, "removed", lang, counters)
    if name is IntentName.ORDER_REMOVE and u.lines:
        new_cart, done = remove_lines(cart, u.lines)
        if not done:
            return _not_in_cart(cart, u.lines[0].name, lang, counters)
        return _changed_reply(new_cart, done, "removed", lang, counters)
    if name is IntentName.ORDER_CANCEL:
        return TurnOutcome(Cart(currency=cart.currency), Reply(R.text("cancelled", lang), R.quick_replies("start", lang)))
    if name is IntentName.ORDER_CONFIRM:
        if not cart.lines:
            reply = Reply(R.text("confirm_empty", lang), R.quick_replies("start", lang))
            return TurnOutcome(cart, reply, REASON_STATUS["empty_cart"], "empty_cart")
        return TurnOutcome(cart, Reply(readback(cart, lang, counters)), submit=True)
    if name is IntentName.ORDER_STATUS:
        if not cart.lines and last_order_id:
            text = R.text("last_order", lang, order_id=last_order_id, particle=R.topic_particle(last_order_id))
            return TurnOutcome(cart, Reply(text, R.quick_replies("start", lang)))
        return TurnOutcome(cart, Reply(readback(cart, lang, counters), ordering if cart.lines else ()))
    if name is IntentName.FAQ:
        return offers.answer_question(cart, u, state, _acting(facts), faq_answer=faq_answer, menu=menu, language=lang)
    if name is IntentName.HANDOFF:
        return _handoff(cart, state, lang, counters)
    if name is IntentName.GREETING:
        return TurnOutcome(cart, Reply(R.text("greeting", lang), R.quick_replies("start", lang)))
    return _reason_outcome(cart, u.model_copy(update={"reason": "not_understood"}), lang)


def _change(
    cart: Cart, u: Understanding, menu: Menu | None, lang: str, counters: Mapping[str, str] | None
) -> TurnOutcome:
    """An item swap, new options or a new quantity for a line in the cart."""
    if u.replaced:
        new_cart, done = swap_lines(cart, u.replaced, u.lines, menu, lang)
        if not done:  # the one given up is an option of a line (콜라는 사이다로: the set's drink)
            new_cart, done = apply_options(cart, u.options, menu, lang)
        if not done and u.lines and not u.by_change_word:  # "콜라 말고 사이다요" with no cola in the cart: just the new item
            lines = tuple(with_defaults(line, menu, lang) for line in u.lines)
            text = R.text("added", lang, lines=R.format_lines(lines, lang, counters))
            return TurnOutcome(add_lines(cart, lines), Reply(text, R.quick_replies("ordering", lang)),
                               intent=IntentName.ORDER_ADD)
    elif not u.lines and not u.options and u.held_quantity:
        new_cart, done = set_newest(cart, u.held_quantity)
    else:
        new_cart, done = change_lines(cart, u.lines, menu, lang) if u.lines else (cart, ())
        if not done:
            new_cart, done = apply_options(cart, u.options, menu, lang, every_line=u.every_line)
        if not done and u.swaps_in and len(u.lines) == 1 and (old := same_kind_line(cart, u.lines[0], menu)):
            new_cart, done = swap_lines(cart, (old,), u.lines, menu, lang)  # 제로콜라로 바꿔 주세요: the cola becomes it
    if not done:
        said = u.lines[0].name if u.lines else R.text("this_item", lang)
        return _not_in_cart(cart, said, lang, counters)
    return _changed_reply(new_cart, done, "changed", lang, counters)


def _amend(
    cart: Cart, u: Understanding, state: DialogueState, menu: Menu | None, lang: str,
    counters: Mapping[str, str] | None,
) -> TurnOutcome:
    """"베이글은 데워서 주세요": the bagel in the cart is warmed; with none there, one is ordered
    (asking for a required option it lacks). New items said in the same breath are added."""
    new_cart, changed, added = cart, [], []
    for i, line in enumerate(u.lines):
        if i not in u.amending:
            added.append(line)
            continue
        new_cart, done = change_lines(new_cart, (line,), menu, lang)
        if done:
            changed += done
        else:
            added.append(with_defaults(line, menu, lang))
    if menu is not None and (group := menu.first_missing(added)) is not None:
        ask = u.model_copy(update={"lines": tuple(added), "amending": (), "reason": "missing_option",
                                   "missing_group": group, "candidates": menu.value_names(group, lang)})
        return clarify.ask_option(new_cart, ask, state, menu, lang)
    new_cart = add_lines(new_cart, tuple(added))
    if not changed:
        text = R.text("added", lang, lines=R.format_lines(added, lang, counters))
        return TurnOutcome(new_cart, Reply(text, R.quick_replies("ordering", lang)))
    outcome = _changed_reply(new_cart, tuple(changed), "changed", lang, counters)
    if added:
        said = R.format_lines(changed, lang, counters)
        text = R.text("changed_and_added", lang, lines=said, particle=R.direction_particle(said),
                      added=R.format_lines(added, lang, counters), cart=readback(new_cart, lang, counters))
        outcome = replace(outcome, reply=Reply(text, outcome.reply.quick_replies))
    return replace(outcome, intent=IntentName.ORDER_CHANGE)


def _options_alone(
    cart: Cart, u: Understanding, menu: Menu | None, lang: str, counters: Mapping[str, str] | None
) -> TurnOutcome:
    """"아이스로요" with nothing asked: the newest line that takes it changes; when other words
    were not understood ("a small mocca with almond milk": an item the menu lacks) or the cart
    is empty, it asks which item."""
    new_cart, done = (apply_options(cart, u.options, menu, lang, every_line=u.every_line)
                      if u.intent.confidence >= SURE else (cart, ()))
    if done:
        outcome = _changed_reply(new_cart, done, "changed", lang, counters)
        return replace(outcome, intent=IntentName.ORDER_CHANGE)
    quick = R.quick_replies("help", lang)
    return TurnOutcome(cart, Reply(R.text("missing_item", lang), quick), "needs_clarification", "missing_item")


def _changed_reply(
    new_cart: Cart, done: tuple[OrderLine, ...], key: str, lang: str, counters: Mapping[str, str] | None
) -> TurnOutcome:
    said = R.format_lines(done, lang, counters)
    text = R.text(key, lang, lines=said, particle=R.direction_particle(said), cart=readback(new_cart, lang, counters))
    return TurnOutcome(new_cart, Reply(text, R.quick_replies("ordering", lang) if new_cart.lines else ()))


def _not_in_cart(cart: Cart, said: str, lang: str, counters: Mapping[str, str] | None) -> TurnOutcome:
    text = R.text("not_in_cart", lang, lines=said, particle=R.subject_particle(said), cart=readback(cart, lang, counters))
    reply = Reply(text, R.quick_replies("ordering", lang) if cart.lines else ())
    return TurnOutcome(cart, reply, REASON_STATUS["not_in_cart"], "not_in_cart")


def _handoff(cart: Cart, state: DialogueState, lang: str, counters: Mapping[str, str] | None) -> TurnOutcome:
    """A person takes over; the cart stays and goes with the session to them."""
    if cart.lines:
        text = R.text("handoff_cart", lang, lines=R.format_lines(cart.lines, lang, counters),
                      total=R.format_money(cart.total, cart.currency, lang))
    else:
        text = R.text("handoff", lang)
    return TurnOutcome(cart, Reply(text), handoff=True, state=state.model_copy(update={"handed_off": True}))


def order_placed(
    outcome: TurnOutcome,
    order_id: str,
    lines: tuple[OrderLine, ...],
    total: int,
    currency: str,
    *,
    language: str = R.DEFAULT_LANGUAGE,
    counters: Mapping[str, str] | None = None,
) -> TurnOutcome:
    """The outcome once the caller has stored the order: an empty cart and the confirmation."""
    text = R.text(
        "order_placed",
        language,
        order_id=order_id,
        lines=R.format_lines(lines, language, counters),
        total=R.format_money(total, currency, language),
    )
    reply = Reply(text, R.quick_replies("after_order", language))
    return replace(outcome, cart=Cart(currency=currency), reply=reply, submit=False, order_id=order_id)
