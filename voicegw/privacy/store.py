"""Personal data beside the orders: consents, delivery contacts, retained audio, the turn log
and the audit log, in the same database as the reference skill server's carts and orders (tables
in schema.py): the embedded SQLite file, or PostgreSQL when ``database.url`` names one
(``voicegw/db``).

Every write runs in one transaction. Writes about one user run one after the other: SQLite's one
write lock does it; on PostgreSQL each takes the user's lock (``lock("privacy", session)``), so
two gateways cannot, say, keep a contact under a consent being withdrawn at that moment.

Encrypted columns end in ``_enc`` (Fernet tokens); key rotation finds them by that name, so a new
encrypted column is rotated without being listed anywhere. Times are ISO 8601 UTC strings in the
same format as storage.py, so they compare as text.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from voicegw.db import Connection, Database, DatabaseError, Row, open_database_url, open_path_or_database
from voicegw.errors import VoicegwError
from voicegw.privacy.crypto import KeyRing
from voicegw.privacy.redact import redact
from voicegw.privacy.schema import migrate
from voicegw.nlu.types import IntentName
from voicegw.turn import TurnResult

if TYPE_CHECKING:
    from voicegw.settings import Settings

Purpose = Literal["audio_qa", "delivery_contact"]
PURPOSES: tuple[Purpose, ...] = ("audio_qa", "delivery_contact")


class ConsentError(VoicegwError):
    """Personal data was offered for a purpose the customer has not (or no longer) agreed to."""

    http_status = 409


class PrivacyStoreError(VoicegwError):
    """The database under the privacy tables failed (locked too long, disk full, corrupt)."""

    http_status = 503


@dataclass(frozen=True)
class Consent:
    id: int
    store: str
    session: str
    purpose: Purpose
    granted_at: str
    retention_days: int
    """Longest the customer agreed to let data kept under this consent live."""
    withdrawn_at: str | None = None


@dataclass(frozen=True)
class Contact:
    order_id: str
    store: str
    session: str
    phone: str
    address: str
    created_at: str
    expires_at: str


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@contextmanager
def _wrapped() -> Iterator[None]:
    try:
        yield
    except DatabaseError as err:
        raise PrivacyStoreError("privacy_store_failed", f"the privacy tables could not be read or written: {err}") from err


class PrivacyStore:
    """The privacy tables of one database (blocking; async callers use ``asyncio.to_thread``).

    ``database``: a ``Database`` (the store closes it with itself) or the path of a SQLite file.
    """

    def __init__(self, database: Database | str | Path, keys: KeyRing) -> None:
        self._keys = keys
        with _wrapped():
            self.db = open_path_or_database(database)
        try:
            self._migrate()
        except BaseException:
            self.db.close()
            raise

    @classmethod
    def from_settings(cls, settings: Settings, keys: KeyRing) -> PrivacyStore:
        """On the database ``database.url`` names, else the SQLite file in ``data_dir``."""
        with _wrapped():
            database = open_database_url(settings)
        return cls(database, keys)

    @property
    def keys(self) -> KeyRing:
        """The data keys, reread when a rotation has rewritten the key file."""
        self._keys = self._keys.current()
        return self._keys

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        """One write transaction, all or nothing; a database failure surfaces as ``privacy_store_failed``."""
        with _wrapped(), self.db.tx() as c:
            yield c

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with _wrapped(), self.db.read() as c:
            yield c

    def checkpoint(self) -> None:
        """After a delete: on SQLite, fold the write-ahead log (its old pages still hold the deleted
        rows) into the file, where ``secure_delete`` has zeroed them."""
        with _wrapped():
            self.db.checkpoint()

    def _migrate(self) -> None:
        with self.tx() as c:
            migrate(c)

    def has_table(self, name: str) -> bool:
        """The backend's tables (carts, orders) exist only where the reference skill server ran."""
        with self.read() as c:
            return c.has_table(name)

    # --- consents ------------------------------------------------------------------------

    def grant_consent(self, store: str, session: str, purpose: Purpose, retention_days: int, now: datetime | None = None) -> Consent:
        """Record (or renew) the customer's consent; one active consent per store, session, purpose."""
        if purpose not in PURPOSES:
            raise ValueError(f"unknown consent purpose {purpose!r}")
        at = iso(now or utcnow())
        with self.tx() as c:
            c.lock("privacy", session)
            # A renewal replaces the old consent; data kept under it moves to the new one.
            old = [r[0] for r in c.execute(
                "SELECT id FROM consents WHERE store = ? AND session = ? AND purpose = ? AND withdrawn_at IS NULL",
                (store, session, purpose),
            )]
            marks = ",".join("?" * len(old))
            if old:
                c.execute(f"UPDATE consents SET withdrawn_at = ? WHERE id IN ({marks})", (at, *old))
            new_id = c.insert(
                "INSERT INTO consents (store, session, purpose, granted_at, retention_days) VALUES (?, ?, ?, ?, ?)",
                (store, session, purpose, at, retention_days),
            )
            for table in ("retained_audio", "contacts") if old else ():
                c.execute(f"UPDATE {table} SET consent_id = ? WHERE consent_id IN ({marks})", (new_id, *old))
            row = c.execute("SELECT * FROM consents WHERE id = ?", (new_id,)).fetchone()
        return Consent(**dict(row))

    def withdraw_consent(self, store: str, session: str, purpose: Purpose, now: datetime | None = None) -> dict[str, int]:
        """Withdraw it and delete what was kept under it at once (audio, contacts); returns counts."""
        audio = contacts = 0
        with self.tx() as c:
            c.lock("privacy", session)
            ids = [r[0] for r in c.execute(
                "SELECT id FROM consents WHERE store = ? AND session = ? AND purpose = ? AND withdrawn_at IS NULL",
                (store, session, purpose),
            )]
            if ids:  # ``IN ()`` is SQLite's, not PostgreSQL's
                marks = ",".join("?" * len(ids))
                audio = c.execute(f"DELETE FROM retained_audio WHERE consent_id IN ({marks})", ids).rowcount
                contacts = c.execute(f"DELETE FROM contacts WHERE consent_id IN ({marks})", ids).rowcount
                c.execute(f"UPDATE consents SET withdrawn_at = ? WHERE id IN ({marks})", (iso(now or utcnow()), *ids))
        return {"consents": len(ids), "retained_audio": audio, "contacts": contacts}

    def active_consent(self, store: str, session: str, purpose: Purpose) -> Consent | None:
        with self.read() as c:
            row = c.execute(
                "SELECT * FROM consents WHERE store = ? AND session = ? AND purpose = ? AND withdrawn_at IS NULL",
                (store, session, purpose),
            ).fetchone()
        return None if row is None else Consent(**dict(row))

    def _require_consent(self, c: Connection, store: str, session: str, purpose: Purpose) -> Row:
        c.lock("privacy", session)  # a withdrawal waits for this write, or this write sees it
        row = c.execute(
            "SELECT * FROM consents WHERE store = ? AND session = ? AND purpose = ? AND withdrawn_at IS NULL",
            (store, session, purpose),
        ).fetchone()
        if row is None:
            raise ConsentError("consent_required", f"the customer has not agreed to {purpose}")
        return row

    def _consented_until(
        self, c: Connection, store: str, session: str, purpose: Purpose, class_days: int, now: datetime
    ) -> tuple[Row, datetime]:
        """The active consent for ``purpose`` and when data kept under it expires: after the
        shorter of the data class's period and the consent's own."""
        consent = self._require_consent(c, store, session, purpose)
        return consent, now + timedelta(days=min(class_days, consent["retention_days"]))

    # --- contacts and audio (encrypted) ----------------------------------------------------

    def save_contact(
        self, store: str, session: str, order_id: str, phone: str, address: str, contact_days: int, now: datetime | None = None
    ) -> int:
        """Keep a delivery contact, encrypted, only under the customer's ``delivery_contact`` consent;
        it expires after the shorter of ``contact_days`` and the consent's own period."""
        now = now or utcnow()
        keys = self.keys
        with self.tx() as c:
            consent, expires = self._consented_until(c, store, session, "delivery_contact", contact_days, now)
            return c.insert(
                "INSERT INTO contacts (store, session, order_id, consent_id, phone_enc, address_enc, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (store, session, order_id, consent["id"], keys.encrypt_text(phone), keys.encrypt_text(address), iso(now), iso(expires)),
            )

    def order_belongs_to(self, order_id: str, store: str, session: str) -> bool:
        """The order exists in this database and was placed by ``session`` at ``store``."""
        with self.read() as c:
            return c.execute(
                "SELECT 1 FROM orders WHERE id = ? AND store = ? AND session = ?", (order_id, store, session)
            ).fetchone() is not None

    def contact_for_order(self, order_id: str) -> Contact | None:
        with self.read() as c:
            row = c.execute("SELECT * FROM contacts WHERE order_id = ? ORDER BY id DESC LIMIT 1", (order_id,)).fetchone()
        return None if row is None else self.contact_from_row(row)

    def contact_from_row(self, row: Row) -> Contact:
        keys = self.keys
        return Contact(
            order_id=row["order_id"], store=row["store"], session=row["session"],
            phone=keys.decrypt_text(row["phone_enc"]), address=keys.decrypt_text(row["address_enc"]),
            created_at=row["created_at"], expires_at=row["expires_at"],
        )

    def retain_audio(
        self, store: str, session: str, audio: bytes, content_type: str | None, audio_days: int, now: datetime | None = None
    ) -> int:
        """Keep a clip, encrypted, only under the customer's ``audio_qa`` consent."""
        now = now or utcnow()
        token = self.keys.encrypt(audio)
        with self.tx() as c:
            consent, expires = self._consented_until(c, store, session, "audio_qa", audio_days, now)
            return c.insert(
                "INSERT INTO retained_audio (store, session, consent_id, content_type, size_bytes, clip_enc, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (store, session, consent["id"], content_type, len(audio), token, iso(now), iso(expires)),
            )

    def retained_clip(self, clip_id: int) -> bytes | None:
        with self.read() as c:
            row = c.execute("SELECT clip_enc FROM retained_audio WHERE id = ?", (clip_id,)).fetchone()
        return None if row is None else self.keys.decrypt(row[0])

    # --- the turn log (chat-log analysis) ----------------------------------------------------

    def log_turn(self, result: TurnResult, channel: str = "text", now: datetime | None = None) -> int:
        """One turn for chat-log analysis, and the session's exposure to an A/B-tested reply
        (once per experiment phase), in one transaction. The transcript is redacted here, on the
        one way into the table."""
        transcript = redact(result.transcript, result.language).text if result.transcript else ""
        at = iso(now or utcnow())
        chosen = next((r for r in result.readings if r.chosen), None)
        added = len(result.lines) if result.status == "ok" and result.intent and result.intent.name is IntentName.ORDER_ADD else 0
        with self.tx() as c:
            c.lock("privacy", result.session)
            row = c.insert(
                "INSERT INTO turn_log (store, session, at, language, transcript, intent, status, reason, channel,"
                " confidence, asr_confidence, latency_ms, faq, order_id, added, handoff, sentiment, reply_kind)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (result.store, result.session, at, result.language, transcript,
                 result.intent.name.value if result.intent else None, result.status, result.reason, channel,
                 result.intent.confidence if result.intent else None,
                 round(math.exp(chosen.avg_logprob), 4) if chosen else None, result.timings_ms.get("total"),
                 result.faq if result.status == "ok" else None, result.order_id, added, int(result.handoff),
                 result.sentiment, result.reply.kind),
            )
            if (exposure := result.reply.experiment) is not None:
                c.execute(
                    "INSERT INTO experiment_exposures (experiment, phase, variant, store, session, at)"
                    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (exposure.experiment, exposure.phase, exposure.variant, result.store, result.session, at),
                )
            return row

    # --- key rotation ------------------------------------------------------------------------

    def encrypted_columns(self) -> list[tuple[str, str]]:
        """Every (table, column) holding Fernet tokens: the columns named ``*_enc``."""
        with self.read() as c:
            return _encrypted_columns(c)

    def reencrypt(self, keys: KeyRing | None = None) -> dict[str, int]:
        """Encrypt every token again under the newest key (one transaction); counts per column.
        Afterwards the older keys decrypt nothing here and may be dropped."""
        keys = keys or self.keys
        counts: dict[str, int] = {}
        with self.tx() as c:
            columns = _encrypted_columns(c)
            # No write slips in between reading a token and writing it back (SQLite: the write lock).
            c.lock_tables(*sorted({table for table, _ in columns}))
            rid = c.row_id
            for table, column in columns:
                rows = c.execute(f'SELECT {rid}, "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL').fetchall()
                c.executemany(
                    f'UPDATE "{table}" SET "{column}" = ? WHERE {rid} = ?', [(keys.rotate(r[1]), r[0]) for r in rows]
                )
                counts[f"{table}.{column}"] = len(rows)
        return counts


def _encrypted_columns(c: Connection) -> list[tuple[str, str]]:
    return [(table, column) for table in c.tables() for column in c.columns(table) if column.endswith("_enc")]
