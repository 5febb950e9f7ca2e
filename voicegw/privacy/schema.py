"""The privacy tables and their migrations.

They carry their own schema version (``privacy_schema``) rather than a migration in
``backend/storage.py``: the audit log's append-only triggers have ``BEGIN ...; END`` bodies that
the shared runner (which splits scripts on ``;``) cannot carry; the tables must also exist when
the orders live on an external skill server (no storage.py schema in this database); and the
privacy code owns them. Scripts are split here with ``sqlite3.complete_statement``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE privacy_meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
    -- Keys the audit log's pseudonyms of users (audit.py): the log names no user in clear.
    INSERT INTO privacy_meta (name, value) VALUES ('pseudonym_salt', randomblob(32));
    CREATE TABLE consents (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        store TEXT NOT NULL,
        session TEXT NOT NULL,
        purpose TEXT NOT NULL CHECK (purpose IN ('audio_qa', 'delivery_contact')),
        granted_at TEXT NOT NULL,
        retention_days INTEGER NOT NULL CHECK (retention_days >= 0),
        withdrawn_at TEXT
    );
    CREATE UNIQUE INDEX consents_active ON consents (store, session, purpose) WHERE withdrawn_at IS NULL;
    CREATE INDEX consents_session ON consents (session);
    CREATE TABLE contacts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        store TEXT NOT NULL,
        session TEXT NOT NULL,
        order_id TEXT NOT NULL,
        consent_id INTEGER NOT NULL REFERENCES consents (id) ON DELETE CASCADE,
        phone_enc BLOB NOT NULL,
        address_enc BLOB NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    CREATE INDEX contacts_order ON contacts (order_id);
    CREATE INDEX contacts_session ON contacts (session);
    CREATE TABLE retained_audio (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        store TEXT NOT NULL,
        session TEXT NOT NULL,
        consent_id INTEGER NOT NULL REFERENCES consents (id) ON DELETE CASCADE,
        content_type TEXT,
        size_bytes INTEGER NOT NULL,
        clip_enc BLOB NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    CREATE INDEX retained_audio_session ON retained_audio (session);
    CREATE TABLE turn_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        store TEXT NOT NULL,
        session TEXT NOT NULL,
        at TEXT NOT NULL,
        language TEXT NOT NULL,
        transcript TEXT NOT NULL,   -- redacted (privacy/redact.py) before it is written
        intent TEXT,
        status TEXT NOT NULL,
        reason TEXT
    );
    CREATE INDEX turn_log_session ON turn_log (session);
    CREATE INDEX turn_log_at ON turn_log (at);
    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,        -- the API key's name, or cli / dev
        role TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT,               -- a pseudonym of the user (audit.py), never the id itself
        detail TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX audit_log_subject ON audit_log (subject);
    -- While a row here says so, inside the purge's own transaction, rows older than ``before`` may go.
    CREATE TABLE audit_purge (before TEXT NOT NULL);
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN
        SELECT RAISE(ABORT, 'audit_log is append-only');
    END;
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    WHEN NOT EXISTS (SELECT 1 FROM audit_purge WHERE OLD.at < audit_purge.before)
    BEGIN
        SELECT RAISE(ABORT, 'audit_log rows are removed only by the retention purge');
    END;
    """,
    # Chat-log analysis (voicegw/analytics): what each turn did, beside what was said; and who
    # heard which variant of an A/B-tested reply (voicegw/experiments), once per phase.
    2: """
    ALTER TABLE turn_log ADD COLUMN channel TEXT NOT NULL DEFAULT 'text';
    ALTER TABLE turn_log ADD COLUMN confidence REAL;          -- the intent's
    ALTER TABLE turn_log ADD COLUMN asr_confidence REAL;      -- voice: exp(avg_logprob) of the reading acted on
    ALTER TABLE turn_log ADD COLUMN latency_ms INTEGER;
    ALTER TABLE turn_log ADD COLUMN faq TEXT;                 -- the FAQ entry answered
    ALTER TABLE turn_log ADD COLUMN order_id TEXT;            -- the order this turn placed
    ALTER TABLE turn_log ADD COLUMN added INTEGER NOT NULL DEFAULT 0;   -- order lines this turn put in the cart
    ALTER TABLE turn_log ADD COLUMN handoff INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE turn_log ADD COLUMN sentiment TEXT NOT NULL DEFAULT 'neutral';
    ALTER TABLE turn_log ADD COLUMN reply_kind TEXT;
    CREATE INDEX turn_log_store_at ON turn_log (store, at);
    CREATE TABLE experiment_exposures (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        experiment TEXT NOT NULL,
        phase TEXT NOT NULL,
        variant TEXT NOT NULL,
        store TEXT NOT NULL,
        session TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE UNIQUE INDEX experiment_exposures_once ON experiment_exposures (experiment, phase, store, session);
    CREATE INDEX experiment_exposures_session ON experiment_exposures (session);
    """,
}


def _statements(script: str) -> Iterator[str]:
    """SQL statements of a script; a trigger's ``BEGIN ...; END`` stays whole."""
    buffer = ""
    for piece in script.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip(" \n;"):
                yield buffer
            buffer = ""


def migrate(c: sqlite3.Connection) -> None:
    """Bring the privacy tables up to date, on an open write transaction."""
    c.execute("CREATE TABLE IF NOT EXISTS privacy_schema (version INTEGER NOT NULL)")
    current = c.execute("SELECT MAX(version) FROM privacy_schema").fetchone()[0] or 0
    for version in sorted(v for v in _MIGRATIONS if v > current):
        for statement in _statements(_MIGRATIONS[version]):
            c.execute(statement)
        c.execute("INSERT INTO privacy_schema (version) VALUES (?)", (version,))
