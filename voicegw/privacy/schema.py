"""The privacy tables and their migrations, for SQLite and for PostgreSQL.

They carry their own schema version (``privacy_schema``) rather than a migration in
``backend/storage.py``: the audit log's append-only triggers have bodies that the shared runner
(which splits scripts on ``;``) cannot carry; the tables must also exist when the orders live on
an external skill server (no storage.py schema in this database); and the privacy code owns them.

Each version has one script per dialect, the same tables and columns in each. Where the two
differ: ids are ``INTEGER PRIMARY KEY AUTOINCREMENT`` / ``BIGSERIAL``, blobs ``BLOB`` / ``BYTEA``,
reals ``REAL`` / ``DOUBLE PRECISION``; times are ISO 8601 text compared as text, so on PostgreSQL
they are ``COLLATE "C"`` (byte order, as SQLite compares) whatever the database's locale; the
audit log's triggers are ``RAISE(ABORT)`` / PL/pgSQL raising ``integrity_constraint_violation``,
and PostgreSQL also refuses ``TRUNCATE`` of it (which would skip row triggers). The pseudonym
salt is drawn in Python, the same way on both.
"""

from __future__ import annotations

import secrets

from voicegw.db import Connection, migrate as run_migrations

_SQLITE_1 = """
CREATE TABLE privacy_meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
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
"""

_PG_1 = """
CREATE TABLE privacy_meta (name TEXT PRIMARY KEY, value BYTEA NOT NULL);
CREATE TABLE consents (
    id BIGSERIAL PRIMARY KEY,
    store TEXT NOT NULL,
    session TEXT NOT NULL,
    purpose TEXT NOT NULL CHECK (purpose IN ('audio_qa', 'delivery_contact')),
    granted_at TEXT COLLATE "C" NOT NULL,
    retention_days INTEGER NOT NULL CHECK (retention_days >= 0),
    withdrawn_at TEXT COLLATE "C"
);
CREATE UNIQUE INDEX consents_active ON consents (store, session, purpose) WHERE withdrawn_at IS NULL;
CREATE INDEX consents_session ON consents (session);
CREATE TABLE contacts (
    id BIGSERIAL PRIMARY KEY,
    store TEXT NOT NULL,
    session TEXT NOT NULL,
    order_id TEXT NOT NULL,
    consent_id BIGINT NOT NULL REFERENCES consents (id) ON DELETE CASCADE,
    phone_enc BYTEA NOT NULL,
    address_enc BYTEA NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    expires_at TEXT COLLATE "C" NOT NULL
);
CREATE INDEX contacts_order ON contacts (order_id);
CREATE INDEX contacts_session ON contacts (session);
CREATE INDEX contacts_consent ON contacts (consent_id);
CREATE TABLE retained_audio (
    id BIGSERIAL PRIMARY KEY,
    store TEXT NOT NULL,
    session TEXT NOT NULL,
    consent_id BIGINT NOT NULL REFERENCES consents (id) ON DELETE CASCADE,
    content_type TEXT,
    size_bytes BIGINT NOT NULL,
    clip_enc BYTEA NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    expires_at TEXT COLLATE "C" NOT NULL
);
CREATE INDEX retained_audio_session ON retained_audio (session);
CREATE INDEX retained_audio_consent ON retained_audio (consent_id);
CREATE TABLE turn_log (
    id BIGSERIAL PRIMARY KEY,
    store TEXT NOT NULL,
    session TEXT NOT NULL,
    at TEXT COLLATE "C" NOT NULL,
    language TEXT NOT NULL,
    transcript TEXT NOT NULL,
    intent TEXT,
    status TEXT NOT NULL,
    reason TEXT
);
CREATE INDEX turn_log_session ON turn_log (session);
CREATE INDEX turn_log_at ON turn_log (at);
CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    at TEXT COLLATE "C" NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_subject ON audit_log (subject);
CREATE TABLE audit_purge (before TEXT COLLATE "C" NOT NULL);
CREATE FUNCTION audit_log_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM audit_purge WHERE OLD.at < audit_purge.before) THEN
        RETURN OLD;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit_log rows are removed only by the retention purge' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'integrity_constraint_violation';
END
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_guard();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_guard();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_log_guard();
"""

# Chat-log analysis (voicegw/analytics): what each turn did, beside what was said; and who
# heard which variant of an A/B-tested reply (voicegw/experiments), once per phase.
_V2 = """
ALTER TABLE turn_log ADD COLUMN channel TEXT NOT NULL DEFAULT 'text';
ALTER TABLE turn_log ADD COLUMN confidence {real};          -- the intent's
ALTER TABLE turn_log ADD COLUMN asr_confidence {real};      -- voice: exp(avg_logprob) of the reading acted on
ALTER TABLE turn_log ADD COLUMN latency_ms INTEGER;
ALTER TABLE turn_log ADD COLUMN faq TEXT;                   -- the FAQ entry answered
ALTER TABLE turn_log ADD COLUMN order_id TEXT;              -- the order this turn placed
ALTER TABLE turn_log ADD COLUMN added INTEGER NOT NULL DEFAULT 0;   -- order lines this turn put in the cart
ALTER TABLE turn_log ADD COLUMN handoff INTEGER NOT NULL DEFAULT 0;
ALTER TABLE turn_log ADD COLUMN sentiment TEXT NOT NULL DEFAULT 'neutral';
ALTER TABLE turn_log ADD COLUMN reply_kind TEXT;
CREATE INDEX turn_log_store_at ON turn_log (store, at);
CREATE TABLE experiment_exposures (
    id {serial},
    experiment TEXT NOT NULL,
    phase TEXT NOT NULL,
    variant TEXT NOT NULL,
    store TEXT NOT NULL,
    session TEXT NOT NULL,
    at TEXT {time} NOT NULL
);
CREATE UNIQUE INDEX experiment_exposures_once ON experiment_exposures (experiment, phase, store, session);
CREATE INDEX experiment_exposures_session ON experiment_exposures (session);
"""

_TYPES = {
    "sqlite": {"real": "REAL", "serial": "INTEGER PRIMARY KEY AUTOINCREMENT", "time": ""},
    "postgresql": {"real": "DOUBLE PRECISION", "serial": "BIGSERIAL PRIMARY KEY", "time": 'COLLATE "C"'},
}


def _v1(c: Connection) -> None:
    c.script(_SQLITE_1 if c.dialect == "sqlite" else _PG_1)
    # Keys the audit log's pseudonyms of users (audit.py): the log names no user in clear.
    c.execute("INSERT INTO privacy_meta (name, value) VALUES ('pseudonym_salt', ?)", (secrets.token_bytes(32),))


def _v2(c: Connection) -> None:
    c.script(_V2.format(**_TYPES[c.dialect]))


def migrate(c: Connection) -> None:
    """Bring the privacy tables up to date, on an open write transaction."""
    run_migrations(c, "privacy_schema", {1: _v1, 2: _v2})
