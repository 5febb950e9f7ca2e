"""Data keys: authenticated encryption of personal data at rest (Fernet through ``MultiFernet``).

Fernet is AES-128-CBC plus HMAC-SHA256 over the ciphertext: a token altered by one bit, or made
with a key outside the ring, does not decrypt. The ring lists keys newest first; the newest
encrypts, every key decrypts, so a key is rotated in three steps: add a new key in front,
re-encrypt the stored data (``MultiFernet.rotate``), drop the old keys once nothing uses them.

Keys come from ``VOICEGW_DATA_KEYS`` (comma-separated, newest first) or else from the key file
(``Settings.privacy.data_keys_file``, default ``<data_dir>/data-keys``, one key a line), which
is created with one new key and mode 0600 on first use.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from voicegw.errors import VoicegwError
from voicegw.settings import Settings

KEYS_ENV = "VOICEGW_DATA_KEYS"


class DataKeyError(VoicegwError):
    """A data key is missing or malformed, or a stored token does not decrypt with the ring."""

    http_status = 500


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


def _fernet(key: str, where: str) -> Fernet:
    try:
        return Fernet(key.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as err:
        raise DataKeyError("bad_data_key", f"{where} holds a malformed data key (want 32 url-safe base64 bytes)") from err


class KeyRing:
    """The data keys, newest first; encrypts with the newest and decrypts with any."""

    def __init__(self, keys: Sequence[str], source: str, path: Path | None = None) -> None:
        if not keys:
            raise DataKeyError("no_data_key", f"{source} holds no data key")
        self.keys = tuple(keys)
        self.source = source
        """Where the keys came from (the env variable or the key file), for error messages."""
        self.path = path
        """The key file, when the keys came from one: ``current()`` rereads it after a rotation."""
        self._stamp = _stamp(path)
        self._multi = MultiFernet([_fernet(k, source) for k in self.keys])

    def current(self) -> KeyRing:
        """This ring, or the key file's keys when another process (``voicegw privacy
        rotate-key``) has rewritten it since: a running server follows a rotation."""
        if self.path is None or _stamp(self.path) == self._stamp:
            return self
        return KeyRing(read_keys_file(self.path), self.source, self.path)

    def encrypt(self, data: bytes) -> bytes:
        return self._multi.encrypt(data)

    def decrypt(self, token: bytes) -> bytes:
        try:
            return self._multi.decrypt(token)
        except InvalidToken as err:
            raise DataKeyError(
                "undecryptable",
                f"stored data does not decrypt with the keys in {self.source}: it was altered, "
                "or encrypted with a key that is no longer in the ring",
            ) from err

    def rotate(self, token: bytes) -> bytes:
        """The same data, encrypted again under the newest key."""
        try:
            return self._multi.rotate(token)
        except InvalidToken as err:
            raise DataKeyError("undecryptable", f"a stored token does not decrypt with the keys in {self.source}") from err

    def newest_only(self) -> KeyRing:
        return KeyRing(self.keys[:1], self.source)

    def __repr__(self) -> str:  # never the keys themselves
        return f"KeyRing({len(self.keys)} keys from {self.source})"

    def encrypt_text(self, text: str) -> bytes:
        return self.encrypt(text.encode("utf-8"))

    def decrypt_text(self, token: bytes) -> str:
        return self.decrypt(token).decode("utf-8")


def _stamp(path: Path | None) -> tuple[int, int] | None:
    if path is None:
        return None
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_ino)


def keys_file(settings: Settings) -> Path:
    return settings.privacy.data_keys_file or settings.data_dir / "data-keys"


def read_keys_file(path: Path) -> list[str]:
    """Keys one a line, newest first; blank lines and ``#`` comments are skipped."""
    try:
        lines = path.read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise DataKeyError("data_keys_unreadable", f"cannot read the data key file {path}: {err}") from err
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def write_keys_file(path: Path, keys: Sequence[str]) -> None:
    """Replace the key file atomically, readable by its owner only."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write("# voicegw data keys, newest first; losing them loses the encrypted data\n")
        out.writelines(f"{k}\n" for k in keys)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def load_keys(settings: Settings, env: dict[str, str] | None = None) -> KeyRing:
    """The ring from ``VOICEGW_DATA_KEYS``, else from the key file (created on first use)."""
    env = dict(os.environ) if env is None else env
    if env.get(KEYS_ENV, "").strip():
        return KeyRing([k.strip() for k in env[KEYS_ENV].split(",") if k.strip()], KEYS_ENV)
    path = keys_file(settings)
    if not path.exists():
        write_keys_file(path, [new_key()])
    return KeyRing(read_keys_file(path), str(path), path)


def keys_from_env(env: dict[str, str] | None = None) -> bool:
    env = dict(os.environ) if env is None else env
    return bool(env.get(KEYS_ENV, "").strip())
