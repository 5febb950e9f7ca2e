"""Answers to questions about menu items, from the menu itself: what an item or an option costs,
and whether an option comes in an item or can be had on it. The menu lists options, not
recipes, so anything else ("is there banana in it?") is not answered here: the dialogue offers
a person instead of a guess (offers.py). Pure."""

from __future__ import annotations

from voicegw.dialogue import replies as R
from voicegw.nlu.menu import Item, Menu, OptionValue, display_name
from voicegw.nlu.types import ANY_VALUE, Asked, Asks, LineOption


def menu_answer(asked: Asked, asks: Asks, menu: Menu, language: str) -> str | None:
    """What the menu says to a price or contents question about ``asked``; None when it says nothing."""
    if asks == "price":
        sentences = [_price_of(line.item_id, line.options, menu, language) for line in asked.lines]
        sentences += [_option_price(option, menu, language) for option in asked.options]
    else:
        sentences = [_contents(menu.item(line.item_id), option, menu, language)
                     for line in asked.lines for option in line.options]
    said = [sentence for sentence in sentences if sentence]
    return " ".join(said) or None


def _price_of(item_id: str, options: tuple[LineOption, ...], menu: Menu, language: str) -> str:
    """The price of each option said with the item, else the item's own price."""
    if options:
        return " ".join(_option_price(option, menu, language) for option in options)
    item = menu.item(item_id)
    name = display_name(item.names, language, menu.language)
    price = R.text("price_item", language, item=name, particle=R.topic_particle(name),
                   price=R.format_money(item.price, menu.currency, language))
    if not item.available:  # the price, and that it cannot be had today
        return f"{price} {R.text('sold_out', language, item=name, particle=R.topic_particle(name))}"
    return price


def _option_price(option: LineOption, menu: Menu, language: str) -> str:
    """The price of the value said; of each value, when only the group was ("how much is extra spread?")."""
    group = menu.group(option.group)
    values = group.values if option.value == ANY_VALUE else [group.value(option.value)]
    return " ".join(_value_price(value, menu, language) for value in values)


def _value_price(value: OptionValue, menu: Menu, language: str) -> str:
    name = display_name(value.names, language, menu.language)
    if value.price == 0:
        return R.text("price_free", language, option=name, particle=R.topic_particle(name))
    return R.text("price_option", language, option=name, particle=R.topic_particle(name),
                  price=R.format_money(value.price, menu.currency, language))


def _contents(item: Item, option: LineOption, menu: Menu, language: str) -> str | None:
    """"The wrap comes with onions" (the item's default), "you can have cheese on it" (a choice it
    takes); None when the menu does not say."""
    if option.group not in item.option_groups:
        return None
    name = option_name(option, menu, language)
    item_name = display_name(item.names, language, menu.language)
    if menu.default_value(item, option.group) == option.value:
        return R.text("contents_default", language, item=item_name, option=name, particle=R.subject_particle(name))
    return R.text("contents_optional", language, item=item_name, option=name, particle=R.object_particle(name))


def option_name(option: LineOption, menu: Menu, language: str) -> str:
    """The value's name; the group's when the option stands for whichever value a line has."""
    group = menu.group(option.group)
    if option.value == ANY_VALUE:
        return display_name(group.names, language, menu.language) if group.names else group.id
    return display_name(group.value(option.value).names, language, menu.language)
