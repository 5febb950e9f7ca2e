"""Menu model and loader: shipped menus are valid; broken ones name the file and the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from voicegw.errors import MenuError
from voicegw.nlu.loader import load_menu, load_menus
from voicegw.nlu.vocabulary import menu_prompt, menu_vocabulary

MENUS = Path(__file__).resolve().parents[2] / "menus"
CAFE = (MENUS / "cafe-ko.yaml").read_text(encoding="utf-8")


def write(tmp_path: Path, text: str, name: str = "menu.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def test_shipped_menus_load() -> None:
    menus = load_menus(MENUS)
    assert {"cafe-ko", "burger-ko", "coffee-en"} <= set(menus)
    for menu in menus.values():
        assert menu.faq, menu.id
        for item in menu.items:
            assert item.names.get("ko") and item.names.get("en"), item.id
        for group in menu.option_groups:
            for value in group.values:
                assert value.names.get("ko") and value.names.get("en"), (group.id, value.id)
    assert not menus["cafe-ko"].item("strawberry_smoothie").available
    assert menus["coffee-en"].currency == "USD"


def test_unknown_option_group_names_file_and_line(tmp_path: Path) -> None:
    broken = CAFE.replace("option_groups: [size, temperature, shot],", "option_groups: [size, temprature, shot],", 1)
    path = write(tmp_path, broken)
    with pytest.raises(MenuError) as caught:
        load_menu(path)
    assert caught.value.code == "menu_invalid"
    assert f"{path}:{line_of(broken, 'temprature')}:" in caught.value.message
    assert "temprature" in caught.value.message


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    broken = CAFE.replace("  - id: tiramisu", "  - id: [tiramisu", 1).replace("{id: tiramisu,", "{id: [tiramisu,", 1)
    path = write(tmp_path, broken)
    with pytest.raises(MenuError) as caught:
        load_menu(path)
    assert caught.value.code == "menu_invalid"
    assert str(path) in caught.value.message and "YAML" in caught.value.message
    line = int(caught.value.message.split(f"{path}:")[1].split(":")[0])
    assert abs(line - line_of(broken, "[tiramisu")) <= 1


def test_wrong_type_names_field_and_line(tmp_path: Path) -> None:
    broken = CAFE.replace("{id: tiramisu, category: dessert, price: 6800", "{id: tiramisu, category: dessert, price: cheap", 1)
    path = write(tmp_path, broken)
    with pytest.raises(MenuError) as caught:
        load_menu(path)
    assert f"{path}:{line_of(broken, 'price: cheap')}:" in caught.value.message
    assert "price" in caught.value.message


@pytest.mark.parametrize(
    ("old", "new", "reason", "at"),
    [
        ("    default: hot", "    default: warm", "not a value", "default: warm"),
        ("{id: tiramisu,", "{id: cheesecake,", "duplicate item id", "price: 6800"),
        ("price: 6800", "price: -1", "greater than or equal", "price: -1"),
        ("names: {ko: [티라미수, 케이크]", "names: {ko: []", "non-empty", "{ko: []"),
        ("category: dessert, price: 6800", "category: dessert, prize: 6800", "Extra inputs", "prize"),
    ],
)
def test_invalid_references_and_values(tmp_path: Path, old: str, new: str, reason: str, at: str) -> None:
    broken = CAFE.replace(old, new, 1)
    assert broken != CAFE
    path = write(tmp_path, broken)
    with pytest.raises(MenuError) as caught:
        load_menu(path)
    assert reason in caught.value.message
    assert f"{path}:{line_of(broken, at)}:" in caught.value.message


def test_duplicate_menu_ids_name_both_files(tmp_path: Path) -> None:
    write(tmp_path, CAFE, "a.yaml")
    write(tmp_path, CAFE, "b.yaml")
    with pytest.raises(MenuError) as caught:
        load_menus(tmp_path)
    assert "a.yaml" in caught.value.message and "b.yaml" in caught.value.message


def test_missing_file_and_not_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(MenuError) as caught:
        load_menu(tmp_path / "nope.yaml")
    assert caught.value.code == "menu_not_found"
    with pytest.raises(MenuError) as caught:
        load_menu(write(tmp_path, "- just\n- a list\n"))
    assert caught.value.code == "menu_invalid"


def test_vocabulary_and_prompt_use_menu_words() -> None:
    menus = load_menus(MENUS)
    words = menu_vocabulary(menus["cafe-ko"], "ko")
    assert {"아메리카노", "카페라떼", "아이스", "라지", "오트 우유"} <= set(words)
    assert len(words) == len(set(words))
    assert "latte" in menu_vocabulary(menus["coffee-en"], "en")
    prompt = menu_prompt(menus["cafe-ko"], "ko")
    assert "아메리카노" in prompt and prompt.endswith("주세요.")
    assert "latte" in menu_prompt(menus["coffee-en"], "en") or "coffee" in menu_prompt(menus["coffee-en"], "en")
