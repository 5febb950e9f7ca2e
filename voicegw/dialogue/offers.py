"""A question is answered, and the action it named is offered, never done: "how do I cancel my
order?" gets the cancellation answer and "지금 주문을 취소해 드릴까요?" with yes/no quick replies;
the order is cancelled on the customer's yes. Pure; the turn logic is passed in as ``act``
(turns.py), so an offer is tried on the cart before it is made and done the same way it would be
if asked for."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from voicegw.dialogue import replies as R
from voicegw.dialogue.answers import menu_answer
from voicegw.dialogue.cart import Cart
from voicegw.dialogue.outcome import TurnOutcome
from voicegw.dialogue.replies import Reply
from voicegw.dialogue.state import DialogueState
from voicegw.nlu.counting import item_counters
from voicegw.nlu.menu import Menu, display_name
from voicegw.nlu.types import IntentName, Offer, Understanding

Act = Callable[[Cart, Understanding, DialogueState], TurnOutcome]
"""Applies an understood turn to a cart and state (turns._dispatch with the turn's facts)."""


def answer_question(cart: Cart, u: Understanding, state: DialogueState, act: Act, *, faq_answer: str | None,
                    menu: Menu | None, language: str) -> TurnOutcome:
    """A ``faq`` turn: the FAQ's answer or the menu's, then the offer of the action it named when
    that action would work on this cart (nothing to cancel on an empty cart)."""
    said = [faq_answer] if faq_answer else []
    if not said and u.asks is not None and u.asked is not None and menu is not None:
        said.append(menu_answer(u.asked, u.asks, menu, language) or R.text("contents_unknown", language))
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
    return TurnOutcome(cart, Reply(text, R.quick_replies("faq_missing", language)), "not_understood", "faq_not_found")


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
    lines = R.format_lines(offer.lines, language, item_counters(menu, R.language_of(language)))
    if offer.intent is IntentName.ORDER_REMOVE:
        return R.text("offer_remove", language, lines=lines)
    if offer.intent is IntentName.ORDER_CHANGE:
        what = ", ".join([line.name for line in offer.lines] + _option_names(offer, menu, language))
        return R.text("offer_change", language, what=what, particle=R.direction_particle(what))
    return R.text("offer_add", language, lines=lines)


def _option_names(offer: Offer, menu: Menu | None, language: str) -> list[str]:
    if menu is None:
        return [option.value for option in offer.options]
    return [display_name(menu.group(o.group).value(o.value).names, language, menu.language) for o in offer.options]
