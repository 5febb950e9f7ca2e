"""FAQ entries, carts and orders: the ``Storage`` interface and its SQLite implementation.

Every method is blocking; async callers use ``asyncio.to_thread``. The SQLite store holds one
connection behind a lock (safe from any thread) in WAL mode, so readers in other processes are
not blocked by a writer. A PostgreSQL store implements the same ``Storage`` protocol.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Protocol

from voicegw.backend.records import FaqEntry, StoredOrder
from voicegw.backend.skill import Channel
from voicegw.database import open_database, write_transaction
from voicegw.dialogue.cart import Cart
from voicegw.dialogue.state import DialogueState
from voicegw.errors import BackendError
from voicegw.nlu.types import OrderLine

SCHEMA_VERSION = 3

_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE IF NOT EXISTS faq (
        store TEXT NOT NULL,
        id TEXT NOT NULL,
        category TEXT NOT NULL DEFAULT '',
        questions TEXT NOT NULL,   -- JSON {lang: [question, ...]}
        answers TEXT NOT NULL,     -- JSON {lang: answer}
        PRIMARY KEY (store, id)
    );
    CREATE TABLE IF NOT EXISTS carts (
        store TEXT NOT NULL,
        session TEXT NOT NULL,
        lines TEXT NOT NULL,       -- JSON [OrderLine]
        currency TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (store, session)
    );
    CREATE TABLE IF NOT EXISTS orders (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        store TEXT NOT NULL,
        session TEXT NOT NULL,
        channel TEXT NOT NULL CHECK (channel IN ('voice', 'text')),
        total INTEGER NOT NULL,
        currency TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        idempotency_key TEXT UNIQUE
    );
    CREATE INDEX IF NOT EXISTS orders_store_session ON orders (store, session);
    CREATE TABLE IF NOT EXISTS order_lines (
        order_id TEXT NOT NULL REFERENCES orders (id),
        position INTEGER NOT NULL,
        item_id TEXT NOT NULL,
        name TEXT NOT NULL,
        quantity INTEGER NOT NULL,
        options TEXT NOT NULL,     -- JSON [LineOption]
        unit_price INTEGER NOT NULL,
        PRIMARY KEY (order_id, position)
    );
    """,
    # The dialogue state (a question asked, the failure streak, a hand-off) lives beside the cart.
    2: """
    ALTER TABLE carts ADD COLUMN state TEXT NOT NULL DEFAULT '{}';
    """,
    # The answer to each turn sent with an idempotency key, so a retry is answered, not applied again.
    3: """
    CREATE TABLE IF NOT EXISTS turn_replies (
        key TEXT PRIMARY KEY,      -- scoped: sha256 of (store, session, the client's key)
        store TEXT NOT NULL,
        session TEXT NOT NULL,
        digest TEXT NOT NULL,      -- what the client sent, hashed: the same key with another body is refused
        response TEXT NOT NULL,    -- the skill response JSON answered the first time
        created_at TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS turn_replies_created ON turn_replies (created_at);
    """,
}

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


class SqliteStorage:
    """SQLite ``Storage``; ``path`` is a file (``<data_dir>/voicegw.db``) or ``:memory:``."""

    def __init__(self, path: str | Path) -> None:
        self._conn = open_database(path)
        self._lock = threading.RLock()
        with self._lock:
            self._migrate()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; BEGIN IMMEDIATE takes the write lock up front (no upgrade races).
        Any database failure rolls everything back and surfaces as ``storage_failed``."""
        with self._lock:
            try:
                with write_transaction(self._conn) as c:
                    yield c
            except sqlite3.Error as err:
                raise BackendError("storage_failed", f"the database write failed: {err}") from err

    def _migrate(self) -> None:
        with self._tx() as c:
            c.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = c.execute("SELECT MAX(version) FROM schema_version").fetchone()
            current = row[0] or 0
            for version in sorted(v for v in _MIGRATIONS if v > current):
                for statement in _MIGRATIONS[version].split(";"):
                    if statement.strip():
                        c.execute(statement)
                c.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))

    def schema_version(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]

    # --- one turn of a session ------------------------------------------------------------

    @contextmanager
    def session_turn(self, store: str, session: str) -> Iterator[SessionTurn]:
        """The session's cart and dialogue state under the database write lock (BEGIN
        IMMEDIATE) until the block ends: turns of one session, from any thread or process, run
        one after the other and commit all or nothing."""
        with self._tx() as c:
            yield _SqliteSessionTurn(self, c, store, session)

    # --- carts ---------------------------------------------------------------------------

    def get_cart(self, store: str, session: str) -> Cart | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT lines, currency FROM carts WHERE store = ? AND session = ?", (store, session)
            ).fetchone()
        if row is None:
            return None
        return Cart(lines=load_lines(row["lines"]), currency=row["currency"])

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
        """Write the order and its lines and clear the cart in one transaction.

        A repeated ``idempotency_key`` returns the order stored the first time (a retried
        confirm must not order twice), whatever the cart holds now.
        """
        if channel not in ("voice", "text"):
            raise BackendError("bad_channel", f"channel must be voice or text, not {channel!r}")
        if idempotency_key is not None:
            existing = self.find_order_by_key(idempotency_key)
            if existing is not None:
                return existing
        if not cart.lines:
            raise BackendError("empty_cart", "cannot submit an empty cart", http_status=409)
        with self._tx() as c:
            # Checked again under the write lock: another process may have won meanwhile.
            row = (
                c.execute("SELECT id FROM orders WHERE idempotency_key = ?", (idempotency_key,)).fetchone()
                if idempotency_key is not None
                else None
            )
            order_id = row["id"] if row is not None else self._insert_order(
                c, store, session, channel, cart, idempotency_key
            )
        order = self.get_order(order_id)
        assert order is not None
        return order

    def _insert_order(
        self, c: sqlite3.Connection, store: str, session: str, channel: str, cart: Cart, key: str | None
    ) -> str:
        seq = c.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM orders").fetchone()[0]
        order_id = f"A-{seq:04d}"
        c.execute(
            "INSERT INTO orders (seq, id, store, session, channel, total, currency, status, created_at, idempotency_key)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, 'submitted', ?, ?)",
            (seq, order_id, store, session, channel, cart.total, cart.currency, now_iso(), key),
        )
        c.executemany(
            "INSERT INTO order_lines (order_id, position, item_id, name, quantity, options, unit_price)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    order_id,
                    position,
                    line.item_id,
                    line.name,
                    line.quantity,
                    json.dumps([o.model_dump(mode="json") for o in line.options], ensure_ascii=False),
                    line.unit_price,
                )
                for position, line in enumerate(cart.lines)
            ],
        )
        c.execute("DELETE FROM carts WHERE store = ? AND session = ?", (store, session))
        return order_id

    def _order_from_row(self, row: sqlite3.Row) -> StoredOrder:
        line_rows = self._conn.execute(
            "SELECT item_id, name, quantity, options, unit_price FROM order_lines WHERE order_id = ? ORDER BY position",
            (row["id"],),
        ).fetchall()
        lines = tuple(OrderLine.model_validate({**dict(r), "options": json.loads(r["options"])}) for r in line_rows)
        return StoredOrder(**{k: row[k] for k in row.keys() if k != "seq"}, lines=lines)

    def get_order(self, order_id: str) -> StoredOrder | None:
        with self._lock:
            row = self._conn.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
            return None if row is None else self._order_from_row(row)

    def find_order_by_key(self, idempotency_key: str) -> StoredOrder | None:
        with self._lock:
            row = self._conn.execute("SELECT * FROM orders WHERE idempotency_key = ?", (idempotency_key,)).fetchone()
            return None if row is None else self._order_from_row(row)

    def list_orders(self, store: str | None = None, session: str | None = None, limit: int = 100) -> list[StoredOrder]:
        """Newest first."""
        where, args = [], []
        for column, value in (("store", store), ("session", session)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        sql = "SELECT * FROM orders" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY seq DESC LIMIT ?"
        with self._lock:
            rows = self._conn.execute(sql, (*args, limit)).fetchall()
            return [self._order_from_row(r) for r in rows]

    # --- FAQ -----------------------------------------------------------------------------

    def upsert_faq(self, store: str, entries: Iterable[FaqEntry]) -> int:
        rows = [
            (
                store,
                e.id,
                e.category,
                json.dumps({k: list(v) for k, v in e.questions.items()}, ensure_ascii=False),
                json.dumps(e.answers, ensure_ascii=False),
            )
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
        with self._lock:
            row = self._conn.execute("SELECT * FROM faq WHERE store = ? AND id = ?", (store, faq_id)).fetchone()
        return None if row is None else faq_from_row(row)

    def list_faq(self, store: str) -> list[FaqEntry]:
        with self._lock:
            rows = self._conn.execute("SELECT * FROM faq WHERE store = ? ORDER BY id", (store,)).fetchall()
        return [faq_from_row(r) for r in rows]


class _SqliteSessionTurn:
    """``SessionTurn`` on the connection of an open transaction."""

    def __init__(self, storage: SqliteStorage, c: sqlite3.Connection, store: str, session: str) -> None:
        self._storage, self._c, self.store, self.session = storage, c, store, session
        row = c.execute("SELECT lines, currency, state FROM carts WHERE store = ? AND session = ?", (store, session)).fetchone()
        self.cart = None if row is None else Cart(
            lines=load_lines(row["lines"]), currency=row["currency"]
        )
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
        done = self.find_order_by_key(idempotency_key) if idempotency_key is not None else None
        if done is not None:
            return done
        order_id = self._storage._insert_order(self._c, self.store, self.session, channel, cart, idempotency_key)
        row = self._c.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
        return self._storage._order_from_row(row)

    def find_order_by_key(self, idempotency_key: str) -> StoredOrder | None:
        row = self._c.execute("SELECT * FROM orders WHERE idempotency_key = ?", (idempotency_key,)).fetchone()
        return None if row is None else self._storage._order_from_row(row)

    def last_order_id(self) -> str | None:
        row = self._c.execute(
            "SELECT id FROM orders WHERE store = ? AND session = ? ORDER BY seq DESC LIMIT 1", (self.store, self.session)
        ).fetchone()
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
