"""Pure operations on a cart's lines: add, remove, change, set options (with the menu's prices)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from voicegw.dialogue.cart import Cart
from voicegw.nlu.menu import Menu, display_name
from voicegw.nlu.types import LineOption, OrderLine

#: An utterance names a quantity ("한 잔", "2개", "two"): then remove/change use it, otherwise
#: "아메리카노 빼줘" means the whole line, not one cup.
_QUANTITY = re.compile(
    r"\d|(?:한|하나|두|둘|세|셋|석|네|넷|다섯|여섯|일곱|여덟|아홉|열)\s*(?:잔|개|컵|병|조각|판|인분|세트)"
    r"|(?:^|\s)(?:하나|둘|셋|넷)"
    r"|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|a couple)\b",
    re.IGNORECASE,
)


def says_quantity(origin: str) -> bool:
    return bool(_QUANTITY.search(origin))


def explicit_quantity(line: OrderLine) -> bool:
    # Without the words (a line built by hand) only a quantity above 1 can have been said.
    return says_quantity(line.origin) if line.origin else line.quantity > 1


def _option_key(line: OrderLine) -> frozenset[tuple[str, str, str]]:
    return frozenset((o.group, o.value, o.amount) for o in line.options)


def matches(cart_line: OrderLine, target: OrderLine) -> bool:
    """Same item, and every option the user named is on the cart line ("the iced one")."""
    have = {(o.group, o.value) for o in cart_line.options}
    return cart_line.item_id == target.item_id and all((o.group, o.value) in have for o in target.options)


def add_lines(cart: Cart, lines: Iterable[OrderLine]) -> Cart:
    """Append lines; a line with the same item and options as one in the cart adds its quantity."""
    result = list(cart.lines)
    for new in lines:
        for i, old in enumerate(result):
            if old.item_id == new.item_id and _option_key(old) == _option_key(new):
                result[i] = old.model_copy(update={"quantity": old.quantity + new.quantity})
                break
        else:
            result.append(new)
    return cart.model_copy(update={"lines": tuple(result)})


def remove_lines(cart: Cart, targets: tuple[OrderLine, ...]) -> tuple[Cart, tuple[OrderLine, ...]]:
    """Remove matching lines, newest first; a said quantity reduces instead. Returns what went."""
    result: list[OrderLine | None] = list(cart.lines)
    removed: list[OrderLine] = []
    for target in targets:
        left = target.quantity if explicit_quantity(target) else None  # None: all of them
        for i in range(len(result) - 1, -1, -1):
            line = result[i]
            if line is None or not matches(line, target) or left == 0:
                continue
            take = line.quantity if left is None else min(left, line.quantity)
            removed.append(line.model_copy(update={"quantity": take}))
            result[i] = line.model_copy(update={"quantity": line.quantity - take}) if take < line.quantity else None
            if left is not None:
                left -= take
    kept = tuple(line for line in result if line is not None)
    return cart.model_copy(update={"lines": kept}), tuple(removed)


def change_lines(
    cart: Cart, targets: tuple[OrderLine, ...], menu: Menu | None, language: str
) -> tuple[Cart, tuple[OrderLine, ...]]:
    """The newest line of each target's item takes the options the target names (others kept)
    and its quantity when one was said. Returns the changed lines."""
    result = list(cart.lines)
    changed: list[OrderLine] = []
    for target in targets:
        for i in _newest_first(result, target, menu):
                quantity = target.quantity if explicit_quantity(target) else result[i].quantity
                line = with_options(result[i], target.options, menu, language)
                if menu is None:  # no menu to name it by: the name as understood
                    line = line.model_copy(update={"name": target.name})
                result[i] = line.model_copy(update={"quantity": quantity})
                changed.append(result[i])
                break
    return cart.model_copy(update={"lines": tuple(result)}), tuple(changed)


def _newest_first(lines: list[OrderLine], target: OrderLine, menu: Menu | None) -> list[int]:
    """Indices of the lines a change of ``target`` may mean, newest first: the same item, else
    the one line of an item whose name ends in one of the target's ("라떼" in a cart holding a
    바닐라 라떼 and no 카페라떼)."""
    same = [i for i in range(len(lines) - 1, -1, -1) if lines[i].item_id == target.item_id]
    if same or menu is None:
        return same
    said = {n.replace(" ", "") for names in menu.item(target.item_id).names.values() for n in names}
    family = [i for i in range(len(lines) - 1, -1, -1)
              if any(n.replace(" ", "").endswith(tuple(said)) for names in menu.item(lines[i].item_id).names.values()
                     for n in names)]
    return family if len(family) == 1 else []


def reduce_newest(cart: Cart, quantity: int) -> tuple[Cart, tuple[OrderLine, ...]]:
    """"한 잔 빼 주세요": ``quantity`` fewer of the newest line (the line goes when none are left)."""
    if not cart.lines:
        return cart, ()
    *rest, newest = cart.lines
    take = min(quantity, newest.quantity)
    kept = (*rest, newest.model_copy(update={"quantity": newest.quantity - take})) if take < newest.quantity else tuple(rest)
    return cart.model_copy(update={"lines": kept}), (newest.model_copy(update={"quantity": take}),)


def set_newest(cart: Cart, quantity: int) -> tuple[Cart, tuple[OrderLine, ...]]:
    """"make it two", "두 개로 해 주세요": the newest line, in ``quantity``."""
    if not cart.lines:
        return cart, ()
    *rest, newest = cart.lines
    changed = newest.model_copy(update={"quantity": quantity})
    return cart.model_copy(update={"lines": (*rest, changed)}), (changed,)


def with_defaults(line: OrderLine, menu: Menu | None, language: str) -> OrderLine:
    """A line built from what was said only, completed with the item's default options."""
    if menu is None:
        return line
    have = {o.group for o in line.options}
    defaults = [o for o in menu.default_options(menu.item(line.item_id)) if o.group not in have]
    completed = with_options(line.model_copy(update={"options": (*defaults, *line.options)}), (), menu, language)
    return completed.model_copy(update={"name": line.name})


def swap_lines(
    cart: Cart, replaced: tuple[OrderLine, ...], new: tuple[OrderLine, ...]
) -> tuple[Cart, tuple[OrderLine, ...]]:
    """Each replaced line (newest match) becomes the next new line, with the old quantity unless
    one was said. Returns the new lines placed; empty when nothing replaced was in the cart."""
    result = list(cart.lines)
    placed: list[OrderLine] = []
    for old, line in zip(replaced, new):
        for i in range(len(result) - 1, -1, -1):
            if matches(result[i], old):
                quantity = line.quantity if explicit_quantity(line) else result[i].quantity
                result[i] = line.model_copy(update={"quantity": quantity})
                placed.append(result[i])
                break
    return cart.model_copy(update={"lines": tuple(result)}), tuple(placed)


def apply_options(
    cart: Cart, options: tuple[LineOption, ...], menu: Menu | None, language: str
) -> tuple[Cart, tuple[OrderLine, ...]]:
    """Options said alone go to the newest line whose item takes one ("make that a large"), each
    group it takes ("라지" is a drink's size and a set's size: a set takes its own)."""
    if menu is None or not options:
        return cart, ()
    for i in range(len(cart.lines) - 1, -1, -1):
        line = cart.lines[i]
        taken = tuple(o for o in options if accepts(line, (o,), menu))
        if taken:
            changed = with_options(line, taken, menu, language)
            lines = (*cart.lines[:i], changed, *cart.lines[i + 1:])
            return cart.model_copy(update={"lines": lines}), (changed,)
    return cart, ()


def accepts(line: OrderLine, options: Iterable[LineOption], menu: Menu) -> bool:
    groups = menu.item(line.item_id).option_groups
    return all(o.group in groups and o.value in menu.group(o.group).value_ids for o in options)


def with_options(line: OrderLine, options: Iterable[LineOption], menu: Menu | None, language: str) -> OrderLine:
    """The line with ``options`` set (replacing the same groups), repriced and renamed."""
    merged = {o.group: o for o in line.options}
    merged.update({o.group: o for o in options})
    if menu is None:
        return line.model_copy(update={"options": tuple(merged.values())})
    item = menu.item(line.item_id)
    ordered = tuple(merged[g] for g in item.option_groups if g in merged)
    return line.model_copy(update={"options": ordered, "unit_price": menu.unit_price(item, ordered),
                                   "name": line_name(line.item_id, ordered, menu, language)})


def line_name(item_id: str, options: Iterable[LineOption], menu: Menu, language: str) -> str:
    """Display name with the size/temperature that differ from the item's default first."""
    item = menu.item(item_id)
    chosen = {o.group: o.value for o in options}
    words = []
    for group in menu.option_groups:
        value = chosen.get(group.id)
        if group.in_name and group.id in item.option_groups and value not in (None, menu.default_value(item, group.id)):
            words.append(display_name(group.value(value).names, language, menu.language))
    words.append(display_name(item.names, language, menu.language))
    return " ".join(words)
