"""The store menu model (menus/*.yaml), validated with its cross-references."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from voicegw.nlu.types import LineOption, OrderLine

Language = Literal["ko", "en"]
Names = dict[Language, list[str]]
"""Aliases per language; the first alias is the display name."""


class MenuRefError(ValueError):
    """A cross-reference error that knows where it is (``loc`` relative to the model raising it)."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _check_names(names: Names) -> Names:
    for lang, aliases in names.items():
        if not aliases or any(not alias.strip() for alias in aliases):
            raise ValueError(f"names.{lang} must be a non-empty list of non-empty aliases")
    return names


def _unique(ids: list[str], what: str, field: str) -> None:
    seen: set[str] = set()
    for index, one in enumerate(ids):
        if one in seen:
            raise MenuRefError((field, index, "id"), f"duplicate {what} id {one!r}")
        seen.add(one)


class OptionValue(_Model):
    id: str = Field(min_length=1)
    names: Names = Field(min_length=1)
    price: int = Field(default=0, ge=0)
    """Added to the item price, in the menu currency's unit (KRW, or cents for USD)."""

    _names = field_validator("names")(_check_names)


class OptionGroup(_Model):
    id: str = Field(min_length=1)
    names: Names = Field(default_factory=dict)
    """Words for the group itself (시럽, milk): with an amount word they mean the default value."""
    values: list[OptionValue] = Field(min_length=1)
    default: str | None = None
    """Value id used when the customer says nothing about this group."""
    required: bool = False
    amounts: bool = False
    """Accepts amount words (none / light / regular / extra)."""
    in_name: bool = False
    """A said value prefixes the line's display name (아이스 아메리카노, large iced latte)."""

    _names = field_validator("names")(_check_names)

    @model_validator(mode="after")
    def _check(self) -> OptionGroup:
        _unique([v.id for v in self.values], f"value in option group {self.id!r}", "values")
        if self.default is not None and self.default not in self.value_ids:
            raise MenuRefError(("default",), f"default {self.default!r} is not a value of option group {self.id!r}")
        return self

    @property
    def value_ids(self) -> list[str]:
        return [v.id for v in self.values]

    def value(self, value_id: str) -> OptionValue:
        return next(v for v in self.values if v.id == value_id)


class Item(_Model):
    id: str = Field(min_length=1)
    names: Names = Field(min_length=1)
    category: str = Field(min_length=1)
    price: int = Field(ge=0)
    option_groups: list[str] = Field(default_factory=list)
    available: bool = True
    """False = sold out: understood, then refused with alternatives of the same category."""
    default_options: dict[str, str] = Field(default_factory=dict)
    """Per-item defaults that override the group default (caramel macchiato: syrup=caramel)."""
    base_item: str | None = None
    """For a set: the single item it is built around, so "불고기버거 두 세트" finds the set."""
    counter: str | None = None
    """The word Korean replies count it in (잔, 그릇, 마리); unset, its category decides (counting.py)."""

    _names = field_validator("names")(_check_names)


class FaqEntry(_Model):
    id: str = Field(min_length=1)
    category: str = Field(min_length=1)
    questions: dict[Language, list[str]] = Field(min_length=1)
    answer: dict[Language, str] = Field(min_length=1)

    _questions = field_validator("questions")(_check_names)


class Menu(_Model):
    id: str = Field(min_length=1)
    language: Language
    currency: str = Field(min_length=3, max_length=3)
    option_groups: list[OptionGroup] = Field(default_factory=list)
    items: list[Item] = Field(min_length=1)
    faq: list[FaqEntry] = Field(default_factory=list)
    shorthands: dict[Language, dict[str, str]] = Field(default_factory=dict)
    """A word the store's customers say for several menu words (아아: 아이스 아메리카노)."""
    misheard: dict[Language, dict[str, str]] = Field(default_factory=dict)
    """What speech recognition writes for an option's name ("a nice latte" for "an iced latte",
    oatmeal for oat milk): read as that option only where the item ordered takes it (slots.py)."""

    @model_validator(mode="after")
    def _check_references(self) -> Menu:
        _unique([g.id for g in self.option_groups], "option group", "option_groups")
        _unique([i.id for i in self.items], "item", "items")
        _unique([f.id for f in self.faq], "faq", "faq")
        for index, item in enumerate(self.items):
            self._check_item(("items", index), item)
        for lang, words in self.shorthands.items():
            for word, meaning in words.items():
                if len(word.split()) != 1 or not meaning.split():
                    raise MenuRefError(("shorthands", lang, word), "a shorthand is one word standing for menu words")
        for lang, heard in self.misheard.items():
            for word, name in heard.items():
                if len(word.split()) != 1 or not name.split():
                    raise MenuRefError(("misheard", lang, word), "a misheard word is one word standing for an option's name")
        return self

    def _check_item(self, loc: tuple[str | int, ...], item: Item) -> None:
        groups = {g.id: g for g in self.option_groups}
        for index, group_id in enumerate(item.option_groups):
            if group_id not in groups:
                raise MenuRefError((*loc, "option_groups", index),
                                   f"item {item.id!r} names unknown option group {group_id!r}")
        for group_id, value_id in item.default_options.items():
            where = (*loc, "default_options", group_id)
            if group_id not in item.option_groups:
                raise MenuRefError(where, f"item {item.id!r} has a default for group {group_id!r} it does not use")
            if value_id not in groups[group_id].value_ids:
                raise MenuRefError(where, f"item {item.id!r} default {value_id!r} is not a value of {group_id!r}")
        if item.base_item is not None and item.base_item not in {i.id for i in self.items}:
            raise MenuRefError((*loc, "base_item"), f"item {item.id!r} names unknown base_item {item.base_item!r}")

    def group(self, group_id: str) -> OptionGroup:
        return next(g for g in self.option_groups if g.id == group_id)

    def item(self, item_id: str) -> Item:
        return next(i for i in self.items if i.id == item_id)

    def default_value(self, item: Item, group_id: str) -> str | None:
        """The value an item gets in a group nobody named: its own default, else the group's."""
        return item.default_options.get(group_id) or self.group(group_id).default

    def default_options(self, item: Item) -> tuple[LineOption, ...]:
        """The item's default for every group that has one, in the item's group order."""
        return tuple(LineOption(group=g, value=v) for g in item.option_groups
                     if (v := self.default_value(item, g)) is not None)

    def missing_required(self, item: Item, named: Iterable[str]) -> str | None:
        """The first required group of ``item`` not among the ``named`` groups."""
        have = set(named)
        return next((g for g in item.option_groups if self.group(g).required and g not in have), None)

    def first_missing(self, lines: Iterable[OrderLine]) -> str | None:
        """The first required option group one of ``lines`` lacks."""
        for line in lines:
            if (group := self.missing_required(self.item(line.item_id), (o.group for o in line.options))) is not None:
                return group
        return None

    def value_names(self, group_id: str, language: str) -> tuple[str, ...]:
        """Display names of a group's values (레몬, 자몽, 청포도), for quick replies."""
        return tuple(display_name(v.names, language, self.language) for v in self.group(group_id).values)

    def unit_price(self, item: Item, options: Iterable[LineOption]) -> int:
        """The item's price plus its options'. An item's own default (바닐라 라떼's vanilla syrup)
        is in its price already, and an option asked for in amount ``none`` costs nothing."""
        extra = 0
        for option in options:
            if option.amount == "none" or item.default_options.get(option.group) == option.value:
                continue
            extra += self.group(option.group).value(option.value).price
        return item.price + extra


def display_name(names: Names, language: str, fallback: str) -> str:
    """The first alias in ``language``, else in ``fallback``, else any."""
    for lang in (language, fallback, *names):
        if names.get(lang):  # type: ignore[call-overload]
            return names[lang][0]  # type: ignore[index]
    raise ValueError("no names")
