"""API keys per client, and the table they live in.

A key is ``vgw_<key_id>_<secret>``: the id (12 hex digits, not secret, shown by ``voicegw keys
list``) names the row; the secret (``secrets.token_urlsafe(32)``, 256 random bits) proves
possession and is shown once, at creation. Only SHA-256 of the secret is stored. A plain hash
is enough here: slow password hashes (bcrypt, argon2) exist to make guessing *low-entropy human
passwords* expensive; a 256-bit random secret cannot be guessed at any hash speed, and a fast
hash keeps the per-request check in microseconds.

Keys live in their own ``api_keys`` table of the gateway's database (the SQLite file
``Settings.database_path``, or PostgreSQL when ``database.url`` names one, ``voicegw/db``),
created by this module rather than by the backend's migrations: the gateway checks keys even when
the order backend is external, so access control does not depend on the backend's schema. Who
may call what with a key: ``voicegw.gateway.auth``.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from voicegw.db import Connection, Database, DatabaseError, open_database_url, open_path_or_database
from voicegw.errors import VoicegwError
from voicegw.gateway.scopes import ROLE_SCOPES, Role
from voicegw.settings import Settings

LAST_USED_RESOLUTION_S = 60.0
"""``last_used_at`` is written at most once a minute per key, not on every request."""

_TOKEN = re.compile(r"^vgw_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


class AuthError(VoicegwError):
    """No key, a bad or revoked key, or a key store that cannot be read."""

    http_status = 401


@dataclass(frozen=True)
class ApiKey:
    """One client's key as stored: never the secret, only its hash."""

    id: str
    name: str
    role: Role
    created_at: str
    """ISO 8601, UTC."""
    revoked_at: str | None = None
    last_used_at: str | None = None
    """Accurate to ``LAST_USED_RESOLUTION_S``."""
    secret_sha256: str = field(default="", repr=False)

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def public(self) -> dict[str, str | None]:
        """What ``voicegw keys list`` shows: everything but the hash."""
        data = asdict(self)
        del data["secret_sha256"]
        return data


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token() -> tuple[str, str, str]:
    """A fresh ``(key_id, secret, token)``."""
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    return key_id, secret, f"vgw_{key_id}_{secret}"


def parse_token(token: str) -> tuple[str, str] | None:
    """``(key_id, secret)`` of a well-formed token, else None."""
    match = _TOKEN.match(token)
    return (match[1], match[2]) if match else None


def utc_now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    last_used_at TEXT
)"""


class KeyStore:
    """The ``api_keys`` table (blocking calls; the middleware uses them through a thread).

    ``database``: a ``Database`` (closed with the store), the path of a SQLite file, or a function
    that opens one. It is opened at first use, not here: building the app touches no database,
    and a database down at start is a 503 that the next request retries, not a crash.
    """

    def __init__(self, database: Database | str | Path | Callable[[], Database]) -> None:
        if isinstance(database, (str, Path)) or hasattr(database, "tx"):
            given = database
            self._open: Callable[[], Database] = lambda: open_path_or_database(given)  # type: ignore[arg-type]
        else:
            self._open = database
        self._db: Database | None = None
        self._opening = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyStore:
        """On the database ``database.url`` names, else the SQLite file in ``data_dir``."""
        return cls(lambda: open_database_url(settings))

    def close(self) -> None:
        with self._opening:
            if self._db is not None:
                self._db.close()
                self._db = None

    def _database(self) -> Database:
        with self._opening:
            if self._db is None:
                db = self._open()
                try:
                    with db.tx() as c:
                        c.lock("migrate", "api_keys")  # two processes' first use, one CREATE
                        c.execute(_SCHEMA)
                except BaseException:
                    db.close()
                    raise
                self._db = db
            return self._db

    @contextmanager
    def _connect(self, write: bool = True) -> Iterator[Connection]:
        try:
            db = self._database()
        except (OSError, DatabaseError) as err:
            raise AuthError("key_store_failed", f"cannot open the key store: {err}", http_status=503) from err
        try:
            with db.tx() if write else db.read() as c:
                yield c
        except DatabaseError as err:
            raise AuthError("key_store_failed", f"the key store failed: {err}", http_status=503) from err

    def create(self, name: str, role: Role) -> tuple[ApiKey, str]:
        """A new key and its token; the token is never stored or shown again."""
        if role not in ROLE_SCOPES:
            raise AuthError("unknown_role", f"role must be one of {', '.join(ROLE_SCOPES)}", http_status=400)
        name = name.strip()
        if not 1 <= len(name) <= 64 or not name.isprintable():
            raise AuthError("invalid_name", "a key name is 1-64 printable characters", http_status=400)
        key_id, secret, token = new_token()
        key = ApiKey(key_id, name, role, utc_now_iso(), secret_sha256=secret_hash(secret))
        with self._connect() as c:
            c.execute(
                "INSERT INTO api_keys (id, name, role, secret_sha256, created_at) VALUES (?, ?, ?, ?, ?)",
                (key.id, key.name, key.role, key.secret_sha256, key.created_at),
            )
        return key, token

    def list(self) -> list[ApiKey]:
        """Every key, revoked ones included, oldest first."""
        with self._connect(write=False) as c:
            return [ApiKey(**dict(row)) for row in c.execute("SELECT * FROM api_keys ORDER BY created_at, id")]

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key for good (again: no change); an unknown id is an error."""
        with self._connect() as c:
            c.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (utc_now_iso(), key_id))
            row = c.execute("SELECT * FROM api_keys WHERE id = ?", (key_id,)).fetchone()
        if row is None:
            raise AuthError("unknown_key", f"no API key has the id {key_id!r} (see: voicegw keys list)", http_status=404)
        return ApiKey(**dict(row))

    def sync(self, used: Mapping[str, str]) -> list[ApiKey]:
        """Record when keys were last used, then read them all (one round trip per cache refresh)."""
        with self._connect(write=bool(used)) as c:
            if used:
                c.executemany("UPDATE api_keys SET last_used_at = ? WHERE id = ?", [(t, k) for k, t in used.items()])
            return [ApiKey(**dict(row)) for row in c.execute("SELECT * FROM api_keys")]
