"""audio_fixtures/manifest.jsonl and noise/manifest.jsonl are valid against the files on disk and the menus."""

from __future__ import annotations

import hashlib
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
MIN_CLIPS = {"ko": 40, "en": 50}
"""Synthesised speech clips per language, at least."""
MIN_TOTAL = 130
NOISE = ROOT / "noise"
NOISE_TYPES = {"cafe", "street", "vehicle", "kitchen", "machine"}
"""The groups the eval reports noise figures by (noise/README.md)."""


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
        assert isinstance(line["quantity"], int) and 1 <= line["quantity"] <= 4
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
    assert len(ROWS) >= MIN_TOTAL


def test_english_orders_cover_the_command_acceptance_target() -> None:
    en = [r for r in ROWS if r.get("kind") == "synthetic_speech" and r["lang"] == "en"]
    coffee = [r for r in en if r["store"] == "coffee-en"]
    assert len(coffee) >= 50
    assert {r["intent"] for r in coffee} >= {"order.add", "order.confirm", "faq"}
    orders = [r for r in coffee if r["intent"] == "order.add"]
    assert {ln["quantity"] for r in orders for ln in r["lines"]} == {1, 2, 3, 4}
    assert sum(len(r["lines"]) > 1 for r in orders) >= 5, "several items per utterance"
    amounts = {c["amount"] for r in orders for ln in r["lines"] for c in ln["options"].values() if isinstance(c, dict)}
    assert {"none", "light", "extra"} <= amounts
    texts = " ".join(r["text"] for r in orders)
    assert "12 oz" in texts and "16 ounce" in texts and "twenty ounce" in texts
    assert {r["store"] for r in en if r["intent"] == "order.add"} == {"coffee-en", "cafe-ko", "burger-ko"}
    assert len({r["voice"] for r in en}) >= 2


def test_asr_stable_is_measured_for_every_synthetic_order() -> None:
    orders = [r for r in ROWS if r.get("kind") == "synthetic_speech" and r["intent"] == "order.add"]
    assert all(isinstance(r.get("asr_stable"), bool) for r in orders)
    assert any(r["asr_stable"] for r in orders if r["lang"] == "ko")
    assert any(r["asr_stable"] for r in orders if r["lang"] == "en")


def test_total_size_is_small() -> None:
    total = sum(p.stat().st_size for p in FIXTURES.rglob("*") if p.is_file())
    assert total < 40 * 1024 * 1024  # synthesised clips, real noise cuts, 62 real spoken orders, 144 blind-suite clips (FLAC)


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
@pytest.mark.parametrize("audio", ["ko/cafe_americano_ice_2.wav", "en/coffee_latte_large_iced_oat.wav",
                                   "en/coffee_latte_12oz_iced_oat.wav", "ko/burger_fries_4.wav"])
def test_speech_regenerates_byte_identical(tmp_path: Path, audio: str) -> None:
    mf = _script()
    clip = next(c for c in mf.SPEECH if c.audio == audio)
    assert mf.render(clip, tmp_path, tmp_path).read_bytes() == (FIXTURES / audio).read_bytes()


NOISE_ROWS = [json.loads(line) for line in (NOISE / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
              if line.strip()]


def test_noise_recordings_are_shipped_unchanged() -> None:
    assert len(NOISE_ROWS) >= 7
    files = {p.name for p in NOISE.iterdir() if p.name not in ("manifest.jsonl", "README.md")}
    assert files == {r["audio"] for r in NOISE_ROWS}, "every noise file is listed, every listed file exists"
    for row in NOISE_ROWS:
        data = (NOISE / row["audio"]).read_bytes()
        assert len(data) == row["bytes"] and hashlib.sha256(data).hexdigest() == row["sha256"], row["audio"]


def test_noise_manifest_names_type_source_and_licence() -> None:
    readme = (NOISE / "README.md").read_text(encoding="utf-8")
    for row in NOISE_ROWS:
        assert row["noise_type"] in NOISE_TYPES
        assert row["category"] and row["source"] and row["license"] and row["origin"]
        assert row["audio"] in readme, f"{row['audio']} is documented in noise/README.md"
    assert {r["noise_type"] for r in NOISE_ROWS} == NOISE_TYPES
    # CC BY needs the attribution written out next to the file.
    for row in NOISE_ROWS:
        if "CC BY" in row["license"]:
            assert "attribution" in row["license"].lower() or "Warden" in row["license"], row["audio"]
    assert readme.count("attribution required") >= 3


def test_noise_only_clips_cover_every_noise_type() -> None:
    clips = [r for r in ROWS if r.get("kind") == "noise"]
    assert {r["noise_type"] for r in clips} == NOISE_TYPES
    by_source = {n["source"]: n for n in NOISE_ROWS}
    for clip in clips:  # a cut names its recording ("<source> (4-7.5 s)") and carries its licence
        recording = by_source[clip["source"].rsplit(" (", 1)[0]]
        assert clip["license"] == recording["license"] and clip["noise_type"] == recording["noise_type"]
