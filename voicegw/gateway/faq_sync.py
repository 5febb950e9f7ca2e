"""Keeps FAQ matching on the backend's FAQ table, so an operator's edit is understood too.

The reference skill server stores each store's FAQ (seeded from the menu files) and lets an
operator edit it (``PUT /faq?store=``). Understanding matches questions against the menu's
``faq`` entries, so the gateway fetches ``GET /faq?store=`` next to the skill URL at start and
every ``interval_s`` after, and swaps each store's menu for one carrying the backend's entries
(the compiled tables follow, compiled.py recompiles a changed menu once). A backend without the
endpoint (a store's own skill server: 404), or one that is down, leaves the menu files' FAQ, or
the last good copy, in place.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, MutableMapping
from typing import Any

import aiohttp
from pydantic import ValidationError

from voicegw.nlu.compiled import LANGUAGES
from voicegw.nlu.menu import FaqEntry, Menu

log = logging.getLogger(__name__)

FAQ_REFRESH_S = 30.0
"""How often the backend's FAQ is read again: an operator's new paraphrase is matched this soon."""
FAQ_TIMEOUT_S = 2.0
DEFAULT_CATEGORY = "general"
"""The category of a backend entry that has none (the menu model requires one)."""


def faq_url(skill_url: str) -> str:
    """The FAQ endpoint beside a skill URL: ``http://h:8081/skill`` -> ``http://h:8081/faq``."""
    base = skill_url.split("?", 1)[0].rstrip("/")
    if base.endswith("/skill"):
        base = base[: -len("/skill")]
    return f"{base}/faq"


def entries_from(payload: Any) -> list[FaqEntry] | None:
    """The FAQ entries of a ``GET /faq`` answer (``{"faq": [...]}``), None when it is not one.

    Entries that cannot be matched (no question in a known language, no answer) are left out;
    languages the gateway does not speak are dropped from an entry rather than failing it.
    """
    raw = payload.get("faq") if isinstance(payload, dict) else None
    if not isinstance(raw, list):
        return None
    entries = []
    for item in raw:
        if not isinstance(item, dict):
            continue
        questions = {k: v for k, v in (item.get("questions") or {}).items() if k in LANGUAGES and v}
        answer = {k: v for k, v in (item.get("answer") or item.get("answers") or {}).items() if k in LANGUAGES}
        try:
            entries.append(FaqEntry.model_validate({
                "id": item.get("id"), "category": item.get("category") or DEFAULT_CATEGORY,
                "questions": questions, "answer": answer,
            }))
        except ValidationError as err:
            log.warning("backend FAQ entry %r left out: %s", item.get("id"), err.errors()[0]["msg"])
    return entries


class FaqSync:
    """Reads each store's FAQ from the backend and puts it into ``menus`` (changed in place:
    the pipeline reads the same mapping)."""

    def __init__(self, menus: MutableMapping[str, Menu], url: str, *, interval_s: float = FAQ_REFRESH_S,
                 timeout_s: float = FAQ_TIMEOUT_S, headers: Mapping[str, str] | None = None) -> None:
        self.menus = menus
        self.url = url
        self._headers = dict(headers or {})
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self._files = {store: list(menu.faq) for store, menu in menus.items()}
        """Each menu file's FAQ: what a store gets back when the backend has none for it."""
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Refresh now and every ``interval_s``, in the background (startup does not wait)."""
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s), headers=self._headers)
        self._task = asyncio.create_task(self._run(), name="faq-sync")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _run(self) -> None:
        while True:
            await self.refresh()
            await asyncio.sleep(self.interval_s)

    async def refresh(self) -> dict[str, str]:
        """Read every store's FAQ once; returns store -> where its FAQ now comes from
        (``backend``, ``menu`` file, or ``kept``: the backend did not answer, nothing changed)."""
        sources: dict[str, str] = {}
        for store in list(self.menus):
            entries = await self._fetch(store)
            if entries is None:
                sources[store] = "kept"
                continue
            sources[store] = "backend" if entries else "menu"
            chosen = entries or self._files.get(store, [])
            menu = self.menus[store]
            if _by_id(chosen) != _by_id(menu.faq):
                self.menus[store] = menu.model_copy(update={"faq": chosen})
                log.info("FAQ of %s now from the %s (%d entries)", store, sources[store], len(chosen))
        return sources

    async def _fetch(self, store: str) -> list[FaqEntry] | None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s), headers=self._headers)
        try:
            async with self._session.get(self.url, params={"store": store}) as resp:
                if resp.status != 200:
                    log.debug("GET %s?store=%s answered %d: menu FAQ kept", self.url, store, resp.status)
                    return None
                payload = await resp.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as err:
            log.debug("GET %s?store=%s failed (%s): FAQ kept", self.url, store, err)
            return None
        return entries_from(payload)


def _by_id(entries: list[FaqEntry]) -> list[FaqEntry]:
    """Entries in id order: the backend lists them sorted, the menu file in its own order."""
    return sorted(entries, key=lambda e: e.id)
