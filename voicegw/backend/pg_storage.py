"""The skill server's ``Storage`` in PostgreSQL (psycopg 3 and its connection pool), so that
gateways on several hosts share sessions, carts and orders.

The same guarantees as the SQLite store, kept the PostgreSQL way:

- one transaction per session turn, and turns of one session one after the other, from any
  process on any host: the turn takes a transaction-scoped advisory lock on its (store, session)
  before it reads the cart, so a second gateway's turn waits instead of both reading the old cart;
- an order is stored once per idempotency key (a unique column; the retry finds the first);
- order numbers come from a sequence, unique across gateways.

Times are the same ISO 8601 UTC text as in SQLite, so the two stores' rows compare alike.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from voicegw.backend.records import FaqEntry, StoredOrder
from voicegw.backend.skill import Channel
from voicegw.backend.storage import REPLY_RETENTION, SessionTurn, TurnReply, dump_lines, faq_from_row, load_lines, now_iso
from voicegw.dialogue.cart import Cart
from voicegw.dialogue.state import DialogueState
from voicegw.db.postgres import without_password
from voicegw.errors import BackendError
from voicegw.nlu.types import OrderLine

SCHEMA_VERSION = 3
_MIGRATION_LOCK = 7_311_002  # the advisory lock two gateways starting at once take for migrating

_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE faq (
        store TEXT NOT NULL,
        id TEXT NOT NULL,
        category TEXT NOT NULL DEFAULT '',
        questions TEXT NOT NULL,
        answers TEXT NOT NULL,
        PRIMARY KEY (store, id)
    );
    CREATE TABLE carts (
        store TEXT NOT NULL,
        session TEXT NOT NULL,
        lines TEXT NOT NULL,
        currency TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (store, session)
    );
    CREATE SEQUENCE order_numbers;
    CREATE TABLE orders (
        seq BIGINT PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        store TEXT NOT NULL,
        session TEXT NOT NULL,
        channel TEXT NOT NULL CHECK (channel IN ('voice', 'text')),
        total BIGINT NOT NULL,
        currency TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        idempotency_key TEXT UNIQUE
    );
    CREATE INDEX orders_store_session ON orders (store, session);
    CREATE TABLE order_lines (
        order_id TEXT NOT NULL REFERENCES orders (id),
        position INTEGER NOT NULL,
        item_id TEXT NOT NULL,
        name TEXT NOT NULL,
        quantity INTEGER NOT NULL,
        options TEXT NOT NULL,
        unit_price BIGINT NOT NULL,
        PRIMARY KEY (order_id, position)
    )
    """,
    2: "ALTER TABLE carts ADD COLUMN state TEXT NOT NULL DEFAULT '{}'",
    3: """
    CREATE TABLE turn_replies (
        key TEXT PRIMARY KEY,
        store TEXT NOT NULL,
        session TEXT NOT NULL,
        digest TEXT NOT NULL,
        response TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX turn_replies_created ON turn_replies (created_at)
    """,
}


class PostgresStorage:
    """``Storage`` on a PostgreSQL database named by a ``postgresql://`` URL (blocking calls)."""

    def __init__(self, url: str, *, max_connections: int = 8) -> None:
        self._pool = ConnectionPool(url, min_size=1, max_size=max_connections, open=False, timeout=10,
                                    kwargs={"row_factory": dict_row, "autocommit": False})
        try:
            self._pool.open(wait=True, timeout=10)
        except psycopg.Error as err:  # the pool's timeout is one too
            self._pool.close()  # else its workers would go on trying to connect
            raise BackendError("storage_failed", f"cannot reach PostgreSQL: {without_password(err)}") from err
        self._migrate()

    def close(self) -> None:
        self._pool.close()

    @contextmanager
    def _tx(self) -> Iterator[psycopg.Connection]:
        """One transaction: committed at the end of the block, rolled back if it raises; a
        database failure surfaces as ``storage_failed``."""
        try:
            with self._pool.connection() as conn, conn.transaction():
                yield conn
        except psycopg.Error as err:
            raise BackendError("storage_failed", f"the database write failed: {err}") from err

    def _migrate(self) -> None:
        with self._tx() as c:
            c.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            c.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            current = c.execute("SELECT COALESCE(MAX(version), 0) AS v FROM schema_version").fetchone()["v"]
            for version in sorted(v for v in _MIGRATIONS if v > current):
                for statement in _MIGRATIONS[version].split(";"):
                    if statement.strip():
                        c.execute(statement)
                c.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))

    def schema_version(self) -> int:
        with self._tx() as c:
            return c.execute("SELECT MAX(version) AS v FROM schema_version").fetchone()["v"]

    # --- one turn of a session ------------------------------------------------------------

    @contextmanager
    def session_turn(self, store: str, session: str) -> Iterator[SessionTurn]:
        """The session's cart and state, with the session's lock held until the block commits."""
        with self._tx() as c:
            c.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (json.dumps([store, session]),))
            yield _PgSessionTurn(c, store, session)

    # --- carts ---------------------------------------------------------------------------

    def get_cart(self, store: str, session: str) -> Cart | None:
        with self._tx() as c:
            row = c.execute("SELECT lines, currency FROM carts WHERE store = %s AND session = %s", (store, session)).fetchone()
        return None if row is None else Cart(lines=load_lines(row["lines"]), currency=row["currency"])

    def save_cart(self, store: str, session: str, cart: Cart) -> None:
        with self._tx() as c:
            c.execute(
                "INSERT INTO carts (store, session, lines, currency, updated_at) VALUES (%s, %s, %s, %s, %s)"
                " ON CONFLICT (store, session) DO UPDATE SET"
                " lines = excluded.lines, currency = excluded.currency, updated_at = excluded.updated_at",
                (store, session, dump_lines(cart.lines), cart.currency, now_iso()),
            )

    def clear_cart(self, store: str, session: str) -> None:
        with self._tx() as c:
            c.execute("DELETE FROM carts WHERE store = %s AND session = %s", (store, session))

    # --- orders --------------------------------------------------------------------------

    def submit_order(
        self, store: str, session: str, channel: Channel, cart: Cart, idempotency_key: str | None = None
    ) -> StoredOrder:
        """Write the order and its lines and clear the cart in one transaction; a repeated
        ``idempotency_key`` returns the order stored the first time."""
        with self.session_turn(store, session) as turn:
            return turn.submit(channel, cart, idempotency_key)

    def get_order(self, order_id: str) -> StoredOrder | None:
        with self._tx() as c:
            row = c.execute("SELECT * FROM orders WHERE id = %s", (order_id,)).fetchone()
            return None if row is None else _order(c, row)

    def find_order_by_key(self, idempotency_key: str) -> StoredOrder | None:
        with self._tx() as c:
            return _order_by_key(c, idempotency_key)

    def list_orders(self, store: str | None = None, session: str | None = None, limit: int = 100) -> list[StoredOrder]:
        """Newest first."""
        where, args = [], []
        for column, value in (("store", store), ("session", session)):
            if value is not None:
                where.append(f"{column} = %s")
                args.append(value)
        sql = "SELECT * FROM orders" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY seq DESC LIMIT %s"
        with self._tx() as c:
            return [_order(c, r) for r in c.execute(sql, (*args, limit)).fetchall()]

    # --- FAQ -----------------------------------------------------------------------------

    def upsert_faq(self, store: str, entries: Iterable[FaqEntry]) -> int:
        rows = [
            (store, e.id, e.category, json.dumps({k: list(v) for k, v in e.questions.items()}, ensure_ascii=False),
             json.dumps(e.answers, ensure_ascii=False))
            for e in entries
        ]
        with self._tx() as c:
            c.cursor().executemany(
                "INSERT INTO faq (store, id, category, questions, answers) VALUES (%s, %s, %s, %s, %s)"
                " ON CONFLICT (store, id) DO UPDATE SET"
                " category = excluded.category, questions = excluded.questions, answers = excluded.answers",
                rows,
            )
        return len(rows)

    def get_faq(self, store: str, faq_id: str) -> FaqEntry | None:
        with self._tx() as c:
            row = c.execute("SELECT * FROM faq WHERE store = %s AND id = %s", (store, faq_id)).fetchone()
        return None if row is None else faq_from_row(row)

    def list_faq(self, store: str) -> list[FaqEntry]:
        with self._tx() as c:
            rows = c.execute("SELECT * FROM faq WHERE store = %s ORDER BY id", (store,)).fetchall()
        return [faq_from_row(r) for r in rows]


class _PgSessionTurn:
    """``SessionTurn`` on the connection of an open transaction holding the session's lock."""

    def __init__(self, c: psycopg.Connection, store: str, session: str) -> None:
        self._c, self.store, self.session = c, store, session
        row = c.execute("SELECT lines, currency, state FROM carts WHERE store = %s AND session = %s",
                        (store, session)).fetchone()
        self.cart = None if row is None else Cart(lines=load_lines(row["lines"]), currency=row["currency"])
        self.state = DialogueState() if row is None else DialogueState.model_validate_json(row["state"])

    def save(self, cart: Cart, state: DialogueState) -> None:
        if not cart.lines and state == DialogueState():  # nothing to remember: no row
            self._c.execute("DELETE FROM carts WHERE store = %s AND session = %s", (self.store, self.session))
            return
        self._c.execute(
            "INSERT INTO carts (store, session, lines, currency, updated_at, state) VALUES (%s, %s, %s, %s, %s, %s)"
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
        seq = self._c.execute("SELECT nextval('order_numbers') AS n").fetchone()["n"]
        order_id = f"A-{seq:04d}"
        self._c.execute(
            "INSERT INTO orders (seq, id, store, session, channel, total, currency, status, created_at, idempotency_key)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, 'submitted', %s, %s)",
            (seq, order_id, self.store, self.session, channel, cart.total, cart.currency, now_iso(), idempotency_key),
        )
        self._c.cursor().executemany(
            "INSERT INTO order_lines (order_id, position, item_id, name, quantity, options, unit_price)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [(order_id, position, line.item_id, line.name, line.quantity,
              json.dumps([o.model_dump(mode="json") for o in line.options], ensure_ascii=False), line.unit_price)
             for position, line in enumerate(cart.lines)],
        )
        self._c.execute("DELETE FROM carts WHERE store = %s AND session = %s", (self.store, self.session))
        row = self._c.execute("SELECT * FROM orders WHERE id = %s", (order_id,)).fetchone()
        return _order(self._c, row)

    def find_order_by_key(self, idempotency_key: str) -> StoredOrder | None:
        return _order_by_key(self._c, idempotency_key)

    def last_order_id(self) -> str | None:
        row = self._c.execute("SELECT id FROM orders WHERE store = %s AND session = %s ORDER BY seq DESC LIMIT 1",
                              (self.store, self.session)).fetchone()
        return None if row is None else row["id"]

    def find_reply(self, key: str) -> TurnReply | None:
        row = self._c.execute("SELECT digest, response FROM turn_replies WHERE key = %s", (key,)).fetchone()
        return None if row is None else TurnReply(row["digest"], row["response"])

    def save_reply(self, key: str, digest: str, response: str) -> None:
        now = datetime.now(timezone.utc)
        self._c.execute("DELETE FROM turn_replies WHERE created_at < %s",
                        ((now - REPLY_RETENTION).isoformat(timespec="milliseconds"),))
        self._c.execute(
            "INSERT INTO turn_replies (key, store, session, digest, response, created_at) VALUES (%s, %s, %s, %s, %s, %s)",
            (key, self.store, self.session, digest, response, now.isoformat(timespec="milliseconds")),
        )


def _order_by_key(c: psycopg.Connection, key: str) -> StoredOrder | None:
    row = c.execute("SELECT * FROM orders WHERE idempotency_key = %s", (key,)).fetchone()
    return None if row is None else _order(c, row)


def _order(c: psycopg.Connection, row: dict[str, Any]) -> StoredOrder:
    lines = c.execute(
        "SELECT item_id, name, quantity, options, unit_price FROM order_lines WHERE order_id = %s ORDER BY position",
        (row["id"],),
    ).fetchall()
    return StoredOrder(**{k: v for k, v in row.items() if k != "seq"},
                       lines=tuple(OrderLine.model_validate({**r, "options": json.loads(r["options"])}) for r in lines))

