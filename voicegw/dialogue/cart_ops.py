"""Pure operations on a cart's lines: add, remove, change, set options (with the menu's prices)."""

from __future__ import annotations

from collections.abc import Iterable

from voicegw.dialogue.cart import Cart
from voicegw.nlu.menu import Menu, display_name
from voicegw.nlu.types import ANY_VALUE, LineOption, OrderLine

def explicit_quantity(line: OrderLine) -> bool:
    """The customer said how many of this line ("아메리카노 빼줘" means the whole line, "한 잔 빼줘"
    one cup). A line that does not say (built elsewhere) can only have had a quantity above 1 said."""
    return line.quantity_said if line.quantity_said is not None else line.quantity > 1


def _option_key(line: OrderLine) -> frozenset[tuple[str, str, str]]:
    return frozenset((o.group, o.value, o.amount) for o in line.options)


def matches(cart_line: OrderLine, target: OrderLine) -> bool:
    """Same item, and every option the user named is on the cart line ("the iced one")."""
    have = {(o.group, o.value) for o in cart_line.options}
    return cart_line.item_id == target.item_id and all((o.group, o.value) in have for o in target.options)


def in_cart(cart: Cart, line: OrderLine) -> bool:
    """The cart holds a line of ``line``'s item."""
    return any(held.item_id == line.item_id for held in cart.lines)


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
    the one line of an item whose name holds one of the target's and that takes its options
    ("라떼" in a cart holding a 바닐라 라떼 and no 카페라떼; "탕수육 소스는" for the 짜장 탕수육 세트)."""
    same = [i for i in range(len(lines) - 1, -1, -1) if lines[i].item_id == target.item_id]
    if same or menu is None:
        return same
    said = tuple({n.replace(" ", "") for names in menu.item(target.item_id).names.values() for n in names})
    family = [i for i in range(len(lines) - 1, -1, -1)
              if accepts(lines[i], target.options, menu)
              and any(any(s in n.replace(" ", "") for s in said) for names in menu.item(lines[i].item_id).names.values()
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
    cart: Cart, replaced: tuple[OrderLine, ...], new: tuple[OrderLine, ...], menu: Menu | None, language: str
) -> tuple[Cart, tuple[OrderLine, ...]]:
    """Each replaced line (newest match) becomes the next new line: the part of it said to be given
    up (치즈김밥 한 줄은 돈까스김밥으로) or all of it, in the quantity said or the old one. Returns the
    new lines placed; empty when nothing replaced was in the cart."""
    result = list(cart.lines)
    placed: list[OrderLine] = []
    for old, line in zip(replaced, new):
        for i in range(len(result) - 1, -1, -1):
            current = result[i]
            if not matches(current, old):
                continue
            part = old.quantity if explicit_quantity(old) and old.quantity < current.quantity else current.quantity
            swapped = becomes(current, line, menu, language)
            swapped = swapped.model_copy(update={"quantity": line.quantity if explicit_quantity(line) else part})
            if part < current.quantity:
                result[i:i + 1] = [current.model_copy(update={"quantity": current.quantity - part}), swapped]
            else:
                result[i] = swapped
            placed.append(swapped)
            break
    return cart.model_copy(update={"lines": tuple(result)}), tuple(placed)


def becomes(current: OrderLine, new: OrderLine, menu: Menu | None, language: str) -> OrderLine:
    """``new`` in place of ``current``: it keeps the choices of the old line that its item also
    takes (a medium stays medium) unless it says others, then its own defaults."""
    if menu is None:
        return new
    takes = set(menu.item(new.item_id).option_groups)
    said = {o.group for o in new.options}
    kept = tuple(o for o in current.options if o.group in takes and o.group not in said)
    line = with_defaults(new.model_copy(update={"options": (*kept, *new.options)}), menu, language)
    return with_options(line, (), menu, language)


def same_kind_line(cart: Cart, line: OrderLine, menu: Menu | None) -> OrderLine | None:
    """The newest cart line of another item in ``line``'s category (콜라 for 제로콜라로 바꿔 주세요)."""
    if menu is None:
        return None
    category = menu.item(line.item_id).category
    return next((old for old in reversed(cart.lines)
                 if old.item_id != line.item_id and menu.item(old.item_id).category == category), None)


def apply_options(
    cart: Cart, options: tuple[LineOption, ...], menu: Menu | None, language: str, *, every_line: bool = False
) -> tuple[Cart, tuple[OrderLine, ...]]:
    """Options said alone go to the newest line whose item takes one ("make that a large"), each
    group it takes ("라지" is a drink's size and a set's size: a set takes its own); with
    ``every_line`` ("전부 특으로", "make them all large") to every line that takes one."""
    if menu is None or not options:
        return cart, ()
    lines = list(cart.lines)
    changed: list[OrderLine] = []
    for i in range(len(lines) - 1, -1, -1):
        taken = tuple(o for o in options if accepts(lines[i], (o,), menu))
        if taken:
            lines[i] = with_options(lines[i], taken, menu, language)
            changed.insert(0, lines[i])
            if not every_line:
                break
    return cart.model_copy(update={"lines": tuple(lines)}), tuple(changed)


def accepts(line: OrderLine, options: Iterable[LineOption], menu: Menu) -> bool:
    groups = menu.item(line.item_id).option_groups
    have = {o.group for o in line.options}
    return all(o.group in groups and (o.value in menu.group(o.group).value_ids or (o.value == ANY_VALUE and o.group in have))
               for o in options)


def with_options(line: OrderLine, options: Iterable[LineOption], menu: Menu | None, language: str) -> OrderLine:
    """The line with ``options`` set (replacing the same groups), repriced and renamed; an option of
    ANY_VALUE changes the amount of the value the line has."""
    merged = {o.group: o for o in line.options}
    for option in options:
        if option.value != ANY_VALUE:
            merged[option.group] = option
        elif option.group in merged:
            merged[option.group] = merged[option.group].model_copy(update={"amount": option.amount})
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
