"""The real coffee orders' manifest: benchmark labels in the coffee menu's ids (scripts/coffee_orders_manifest.py)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import yaml

from voicegw.nlu.loader import load_menu

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "audio_fixtures" / "coffee-orders"


def _script():
    spec = importlib.util.spec_from_file_location("coffee_orders_manifest", ROOT / "scripts" / "coffee_orders_manifest.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["coffee_orders_manifest"] = module
    spec.loader.exec_module(module)
    return module


SCRIPT = _script()
LABEL_MAP = yaml.safe_load((FIXTURES / "label_map.yaml").read_text(encoding="utf-8"))
ROWS = [json.loads(line) for line in (FIXTURES / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize(("value", "split"), [
    ("lots of soy milk", ("lots of", "soy milk")),
    ("a little bit of sugar", ("a little bit of", "sugar")),
    ("a bit of cream", ("a bit of", "cream")),
    ("some brown sugar", ("some", "brown sugar")),
    ("sweetener", ("", "sweetener")),
])
def test_amount_words_come_off_the_product(value: str, split: tuple[str, str]) -> None:
    assert SCRIPT.split_amount(value) == split


def test_a_label_becomes_one_line_in_the_menus_ids() -> None:
    slots = {"coffeeDrink": "iced mocha", "size": "twelve ounce", "milkAmount": "a lot of skim milk", "roast": "dark roast"}
    assert SCRIPT.expected_line(slots, LABEL_MAP) == {
        "item_id": "mocha", "quantity": 1,
        "options": {"temperature": "iced", "size": "small", "roast": "dark", "milk": {"value": "skim", "amount": "extra"}},
    }


def test_an_unmapped_label_value_is_an_error_not_a_guess() -> None:
    with pytest.raises(SCRIPT.LabelError, match="flat white"):
        SCRIPT.expected_line({"coffeeDrink": "flat white"}, LABEL_MAP)


def test_the_shipped_manifest_is_what_the_labels_and_the_map_say() -> None:
    assert len(ROWS) >= 60
    assert all((FIXTURES / row["audio"]).is_file() for row in ROWS)
    assert all(row["lines"] == [SCRIPT.expected_line(row["labels"], LABEL_MAP)] for row in ROWS)


def test_every_expected_line_is_orderable_from_the_menu() -> None:
    menu = load_menu(ROOT / "menus" / "coffee-kiosk-en.yaml")
    items = {item.id: item for item in menu.items}
    for row in ROWS:
        (line,) = row["lines"]
        item = items[line["item_id"]]
        for group, value in line["options"].items():
            value_id = value["value"] if isinstance(value, dict) else value
            assert group in item.option_groups and value_id in menu.group(group).value_ids, (row["audio"], group)


def test_the_held_out_subset_takes_every_second_clip_from_the_second(tmp_path: Path) -> None:
    labels = [{"audio": f"audio/{n:03d}.flac", "slots": row["labels"]} for n, row in enumerate(ROWS[:9])]
    (tmp_path / "labels.jsonl").write_text("".join(json.dumps(label) + "\n" for label in labels), encoding="utf-8")
    out = tmp_path / "held-out.jsonl"
    assert SCRIPT.main(["--source", str(tmp_path), "--out", str(out), "--every", "2", "--offset", "1"]) == 0
    chosen = [Path(json.loads(line)["audio"]).name for line in out.read_text(encoding="utf-8").splitlines()]
    assert chosen == ["001.flac", "003.flac", "005.flac", "007.flac"]  # none of every eighth from the first
