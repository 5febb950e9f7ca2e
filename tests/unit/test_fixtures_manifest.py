"""audio_fixtures/manifest.jsonl is valid against the files on disk and the store menus."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
import wave
from collections import Counter
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "audio_fixtures"
MANIFEST = FIXTURES / "manifest.jsonl"
INTENTS = {"order.add", "order.remove", "order.change", "order.confirm", "order.cancel", "order.status",
           "faq", "handoff", "greeting", "unknown", "none"}
AMOUNTS = {"none", "light", "regular", "extra"}
MIN_CLIPS = {"ko": 20, "en": 15}
"""Synthesised speech clips per language, at least."""


def _rows() -> list[dict]:
    return [json.loads(line) for line in MANIFEST.read_text(encoding="utf-8").splitlines() if line.strip()]


def _menus() -> dict[str, dict]:
    menus = {}
    for path in (ROOT / "menus").glob("*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        menus[data["id"]] = data
    return menus


ROWS = _rows()
MENUS = _menus()


def _id(row: dict) -> str:
    return row["audio"]


def test_manifest_paths_are_unique_and_relative() -> None:
    paths = [r["audio"] for r in ROWS]
    assert len(paths) == len(set(paths))
    assert all(not p.startswith("/") and ".." not in p for p in paths)


@pytest.mark.parametrize("row", ROWS, ids=_id)
def test_row_shape(row: dict) -> None:
    for key, kind in (("audio", str), ("lang", str), ("store", str), ("text", str), ("intent", str), ("lines", list)):
        assert isinstance(row.get(key), kind), key
    assert row["lang"] in ("ko", "en")
    assert row["intent"] in INTENTS
    assert row["store"] in MENUS
    assert row.get("source") and row.get("license"), "every clip names its source and licence"
    if row["intent"] == "none":
        assert row["text"] == "" and row["lines"] == []
    else:
        assert row["text"].strip()
    if row["intent"] == "order.add":
        assert row["lines"]
    if row.get("kind") == "real_speech":
        assert row["intent"] == "unknown" and row["lines"] == []


@pytest.mark.parametrize("row", ROWS, ids=_id)
def test_audio_file_format(row: dict) -> None:
    path = FIXTURES / row["audio"]
    assert path.is_file()
    if row.get("kind") == "real_speech":
        # Documented exception: real recordings are copied byte for byte (some 22.05 kHz, one FLAC).
        import hashlib

        assert hashlib.sha256(path.read_bytes()).hexdigest() == row["sha256"]
        return
    with wave.open(str(path), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16000, 1, 2)
        duration_s = w.getnframes() / w.getframerate()
    assert 1.0 <= duration_s <= 8.0


@pytest.mark.parametrize("row", [r for r in ROWS if r["lines"] or r["intent"] == "faq"], ids=_id)
def test_expected_understanding_exists_in_menu(row: dict) -> None:
    menu = MENUS[row["store"]]
    items = {i["id"]: i for i in menu["items"]}
    groups = {g["id"]: g for g in menu["option_groups"]}
    if row["intent"] == "faq":
        assert row["faq"] in {f["id"] for f in menu["faq"]}
    for line in row["lines"]:
        item = items[line["item_id"]]
        assert isinstance(line["quantity"], int) and 1 <= line["quantity"] <= 3
        for group_id, choice in line["options"].items():
            assert group_id in item["option_groups"], f"{item['id']} has no option group {group_id}"
            value = choice["value"] if isinstance(choice, dict) else choice
            assert value in {v["id"] for v in groups[group_id]["values"]}
            if isinstance(choice, dict):
                assert groups[group_id].get("amounts") and choice["amount"] in AMOUNTS


def test_enough_clips_per_language_and_kind() -> None:
    speech = Counter(r["lang"] for r in ROWS if r.get("kind") == "synthetic_speech")
    for lang, n in MIN_CLIPS.items():
        assert speech[lang] >= n, (lang, speech[lang])
    kinds = Counter(r.get("kind") for r in ROWS)
    assert kinds["silence"] >= 3 and kinds["noise"] >= 3 and kinds["real_speech"] >= 1
    stores = {r["store"] for r in ROWS if r["intent"] == "order.add"}
    assert {"cafe-ko", "burger-ko", "coffee-en"} <= stores


def test_asr_stable_is_measured_for_every_synthetic_order() -> None:
    orders = [r for r in ROWS if r.get("kind") == "synthetic_speech" and r["intent"] == "order.add"]
    assert all(isinstance(r.get("asr_stable"), bool) for r in orders)
    assert any(r["asr_stable"] for r in orders if r["lang"] == "ko")
    assert any(r["asr_stable"] for r in orders if r["lang"] == "en")


def test_total_size_is_small() -> None:
    total = sum(p.stat().st_size for p in FIXTURES.rglob("*") if p.is_file())
    assert total < 15 * 1024 * 1024


def _script():
    spec = importlib.util.spec_from_file_location("make_fixtures", ROOT / "scripts" / "make_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_fixtures"] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def test_silence_generation_is_seeded(tmp_path: Path) -> None:
    mf = _script()
    clip = next(c for c in mf.SILENCE if c.audio == "silence/room_tone.wav")
    assert (mf.render(clip, tmp_path, tmp_path).read_bytes() == (FIXTURES / clip.audio).read_bytes())


@pytest.mark.skipif(shutil.which("espeak-ng") is None or shutil.which("sox") is None,
                    reason="espeak-ng and sox are needed to regenerate speech")
@pytest.mark.parametrize("audio", ["ko/cafe_americano_ice_2.wav", "en/coffee_latte_large_iced_oat.wav"])
def test_speech_regenerates_byte_identical(tmp_path: Path, audio: str) -> None:
    mf = _script()
    clip = next(c for c in mf.SPEECH if c.audio == audio)
    assert mf.render(clip, tmp_path, tmp_path).read_bytes() == (FIXTURES / audio).read_bytes()
