"""`voicegw eval` on the real model: a small clean + 12 dB sweep with a threshold, and the gate
failing when recognition is broken on purpose."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.integration.conftest import FIXTURES, ROOT, load_manifest

CAFE_NOISE = ROOT / "noise" / "restaurant_ambiance_coffee-shop.ogg"


def small_manifest(tmp_path: Path) -> Path:
    """English orders, a confirmation, a FAQ, silence and a noise-only clip (paths made absolute)."""
    every = load_manifest()
    english = [c for c in every if c["lang"] == "en" and c.get("kind") == "synthetic_speech" and c["store"] == "coffee-en"]
    chosen = english[:8] + [c for c in every if c["intent"] == "none"][:2]
    path = tmp_path / "small.jsonl"
    path.write_text("".join(json.dumps({**c, "audio": str(FIXTURES / c["audio"])}, ensure_ascii=False) + "\n" for c in chosen), encoding="utf-8")
    return path


def voicegw_eval(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "voicegw.cli", "eval", *args, "--menus", str(ROOT / "menus")],
        capture_output=True, text=True, timeout=900, cwd=ROOT, env={**os.environ, **(env or {})},
    )


def test_small_sweep_clean_and_12db_passes_its_gate(tmp_path: Path) -> None:
    out = tmp_path / "report"
    done = voicegw_eval(str(small_manifest(tmp_path)), "--noise", str(CAFE_NOISE), "--snr", "12",
                        "--out", str(out), "--fail-under", "0.7")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "gate passed" in done.stdout
    report = json.loads((out / "results.json").read_text(encoding="utf-8"))
    by_condition = {(s["condition"], s["lang"]): s for s in report["summary"]}
    # 8 English orders: measured 1.0 clean and 0.75-1.0 at 12 dB depending on where the noise is cut
    for condition, threshold in (("clean", 0.85), ("restaurant_ambiance_coffee-shop@12dB", 0.7)):
        speech = by_condition[(condition, "en")]["speech"]
        assert speech["command_acceptance"] >= threshold, (condition, speech)
        assert speech["wer"] is not None and speech["latency_p50_ms"] > 0
    assert all(s["non_speech"] is None or s["non_speech"]["orders_from_non_speech"] == 0 for s in report["summary"])
    assert len(report["clips"]) == 2 * 10
    assert "| clean | en |" in (out / "summary.md").read_text(encoding="utf-8")
    assert (out / "snr.png").read_bytes()[:4] == b"\x89PNG"


def test_gate_fails_when_recognition_is_broken_on_purpose(tmp_path: Path) -> None:
    # Every clip is longer than half a second, so every clip is refused before recognition.
    done = voicegw_eval(str(small_manifest(tmp_path)), "--fail-under", "0.8",
                        env={"VOICEGW_AUDIO__MAX_DURATION_S": "0.5"})
    assert done.returncode == 1, done.stdout + done.stderr
    assert "GATE" in done.stdout and "command acceptance 0.000 < 0.8" in done.stdout


REAL_COFFEE = FIXTURES / "coffee-orders" / "manifest.jsonl"
REAL_COFFEE_FLOOR = 0.95
"""Command acceptance on the 62 real spoken coffee orders, clean: 0.823 on the first, blind run
(docs/generalization.md); only ever raised. The target is 0.97, what keyword spotting reaches."""


def test_real_spoken_coffee_orders_hold_their_floor(tmp_path: Path) -> None:
    out = tmp_path / "real"
    done = voicegw_eval(str(REAL_COFFEE), "--out", str(out), "--fail-under", str(REAL_COFFEE_FLOOR))
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((out / "results.json").read_text(encoding="utf-8"))
    (clean,) = [s for s in report["summary"] if s["condition"] == "clean"]
    assert clean["speech"]["n"] >= 60
    assert clean["speech"]["command_acceptance"] >= REAL_COFFEE_FLOOR
    assert clean["speech"]["phantom_orders"] == 0
