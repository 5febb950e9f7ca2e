#!/usr/bin/env python3
"""Real spoken coffee orders (Picovoice speech-to-intent benchmark) -> an eval manifest.

The benchmark labels each clip with its own slot values ("lots of soy milk", "twelve ounce");
``label_map.yaml`` (written by the store's owner from those values alone) says which item, option
value and amount of ``menus/coffee-kiosk-en.yaml`` each one is. Every clip orders one drink, so
each label becomes one expected line of quantity 1, scored by command acceptance (the
benchmark's own rule: the intent and every labelled slot right, nothing extra).

    # the shipped subset (FLAC copies + manifest under audio_fixtures/coffee-orders/); DIR holds the
    # benchmark's clean clips (audio/) and its labels.jsonl
    python scripts/coffee_orders_manifest.py --source DIR --copy-every 8
    # every clip of a source folder, audio left where it is (for the long sweeps)
    python scripts/coffee_orders_manifest.py --source DIR --out /tmp/coffee-all.jsonl
    # the held-out noise subset: every second clip starting at the second (247 of 495), none of
    # them among the shipped ones (those are every eighth from the first)
    python scripts/coffee_orders_manifest.py --source DIR --out /tmp/coffee-heldout.jsonl --every 2 --offset 1
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "audio_fixtures" / "coffee-orders"
STORE = "coffee-kiosk-en"
AMOUNT_WORDS = ("a little bit of", "a bit of", "a lot of", "lots of", "some")
"""The benchmark's amount prefixes, longest first so "a little bit of" is not read as "a bit of"."""


class LabelError(ValueError):
    """A label value the map does not know: the map must cover every value the labels use."""


def split_amount(value: str) -> tuple[str, str]:
    """'lots of soy milk' -> ('lots of', 'soy milk'); 'cream' -> ('', 'cream')."""
    for words in sorted(AMOUNT_WORDS, key=len, reverse=True):
        if value.startswith(words + " "):
            return words, value[len(words) + 1:]
    return "", value


def expected_line(slots: dict[str, str], label_map: dict) -> dict:
    """The one order line a clip's slots describe, in the menu's ids."""
    try:
        drink = label_map["drinks"][slots["coffeeDrink"]]
        options: dict[str, object] = dict(drink.get("options", {}))
        for slot, table in (("size", "size"), ("numberOfShots", "shots"), ("roast", "roast")):
            if slot in slots:
                target = label_map[table][slots[slot]]
                options[target["group"]] = target["value"]
        for slot, table in (("milkAmount", "milk"), ("sugarAmount", "sugar")):
            if slot in slots:
                words, product = split_amount(slots[slot])
                target = label_map[table][product]
                options[target["group"]] = {"value": target["value"], "amount": label_map["amounts"][words]}
    except KeyError as err:
        raise LabelError(f"label_map.yaml has no entry for {err.args[0]!r} (slots {slots})") from err
    return {"item_id": drink["item"], "quantity": 1, "options": options}


def manifest_entry(label: dict, audio: str, label_map: dict) -> dict:
    return {
        "audio": audio,
        "lang": "en",
        "store": STORE,
        "text": "",  # the benchmark has no transcripts: scored by the order alone
        "intent": "order.add",
        "lines": [expected_line(label["slots"], label_map)],
        "labels": label["slots"],
        "kind": "real_speech",
        "source": "Picovoice speech-to-intent-benchmark@47b1ca63afe4f08cb83e1f70fec16764879bd130",
        "license": "Apache-2.0",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, required=True, help="folder with labels.jsonl and audio/")
    parser.add_argument("--map", type=Path, default=FIXTURES / "label_map.yaml")
    parser.add_argument("--out", type=Path, help="write a manifest for every clip, audio paths absolute")
    parser.add_argument("--every", type=int, default=1, help="with --out: every Nth clip (sorted) only")
    parser.add_argument("--offset", type=int, default=0, help="with --out and --every: start at this clip")
    parser.add_argument("--copy-every", type=int, help="copy every Nth clip (sorted) into audio_fixtures/coffee-orders/")
    args = parser.parse_args(argv)
    label_map = yaml.safe_load(args.map.read_text(encoding="utf-8"))
    labels = [json.loads(line) for line in (args.source / "labels.jsonl").read_text(encoding="utf-8").splitlines() if line]
    labels.sort(key=lambda label: label["audio"])
    if args.out:
        entries = [manifest_entry(label, str((args.source / label["audio"]).resolve()), label_map)
                   for label in labels[args.offset :: args.every]]
        _write(args.out, entries)
    if args.copy_every:
        chosen = labels[:: args.copy_every]
        (FIXTURES / "audio").mkdir(parents=True, exist_ok=True)
        entries = []
        for label in chosen:
            shutil.copyfile(args.source / label["audio"], FIXTURES / label["audio"])
            entries.append(manifest_entry(label, label["audio"], label_map))
        _write(FIXTURES / "manifest.jsonl", entries)
    if not args.out and not args.copy_every:
        parser.error("nothing to do: give --out and/or --copy-every")
    return 0


def _write(path: Path, entries: list[dict]) -> None:
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries), encoding="utf-8")
    print(f"wrote {path} ({len(entries)} clips)", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
