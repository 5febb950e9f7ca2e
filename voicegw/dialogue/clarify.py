"""Questions the bot asks instead of guessing, and the answers to them: a required option nobody
named (which flavour?), an item name several items share (which cake?). Pure."""

from __future__ import annotations

from collections.abc import Mapping

from voicegw.dialogue import replies as R
from voicegw.dialogue.cart import Cart
from voicegw.dialogue.cart_ops import accepts, add_lines, explicit_quantity, line_name, with_options
from voicegw.dialogue.outcome import TurnOutcome
from voicegw.dialogue.replies import Reply
from voicegw.dialogue.state import DialogueState, Pending
from voicegw.nlu.menu import Item, Menu, display_name
from voicegw.nlu.types import IntentName, LineOption, OrderLine, Understanding

MAX_ASKS = 2
"""A question is put at most this many times; then the held lines are dropped and a person offered."""


def ask_option(cart: Cart, u: Understanding, state: DialogueState, menu: Menu | None, language: str) -> TurnOutcome:
    """Hold the turn's lines and ask for the required group nobody named."""
    group = u.missing_group or ""
    pending = Pending(kind="option", lines=u.lines, group=group)
    return _ask(cart, pending, state, menu, language, u.candidates)


def ask_choice(cart: Cart, u: Understanding, state: DialogueState, language: str) -> TurnOutcome:
    """Hold the clear lines and ask which of the candidates the unclear name meant."""
    pending = Pending(kind="choice", lines=u.lines, choices=u.candidates, quantity=u.held_quantity or 1)
    return _ask(cart, pending, state, None, language, u.candidates)


def _ask(
    cart: Cart, pending: Pending, state: DialogueState, menu: Menu | None, language: str, choices: tuple[str, ...]
) -> TurnOutcome:
    new_state = state.model_copy(update={"pending": pending})
    if pending.kind == "choice":
        text = R.text("ambiguous_item", language, candidates=R.format_choices(choices, language))
        return TurnOutcome(cart, Reply(text, choices), "needs_clarification", "ambiguous_item", state=new_state)
    item = next((line.name for line in pending.lines if _lacks(line, pending.group)), R.text("this_item", language))
    group = _group_name(pending.group, menu, language)
    text = R.text("missing_option", language, item=item, particle=R.topic_particle(item), group=group,
                  group_particle=R.direction_particle(group), candidates=R.format_choices(choices, language))
    return TurnOutcome(cart, Reply(text, choices), "needs_clarification", "missing_option", state=new_state)


def answer_pending(
    cart: Cart, state: DialogueState, u: Understanding, menu: Menu | None, language: str,
    counters: Mapping[str, str] | None,
) -> TurnOutcome | None:
    """The turn answers the pending question: the held lines, completed, go into the cart.
    None when the turn is not an answer."""
    pending = state.pending
    if pending is None or menu is None:
        return None
    if pending.kind == "option":
        lines = _fill_option(pending, u, menu, language)
    else:
        lines = _choose(pending, u, menu, language)
    if lines is None:
        return None
    cleared = state.model_copy(update={"pending": None})
    if (group := menu.first_missing(lines)) is not None:  # a second required group: ask for it next
        values = menu.value_names(group, language)
        return _ask(cart, Pending(kind="option", lines=lines, group=group), cleared, menu, language, values)
    new_cart = add_lines(cart, lines)
    text = R.text("added", language, lines=R.format_lines(lines, language, counters))
    return TurnOutcome(new_cart, Reply(text, R.quick_replies("ordering", language)), state=cleared,
                       intent=IntentName.ORDER_ADD)


def reask(cart: Cart, state: DialogueState, language: str, menu: Menu | None) -> TurnOutcome:
    """The turn did not answer: ask again, or after ``MAX_ASKS`` give the held lines up."""
    pending = state.pending
    assert pending is not None
    if pending.asked >= MAX_ASKS:
        item = pending.lines[-1].name if pending.kind == "option" and pending.lines else R.text("this_item", language)
        text = R.text("gave_up", language, item=item, particle=R.subject_particle(item))
        quick = R.quick_replies("staff", language)
        reason = "missing_option" if pending.kind == "option" else "ambiguous_item"
        return TurnOutcome(cart, Reply(text, quick), "not_understood", reason,
                           state=state.model_copy(update={"pending": None}).offering_staff())
    again = pending.model_copy(update={"asked": pending.asked + 1})
    choices = pending.choices
    if pending.kind == "option" and menu is not None and pending.group is not None:
        choices = menu.value_names(pending.group, language)
    return _ask(cart, again, state, menu, language, choices)


def _fill_option(pending: Pending, u: Understanding, menu: Menu, language: str) -> tuple[OrderLine, ...] | None:
    option = _said_option(pending.group or "", u)
    if option is None:
        return None
    lines = tuple(with_options(line, (option,), menu, language) if _lacks(line, pending.group) and
                  accepts(line, (option,), menu) else line for line in pending.lines)
    return None if lines == pending.lines else lines


def _said_option(group: str, u: Understanding) -> LineOption | None:
    """The value of ``group`` the answer names, alone (자몽으로요) or on a line (자몽 에이드요)."""
    for option in (*u.options, *(o for line in u.lines for o in line.options)):
        if option.group == group:
            return option
    return None


def _choose(pending: Pending, u: Understanding, menu: Menu, language: str) -> tuple[OrderLine, ...] | None:
    """The held lines plus the chosen item, in the held quantity unless the answer says one."""
    for line in u.lines:
        if _display(menu.item(line.item_id), menu, language) in pending.choices:
            quantity = line.quantity if explicit_quantity(line) else pending.quantity
            return (*pending.lines, line.model_copy(update={"quantity": quantity}))
    words = {w for w in u.normalized_text.lower().split() if len(w) >= 2}
    named = [c for c in pending.choices if words & set(c.lower().split())]
    if len(named) != 1:
        return None
    item = next(i for i in menu.items if _display(i, menu, language) == named[0])
    return (*pending.lines, default_line(item, pending.quantity, menu, language))


def default_line(item: Item, quantity: int, menu: Menu, language: str) -> OrderLine:
    options = menu.default_options(item)
    return OrderLine(item_id=item.id, name=line_name(item.id, options, menu, language), quantity=quantity,
                     options=tuple(options), unit_price=menu.unit_price(item, options))


def _lacks(line: OrderLine, group: str | None) -> bool:
    return all(o.group != group for o in line.options)


def _display(item: Item, menu: Menu, language: str) -> str:
    return display_name(item.names, language, menu.language)


def _group_name(group: str | None, menu: Menu | None, language: str) -> str:
    if menu is None or group is None:
        return group or ""
    names = menu.group(group).names
    return display_name(names, language, menu.language) if names else group

