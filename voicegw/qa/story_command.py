"""``voicegw stories PATH...``: replay conversation stories, print the scores, gate on them."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import aiohttp
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from voicegw.qa.report import print_gate
from voicegw.qa.senders import api_key_headers
from voicegw.qa.story_format import LoadedFile, Story, load_stories
from voicegw.qa.story_runner import StoryClient, local_gateway, needs_model, replay_all, select
from voicegw.qa.story_scores import (
    ALL,
    StoryRecord,
    Tally,
    by_language,
    by_store,
    by_tag,
    gate_failures,
    results_json,
    tally,
)
from voicegw.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", type=Path, help="story files, or folders searched for *.yaml")
    parser.add_argument("--url", help="a running gateway (default: start one in this process on a free port, with a throw-away database)")
    parser.add_argument("--api-key", default=os.environ.get("VOICEGW_API_KEY"),
                        help="the gateway's API key for --url (default: $VOICEGW_API_KEY; none in development mode)")
    parser.add_argument("--lang", choices=["ko", "en"], help="only stories of this language")
    parser.add_argument("--tag", action="append", default=[], help="only stories with this tag (repeat for any of several)")
    parser.add_argument("--out", type=Path, help="write every turn's checks and the scores to this JSON file")
    parser.add_argument("--fail-under", type=float, help="exit 1 when intent accuracy or exact order match of any language is below this")
    parser.add_argument("--fail-under-store", type=float, help="exit 1 when intent accuracy or exact order match of any store is below this")
    parser.add_argument("--show-failures", action="store_true", help="print every failed check, story by story")
    parser.add_argument("--fixtures", type=Path, default=Path("audio_fixtures"), help="folder audio turns' paths are relative to (default ./audio_fixtures)")
    parser.add_argument("--concurrency", type=int, default=4, help="stories replayed at once (default 4)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    files = load_stories(args.paths, args.fixtures)
    selected = select(files, args.lang, args.tag)
    if not selected:
        raise SystemExit("voicegw stories: no stories left after filtering")
    console = Console()
    if not console.is_terminal:  # logs and CI: keep the tables whole
        console = Console(width=170)
    stories = asyncio.run(_replay(selected, args, settings, console))

    console.print(score_table("voicegw stories: by language", by_language(stories), total=tally(stories)))
    stores = by_store(stories)
    if len(stores) > 1:
        console.print(score_table("by store", stores))
    tags = by_tag(stories)
    if tags:
        console.print(score_table("by tag", tags))
    failed = [s for s in stories if not s.passed]
    if failed and args.show_failures:
        for story in failed:
            console.print(f"[red]FAIL[/red] {escape(str(story.path))}: {escape(story.name)}")
            for line in story.failure_lines():
                console.print(f"    {escape(line)}", soft_wrap=True)
    elif failed:
        console.print(f"{len(failed)} of {len(stories)} stories failed (--show-failures prints why)")
    if args.out:
        meta = {"paths": [str(p) for p in args.paths], "target": args.url or "in-process gateway", "lang": args.lang, "tags": args.tag}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results_json(stories, meta), ensure_ascii=False, indent=2), encoding="utf-8")
        console.print(f"wrote {args.out}")
    gates, promises = [], []
    if args.fail_under is not None:
        gates += gate_failures(stories, args.fail_under)
        promises.append(f">= {args.fail_under} in every language")
    if args.fail_under_store is not None:
        gates += gate_failures(stories, args.fail_under_store, by_store)
        promises.append(f">= {args.fail_under_store} in every store")
    if promises:
        return print_gate(console, gates, "intent accuracy and exact order match " + " and ".join(promises))
    return 0


async def _replay(selected: Sequence[tuple[LoadedFile, Story]], args: argparse.Namespace, settings: Settings, console: Console) -> list[StoryRecord]:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("stories", total=len(selected))
        async with _gateway(args, settings, with_model=needs_model(selected)) as url:
            timeout = aiohttp.ClientTimeout(total=120)
            async with aiohttp.ClientSession(timeout=timeout, headers=api_key_headers(args.api_key)) as http:
                client = StoryClient(url, args.fixtures, http)
                return await replay_all(client, selected, args.concurrency, lambda _: progress.advance(task))


@contextlib.asynccontextmanager
async def _gateway(args: argparse.Namespace, settings: Settings, *, with_model: bool) -> AsyncIterator[str]:
    if args.url:
        yield args.url
        return
    async with local_gateway(settings, with_model=with_model) as url:
        yield url


def _pct(rate: float | None, hits: int, n: int) -> str:
    return "-" if rate is None else f"{rate:.3f} ({hits}/{n})"


def score_table(title: str, groups: dict[str, Tally], total: Tally | None = None) -> Table:
    table = Table(title=title)
    for column in ("group", "stories passed", "turns passed", "intent accuracy", "exact order match"):
        table.add_column(column, justify="left" if column == "group" else "right")
    rows = list(groups.items()) + ([(ALL, total)] if total is not None and len(groups) > 1 else [])
    for name, t in rows:
        table.add_row(
            name,
            _pct(t.stories_passed, t.stories_ok, t.stories_n),
            _pct(t.turns_passed, t.turns_ok, t.turns_n),
            _pct(t.intent_accuracy, t.intent_ok, t.intent_n),
            _pct(t.order_match, t.order_ok, t.order_n),
        )
    return table
