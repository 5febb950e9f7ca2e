"""FAQ entries, carts and orders: the ``Storage`` interface, on the embedded SQLite file or on
PostgreSQL through the gateway's one database interface (``voicegw.db``).

Every method is blocking; async callers use ``asyncio.to_thread``. The guarantees, on both:

- one transaction per session turn, and the turns of one session one after the other, from any
  thread, process or host: the turn takes the session's lock (``Connection.lock``: SQLite's write
  lock, a transaction-scoped advisory lock on PostgreSQL) before it reads the cart;
- an order is stored once per idempotency key (a unique column; the retry finds the first);
- order numbers are unique across gateways (``storage_schema.next_order_number``);
- a database failure rolls the transaction back and surfaces as ``storage_failed``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Protocol

from voicegw.backend.records import FaqEntry, StoredOrder
from voicegw.backend.skill import Channel
from voicegw.backend.storage_schema import MIGRATIONS, SCHEMA_VERSION, next_order_number
from voicegw.db import Connection, Database, DatabaseError, Row, migrate
from voicegw.dialogue.cart import Cart
from voicegw.dialogue.state import DialogueState
from voicegw.errors import BackendError
from voicegw.nlu.types import OrderLine

__all__ = ["SCHEMA_VERSION", "DatabaseStorage", "PostgresStorage", "SessionTurn", "SqliteStorage", "Storage"]

REPLY_RETENTION = timedelta(hours=24)
"""How long a keyed turn's answer is kept for retries: far past any client's retry window."""


@dataclass(frozen=True)
class TurnReply:
    """The answer stored for a keyed turn."""

    digest: str
    response: str


class SessionTurn(Protocol):
    """One session's state inside one transaction: read, then save or submit, atomically across
    threads and processes (two gateways on one database never lose a turn)."""

    cart: Cart | None
    state: DialogueState

    def save(self, cart: Cart, state: DialogueState) -> None: ...
    def submit(self, channel: Channel, cart: Cart, idempotency_key: str | None) -> StoredOrder: ...
    def find_order_by_key(self, idempotency_key: str) -> StoredOrder | None: ...
    def last_order_id(self) -> str | None: ...
    def find_reply(self, key: str) -> TurnReply | None: ...
    def save_reply(self, key: str, digest: str, response: str) -> None: ...


class Storage(Protocol):
    """What the reference skill server needs from a database (blocking calls)."""

    def session_turn(self, store: str, session: str) -> AbstractContextManager[SessionTurn]: ...

    def get_cart(self, store: str, session: str) -> Cart | None: ...
    def save_cart(self, store: str, session: str, cart: Cart) -> None: ...
    def clear_cart(self, store: str, session: str) -> None: ...
    def submit_order(
        self, store: str, session: str, channel: Channel, cart: Cart, idempotency_key: str | None = None
    ) -> StoredOrder: ...
    def get_order(self, order_id: str) -> StoredOrder | None: ...
    def find_order_by_key(self, idempotency_key: str) -> StoredOrder | None: ...
    def list_orders(self, store: str | None = None, session: str | None = None, limit: int = 100) -> list[StoredOrder]: ...
    def upsert_faq(self, store: str, entries: Iterable[FaqEntry]) -> int: ...
    def get_faq(self, store: str, faq_id: str) -> FaqEntry | None: ...
    def list_faq(self, store: str) -> list[FaqEntry]: ...
    def close(self) -> None: ...


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def dump_lines(lines: Iterable[OrderLine]) -> str:
    return json.dumps([line.model_dump(mode="json") for line in lines], ensure_ascii=False)


def load_lines(text: str) -> tuple[OrderLine, ...]:
    return tuple(OrderLine.model_validate(d) for d in json.loads(text))


def faq_from_row(row: Mapping[str, Any]) -> FaqEntry:
    """A stored FAQ row (SQLite or PostgreSQL) as an entry."""
    return FaqEntry(
        id=row["id"],
        category=row["category"],
        questions={k: tuple(v) for k, v in json.loads(row["questions"]).items()},
        answers=json.loads(row["answers"]),
    )


class DatabaseStorage:
    """``Storage`` on a ``voicegw.db.Database`` (SQLite or PostgreSQL)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        with self._tx() as c:
            migrate(c, "schema_version", MIGRATIONS[database.dialect])

    def close(self) -> None:
        self.database.close()

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        """One write transaction, all or nothing; a database failure surfaces as ``storage_failed``."""
        try:
            with self.database.tx() as c:
                yield c
        except DatabaseError as err:
            raise BackendError("storage_failed", f"the database write failed: {err}") from err

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self.database.read() as c:
                yield c
        except DatabaseError as err:
            raise BackendError("storage_failed", f"the database read failed: {err}") from err

    def schema_version(self) -> int:
        with self._read() as c:
            return int(c.execute("SELECT MAX(version) FROM schema_version").fetchone()[0])

    # --- one turn of a session ------------------------------------------------------------

    @contextmanager
    def session_turn(self, store: str, session: str) -> Iterator[SessionTurn]:
        """The session's cart and dialogue state, with the session's lock held until the block
        commits: turns of one session, from any thread, process or host, run one after the other
        and commit all or nothing."""
        with self._tx() as c:
            c.lock("session", store, session)
            yield _SessionTurn(c, store, session)

    # --- carts ---------------------------------------------------------------------------

    def get_cart(self, store: str, session: str) -> Cart | None:
        with self._read() as c:
            row = c.execute("SELECT lines, currency FROM carts WHERE store = ? AND session = ?", (store, session)).fetchone()
        return None if row is None else Cart(lines=load_lines(row["lines"]), currency=row["currency"])

    def save_cart(self, store: str, session: str, cart: Cart) -> None:
        with self._tx() as c:
            c.execute(
                "INSERT INTO carts (store, session, lines, currency, updated_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (store, session) DO UPDATE SET"
                " lines = excluded.lines, currency = excluded.currency, updated_at = excluded.updated_at",
                (store, session, dump_lines(cart.lines), cart.currency, now_iso()),
            )

    def clear_cart(self, store: str, session: str) -> None:
        with self._tx() as c:
            c.execute("DELETE FROM carts WHERE store = ? AND session = ?", (store, session))

    # --- orders --------------------------------------------------------------------------

    def submit_order(
        self, store: str, session: str, channel: Channel, cart: Cart, idempotency_key: str | None = None
    ) -> StoredOrder:
        """Write the order and its lines and clear the cart in one transaction. A repeated
        ``idempotency_key`` returns the order stored the first time (a retried confirm must not
        order twice), whatever the cart holds now."""
        with self.session_turn(store, session) as turn:
            return turn.submit(channel, cart, idempotency_key)

    def get_order(self, order_id: str) -> StoredOrder | None:
        with self._read() as c:
            row = c.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
            return None if row is None else _order(c, row)

    def find_order_by_key(self, idempotency_key: str) -> StoredOrder | None:
        with self._read() as c:
            return _order_by_key(c, idempotency_key)

    def list_orders(self, store: str | None = None, session: str | None = None, limit: int = 100) -> list[StoredOrder]:
        """Newest first."""
        where, args = [], []
        for column, value in (("store", store), ("session", session)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        sql = "SELECT * FROM orders" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY seq DESC LIMIT ?"
        with self._read() as c:
            return [_order(c, row) for row in c.execute(sql, (*args, limit)).fetchall()]

    # --- FAQ -----------------------------------------------------------------------------

    def upsert_faq(self, store: str, entries: Iterable[FaqEntry]) -> int:
        rows = [
            (store, e.id, e.category, json.dumps({k: list(v) for k, v in e.questions.items()}, ensure_ascii=False),
             json.dumps(e.answers, ensure_ascii=False))
            for e in entries
        ]
        with self._tx() as c:
            c.executemany(
                "INSERT INTO faq (store, id, category, questions, answers) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (store, id) DO UPDATE SET"
                " category = excluded.category, questions = excluded.questions, answers = excluded.answers",
                rows,
            )
        return len(rows)

    def get_faq(self, store: str, faq_id: str) -> FaqEntry | None:
        with self._read() as c:
            row = c.execute("SELECT * FROM faq WHERE store = ? AND id = ?", (store, faq_id)).fetchone()
        return None if row is None else faq_from_row(row)

    def list_faq(self, store: str) -> list[FaqEntry]:
        with self._read() as c:
            rows = c.execute("SELECT * FROM faq WHERE store = ? ORDER BY id", (store,)).fetchall()
        return [faq_from_row(row) for row in rows]


class SqliteStorage(DatabaseStorage):
    """``Storage`` in a SQLite file (``<data_dir>/voicegw.db``) or ``:memory:``."""

    def __init__(self, path: str | Path) -> None:
        from voicegw.db.sqlite import SqliteDatabase

        try:
            database = SqliteDatabase(path)
        except DatabaseError as err:
            raise BackendError("storage_failed", f"cannot open the database: {err}") from err
        super().__init__(database)


class PostgresStorage(DatabaseStorage):
    """``Storage`` in the PostgreSQL database a ``postgresql://`` URL names."""

    def __init__(self, url: str, *, max_connections: int = 8) -> None:
        from voicegw.db.postgres import PostgresDatabase

        try:
            database = PostgresDatabase(url, max_connections=max_connections)
        except DatabaseError as err:  # its message leaves the password out
            raise BackendError("storage_failed", str(err)) from err
        super().__init__(database)


class _SessionTurn:
    """``SessionTurn`` on the connection of an open transaction holding the session's lock."""

    def __init__(self, c: Connection, store: str, session: str) -> None:
        self._c, self.store, self.session = c, store, session
        row = c.execute("SELECT lines, currency, state FROM carts WHERE store = ? AND session = ?",
                        (store, session)).fetchone()
        self.cart = None if row is None else Cart(lines=load_lines(row["lines"]), currency=row["currency"])
        self.state = DialogueState() if row is None else DialogueState.model_validate_json(row["state"])

    def save(self, cart: Cart, state: DialogueState) -> None:
        if not cart.lines and state == DialogueState():  # nothing to remember: no row
            self._c.execute("DELETE FROM carts WHERE store = ? AND session = ?", (self.store, self.session))
            return
        self._c.execute(
            "INSERT INTO carts (store, session, lines, currency, updated_at, state) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (store, session) DO UPDATE SET lines = excluded.lines, currency = excluded.currency,"
            " updated_at = excluded.updated_at, state = excluded.state",
            (self.store, self.session, dump_lines(cart.lines), cart.currency, now_iso(), state.model_dump_json()),
        )

    def submit(self, channel: Channel, cart: Cart, idempotency_key: str | None) -> StoredOrder:
        if channel not in ("voice", "text"):
            raise BackendError("bad_channel", f"channel must be voice or text, not {channel!r}")
        done = _order_by_key(self._c, idempotency_key) if idempotency_key is not None else None
        if done is not None:
            return done
        if not cart.lines:
            raise BackendError("empty_cart", "cannot submit an empty cart", http_status=409)
        seq = next_order_number(self._c)
        order_id = f"A-{seq:04d}"
        self._c.execute(
            "INSERT INTO orders (seq, id, store, session, channel, total, currency, status, created_at, idempotency_key)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, 'submitted', ?, ?)",
            (seq, order_id, self.store, self.session, channel, cart.total, cart.currency, now_iso(), idempotency_key),
        )
        self._c.executemany(
            "INSERT INTO order_lines (order_id, position, item_id, name, quantity, options, unit_price)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(order_id, position, line.item_id, line.name, line.quantity,
              json.dumps([o.model_dump(mode="json") for o in line.options], ensure_ascii=False), line.unit_price)
             for position, line in enumerate(cart.lines)],
        )
        self._c.execute("DELETE FROM carts WHERE store = ? AND session = ?", (self.store, self.session))
        row = self._c.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
        return _order(self._c, row)

    def find_order_by_key(self, idempotency_key: str) -> StoredOrder | None:
        return _order_by_key(self._c, idempotency_key)

    def last_order_id(self) -> str | None:
        row = self._c.execute("SELECT id FROM orders WHERE store = ? AND session = ? ORDER BY seq DESC LIMIT 1",
                              (self.store, self.session)).fetchone()
        return None if row is None else row["id"]

    def find_reply(self, key: str) -> TurnReply | None:
        row = self._c.execute("SELECT digest, response FROM turn_replies WHERE key = ?", (key,)).fetchone()
        return None if row is None else TurnReply(row["digest"], row["response"])

    def save_reply(self, key: str, digest: str, response: str) -> None:
        now = datetime.now(timezone.utc)
        self._c.execute("DELETE FROM turn_replies WHERE created_at < ?",
                        ((now - REPLY_RETENTION).isoformat(timespec="milliseconds"),))
        self._c.execute(
            "INSERT INTO turn_replies (key, store, session, digest, response, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (key, self.store, self.session, digest, response, now.isoformat(timespec="milliseconds")),
        )


def _order_by_key(c: Connection, key: str) -> StoredOrder | None:
    row = c.execute("SELECT * FROM orders WHERE idempotency_key = ?", (key,)).fetchone()
    return None if row is None else _order(c, row)


def _order(c: Connection, row: Row) -> StoredOrder:
    lines = c.execute(
        "SELECT item_id, name, quantity, options, unit_price FROM order_lines WHERE order_id = ? ORDER BY position",
        (row["id"],),
    ).fetchall()
    return StoredOrder(**{k: row[k] for k in row.keys() if k != "seq"},
                       lines=tuple(OrderLine.model_validate({**dict(r), "options": json.loads(r["options"])}) for r in lines))
