"""Tests that hold on both databases: the embedded SQLite file, and PostgreSQL where
``VOICEGW_TEST_DATABASE_URL`` names a database (``.ci/run`` starts one and sets it; without it
the PostgreSQL cases skip). Each PostgreSQL case gets a schema of its own, dropped after it.

Use the ``target`` fixture (import it into the test module)::

    from tests.unit.db_support import Target, target  # noqa: F401
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from voicegw.backend.storage import PostgresStorage, SqliteStorage, Storage
from voicegw.db import Database
from voicegw.db.sqlite import SqliteDatabase
from voicegw.settings import Settings

PG_URL = os.environ.get("VOICEGW_TEST_DATABASE_URL")
DIALECTS = ("sqlite", "postgresql")


@dataclass
class Target:
    """One test's database; ``open()`` and ``storage()`` may be called many times, each a new
    connection (or pool) to the same data, as another gateway process would have."""

    dialect: str
    path: Path
    """The SQLite file (where SQLite is the target)."""
    url: str | None = None
    """A ``postgresql://`` URL whose ``search_path`` is the test's schema (where PostgreSQL is)."""
    opened: list[Any] = field(default_factory=list)

    @property
    def sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def open(self) -> Database:
        if self.sqlite:
            db: Database = SqliteDatabase(self.path)
        else:
            from voicegw.db.postgres import PostgresDatabase

            db = PostgresDatabase(self.url or "", max_connections=4)
        self.opened.append(db)
        return db

    def storage(self) -> Storage:
        """The reference skill server's storage on the same database."""
        if self.sqlite:
            storage: Storage = SqliteStorage(self.path)
        else:
            storage = PostgresStorage(self.url or "", max_connections=4)
        self.opened.append(storage)
        return storage

    def use_in_settings(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Make ``Settings`` (built here or by the CLI) name this database: ``database.url`` for
        PostgreSQL (skips while the setting does not exist yet), the data folder's file for SQLite."""
        if self.sqlite:
            monkeypatch.delenv("VOICEGW_DATABASE__URL", raising=False)
            return
        if "database" not in Settings.model_fields:
            pytest.skip("the database.url setting is not wired in voicegw/settings.py yet")
        monkeypatch.setenv("VOICEGW_DATABASE__URL", self.url or "")

    def close_all(self) -> None:
        while self.opened:
            self.opened.pop().close()


def _schema_url(url: str, schema: str) -> str:
    """``url`` with ``search_path`` set to ``schema`` (libpq's ``options`` parameter)."""
    return f"{url}{'&' if '?' in url else '?'}options={quote(f'-c search_path={schema}')}"


@pytest.fixture(params=DIALECTS)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    if request.param == "sqlite":
        t = Target("sqlite", tmp_path / "voicegw.db")
        yield t
        t.close_all()
        return
    if not PG_URL:
        pytest.skip("VOICEGW_TEST_DATABASE_URL is not set (.ci/run sets it and starts PostgreSQL)")
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    t = Target("postgresql", tmp_path / "voicegw.db", _schema_url(PG_URL, schema))
    try:
        yield t
    finally:
        t.close_all()
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")
