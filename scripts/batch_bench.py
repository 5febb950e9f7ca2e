#!/usr/bin/env python3
"""Batched decoding: clips per second of the recogniser at several batch sizes, against a raw
sequential faster-whisper loop on the same clips in the same run, on this machine's device.

Loads the configured model once for the raw loop and once for voicegw's recogniser (the same
files, device and compute type; `asr.device`/`asr.compute_type` or --device choose them). Runs
faster-whisper's own `transcribe` over the clips one after the other (beam 5, the menu's hotwords),
then voicegw's recogniser with the gateway's input and options (the speech webrtcvad found, 5
readings, the menu-grammar pass) one clip at a time, then in batches of each size. Prints clips/s, the ratio to the raw loop and to
voicegw one by one, and whether every batched transcript equals the one-by-one transcript.
No HTTP here: the gateway under concurrent clients is scripts/load_bench.py.

    python scripts/batch_bench.py [--clips 32] [--batch-sizes 1,2,4,8,16] [--device cpu|cuda]
        [--cpu-threads N] [--rounds 2] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voicegw.asr.biasing import bias_for_menu, grammar_for_menu  # noqa: E402
from voicegw.audio.pcm import Pcm  # noqa: E402
from voicegw.audio.vad import VadOptions, find_speech, speech_only  # noqa: E402
from voicegw.asr.device import choose_device, detect_cuda_devices  # noqa: E402
from voicegw.asr.engine import TranscribeOptions, WhisperTranscriber  # noqa: E402
from voicegw.asr.models import resolve_model  # noqa: E402
from voicegw.nlu.loader import load_menus  # noqa: E402
from voicegw.settings import Settings  # noqa: E402

from load_bench import load_clips as load_clip_files, raw_loop  # noqa: E402  (scripts/load_bench.py, beside this one)

MANIFEST = ROOT / "audio_fixtures" / "coffee-orders" / "manifest.jsonl"


def load_clips(manifest: Path, count: int, settings: Settings) -> list[dict]:
    """Each clip whole (for the raw loop) and its speech alone (what the gateway's recogniser gets)."""
    from faster_whisper import decode_audio

    vad = VadOptions(aggressiveness=settings.audio.vad_aggressiveness, frame_ms=settings.audio.vad_frame_ms,
                     padding_ms=settings.audio.vad_padding_ms)
    clips = []
    for clip in load_clip_files(manifest, count):
        pcm = Pcm(decode_audio(str(clip["path"])))
        clips.append({**clip, "samples": pcm.samples, "speech": speech_only(pcm, find_speech(pcm, vad)).samples})
    return clips


def options_for(clip: dict, settings: Settings, menus: dict) -> TranscribeOptions:
    """What the gateway asks of the recogniser for this clip (pipeline.recognise)."""
    menu = menus[clip["store"]]
    prompt, hotwords = bias_for_menu(menu, clip["lang"], settings.asr.bias)
    return TranscribeOptions(
        language=clip["lang"], beam_size=settings.asr.beam_size, initial_prompt=prompt, hotwords=hotwords,
        no_speech_threshold=settings.asr.no_speech_threshold, readings=settings.asr.readings,
        grammar=grammar_for_menu(menu, clip["lang"]) if settings.asr.menu_grammar else (),
    )


def batched(transcriber: WhisperTranscriber, work: list[tuple], size: int) -> tuple[float, list]:
    """Seconds and transcripts, the clips taken in arrival order in batches of ``size`` that
    share a batch key (as the gateway's queue forms them when ``size`` clips wait)."""
    transcripts: list = [None] * len(work)
    pending = list(range(len(work)))
    keys = [transcriber.batch_key(samples, options) for samples, options in work]
    started = time.perf_counter()
    while pending:
        head = pending[0]
        rows = [i for i in pending if keys[i] == keys[head]][:size]
        pending = [i for i in pending if i not in rows]
        if size == 1 or keys[head] is None:
            results = [transcriber.transcribe(*work[i]) for i in rows]
        else:
            results = transcriber.transcribe_batch([work[i] for i in rows])
        for i, transcript in zip(rows, results, strict=True):
            transcripts[i] = transcript
    return time.perf_counter() - started, transcripts


def same(a, b) -> bool:  # noqa: ANN001
    return a.text == b.text and [r.text for r in a.alternatives] == [r.text for r in b.alternatives]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=32)
    parser.add_argument("--manifest", type=Path, default=MANIFEST)
    parser.add_argument("--batch-sizes", default="1,2,4,8,16")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--cpu-threads", type=int, help="default: asr.cpu_threads (0: every core)")
    parser.add_argument("--rounds", type=int, default=2, help="each measurement is the best of this many")
    parser.add_argument("--out", type=Path, help="write the table as JSON here")
    args = parser.parse_args()

    settings = Settings.load()
    asr = settings.asr.model_copy(update={k: v for k, v in {"device": args.device, "cpu_threads": args.cpu_threads}.items()
                                          if v is not None})
    model_dir = resolve_model(asr.model, asr.models_dir)
    device = choose_device(asr.device, asr.compute_type, detect_cuda_devices())
    menus = load_menus(ROOT / "menus")
    clips = load_clips(args.manifest, args.clips, settings)
    work = [(clip["speech"], options_for(clip, settings, menus)) for clip in clips]
    # The same loop load_bench.py measures (its own model, warmed up), on this run's device and threads.
    raw_s = len(clips) / max(raw_loop(clips, settings.model_copy(update={"asr": asr})) for _ in range(args.rounds))
    transcriber = WhisperTranscriber(model_dir, device, cpu_threads=asr.cpu_threads)
    transcriber.transcribe(*work[0])  # warm-up, not timed
    one_s, alone = min((batched(transcriber, work, 1) for _ in range(args.rounds)), key=lambda r: r[0])
    print(f"{len(clips)} clips, {sum(len(c['samples']) for c in clips) / 16000:.0f} s of audio "
          f"({sum(len(c['speech']) for c in clips) / 16000:.0f} s of speech), model {asr.model} "
          f"on {device.device}/{device.compute_type}, cpu_threads {asr.cpu_threads}")
    print(f"raw faster-whisper loop: {len(clips) / raw_s:.2f} clips/s")
    print(f"{'batch':>5} {'clips/s':>8} {'vs raw':>7} {'vs batch 1':>10} {'same transcripts':>17}")
    rows = []
    for size in [int(s) for s in args.batch_sizes.split(",")]:
        seconds, transcripts = (one_s, alone) if size == 1 else min(
            (batched(transcriber, work, size) for _ in range(args.rounds)), key=lambda r: r[0])
        agree = sum(same(a, b) for a, b in zip(alone, transcripts, strict=True))
        row = {"batch_size": size, "clips_per_s": len(clips) / seconds, "vs_raw": raw_s / seconds,
               "vs_batch_1": one_s / seconds, "same_transcripts": agree}
        rows.append(row)
        print(f"{size:>5} {row['clips_per_s']:>8.2f} {row['vs_raw']:>6.2f}x {row['vs_batch_1']:>9.2f}x "
              f"{agree:>10}/{len(clips)}")
    if args.out:
        args.out.write_text(json.dumps({"device": f"{device.device}/{device.compute_type}", "model": asr.model,
                                        "clips": len(clips), "raw_clips_per_s": len(clips) / raw_s, "rows": rows},
                                       indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
