#!/usr/bin/env python3
"""Latency, throughput and memory of the gateway against raw faster-whisper on the same clips.

Starts `voicegw serve` on a loopback port (embedded SQLite backend, a throw-away data folder),
posts each clip over HTTP several times, and runs faster-whisper directly on the same clips with
the same options (model, device, beam, language, menu prompt). Then posts clips until the server
has answered --memory-requests in all and reads its resident memory.

    python scripts/bench.py [--clips 8] [--repeats 3] [--memory-requests 200]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voicegw.asr.biasing import bias_for_menu  # noqa: E402
from voicegw.asr.device import choose_device, detect_cuda_devices  # noqa: E402
from voicegw.asr.models import resolve_model  # noqa: E402
from voicegw.nlu.loader import load_menus  # noqa: E402
from voicegw.settings import Settings  # noqa: E402


def pick_clips(count: int) -> list[dict]:
    manifest = ROOT / "audio_fixtures" / "manifest.jsonl"
    rows = [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines() if line.strip()]
    orders = [r for r in rows if r.get("intent") == "order.add"]
    by_lang = {lang: [r for r in orders if r["lang"] == lang] for lang in ("ko", "en")}
    picked: list[dict] = []
    while len(picked) < count and any(by_lang.values()):
        for lang in ("en", "ko"):
            if by_lang[lang] and len(picked) < count:
                picked.append(by_lang[lang].pop(0))
    return picked


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def raw_whisper_ms(clips: list[dict], repeats: int, settings: Settings) -> dict[str, list[float]]:
    from faster_whisper import WhisperModel, decode_audio

    model_dir = resolve_model(settings.asr.model, settings.asr.models_dir)
    device = choose_device(settings.asr.device, settings.asr.compute_type, detect_cuda_devices())
    model = WhisperModel(str(model_dir), device=device.device, compute_type=device.compute_type, cpu_threads=settings.asr.cpu_threads)
    menus = load_menus(ROOT / "menus")
    timings: dict[str, list[float]] = {}
    for clip in clips:
        prompt, hotwords = bias_for_menu(menus[clip["store"]], clip["lang"], settings.asr.bias)
        path = str(ROOT / "audio_fixtures" / clip["audio"])
        for _ in range(repeats):
            started = time.perf_counter()
            audio = decode_audio(path)
            segments, _ = model.transcribe(
                audio, language=clip["lang"], beam_size=settings.asr.beam_size,
                initial_prompt=prompt, hotwords=hotwords, condition_on_previous_text=False,
            )
            _ = [s.text for s in segments]
            timings.setdefault(clip["audio"], []).append((time.perf_counter() - started) * 1000)
    return timings


def start_gateway(data_dir: Path, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """`voicegw serve` on a free loopback port over ``data_dir`` (``env``: more settings), once ready."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "VOICEGW_DATA_DIR": str(data_dir), "VOICEGW_MENUS_DIR": str(ROOT / "menus"), **(env or {})}
    process = subprocess.Popen(
        [sys.executable, "-m", "voicegw.cli", "serve", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=2) as response:
                if response.status == 200:
                    return process, base
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit("the gateway did not become ready")


def post_clip(base: str, clip: dict, session: str) -> tuple[float, dict]:
    data = (ROOT / "audio_fixtures" / clip["audio"]).read_bytes()
    url = f"{base}/v1/voice/orders?store={clip['store']}&session={session}&lang={clip['lang']}"
    request = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "audio/wav"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        body = json.loads(response.read())
    return (time.perf_counter() - started) * 1000, body


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--memory-requests", type=int, default=200)
    args = parser.parse_args()

    settings = Settings.load()
    clips = pick_clips(args.clips)
    raw = raw_whisper_ms(clips, args.repeats, settings)

    with tempfile.TemporaryDirectory(prefix="voicegw-bench-") as tmp:
        process, base = start_gateway(Path(tmp))
        try:
            gateway: dict[str, list[float]] = {}
            asr_only: dict[str, list[float]] = {}
            for n in range(args.repeats):
                for i, clip in enumerate(clips):
                    elapsed, body = post_clip(base, clip, f"bench-{n}-{i}")
                    gateway.setdefault(clip["audio"], []).append(elapsed)
                    asr_only.setdefault(clip["audio"], []).append(body["timings_ms"].get("asr", 0))
            rss_after_warm = rss_mb(process.pid)
            sent = args.repeats * len(clips)
            started = time.perf_counter()
            while sent < args.memory_requests:
                post_clip(base, clips[sent % len(clips)], f"mem-{sent}")
                sent += 1
            throughput_window = time.perf_counter() - started
            rss_final = rss_mb(process.pid)
        finally:
            process.terminate()
            process.wait(timeout=30)

    print(f"model={settings.asr.model} beam={settings.asr.beam_size} bias={settings.asr.bias} clips={len(clips)} repeats={args.repeats}")
    print(f"{'clip':44} {'raw p50 ms':>11} {'gw p50 ms':>10} {'gw asr ms':>10} {'ratio':>6}")
    ratios = []
    for clip in clips:
        key = clip["audio"]
        raw_p50, gw_p50 = statistics.median(raw[key]), statistics.median(gateway[key])
        ratios.append(gw_p50 / raw_p50)
        print(f"{key:44} {raw_p50:11.0f} {gw_p50:10.0f} {statistics.median(asr_only[key]):10.0f} {gw_p50 / raw_p50:6.2f}")
    all_raw = [v for values in raw.values() for v in values]
    all_gw = [v for values in gateway.values() for v in values]
    print()
    print(f"{'':20} {'p50 ms':>8} {'p95 ms':>8}")
    print(f"{'raw faster-whisper':20} {percentile(all_raw, 50):8.0f} {percentile(all_raw, 95):8.0f}")
    print(f"{'gateway over HTTP':20} {percentile(all_gw, 50):8.0f} {percentile(all_gw, 95):8.0f}")
    print(f"median ratio gateway/raw: {statistics.median(ratios):.3f}")
    extra = args.memory_requests - args.repeats * len(clips)
    if extra > 0:
        print(f"throughput (sequential): {extra / throughput_window:.2f} requests/s over {extra} requests")
    print(f"server RSS: {rss_after_warm:.0f} MB after warm-up, {rss_final:.0f} MB after {args.memory_requests} requests")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
