"""Files that hold customers' data are the owner's alone."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def owner_only(path: str | Path) -> None:
    """chmod 600 a database or key file (and SQLite's -wal/-shm beside it) that exists; a no-op
    for ``:memory:`` and on file systems without POSIX modes."""
    for candidate in (Path(str(path)), Path(f"{path}-wal"), Path(f"{path}-shm")):
        if candidate.is_file():
            with contextlib.suppress(OSError):
                os.chmod(candidate, 0o600)
