"""``Database`` on the embedded SQLite file: one connection behind a lock (WAL, ``secure_delete``,
owner-only file modes: ``voicegw/database.py``), each write transaction BEGIN IMMEDIATE."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from voicegw.database import open_database, write_transaction
from voicegw.db import DatabaseError, Dialect, IntegrityError, Params


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except sqlite3.IntegrityError as err:
        raise IntegrityError(str(err)) from err
    except sqlite3.Error as err:
        raise DatabaseError(str(err)) from err


def statements(script: str) -> Iterator[str]:
    """The statements of a script; a trigger's ``BEGIN ...; END`` stays whole."""
    buffer = ""
    for piece in script.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip(" \n;"):
                yield buffer
            buffer = ""


class SqliteConnection:
    """The shared connection, inside a block that holds the store's lock."""

    dialect: Dialect = "sqlite"
    row_id = "rowid"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Params = ()) -> sqlite3.Cursor:
        with _translated():
            return self._conn.execute(sql, tuple(params))

    def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        with _translated():
            self._conn.executemany(sql, rows)

    def insert(self, sql: str, params: Params = ()) -> int:
        # fetchall: a RETURNING statement not stepped to its end would keep COMMIT waiting.
        return int(self.execute(f"{sql} RETURNING id", params).fetchall()[0][0])

    def script(self, sql: str) -> None:
        for statement in statements(sql):
            self.execute(statement)

    def lock(self, *key: str) -> None:
        """Nothing to do: BEGIN IMMEDIATE holds the database's one write lock already."""

    def lock_tables(self, *tables: str) -> None:
        """Nothing to do, as for ``lock``."""

    def tables(self) -> list[str]:
        return [r[0] for r in self.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]

    def columns(self, table: str) -> list[str]:
        return [r["name"] for r in self.execute(f'PRAGMA table_info("{table}")')]

    def foreign_keys(self, table: str) -> set[str]:
        return {r["table"] for r in self.execute(f'PRAGMA foreign_key_list("{table}")')}

    def has_table(self, name: str) -> bool:
        return self.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


class SqliteDatabase:
    """A SQLite file (or ``:memory:``), safe to share between threads."""

    dialect: Dialect = "sqlite"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        with _translated():
            self._conn = open_database(path)
        self._lock = threading.RLock()
        self._closed = False

    @contextmanager
    def tx(self) -> Iterator[SqliteConnection]:
        """BEGIN IMMEDIATE (the write lock up front: no upgrade races) ... COMMIT, or ROLLBACK if the block raises."""
        with self._lock, _translated(), write_transaction(self._conn) as c:
            yield SqliteConnection(c)

    @contextmanager
    def read(self) -> Iterator[SqliteConnection]:
        with self._lock, _translated():
            yield SqliteConnection(self._conn)

    def checkpoint(self) -> None:
        """Old page images in the write-ahead log still hold deleted rows: fold them into the file
        (where ``secure_delete`` has zeroed them) and empty the log, as far as readers allow."""
        with self._lock, _translated():
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()
