"""The audit log: who read, exported or deleted whose personal data, and when.

Rows are only ever added. Triggers (schema.py; SQLite and PostgreSQL alike) abort any UPDATE,
and any DELETE except the retention purge's, which names its cutoff in ``audit_purge`` inside its
own transaction (on PostgreSQL, no other transaction sees that row); the triggers stop the
application and careless hands, not someone who owns the database.

The subject is written as a keyed pseudonym of the user id (HMAC-SHA256 with a random salt kept
in the database), never the id itself: deleting a user leaves no row that names them, while
``entries_for(user)`` still finds who looked at their data for as long as the log keeps it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from voicegw.db import Connection
from voicegw.privacy.store import PrivacyStore, iso, utcnow


@dataclass(frozen=True)
class Actor:
    """Who acted: an API key's name and role, the command line, or the keyless development mode."""

    name: str
    role: str


CLI_ACTOR = Actor("cli", "operator")
DEV_ACTOR = Actor("dev", "dev")


def actor_of(client: Any) -> Actor:
    """The ``Client`` the auth middleware set on the request (scopes.py), else the dev actor."""
    if client is None:
        return DEV_ACTOR
    return Actor(str(getattr(client, "name", "unknown")), str(getattr(client, "role", "unknown")))


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: str
    actor: str
    role: str
    action: str
    """``user.export``, ``user.delete``, ``contact.read``, ``data.purge``, ``keys.rotate``."""
    subject: str | None
    """Pseudonym of the user concerned (see ``pseudonym``)."""
    detail: dict[str, Any]


def pseudonym(c: Connection, user: str) -> str:
    salt = bytes(c.execute("SELECT value FROM privacy_meta WHERE name = 'pseudonym_salt'").fetchone()[0])
    return "u-" + hmac.new(salt, user.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def record(
    c: Connection, actor: Actor, action: str, user: str | None = None,
    detail: dict[str, Any] | None = None, now: datetime | None = None,
) -> int:
    """Append one row on an open transaction (so the audited change and its row commit together)."""
    subject = None if user is None else pseudonym(c, user)
    return c.insert(
        "INSERT INTO audit_log (at, actor, role, action, subject, detail) VALUES (?, ?, ?, ?, ?, ?)",
        (iso(now or utcnow()), actor.name, actor.role, action, subject, json.dumps(detail or {}, ensure_ascii=False)),
    )


def audit(
    privacy: PrivacyStore, actor: Actor, action: str, user: str | None = None,
    detail: dict[str, Any] | None = None, now: datetime | None = None,
) -> int:
    """Append one row in its own transaction. Callers write it before showing what was read: a
    read that cannot be logged is not shown."""
    with privacy.tx() as c:
        return record(c, actor, action, user, detail, now)


def entries(privacy: PrivacyStore, user: str | None = None, limit: int = 1000) -> list[AuditEntry]:
    """Newest first; only the rows about ``user`` when given."""
    with privacy.read() as c:
        if user is None:
            rows = c.execute("SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        else:
            rows = c.execute(
                "SELECT * FROM audit_log WHERE subject = ? ORDER BY id DESC LIMIT ?", (pseudonym(c, user), limit)
            ).fetchall()
    return [AuditEntry(**{**dict(r), "detail": json.loads(r["detail"])}) for r in rows]
