"""A question is answered, and the action it named is offered, never done: "how do I cancel my
order?" gets the cancellation answer and "지금 주문을 취소해 드릴까요?" with yes/no quick replies;
the order is cancelled on the customer's yes. Pure; the turn logic is passed in as ``act``
(turns.py), so an offer is tried on the cart before it is made and done the same way it would be
if asked for."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from voicegw.dialogue import replies as R
from voicegw.dialogue.answers import menu_answer, option_name
from voicegw.dialogue.cart import Cart
from voicegw.dialogue.outcome import TurnOutcome
from voicegw.dialogue.replies import Reply
from voicegw.dialogue.state import DialogueState
from voicegw.nlu.counting import item_counters
from voicegw.nlu.menu import Menu
from voicegw.nlu.types import IntentName, Offer, OrderLine, Understanding

Act = Callable[[Cart, Understanding, DialogueState], TurnOutcome]
"""Applies an understood turn to a cart and state (turns._dispatch with the turn's facts)."""


def answer_question(cart: Cart, u: Understanding, state: DialogueState, act: Act, *, faq_answer: str | None,
                    menu: Menu | None, language: str) -> TurnOutcome:
    """A ``faq`` turn: the FAQ's answer or the menu's, then the offer of the action it named when
    that action would work on this cart (nothing to cancel on an empty cart)."""
    said = [faq_answer] if faq_answer else []
    if not said and u.asks is not None and u.asked is not None and menu is not None:
        from_menu = menu_answer(u.asked, u.asks, menu, language)
        if from_menu is None:  # the menu does not say: a person, not a guess
            return TurnOutcome(cart, Reply(R.text("contents_unknown", language), R.quick_replies("offer", language)),
                               state=state.offering_staff())
        said.append(from_menu)
    offer = u.offer
    offered = _offer_text(cart, offer, state, act, menu, language) if offer is not None else None
    if offered is not None:
        text = " ".join([*said, offered])
        return TurnOutcome(cart, Reply(text, R.quick_replies("offer", language)),
                           state=state.model_copy(update={"offer": offer}))
    if said:
        quick = R.quick_replies("ordering", language) if cart.lines else R.quick_replies("faq_missing", language)
        return TurnOutcome(cart, Reply(" ".join(said), quick))
    text = R.text("faq_not_found", language)
    return TurnOutcome(cart, Reply(text, R.quick_replies("faq_missing", language)), "not_understood", "faq_not_found",
                       state=state.offering_staff())


def answer_offer(cart: Cart, u: Understanding, state: DialogueState, act: Act, language: str) -> TurnOutcome | None:
    """The turn after an offer: a yes does the offered action, a no keeps everything as it is;
    None for anything else (the offer lapses and the turn is read as it stands)."""
    assert state.offer is not None
    offer, state = state.offer, state.model_copy(update={"offer": None})
    if u.answer == "yes":
        done = act(cart, offer.as_understanding(), state)
        return replace(done, intent=done.intent or offer.intent)
    if u.answer == "no":
        quick = R.quick_replies("ordering", language) if cart.lines else ()
        return TurnOutcome(cart, Reply(R.text("offer_declined", language), quick), state=state)
    return None


def _offer_text(cart: Cart, offer: Offer, state: DialogueState, act: Act, menu: Menu | None,
                language: str) -> str | None:
    """The offer's question, or None when the action would not work (it is tried on the cart)."""
    trial = act(cart, offer.as_understanding(), state.model_copy(update={"offer": None}))
    if trial.status != "ok" or not (trial.submit or trial.cart != cart):
        return None
    if offer.intent is IntentName.ORDER_CANCEL:
        return R.text("offer_cancel", language)
    counters = item_counters(menu, R.language_of(language))
    if offer.intent is IntentName.ORDER_REMOVE:  # what the yes takes off, however it was named ("하나 빼도 돼요?")
        return R.text("offer_remove", language, lines=R.format_lines(_taken(cart, trial.cart), language, counters))
    if offer.intent is IntentName.ORDER_CHANGE:
        named = [line.name for line in offer.lines] + _option_names(offer, menu, language)
        what = ", ".join(named) if named else R.format_lines(_changed(cart, trial.cart), language, counters)
        return R.text("offer_change", language, what=what, particle=R.direction_particle(what))
    return R.text("offer_add", language, lines=R.format_lines(offer.lines, language, counters))


def _changed(before: Cart, after: Cart) -> tuple[OrderLine, ...]:
    """The lines of ``after`` that ``before`` does not hold as they are ("두 잔으로 바꿀 수 있나요?")."""
    left = list(before.lines)
    changed: list[OrderLine] = []
    for line in after.lines:
        if line in left:
            left.remove(line)
        else:
            changed.append(line)
    return tuple(changed)


def _taken(before: Cart, after: Cart) -> tuple[OrderLine, ...]:
    """The lines ``before`` has and ``after`` lacks; a line ``after`` has fewer of, by the difference."""
    left = list(after.lines)
    taken: list[OrderLine] = []
    for line in before.lines:
        same = next((kept for kept in left if (kept.item_id, kept.name, kept.options)
                     == (line.item_id, line.name, line.options)), None)
        if same is not None:
            left.remove(same)
        if (fewer := line.quantity - (same.quantity if same is not None else 0)) > 0:
            taken.append(line.model_copy(update={"quantity": fewer}))
    return tuple(taken)


def _option_names(offer: Offer, menu: Menu | None, language: str) -> list[str]:
    if menu is None:
        return [option.value for option in offer.options]
    return [option_name(o, menu, language) for o in offer.options]
