"""The reference skill server run inside the gateway process when no external backend is set.

It listens on its own loopback port and the gateway reaches it over HTTP with the same client it
would use for a store's own skill server, so the embedded default exercises the real protocol.
The port answers only callers with the key drawn for this process, which never leaves memory:
another local process that finds the port cannot read orders, edit the FAQ or place an order.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping
from pathlib import Path

from aiohttp import web

from voicegw.backend.client import bearer
from voicegw.backend.server import create_skill_app, seed_faq
from voicegw.backend.storage import PostgresStorage, SqliteStorage, Storage
from voicegw.serving import JsonErrorRunner
from voicegw.nlu.menu import Menu


class EmbeddedBackend:
    """The reference skill app on 127.0.0.1 (an ephemeral port by default) over SQLite storage,
    or PostgreSQL storage when ``database_url`` is given (``database.url``: gateways on several
    hosts then share sessions, carts and orders)."""

    def __init__(
        self, database_path: Path, menus: Mapping[str, Menu], host: str = "127.0.0.1", port: int = 0,
        *, database_url: str | None = None,
    ) -> None:
        self.database_path = database_path
        self.database_url = database_url
        self.menus = menus
        self.host, self.port = host, port
        self._key = secrets.token_urlsafe(32)
        self.storage: Storage | None = None
        self._runner: web.AppRunner | None = None

    @property
    def where(self) -> str:
        """Where the orders live, for the log (no credentials)."""
        if self.database_url is None:
            return f"SQLite {self.database_path}"
        from voicegw.db.postgres import without_password

        return f"PostgreSQL {without_password(self.database_url)}"

    def _open_storage(self) -> Storage:
        if self.database_url is not None:
            return PostgresStorage(self.database_url)
        self.database_path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteStorage(self.database_path)

    async def start(self) -> str:
        """Open the database, seed each store's FAQ from its menu, start serving; returns the skill URL."""
        self.storage = await asyncio.to_thread(self._open_storage)
        await asyncio.to_thread(seed_faq, self.storage, self.menus)
        self._runner = JsonErrorRunner(create_skill_app(self.storage, self.menus, key=self._key), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        port = self._runner.addresses[0][1]
        return f"http://{self.host}:{port}/skill"

    @property
    def headers(self) -> dict[str, str]:
        """What the gateway's clients of this server send."""
        return bearer(self._key)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self.storage is not None:
            self.storage.close()
