"""Every conversation story in tests/stories/ against the real `voicegw serve` (docs/stories.md).

One test per story file, so a failure points at a file and says which turn and check; then one
test for the release thresholds: intent accuracy and exact order match of at least 0.97 in every
language.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from tests.integration.conftest import FIXTURES, ROOT, Gateway
from voicegw.qa.story_format import StoryError, load_story_file, story_paths
from voicegw.qa.story_runner import StoryClient, replay_all, select
from voicegw.qa.story_scores import StoryRecord, by_language, gate_failures

STORIES = ROOT / "tests" / "stories"
FILES = story_paths([STORIES]) if STORIES.is_dir() else []
THRESHOLD = 0.97


def _id(path: Path) -> str:
    return str(path.relative_to(STORIES))


async def _replay(gateway: Gateway, paths: list[Path]) -> dict[Path, list[StoryRecord] | StoryError]:
    out: dict[Path, list[StoryRecord] | StoryError] = {}
    loaded = []
    for path in paths:
        try:
            loaded.append(load_story_file(path, FIXTURES))
        except StoryError as err:
            out[path] = err
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:
        records = await replay_all(StoryClient(gateway.base_url, FIXTURES, http), select(loaded), concurrency=4)
    for f in loaded:
        out[f.path] = [r for r in records if r.path == f.path]
    return out


@pytest.fixture(scope="module")
def replayed(gateway: Gateway) -> dict[Path, list[StoryRecord] | StoryError]:
    """Every story file, replayed once (stories of all files interleaved, four at a time)."""
    if not FILES:
        pytest.skip(f"no story files under {STORIES} yet")
    return asyncio.run(_replay(gateway, FILES))


def _failures(records: list[StoryRecord]) -> str:
    lines = []
    for story in records:
        if not story.passed:
            lines.append(f"{story.path.relative_to(ROOT)}: {story.name}")
            lines += [f"    {line}" for line in story.failure_lines()]
    return "\n".join(lines)


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_story_file(replayed, path: Path) -> None:
    outcome = replayed[path]
    if isinstance(outcome, StoryError):
        pytest.fail(outcome.message)
    failed = [s for s in outcome if not s.passed and not s.known_failure]
    if failed:  # pytest.fail: the message alone, not the records' repr
        pytest.fail(f"{len(failed)} of {len(outcome)} stories failed:\n{_failures(failed)}", pytrace=False)
    learnt = [s.name for s in outcome if s.passed and s.known_failure]
    if learnt:
        pytest.fail(f"these stories pass now; remove their known_failure: {learnt}", pytrace=False)


def test_every_language_reaches_the_thresholds(replayed) -> None:
    records = [r for outcome in replayed.values() if not isinstance(outcome, StoryError) for r in outcome]
    unreadable = [f"{p.relative_to(ROOT)}: {o.message}" for p, o in replayed.items() if isinstance(o, StoryError)]
    figures = "\n".join(
        f"{lang}: intent accuracy {t.intent_ok}/{t.intent_n}, exact order match {t.order_ok}/{t.order_n}, "
        f"turns {t.turns_ok}/{t.turns_n}, stories {t.stories_ok}/{t.stories_n}"
        for lang, t in by_language(records).items()
    )
    print(figures)  # shown with -s, and in the report of a failure below
    if not records:
        pytest.fail("no story could be loaded:\n" + "\n".join(unreadable), pytrace=False)
    gate = gate_failures(records, THRESHOLD)
    if gate:
        pytest.fail("\n".join([*gate, "", figures, "", _failures(records), *unreadable]), pytrace=False)
