"""The one SQLite file voicegw keeps its state in: opened the same way by every store of it, and
the owner's alone."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def open_database(path: str | Path) -> sqlite3.Connection:
    """A connection for one store object to share between threads behind its own lock.

    ``isolation_level=None``: callers issue BEGIN/COMMIT themselves, so a transaction is exactly
    the block they write. WAL lets readers in other processes read while one writes;
    ``secure_delete`` overwrites deleted rows, so a deleted customer leaves no bytes behind.
    """
    if str(path) != ":memory:":
        Path(path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # state stays the owner's
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=10.0)
    owner_only(path)
    conn.row_factory = sqlite3.Row
    for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=10000", "secure_delete=ON"):
        conn.execute(f"PRAGMA {pragma}")
    return conn


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE (the write lock up front: no upgrade races), COMMIT at the end of the
    block, ROLLBACK if it raises. The caller holds its lock and maps ``sqlite3.Error``."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def owner_only(path: str | Path) -> None:
    """chmod 600 a database or key file (and SQLite's -wal/-shm beside it) that exists; a no-op
    for ``:memory:`` and on file systems without POSIX modes."""
    for candidate in (Path(str(path)), Path(f"{path}-wal"), Path(f"{path}-shm")):
        if candidate.is_file():
            with contextlib.suppress(OSError):
                os.chmod(candidate, 0o600)
