"""``voicegw eval MANIFEST``: replay, score, report, and gate a release on the figures."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from voicegw.audio.noise import MIXES, list_noise_files
from voicegw.qa.manifest import load_manifest
from voicegw.qa.report import COLUMNS, gate_failures, print_gate, row_cells, rows, write_outputs
from voicegw.qa.runner import ClipResult, TurnSender, conditions_for, run_eval
from voicegw.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("manifest", type=Path, help="eval manifest (JSON lines; paths relative to it)")
    parser.add_argument("--noise", type=Path, help="a noise recording, or a folder of them (each file is one noise type)")
    parser.add_argument("--snr", default="24,12,6", help="comma-separated SNRs in dB for --noise (default 24,12,6)")
    parser.add_argument("--mix", choices=MIXES, default="speech",
                        help="how --snr is measured: speech (mean power of the speech part, the default) or peak-frame "
                             "(loudest 2048-sample frames, the Picovoice speech-to-intent benchmark's way)")
    parser.add_argument("--url", help="send clips to a running gateway instead of the in-process pipeline")
    parser.add_argument("--api-key", default=os.environ.get("VOICEGW_API_KEY"),
                        help="the gateway's API key for --url (default: $VOICEGW_API_KEY; none in development mode)")
    parser.add_argument("--out", type=Path, help="write results.json, summary.md and snr.png here")
    parser.add_argument("--fail-under", type=float, help="exit 1 when command acceptance is below this in any condition and language, or any silence/noise clip gives an order")
    parser.add_argument("--lang", help="only clips of this language")
    parser.add_argument("--store", help="only clips of this store")
    parser.add_argument("--limit", type=int, help="only the first N clips (after filtering)")


def parse_snrs(text: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError as err:
        raise SystemExit(f"voicegw eval: --snr must be numbers separated by commas, not {text!r}") from err


def run(args: argparse.Namespace, settings: Settings) -> int:
    clips = load_manifest(args.manifest)
    clips = [c for c in clips if (not args.lang or c.lang == args.lang) and (not args.store or c.store == args.store)]
    clips = clips[: args.limit] if args.limit else clips
    if not clips:
        raise SystemExit("voicegw eval: no clips left after filtering")
    noise_paths = list_noise_files(args.noise) if args.noise else []
    conditions = conditions_for(noise_paths, parse_snrs(args.snr) if noise_paths else [], args.mix)
    console = Console()
    if not console.is_terminal:  # logs and CI: keep the table whole instead of 80 columns wide
        console = Console(width=170)
    results = asyncio.run(_replay(clips, conditions, args, settings, console))

    table = rows(results)
    console.print(_terminal_table(table))
    meta = {
        "manifest": str(args.manifest),
        "target": args.url or "in-process pipeline",
        "model": settings.asr.model,
        "beam": settings.asr.beam_size,
        "readings": settings.asr.readings,
        "menu_grammar": settings.asr.menu_grammar,
        "bias": settings.asr.bias,
        "vad": settings.audio.vad_aggressiveness,
        "clips": len(clips),
        "conditions": len(conditions),
        "mix": args.mix,
    }
    if args.out:
        for path in write_outputs(args.out, results, table, meta):
            console.print(f"wrote {path}")
    if args.fail_under is not None:
        passed = f"command acceptance >= {args.fail_under} everywhere, no order from non-speech"
        return print_gate(console, gate_failures(table, args.fail_under), passed)
    return 0


async def _replay(clips, conditions, args, settings: Settings, console: Console) -> list[ClipResult]:
    total = len(clips) * len(conditions)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("replaying", total=total)

        def advance(result: ClipResult) -> None:
            progress.update(task, advance=1, description=f"{result.condition.label:>24}")

        async with _sender(args, settings) as sender:
            return await run_eval(clips, conditions, sender, advance)


@contextlib.asynccontextmanager
async def _sender(args: argparse.Namespace, settings: Settings) -> AsyncIterator[TurnSender]:
    if args.url:
        from voicegw.qa.senders import HttpSender

        async with HttpSender(args.url, api_key=args.api_key) as sender:
            yield sender
        return
    # In-process: the gateway's own pipeline and reference backend, on a throw-away database so an
    # eval never writes into the store's data.
    from voicegw.qa.senders import PipelineSender
    from voicegw.standalone import standalone_pipeline

    with tempfile.TemporaryDirectory(prefix="voicegw-eval-") as tmp:
        async with standalone_pipeline(settings, Path(tmp) / "eval.db") as pipeline:
            yield PipelineSender(pipeline)


def _terminal_table(table) -> Table:
    out = Table(title="voicegw eval", show_lines=False)
    for column in COLUMNS:
        out.add_column(column, justify="left" if column in ("condition", "lang") else "right")
    for row in table:
        out.add_row(*row_cells(row))
    return out
