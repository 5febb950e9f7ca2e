#!/usr/bin/env python3
"""End of speech to ``turn`` over the streaming route, against posting the same clip whole.

Starts `voicegw serve` on a loopback port (or uses --url), plays each real spoken order of the
manifest into ``/v1/voice/stream`` in real time (then --tail-s of silence), and posts the same
clip to ``/v1/voice/orders`` afterwards. Per clip it records:

- end of speech: when the audio up to the end-pointer's ``speech_stopped.at_ms`` (the end of the
  last frame webrtcvad called speech) had been sent, 100 ms messages paced in real time;
- ``turn`` latency after it, and that minus the recognition time: the turn's own (``timings_ms`` vad
  + asr, which includes waiting for a partial transcript to leave the recogniser) and the posted
  clip's (the recogniser alone);
- the decision: ``speech_stopped`` message to ``turn``;
- whether the stream heard the clip as one utterance (not cut mid-order), and whether the
  streamed and the posted turn were each accepted (intent and every expected line, nothing more);
- the posted clip's latency and recognition time.

    python scripts/stream_bench.py [--clips 62] [--sensitivity default] [--no-partials]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench import percentile, start_gateway  # noqa: E402

from voicegw.qa.manifest import load_manifest  # noqa: E402
from voicegw.qa.scoring import ClipOutcome, score_clip  # noqa: E402
from voicegw.stream_client import CHUNK_MS, StreamPlan, load_pcm, play  # noqa: E402


def recognition_ms(result: dict) -> int:
    timings = result.get("timings_ms") or {}
    return int(timings.get("vad", 0)) + int(timings.get("asr", 0))


def post(base: str, path: Path, store: str, session: str, lang: str) -> tuple[float, dict]:
    url = f"{base}/v1/voice/orders?store={store}&session={session}&lang={lang}"
    request = urllib.request.Request(url, data=path.read_bytes(), method="POST", headers={"Content-Type": "application/octet-stream"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        body = json.loads(response.read())
    return (time.perf_counter() - started) * 1000, body


def stream_one(base: str, clip, tail_s: float, partials: bool | None, n: int, speed: float = 1.0) -> dict:
    plan = StreamPlan(url=base, store=clip.store, session=f"bench-stream-{n}", lang=clip.lang, partials=partials,
                      speed=speed, tail_silence_ms=int(tail_s * 1000))
    run = asyncio.run(play(plan, load_pcm(clip.audio)))
    by_type: dict[str, list] = {}
    for received in run.messages:
        by_type.setdefault(received.message["type"], []).append(received)
    turns, stops = by_type.get("turn", []), by_type.get("speech_stopped", [])
    row: dict = {"clip": clip.id, "utterances": len(stops), "turns": len(turns),
                 "partials": len(by_type.get("partial", []))}
    if not turns or not stops:
        row["stream_accepted"] = False
        return row
    turn, stopped = turns[0], stops[0]
    # The message holding the last speech frame has been sent once its 100 ms have been paced out.
    speech_sent_s = math.ceil(stopped.message["at_ms"] / CHUNK_MS) * CHUNK_MS / 1000 / speed
    result = turn.message["result"]
    row.update(
        after_speech_ms=(turn.at_s - speech_sent_s) * 1000,
        recognition_ms=recognition_ms(result),
        decision_ms=(turn.at_s - stopped.at_s) * 1000,
        stream_accepted=score_clip(clip, ClipOutcome.from_turn_result(result)).command_accepted,
        transcript=result.get("transcript"),
    )
    row["after_speech_less_recognition_ms"] = row["after_speech_ms"] - row["recognition_ms"]
    return row


def summary(rows: list[dict], key: str) -> str:
    values = [r[key] for r in rows if key in r]
    if not values:
        return "n/a"
    return f"p50 {percentile(values, 50):7.0f}  p95 {percentile(values, 95):7.0f}  (n={len(values)})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", type=Path, default=ROOT / "audio_fixtures" / "coffee-orders" / "manifest.jsonl")
    parser.add_argument("--clips", type=int, default=0, help="the first N clips (default: all)")
    parser.add_argument("--tail-s", type=float, default=1.5, help="silence after each clip")
    parser.add_argument("--no-partials", action="store_true")
    parser.add_argument("--speed", type=float, default=1.0,
                        help="times real time; the latencies mean something only at 1, the end-pointing at any speed")
    parser.add_argument("--no-post", action="store_true", help="stream only (end-pointing over many clips)")
    parser.add_argument("--url", help="a running gateway (development mode) instead of starting one")
    parser.add_argument("--out", type=Path, help="write every clip's row here (JSON lines)")
    args = parser.parse_args()

    clips = load_manifest(args.manifest)
    clips = clips[: args.clips] if args.clips else clips
    process = None
    with tempfile.TemporaryDirectory() as data_dir:
        base = args.url
        if base is None:
            process, base = start_gateway(Path(data_dir))
        try:
            rows = []
            for n, clip in enumerate(clips):
                row = stream_one(base, clip, args.tail_s, False if args.no_partials else None, n, args.speed)
                if args.no_post:
                    rows.append(row)
                    print(json.dumps(row, ensure_ascii=False), flush=True)
                    continue
                posted_ms, posted = post(base, clip.audio, clip.store, f"bench-post-{n}", clip.lang)
                row.update(posted_ms=posted_ms, posted_recognition_ms=recognition_ms(posted),
                           posted_accepted=score_clip(clip, ClipOutcome.from_turn_result(posted)).command_accepted)
                if "after_speech_ms" in row:
                    # The posted clip's recognition ran alone: the stream's own may include waiting
                    # for a partial transcript to finish.
                    row["after_speech_less_posted_recognition_ms"] = row["after_speech_ms"] - row["posted_recognition_ms"]
                rows.append(row)
                print(json.dumps(row, ensure_ascii=False), flush=True)
        finally:
            if process is not None:
                process.terminate()
                process.wait(timeout=20)
    if args.out:
        args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")

    print(f"\n{len(rows)} clips of {args.manifest}, played at {args.speed:g}x real time, {args.tail_s:g} s of silence after each")
    print(f"end of speech -> turn (ms)                    {summary(rows, 'after_speech_ms')}")
    print(f"  less the turn's recognition (vad + asr)     {summary(rows, 'after_speech_less_recognition_ms')}")
    print(f"  less the posted clip's recognition          {summary(rows, 'after_speech_less_posted_recognition_ms')}")
    print(f"  recognition (vad + asr, waiting included)   {summary(rows, 'recognition_ms')}")
    print(f"speech_stopped -> turn (ms)                   {summary(rows, 'decision_ms')}")
    print(f"posting the whole clip (ms)                   {summary(rows, 'posted_ms')}")
    print(f"  its recognition (vad + asr)                 {summary(rows, 'posted_recognition_ms')}")
    whole = sum(r["utterances"] == 1 and r["turns"] == 1 for r in rows)
    print(f"heard as one utterance (not cut)              {whole}/{len(rows)}")
    posted = f", posted whole {sum(r['posted_accepted'] for r in rows)}/{len(rows)}" if not args.no_post else ""
    print(f"accepted: streamed {sum(r['stream_accepted'] for r in rows)}/{len(rows)}{posted}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
