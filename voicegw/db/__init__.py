"""The gateway's own database: the embedded SQLite file, or PostgreSQL when ``database.url`` names one.

The privacy tables, the turn log and the API keys are written through this one interface, so the
same code and the same guarantees hold on both:

- ``tx()`` is one write transaction, all or nothing; ``read()`` reads;
- SQL is written once, with ``?`` placeholders (translated for PostgreSQL), in forms both accept
  (``ON CONFLICT DO NOTHING``, ``RETURNING id``); rows read by name and by index alike;
- the catalogue is read through ``tables()``, ``columns()`` and ``foreign_keys()``, not through
  ``sqlite_master`` or ``PRAGMA``;
- ``lock(*key)`` serialises the writes about one thing (a user, a migration) across processes:
  SQLite's write lock does it already, PostgreSQL takes an advisory lock;
- a driver's error surfaces as ``DatabaseError`` (``IntegrityError`` when a constraint or a
  trigger refused the statement), which each store maps to its own error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from voicegw.settings import Settings

Dialect = Literal["sqlite", "postgresql"]
Params = Sequence[Any]


class DatabaseError(Exception):
    """The database failed or refused a statement (locked too long, unreachable, disk full, ...)."""


class IntegrityError(DatabaseError):
    """A constraint or a trigger refused the statement (a unique index, the audit log's triggers)."""


class Row(Protocol):
    """A result row: ``row[0]``, ``row["id"]``, ``row.keys()``, ``dict(row)``, ``tuple(row)``."""

    def __getitem__(self, key: int | str) -> Any: ...
    def __iter__(self) -> Iterator[Any]: ...
    def __len__(self) -> int: ...
    def keys(self) -> list[str]: ...


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """A connection inside one ``tx()`` or ``read()`` block."""

    dialect: Dialect
    row_id: str
    """The column naming a row physically, for updates of rows without a known key (``rowid``,
    ``ctid``); stable only inside the transaction, and on PostgreSQL only while the table is locked."""

    def execute(self, sql: str, params: Params = ()) -> Cursor: ...
    def executemany(self, sql: str, rows: Iterable[Params]) -> None: ...
    def insert(self, sql: str, params: Params = ()) -> int:
        """An ``INSERT`` into a table with an ``id`` key; returns the new row's id."""
        ...
    def script(self, sql: str) -> None:
        """Several statements, no parameters (migrations)."""
        ...
    def lock(self, *key: str) -> None:
        """Hold a lock named ``key`` until the transaction ends."""
        ...
    def lock_tables(self, *tables: str) -> None:
        """Keep other transactions from writing these tables until this one ends."""
        ...
    def tables(self) -> list[str]: ...
    def columns(self, table: str) -> list[str]: ...
    def foreign_keys(self, table: str) -> set[str]:
        """The tables ``table`` refers to."""
        ...
    def has_table(self, name: str) -> bool: ...


class Database(Protocol):
    dialect: Dialect

    def tx(self) -> AbstractContextManager[Connection]: ...
    def read(self) -> AbstractContextManager[Connection]: ...
    def checkpoint(self) -> None:
        """Fold what a delete left behind into the main file, as far as the database allows."""
        ...
    def close(self) -> None: ...


Migration = Callable[[Connection], None]


def migrate(c: Connection, version_table: str, migrations: Mapping[int, Migration]) -> None:
    """Run the migrations newer than ``version_table`` records, on an open transaction; two
    processes starting at once take turns (the lock), so each migration runs once."""
    c.lock("migrate", version_table)
    c.execute(f'CREATE TABLE IF NOT EXISTS "{version_table}" (version INTEGER NOT NULL)')
    current = c.execute(f'SELECT MAX(version) FROM "{version_table}"').fetchone()[0] or 0
    for version in sorted(v for v in migrations if v > current):
        migrations[version](c)
        c.execute(f'INSERT INTO "{version_table}" (version) VALUES (?)', (version,))


def database_url(settings: Settings) -> str | None:
    """``database.url`` as plain text; None means the embedded SQLite file."""
    url = settings.database.url
    if url is None:
        return None
    text = url.get_secret_value().strip()
    if not text:
        return None
    if not text.startswith(("postgresql://", "postgres://")):
        raise DatabaseError("database.url must be a postgresql:// URL (leave it unset for the embedded SQLite file)")
    return text


def open_database_url(settings: Settings) -> Database:
    """The database ``database.url`` names, else the SQLite file ``settings.database_path``."""
    url = database_url(settings)
    if url is None:
        from voicegw.db.sqlite import SqliteDatabase

        return SqliteDatabase(settings.database_path)
    from voicegw.db.postgres import PostgresDatabase

    return PostgresDatabase(url)


def open_path_or_database(database: Database | str | Path) -> Database:
    """A database as given, or the SQLite file at a path (what stores took before ``database.url``)."""
    if isinstance(database, (str, Path)):
        from voicegw.db.sqlite import SqliteDatabase

        return SqliteDatabase(database)
    return database
