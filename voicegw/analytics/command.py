"""``voicegw report`` and ``voicegw experiments list|report``: the chat-log report and the A/B
tests, read from the gateway's database by the operator."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import datetime, time, timezone
from pathlib import Path

from voicegw.analytics.records import CHANNELS, read_exposures, read_turns, window
from voicegw.analytics.render_html import render_html
from voicegw.analytics.render_text import render_experiment, render_text
from voicegw.analytics.report import build_report
from voicegw.errors import RequestError
from voicegw.experiments.config import load_experiments
from voicegw.experiments.results import experiment_results
from voicegw.nlu.loader import load_menus
from voicegw.privacy.command import open_store
from voicegw.settings import Settings


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", help="one store (default: every store)")
    parser.add_argument("--since", help="first day or moment, ISO 8601 (default: as far back as transcripts are kept)")
    parser.add_argument("--until", help="last day or moment, ISO 8601 (default: now)")
    parser.add_argument("--channel", choices=CHANNELS, help="one channel (voice includes streams)")
    parser.add_argument("--out", type=Path, help="write report.json and report.html into this folder")
    parser.add_argument("--json", action="store_true", help="print the report JSON instead of the summary")
    parser.add_argument("--experiments", type=Path, help="folder of experiment files (default ./experiments)")


def add_experiments_arguments(parser: argparse.ArgumentParser, common: Callable[[argparse.ArgumentParser], None]) -> None:
    commands = parser.add_subparsers(dest="experiments_command", required=True)
    listing = commands.add_parser("list", help="every experiment: reply, status, phase, variants and weights")
    report = commands.add_parser("report", help="one experiment's results in its current phase, with the verdict")
    report.add_argument("id")
    report.add_argument("--phase", help="an earlier phase (see the exposures' phases in --json)")
    report.add_argument("--json", action="store_true")
    for sub in (listing, report):
        sub.add_argument("--experiments", type=Path, help="folder of experiment files (default ./experiments)")
        common(sub)


def parse_moment(text: str | None, *, end_of_day: bool = False) -> datetime | None:
    """``2026-12-01`` (the day's start, or its end for --until) or a full ISO 8601 moment; UTC unless it says."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as err:
        raise RequestError("bad_date", f"{text!r} is not an ISO 8601 date or moment (2026-12-01)") from err
    if len(text) == 10 and end_of_day:
        moment = datetime.combine(moment.date(), time.max)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def run_report(args: argparse.Namespace, settings: Settings) -> int:
    w = window(settings.privacy.retention.transcripts_days, parse_moment(args.since),
               parse_moment(args.until, end_of_day=True), args.store, args.channel)
    experiments = load_experiments(settings.experiments_dir)
    store = open_store(settings)
    try:
        report = build_report(store, w, load_menus(settings.menus_dir), experiments)
    finally:
        store.close()
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
        (args.out / "report.html").write_text(render_html(report), encoding="utf-8")
        print(f"wrote {args.out / 'report.json'} and {args.out / 'report.html'}", file=sys.stderr)
    print(json.dumps(report, ensure_ascii=False, indent=2) if args.json else render_text(report))
    return 0


def run_experiments(args: argparse.Namespace, settings: Settings) -> int:
    experiments = load_experiments(settings.experiments_dir)
    if args.experiments_command == "list":
        for x in experiments.values():
            split = ", ".join(f"{v.name} {v.weight:g}" for v in x.variants)
            print(f"{x.id:24} {x.status:8} reply={x.reply:16} phase={x.phase} metric={x.metric:14} {split}")
        if not experiments:
            print(f"no experiments in {settings.experiments_dir}")
        return 0
    experiment = experiments.get(args.id)
    if experiment is None:
        print(f"voicegw: no experiment {args.id!r} (known: {', '.join(experiments) or 'none'})", file=sys.stderr)
        return 2
    w = window(settings.privacy.retention.transcripts_days)
    store = open_store(settings)
    try:
        result = experiment_results(experiment, read_exposures(store, w, experiment.id), read_turns(store, w), w.until,
                                    args.phase)
    finally:
        store.close()
    print(json.dumps(result, ensure_ascii=False, indent=2) if args.json else render_experiment(result))
    return 0
