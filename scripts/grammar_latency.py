#!/usr/bin/env python3
"""What the menu-grammar pass costs: recognition latency with ``asr.menu_grammar`` on and off.

Each clip of a manifest (clean, or mixed with one noise recording as ``voicegw eval`` mixes it)
goes through the gateway's own recognition stage (``Pipeline.transcribe_for_store``: decode, VAD,
Whisper, guards) twice in a row, once each way, the order alternating from clip to clip, so both
see the same machine load. Prints p50, p95 and mean milliseconds each way, their ratio, and how
many clips the pass ran on (those get more readings).

    python scripts/grammar_latency.py audio_fixtures/coffee-orders/sweep.jsonl
    python scripts/grammar_latency.py audio_fixtures/coffee-orders/sweep.jsonl \\
        --noise noise/speechcommands_running_tap.wav --snr 6 --mix peak-frame
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voicegw.asr.engine import TranscriberPool  # noqa: E402
from voicegw.asr.loader import load_transcriber  # noqa: E402
from voicegw.nlu.loader import load_menus  # noqa: E402
from voicegw.pipeline import TurnContext, build_pipeline  # noqa: E402
from voicegw.qa.manifest import load_manifest  # noqa: E402
from voicegw.qa.runner import Condition, NoiseBank, clip_audio  # noqa: E402
from voicegw.settings import Settings  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def measure(args: argparse.Namespace) -> None:
    settings = Settings.load()
    menus = load_menus(settings.menus_dir)
    pool = TranscriberPool(load_transcriber(settings.asr))
    ways = {on: build_pipeline(settings.model_copy(update={"asr": settings.asr.model_copy(update={"menu_grammar": on})}),
                               menus, pool, None) for on in (False, True)}
    condition = Condition(args.noise.stem, args.snr, args.noise, args.mix) if args.noise else Condition()
    clips = [c for c in load_manifest(args.manifest) if not c.expects_no_speech][: args.limit]
    timings: dict[bool, list[float]] = {False: [], True: []}
    ran = 0
    bank = NoiseBank()
    try:
        for n, clip in enumerate(clips):
            audio, _ = clip_audio(clip, condition, bank)
            ctx = TurnContext(store=clip.store, session=f"latency-{n}", language=clip.lang)
            heard = {}
            for on in (n % 2 == 0, n % 2 == 1):
                started = time.perf_counter()
                heard[on], _ = await ways[on].transcribe_for_store(audio, ctx)
                timings[on].append((time.perf_counter() - started) * 1000)
            count = {on: len(t.readings) if t else 0 for on, t in heard.items()}
            ran += count[True] > count[False]
    finally:
        pool.close()
    print(f"{len(clips)} clips, {condition.label}; the pass added readings on {ran}")
    for on in (False, True):
        values = timings[on]
        print(f"menu_grammar {'on ' if on else 'off'}  p50 {percentile(values, 0.5):7.0f} ms  "
              f"p95 {percentile(values, 0.95):7.0f} ms  mean {statistics.mean(values):7.0f} ms")
    print(f"on / off: p50 {percentile(timings[True], 0.5) / percentile(timings[False], 0.5):.2f}, "
          f"p95 {percentile(timings[True], 0.95) / percentile(timings[False], 0.95):.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("manifest")
    parser.add_argument("--noise", type=Path, help="one noise recording")
    parser.add_argument("--snr", type=float, default=6.0)
    parser.add_argument("--mix", default="speech", choices=("speech", "peak-frame"))
    parser.add_argument("--limit", type=int, default=None)
    asyncio.run(measure(parser.parse_args()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
