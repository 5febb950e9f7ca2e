"""``Database`` on PostgreSQL (psycopg 3 and its connection pool), for gateways on several hosts.

The SQL the stores write for SQLite runs here unchanged: ``?`` becomes ``%s`` (and a literal
``%`` is doubled), rows read by name and by index. Where SQLite's one write lock made writes
about one user run one after the other, ``lock()`` takes a transaction-scoped advisory lock.

One difference is kept visible rather than papered over: after a failed statement PostgreSQL
aborts the whole transaction (SQLite undoes only the statement), so a block that caught such an
error and carried on would lose its writes silently at COMMIT; it raises ``DatabaseError`` instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from functools import lru_cache
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from voicegw.db import DatabaseError, Dialect, IntegrityError, Params


class PgRow:
    """A row readable like ``sqlite3.Row``: by index, by column name, ``keys()``, iteration."""

    __slots__ = ("_values", "_names", "_index")

    def __init__(self, values: Sequence[Any], names: tuple[str, ...], index: dict[str, int]) -> None:
        self._values, self._names, self._index = tuple(values), names, index

    def __getitem__(self, key: int | str | slice) -> Any:
        if isinstance(key, str):
            try:
                return self._values[self._index[key]]
            except KeyError:
                raise IndexError(f"no such column: {key}") from None  # as sqlite3.Row says it
        return self._values[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PgRow) and (self._names, self._values) == (other._names, other._values)

    def __hash__(self) -> int:
        return hash((self._names, self._values))

    def keys(self) -> list[str]:
        return list(self._names)

    def __repr__(self) -> str:
        return f"PgRow({dict(zip(self._names, self._values))!r})"


def _row_factory(cursor: Any) -> Any:
    names = tuple(column.name for column in cursor.description or ())
    index: dict[str, int] = {}
    for position, name in enumerate(names):
        index.setdefault(name, position)  # a repeated name reads its first column, as in SQLite
    return lambda values: PgRow(values, names, index)


@lru_cache(maxsize=512)
def pg_sql(sql: str) -> str:
    """``?`` placeholders as ``%s``, outside quotes; every ``%`` doubled (psycopg reads them all)."""
    out, quote = [], ""
    for ch in sql:
        if ch == "%":
            out.append("%%")
        elif quote:
            out.append(ch)
            if ch == quote:
                quote = ""
        elif ch in ("'", '"'):
            quote = ch
            out.append(ch)
        else:
            out.append("%s" if ch == "?" else ch)
    return "".join(out)


def without_password(err: BaseException | str) -> str:
    """An error message with any ``password=...`` or URL credentials left out (they end up in logs)."""
    text = re.sub(r"(password=)\S+", r"\1***", str(err))
    return re.sub(r"(://[^:/@\s]+:)[^@\s]+@", r"\1***@", text)


class PgConnection:
    """A pooled connection inside one transaction."""

    dialect: Dialect = "postgresql"
    row_id = "ctid"

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn
        self.failed = False

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except psycopg.IntegrityError as err:
            self.failed = True
            raise IntegrityError(str(err)) from err
        except psycopg.Error as err:
            self.failed = True
            raise DatabaseError(without_password(err)) from err

    def execute(self, sql: str, params: Params = ()) -> psycopg.Cursor[Any]:
        with self._translated():
            return self._conn.execute(pg_sql(sql), tuple(params))

    def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        with self._translated():
            self._conn.cursor().executemany(pg_sql(sql), [tuple(r) for r in rows])

    def insert(self, sql: str, params: Params = ()) -> int:
        return int(self.execute(f"{sql} RETURNING id", params).fetchone()[0])

    def script(self, sql: str) -> None:
        with self._translated():
            self._conn.execute(sql)  # no parameters: sent as one simple query, PL/pgSQL bodies whole

    def lock(self, *key: str) -> None:
        self.execute("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", (json.dumps(["voicegw", *key]),))

    def lock_tables(self, *tables: str) -> None:
        if tables:
            # Others may read meanwhile, not write: the rows and their ctids hold still.
            self.execute(f"LOCK TABLE {', '.join(_ident(t) for t in tables)} IN SHARE ROW EXCLUSIVE MODE")

    def tables(self) -> list[str]:
        return [r[0] for r in self.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name")]

    def columns(self, table: str) -> list[str]:
        return [r[0] for r in self.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position", (table,))]

    def foreign_keys(self, table: str) -> set[str]:
        return {r[0] for r in self.execute(
            "SELECT referred.relname FROM pg_constraint k"
            " JOIN pg_class t ON t.oid = k.conrelid JOIN pg_class referred ON referred.oid = k.confrelid"
            " WHERE k.contype = 'f' AND t.relname = ?"
            " AND t.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())", (table,))}

    def has_table(self, name: str) -> bool:
        return self.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?", (name,)
        ).fetchone() is not None


def _why(url: str, err: psycopg.Error) -> psycopg.Error:
    """The pool says only that it timed out; one plain connection says why (refused, bad password)."""
    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.Error as cause:
        return cause
    return err


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class PostgresDatabase:
    """A PostgreSQL database named by a ``postgresql://`` URL; tables live in its current schema
    (the first of ``search_path``)."""

    dialect: Dialect = "postgresql"

    def __init__(self, url: str, *, max_connections: int = 8) -> None:
        self._pool = ConnectionPool(url, min_size=1, max_size=max_connections, open=False, timeout=10,
                                    kwargs={"autocommit": True, "row_factory": _row_factory})
        try:
            self._pool.open(wait=True, timeout=10)
        except psycopg.Error as err:
            self._pool.close()  # else its workers would go on trying to connect
            raise DatabaseError(f"cannot reach PostgreSQL: {without_password(_why(url, err))}") from err
        self._closed = False

    @contextmanager
    def tx(self) -> Iterator[PgConnection]:
        """BEGIN ... COMMIT on a pooled connection, ROLLBACK if the block raises."""
        try:
            with self._pool.connection() as conn, conn.transaction():
                c = PgConnection(conn)
                yield c
                if c.failed:  # see the module's docstring
                    raise DatabaseError("a statement failed earlier in this transaction; nothing was written")
        except psycopg.IntegrityError as err:
            raise IntegrityError(str(err)) from err
        except psycopg.Error as err:
            raise DatabaseError(without_password(err)) from err

    def read(self) -> AbstractContextManager[PgConnection]:
        """A transaction like ``tx()``: there is no write lock to avoid taking, as on SQLite."""
        return self.tx()

    def checkpoint(self) -> None:
        """Nothing to force: PostgreSQL reclaims deleted rows' space by (auto)vacuum, and it has no
        ``secure_delete``; old row images stay on its disk (and in its WAL and backups) until
        overwritten, which is the operator's to protect (disk encryption)."""

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._pool.close()
