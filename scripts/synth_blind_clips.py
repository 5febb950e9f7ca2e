#!/usr/bin/env python3
"""Speak the generalization suite's clip lists (audio_fixtures/blind/<store>.jsonl) with espeak-ng.

Each store's list was written blind with its menu: what a customer says at a kiosk and what the
order must be. This renders every line as FLAC (16 kHz mono) beside the lists and writes
audio_fixtures/blind/manifest.jsonl for `voicegw eval`. espeak-ng voices are a floor, never a
tuning target: Whisper base garbles its Korean voice (audio_fixtures/README.md).

    python scripts/synth_blind_clips.py        # needs espeak-ng and sox (apt-get install espeak-ng sox)
"""

from __future__ import annotations

import importlib.util
import json
import sys
import tempfile
from pathlib import Path

import soundfile

ROOT = Path(__file__).resolve().parents[1]
BLIND = ROOT / "audio_fixtures" / "blind"
VOICE = {"ko": "ko", "en": "en_us_m3"}
"""make_fixtures.VOICES keys: the voices Whisper base heard best in each language."""


def _fixtures_module():
    spec = importlib.util.spec_from_file_location("make_fixtures", ROOT / "scripts" / "make_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_fixtures"] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def main() -> int:
    fx = _fixtures_module()
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for listing in sorted(BLIND.glob("*.jsonl")):
            if listing.name == "manifest.jsonl":
                continue
            for line in listing.read_text(encoding="utf-8").splitlines():
                if not line.strip():
                    continue
                row = json.loads(line)
                audio = str(Path(row["audio"]).with_suffix(".flac"))
                clip = fx.Clip(audio, row["store"], row["text"], row["intent"], tuple(row["lines"]),
                               voice=VOICE[row["lang"]], lang=row["lang"])
                samples = fx.synth_speech(clip, Path(tmp))
                (BLIND / audio).parent.mkdir(parents=True, exist_ok=True)
                soundfile.write(BLIND / audio, samples, fx.RATE_HZ, format="FLAC", subtype="PCM_16")
                voice, speed, pitch, gap = fx.VOICES[VOICE[row["lang"]]]
                rows.append({**row, "audio": audio, "kind": "synthetic_speech", "license": fx.SYNTH_LICENSE,
                             "voice": f"espeak-ng -v {voice} -s {speed} -p {pitch} -g {gap}",
                             "source": f"written blind with menus/{row['store']}.yaml; synthesised by scripts/synth_blind_clips.py"})
    (BLIND / "manifest.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"wrote {len(rows)} clips and {BLIND / 'manifest.jsonl'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
