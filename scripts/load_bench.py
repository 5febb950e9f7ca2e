#!/usr/bin/env python3
"""Load: throughput and latency of the gateway under concurrent clients, against a plain
sequential faster-whisper loop on the same clips in the same run.

Starts one or two `voicegw serve` processes on loopback (a throw-away data folder, the embedded
backend; with --database-url both gateways use that database instead of SQLite), then for each
concurrency level sends --requests real clips from that many client threads over HTTP, kiosk-style
(a 503 `saturated` is sent again after its Retry-After, and its wait counts in the latency).
Prints per level: clips/s, the ratio to the raw loop's clips/s, p50/p95 latency, 503s seen, and
each server's resident memory; --out writes the table as JSON.

    python scripts/load_bench.py [--clients 1,4,8,16] [--requests 32] [--gateways 1|2]
        [--database-url postgresql://...] [--env VOICEGW_ASR__BATCH_SIZE=4 ...] [--out FILE]
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voicegw.asr.biasing import bias_for_menu  # noqa: E402
from voicegw.asr.device import choose_device, detect_cuda_devices  # noqa: E402
from voicegw.asr.models import resolve_model  # noqa: E402
from voicegw.nlu.loader import load_menus  # noqa: E402
from voicegw.settings import Settings  # noqa: E402

from bench import rss_mb, start_gateway  # noqa: E402  (scripts/bench.py, beside this one)

MANIFEST = ROOT / "audio_fixtures" / "coffee-orders" / "manifest.jsonl"


def load_clips(manifest: Path, count: int) -> list[dict]:
    rows = [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [{**r, "path": manifest.parent / r["audio"], "bytes": (manifest.parent / r["audio"]).read_bytes()}
            for r in rows[:count]]


def raw_loop(clips: list[dict], settings: Settings) -> float:
    """Clips per second of faster-whisper alone, one after the other, same model and options."""
    from faster_whisper import WhisperModel, decode_audio

    model_dir = resolve_model(settings.asr.model, settings.asr.models_dir)
    device = choose_device(settings.asr.device, settings.asr.compute_type, detect_cuda_devices())
    model = WhisperModel(str(model_dir), device=device.device, compute_type=device.compute_type,
                         cpu_threads=settings.asr.cpu_threads)
    menus = load_menus(ROOT / "menus")
    audio = [(decode_audio(str(c["path"])), c) for c in clips]
    model.transcribe(audio[0][0], language=audio[0][1]["lang"])  # warm-up, not timed
    started = time.perf_counter()
    for samples, clip in audio:
        prompt, hotwords = bias_for_menu(menus[clip["store"]], clip["lang"], settings.asr.bias)
        segments, _ = model.transcribe(samples, language=clip["lang"], beam_size=settings.asr.beam_size,
                                       initial_prompt=prompt, hotwords=hotwords, condition_on_previous_text=False)
        _ = [s.text for s in segments]
    return len(audio) / (time.perf_counter() - started)


def post(base: str, clip: dict, session: str) -> tuple[float, int]:
    """Latency (ms) until an answer that is not `saturated`, and how many 503s came before it."""
    url = f"{base}/v1/voice/orders?store={clip['store']}&session={session}&lang={clip['lang']}"
    started, refused = time.perf_counter(), 0
    while True:
        request = urllib.request.Request(url, data=clip["bytes"], method="POST", headers={"Content-Type": "audio/flac"})
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                response.read()
                return (time.perf_counter() - started) * 1000, refused
        except urllib.error.HTTPError as err:
            if err.code != 503:
                raise
            refused += 1
            time.sleep(min(float(err.headers.get("Retry-After", "1")), 10.0))


def run_level(bases: list[str], clips: list[dict], clients: int, requests: int, tag: str) -> dict[str, float]:
    work = list(itertools.islice(itertools.cycle(clips), requests))
    gateways = itertools.cycle(bases)
    assigned = [(next(gateways), clip, f"{tag}-{i}") for i, clip in enumerate(work)]
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(lambda job: post(*job), assigned))
    wall = time.perf_counter() - started
    latencies = sorted(ms for ms, _ in results)
    return {
        "clients": clients, "requests": requests, "clips_per_s": requests / wall,
        "p50_ms": statistics.median(latencies), "p95_ms": latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))],
        "refused_503": sum(r for _, r in results),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", default="1,4,8,16")
    parser.add_argument("--requests", type=int, default=32, help="clips sent at each level")
    parser.add_argument("--clips", type=int, default=16, help="distinct clips (from --manifest)")
    parser.add_argument("--manifest", type=Path, default=MANIFEST)
    parser.add_argument("--gateways", type=int, choices=(1, 2), default=1)
    parser.add_argument("--database-url", help="both gateways use this database (VOICEGW_DATABASE__URL)")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the gateways")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    settings = Settings.load()
    clips = load_clips(args.manifest, args.clips)
    raw = raw_loop(clips, settings)
    env = dict(item.split("=", 1) for item in args.env)
    if args.database_url:
        env["VOICEGW_DATABASE__URL"] = args.database_url
    rows = []
    with tempfile.TemporaryDirectory(prefix="voicegw-load-") as tmp:
        started = [start_gateway(Path(tmp), env) for _ in range(args.gateways)]  # one data folder: one SQLite file
        try:
            bases = [base for _, base in started]
            run_level(bases, clips[:2], 1, 2, "warm")
            for clients in (int(c) for c in args.clients.split(",")):
                row = run_level(bases, clips, clients, args.requests, f"c{clients}")
                row["vs_raw"] = row["clips_per_s"] / raw
                row["rss_mb"] = [round(rss_mb(process.pid)) for process, _ in started]
                rows.append(row)
                print(f"{clients:3d} clients: {row['clips_per_s']:.3f} clips/s ({row['vs_raw']:.2f}x raw), p50 {row['p50_ms']:.0f} ms,"
                      f" p95 {row['p95_ms']:.0f} ms, 503s {row['refused_503']}, RSS {row['rss_mb']} MB", flush=True)
        finally:
            for process, _ in started:
                process.terminate()
                process.wait(timeout=30)
    summary = {"raw_clips_per_s": raw, "gateways": args.gateways, "database": "postgresql" if args.database_url else "sqlite",
               "env": env | ({"VOICEGW_DATABASE__URL": "(given)"} if args.database_url else {}), "levels": rows}
    print(f"raw sequential faster-whisper: {raw:.3f} clips/s on the same {len(clips)} clips")
    if args.out:
        args.out.write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
