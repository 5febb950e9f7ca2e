"""What the skill server believes of a request: only what its own copy of the store's menu says.

A skill request carries order lines with names and prices, and anyone who can reach the server
could write them. Every line is checked against the menu (the item, each option of it and its
amount) and priced and named again from it; a line the menu cannot have is refused, never stored.
The customer's words (``origin``) are dropped here: the dialogue does not need them, and a cart
or an order is no place for what a customer said.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import combinations
from typing import TypeVar

from voicegw.dialogue.cart_ops import line_name
from voicegw.errors import RequestError
from voicegw.nlu.menu import Item, Menu, display_name
from voicegw.nlu.types import ANY_VALUE, MAX_QUANTITY, Asked, IntentName, LineOption, Offer, OrderLine, Understanding


def not_on_menu(message: str) -> RequestError:
    return RequestError("not_on_menu", message)


def checked_understanding(u: Understanding, menu: Menu, language: str) -> Understanding:
    """``u`` with every line repriced and renamed from ``menu``; a ``not_on_menu`` 400 for an
    item, option value or amount the menu does not have, or a choice offered to the customer
    that is not one of the menu's names."""
    _check_candidates(u, menu)
    return _checked_action(u, menu, language).model_copy(update={
        "offer": None if u.offer is None else _checked_action(u.offer, menu, language),
        "asked": None if u.asked is None else Asked(lines=_lines(u.asked.lines, menu, language),
                                                    options=_loose_options(u.asked.options, menu)),
    })


Action = TypeVar("Action", Understanding, Offer)


def _checked_action(action: Action, menu: Menu, language: str) -> Action:
    """What an understanding and the offer it carries share: lines, options, a held quantity."""
    if action.held_quantity is not None and not 1 <= action.held_quantity <= MAX_QUANTITY:
        raise not_on_menu(f"held_quantity must be between 1 and {MAX_QUANTITY}")
    return action.model_copy(update={
        "lines": _lines(action.lines, menu, language),
        "replaced": _lines(action.replaced, menu, language),
        "either": _lines(action.either, menu, language),
        "options": _loose_options(action.options, menu),
    })


def _check_candidates(u: Understanding, menu: Menu) -> None:
    """What the dialogue offers as choices (quick replies, "did you mean ...") is said to the
    customer: an item's or an option value's name on this menu, never a caller's text. An answered
    FAQ turn's candidates are the ids of the entries to answer from: looked up, never said."""
    if u.intent.name is IntentName.FAQ and u.reason is None:
        return
    named = [*menu.items, *(value for group in menu.option_groups for value in group.values)]
    allowed = {alias for thing in named for aliases in thing.names.values() for alias in aliases or ()}
    for candidate in u.candidates:
        if candidate not in allowed:
            raise not_on_menu(f"candidate {candidate[:40]!r} is not a name on store {menu.id!r}'s menu")


def _lines(lines: Iterable[OrderLine], menu: Menu, language: str) -> tuple[OrderLine, ...]:
    return tuple(checked_line(line, menu, language) for line in lines)


def checked_line(line: OrderLine, menu: Menu, language: str) -> OrderLine:
    """The line as the menu prices and names it."""
    item = _item(menu, line.item_id)
    seen: set[str] = set()
    for option in line.options:
        if option.group not in item.option_groups:
            raise not_on_menu(f"item {item.id!r} takes no option group {option.group!r}")
        if option.group in seen:
            raise not_on_menu(f"item {item.id!r} has option group {option.group!r} twice")
        seen.add(option.group)
        _check_value(option, menu)
    return line.model_copy(update={
        # "*" is the value the cart's line has: the dialogue prices it when it applies the line.
        "unit_price": menu.unit_price(item, [o for o in line.options if o.value != ANY_VALUE]),
        "name": _name(line, item, menu, language),
        "origin": "",
    })


def _item(menu: Menu, item_id: str) -> Item:
    for item in menu.items:
        if item.id == item_id:
            return item
    raise not_on_menu(f"store {menu.id!r} has no item {item_id!r}")


def _loose_options(options: Iterable[LineOption], menu: Menu) -> tuple[LineOption, ...]:
    """Options said without an item: each must be a value of one of the menu's groups."""
    groups = {g.id for g in menu.option_groups}
    for option in options:
        if option.group not in groups:
            raise not_on_menu(f"store {menu.id!r} has no option group {option.group!r}")
        _check_value(option, menu)
    return tuple(options)


def _check_value(option: LineOption, menu: Menu) -> None:
    group = menu.group(option.group)
    if option.value != ANY_VALUE and option.value not in group.value_ids:
        raise not_on_menu(f"option group {group.id!r} has no value {option.value!r}")
    if option.amount not in ("regular", "none") and not group.amounts:
        raise not_on_menu(f"option group {group.id!r} takes no amount {option.amount!r}")


def _name(line: OrderLine, item: Item, menu: Menu, language: str) -> str:
    """The line's name if it is made of the menu's words for it (the item's name in any of its
    languages, after any of the line's option words, as understanding names what was said), else
    the name the cart would give it."""
    if line.name in _names_the_menu_writes(line, item, menu):
        return line.name
    return line_name(item.id, line.options, menu, language)


def _names_the_menu_writes(line: OrderLine, item: Item, menu: Menu) -> set[str]:
    order = {g.id: n for n, g in enumerate(menu.option_groups)}
    said = sorted((o for o in line.options if o.value != ANY_VALUE), key=lambda o: order[o.group])
    names: set[str] = set()
    for language in {*item.names, menu.language}:
        item_name = display_name(item.names, language, menu.language)
        for size in range(len(said) + 1):
            for chosen in combinations(said, size):
                words = [display_name(menu.group(o.group).value(o.value).names, language, menu.language) for o in chosen]
                names.add(" ".join([*words, item_name]))
    return names
