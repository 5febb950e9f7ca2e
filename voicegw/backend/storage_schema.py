"""The skill server's tables, as migrations per database (``voicegw.db.migrate`` runs them).

The two lists differ only where the databases do: SQLite numbers orders with an AUTOINCREMENT
key under its one write lock, PostgreSQL with a sequence that gateways on several hosts share.
Times are ISO 8601 UTC text in both, so the two stores' rows compare alike.
"""

from __future__ import annotations

from collections.abc import Mapping

from voicegw.db import Connection, Dialect, Migration

SCHEMA_VERSION = 3

_SQLITE: dict[int, str] = {
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
    2: "ALTER TABLE carts ADD COLUMN state TEXT NOT NULL DEFAULT '{}';",
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

_POSTGRESQL: dict[int, str] = {
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
    );
    """,
    2: "ALTER TABLE carts ADD COLUMN state TEXT NOT NULL DEFAULT '{}';",
    3: """
    CREATE TABLE turn_replies (
        key TEXT PRIMARY KEY,
        store TEXT NOT NULL,
        session TEXT NOT NULL,
        digest TEXT NOT NULL,
        response TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX turn_replies_created ON turn_replies (created_at);
    """,
}


def _run(sql: str) -> Migration:
    return lambda c: c.script(sql)


MIGRATIONS: Mapping[Dialect, Mapping[int, Migration]] = {
    "sqlite": {version: _run(sql) for version, sql in _SQLITE.items()},
    "postgresql": {version: _run(sql) for version, sql in _POSTGRESQL.items()},
}


def next_order_number(c: Connection) -> int:
    """A number no other order has, inside the transaction that stores the order."""
    if c.dialect == "postgresql":
        return int(c.execute("SELECT nextval('order_numbers')").fetchone()[0])
    # SQLite: the transaction holds the database's one write lock, so no one else counts meanwhile.
    return int(c.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM orders").fetchone()[0])
