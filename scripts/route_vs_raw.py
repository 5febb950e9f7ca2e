#!/usr/bin/env python3
"""The transcription route against raw faster-whisper, clip by clip, on the same model.

For every clip of a manifest that has a reference `text`, transcribe it twice: the way
`POST /v1/audio/transcriptions` does (voicegw's decode, webrtcvad, N-best decoder and guards,
`Pipeline.recognise`), and with faster-whisper's own `transcribe(language, beam_size=5,
vad_filter=True)`. Print each clip's error rate (CER for Korean, WER otherwise, after the eval's
normalisation, docs/scoring.md) for both, the words each lost, and the totals.

    python scripts/route_vs_raw.py audio_fixtures/manifest.jsonl --kind real_speech
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voicegw.asr.loader import load_transcriber  # noqa: E402
from voicegw.audio.decode import decode_audio  # noqa: E402
from voicegw.audio.limits import AudioLimits  # noqa: E402
from voicegw.pipeline import build_pipeline  # noqa: E402
from voicegw.qa.scoring import error_rate, text_metric  # noqa: E402
from voicegw.settings import Settings  # noqa: E402


class Direct:
    """The pool's interface without the pool: one clip at a time."""

    def __init__(self, transcriber) -> None:  # noqa: ANN001 - WhisperTranscriber
        self.transcriber = transcriber

    async def transcribe(self, samples, options):  # noqa: ANN001 - the pipeline's protocol
        return await asyncio.to_thread(self.transcriber.transcribe, samples, options)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--kind", help="only clips of this kind (real_speech, synthetic_speech)")
    parser.add_argument("--lang", help="only clips of this language")
    args = parser.parse_args(argv)
    settings = Settings()
    transcriber = load_transcriber(settings.asr)
    pipeline = build_pipeline(settings, {}, Direct(transcriber), None)
    rows = [json.loads(line) for line in args.manifest.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if r.get("text") and (not args.kind or r.get("kind") == args.kind)
            and (not args.lang or r["lang"] == args.lang)]
    totals = {"route": [0, 0], "raw": [0, 0]}
    print("| clip | lang | metric | route | raw | route text | raw text |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        path = (args.manifest.parent / row["audio"]).resolve()
        audio = path.read_bytes()
        transcript, _ = asyncio.run(pipeline.recognise(audio, language=row["lang"]))
        route = transcript.text if transcript else ""
        samples = decode_audio(audio, AudioLimits(max_duration_s=600)).samples
        segments, _ = transcriber._model.transcribe(samples, language=row["lang"], beam_size=5, vad_filter=True)
        raw = " ".join(s.text.strip() for s in segments)
        cells = []
        for name, text in (("route", route), ("raw", raw)):
            errors, length = error_rate(row["text"], text, row["lang"])
            metric = text_metric(row["lang"])
            totals[name][0] += errors
            totals[name][1] += length
            cells.append(f"{errors / max(length, 1):.3f}")
        print(f"| {row['audio']} | {row['lang']} | {metric} | {cells[0]} | {cells[1]} | {route} | {raw} |", flush=True)
    for name, (errors, length) in totals.items():
        print(f"{name}: {errors}/{length} = {errors / max(length, 1):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
