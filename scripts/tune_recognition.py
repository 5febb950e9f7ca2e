#!/usr/bin/env python3
"""Recognition settings measured on real speech: one `voicegw eval` per setting, one table.

Each setting is a set of environment overrides (VOICEGW_ASR__BIAS=prompt, ...); every run replays
the same manifest clean and with every recording of a noise folder at the given SNRs, and the
table gives command acceptance clean, the mean over the noises at each SNR, the worst noise,
phantom orders and the clean latency. Runs take long (about 20 minutes a setting for 72 clips and
15 conditions on 2 cores); each writes its eval report under --out, and a finished report is
read instead of run again, so an interrupted sweep resumes.

    python scripts/tune_recognition.py MANIFEST --noise noise/ --snr 12,6 --out /tmp/tuning
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SETTINGS: dict[str, dict[str, str]] = {
    "defaults": {},
    "bias prompt": {"VOICEGW_ASR__BIAS": "prompt"},
    "bias both": {"VOICEGW_ASR__BIAS": "both"},
    "bias none": {"VOICEGW_ASR__BIAS": "none"},
    "VAD padding 300 ms": {"VOICEGW_AUDIO__VAD_PADDING_MS": "300"},
    "VAD padding 800 ms": {"VOICEGW_AUDIO__VAD_PADDING_MS": "800"},
    "readings 1": {"VOICEGW_ASR__READINGS": "1"},
}


def run(manifest: Path, noise: Path, snrs: str, out: Path, name: str, env: dict[str, str]) -> dict:
    folder = out / name.replace(" ", "_")
    report = folder / "results.json"
    if not report.exists():
        command = [sys.executable, "-m", "voicegw.cli", "eval", str(manifest), "--noise", str(noise), "--snr", snrs,
                   "--out", str(folder)]
        subprocess.run(command, check=True, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL)
    return json.loads(report.read_text(encoding="utf-8"))


def row(name: str, report: dict) -> list[str]:
    speech = {s["condition"]: s["speech"] for s in report["summary"] if s.get("speech")}
    phantom = sum((s.get("speech") or {}).get("phantom_orders", 0) + (s.get("non_speech") or {}).get("orders_from_non_speech", 0)
                  for s in report["summary"])
    by_snr: dict[str, list[float]] = {}
    for condition, figures in speech.items():
        if "@" in condition:
            by_snr.setdefault(condition.split("@")[1], []).append(figures["command_acceptance"])
    cells = [name, f"{speech['clean']['command_acceptance']:.3f}"]
    for snr in sorted(by_snr, key=lambda s: -float(s.rstrip("dB"))):
        values = by_snr[snr]
        cells += [f"{statistics.mean(values):.3f}", f"{min(values):.3f}"]
    cells += [str(phantom), f"{speech['clean']['latency_p50_ms']:.0f}"]
    return cells


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--noise", type=Path, required=True)
    parser.add_argument("--snr", default="12,6")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--only", action="append", help="run only these settings (by name)")
    args = parser.parse_args(argv)
    names = args.only or list(SETTINGS)
    snrs = sorted((s.strip() for s in args.snr.split(",")), key=lambda s: -float(s))
    header = ["setting", "clean"] + [h for snr in snrs for h in (f"{snr} dB mean", f"{snr} dB worst")] + ["phantom orders", "clean p50 ms"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for name in names:
        report = run(args.manifest.resolve(), args.noise.resolve(), args.snr, args.out, name, SETTINGS[name])
        print("| " + " | ".join(row(name, report)) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
