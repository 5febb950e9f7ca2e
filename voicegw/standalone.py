"""The full pipeline without the HTTP gateway, for the CLI's one-off turns and the eval."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from voicegw.asr.engine import TranscriberPool
from voicegw.asr.loader import load_transcriber
from voicegw.backend.client import SkillClient, backend_headers
from voicegw.backend.embedded import EmbeddedBackend
from voicegw.nlu.loader import load_menus
from voicegw.pipeline import Pipeline, build_pipeline
from voicegw.settings import Settings


@contextlib.asynccontextmanager
async def standalone_pipeline(
    settings: Settings, database_path: Path, backend_url: str | None = None, *, database_url: str | None = None
) -> AsyncIterator[Pipeline]:
    """The model, the menus and a backend (``backend_url``, else the reference skill server on the
    PostgreSQL ``database_url`` or the SQLite ``database_path``), opened for the block and closed
    after it. The database is the caller's to name: the eval runs on a throw-away file whatever
    ``database.url`` says."""
    menus = load_menus(settings.menus_dir)
    pool = TranscriberPool(await asyncio.to_thread(load_transcriber, settings.asr))
    embedded = None
    headers = backend_headers(settings)
    if backend_url is None:
        embedded = EmbeddedBackend(database_path, menus, database_url=database_url)
        backend_url, headers = await embedded.start(), embedded.headers
    client = SkillClient(backend_url, timeout_s=settings.backend.timeout_s, headers=headers)
    await client.open()
    try:
        yield build_pipeline(settings, menus, pool, client)
    finally:
        await client.close()
        if embedded is not None:
            await embedded.stop()
        pool.close()
