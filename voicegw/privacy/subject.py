"""A user's rights over their data: export everything kept about them, or delete it.

The user is the session id (Open Builder's user.id). Every table with a ``session`` column is
searched (found in the database's catalogue, SQLite or PostgreSQL), so a table added later is
exported and deleted without being listed here; that includes the reference skill server's carts,
orders and turn replies wherever they share the database.

Deletion removes the user's rows everywhere, except that submitted orders are business records
(sales totals, tax): they are kept with the user detached (session set to ``erased``, the
client's idempotency key cleared). Order lines hold items, quantities and prices only, not
what the customer said, so they stay with their order. The audit log names users only by
pseudonym (audit.py), and the delete itself is audited.
"""

from __future__ import annotations

import json
from typing import Any

from voicegw.db import Connection, Row
from voicegw.privacy.audit import Actor, entries, record
from voicegw.privacy.store import PrivacyStore

ERASED = "erased"
"""What a deleted user's orders name as their session."""

# Handled below by name; any other table with a ``session`` column is exported and deleted as is.
_SPECIAL = {"orders", "carts", "contacts", "retained_audio"}


def _session_tables(c: Connection) -> list[str]:
    """Tables with a ``session`` column; those others refer to (consents) last, so a delete
    reaches the referring rows (contacts, audio) itself rather than through a cascade."""
    tables = [t for t in c.tables() if "session" in c.columns(t)]
    referred = {r for t in tables for r in c.foreign_keys(t)}
    return sorted(tables, key=lambda t: t in referred)


def _in_order(c: Connection, table: str) -> str:
    """The order rows were written in: by ``id`` where the table has one."""
    return '"id"' if "id" in c.columns(table) else c.row_id


def _plain(row: Row) -> dict[str, Any]:
    """A row without its encrypted or binary columns."""
    return {k: row[k] for k in row.keys() if not isinstance(row[k], (bytes, memoryview)) and not k.endswith("_enc")}


def export_user(privacy: PrivacyStore, user: str) -> dict[str, Any]:
    """Everything kept about ``user``, contacts decrypted, audio as metadata (not the clips)."""
    with privacy.read() as c:
        tables = _session_tables(c)
        out: dict[str, Any] = {"user": user}
        if "carts" in tables:
            out["carts"] = [
                {**_plain(r), "lines": json.loads(r["lines"]), "state": json.loads(r["state"]) if "state" in r.keys() else {}}
                for r in c.execute("SELECT * FROM carts WHERE session = ?", (user,))
            ]
        if "orders" in tables:
            out["orders"] = [_order(c, r) for r in c.execute("SELECT * FROM orders WHERE session = ? ORDER BY seq", (user,))]
        contact_rows = c.execute("SELECT * FROM contacts WHERE session = ? ORDER BY id", (user,)).fetchall()
        out["retained_audio"] = [_plain(r) for r in c.execute("SELECT * FROM retained_audio WHERE session = ? ORDER BY id", (user,))]
        for table in tables:
            if table not in _SPECIAL:
                out[table] = [_plain(r) for r in c.execute(
                    f'SELECT * FROM "{table}" WHERE session = ? ORDER BY {_in_order(c, table)}', (user,))]
    out["contacts"] = [
        {"order_id": ct.order_id, "store": ct.store, "phone": ct.phone, "address": ct.address,
         "created_at": ct.created_at, "expires_at": ct.expires_at}
        for ct in map(privacy.contact_from_row, contact_rows)
    ]
    out["audit"] = [
        {"at": e.at, "actor": e.actor, "role": e.role, "action": e.action, "detail": e.detail}
        for e in entries(privacy, user)
    ]
    return out


def _order(c: Connection, row: Row) -> dict[str, Any]:
    order = {k: row[k] for k in row.keys() if k not in ("seq", "idempotency_key")}
    lines = c.execute("SELECT * FROM order_lines WHERE order_id = ? ORDER BY position", (row["id"],)).fetchall()
    order["lines"] = [{**dict(r), "options": json.loads(r["options"])} for r in lines]
    return order


def delete_user(privacy: PrivacyStore, user: str, actor: Actor) -> dict[str, int]:
    """Delete ``user``'s data from every table (orders detached, not deleted), audited in the same
    transaction; rows affected per table."""
    counts: dict[str, int] = {}
    with privacy.tx() as c:
        c.lock("privacy", user)  # the user's writes in flight land before, or after and alone
        for table in _session_tables(c):
            if table == "orders":
                counts["orders_detached"] = c.execute(
                    "UPDATE orders SET session = ?, idempotency_key = NULL WHERE session = ?", (ERASED, user)
                ).rowcount
            else:
                counts[table] = c.execute(f'DELETE FROM "{table}" WHERE session = ?', (user,)).rowcount
        record(c, actor, "user.delete", user, {k: v for k, v in counts.items() if v})
    privacy.checkpoint()  # SQLite: the write-ahead log's old pages still hold the deleted rows
    return counts
