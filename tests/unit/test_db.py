"""``voicegw.db``: one interface over SQLite and PostgreSQL, the same answers from both."""

from __future__ import annotations

import threading
from contextlib import nullcontext
from pathlib import Path
from types import SimpleNamespace

import pytest
from pydantic import SecretStr

from tests.unit.db_support import Target, target  # noqa: F401  (the fixture)
from voicegw.db import DatabaseError, IntegrityError, database_url, migrate, open_database_url
from voicegw.db.postgres import pg_sql, without_password
from voicegw.db.sqlite import SqliteDatabase
from voicegw.settings import Settings

SCHEMA = """
CREATE TABLE parents (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parents (id), session TEXT, blob_enc {blob});
"""


@pytest.fixture
def db(target: Target):
    database = target.open()
    with database.tx() as c:
        c.script(SCHEMA.format(blob="BLOB" if target.sqlite else "BYTEA"))
    return database


def test_rows_read_by_name_and_index_and_writes_return_ids(db) -> None:
    with db.tx() as c:
        first = c.insert("INSERT INTO parents (id, name) VALUES (?, ?)", (1, "it's 100% ?"))
        c.executemany("INSERT INTO children (id, parent_id, session, blob_enc) VALUES (?, ?, ?, ?)",
                      [(10, 1, "s-1", b"\x00\xff"), (11, 1, "s-2", None)])
    assert first == 1
    with db.read() as c:
        row = c.execute("SELECT id, name FROM parents WHERE name = ?", ("it's 100% ?",)).fetchone()
        assert (row[0], row["name"], row.keys(), dict(row), tuple(row)) == (
            1, "it's 100% ?", ["id", "name"], {"id": 1, "name": "it's 100% ?"}, (1, "it's 100% ?"))
        assert c.execute("SELECT name FROM parents WHERE name LIKE '%100%'").fetchone()[0] == "it's 100% ?"
        assert [r["blob_enc"] for r in c.execute("SELECT blob_enc FROM children ORDER BY id")] == [b"\x00\xff", None]
        assert c.execute("UPDATE children SET session = ? WHERE parent_id = ?", ("s-3", 1)).rowcount == 2


def test_the_catalogue_reads_alike(db) -> None:
    with db.read() as c:
        assert {"parents", "children"} <= set(c.tables())
        assert c.columns("children") == ["id", "parent_id", "session", "blob_enc"]
        assert c.foreign_keys("children") == {"parents"} and c.foreign_keys("parents") == set()
        assert c.has_table("parents") and not c.has_table("nothing_here")


def test_a_failed_block_writes_nothing_and_errors_are_the_same_class(db) -> None:
    with pytest.raises(RuntimeError), db.tx() as c:
        c.execute("INSERT INTO parents (id, name) VALUES (?, ?)", (1, "a"))
        raise RuntimeError("the caller failed")
    with pytest.raises(IntegrityError), db.tx() as c:
        c.execute("INSERT INTO parents (id, name) VALUES (?, ?)", (2, "b"))
        c.execute("INSERT INTO parents (id, name) VALUES (?, ?)", (3, "b"))  # the unique name
    with pytest.raises(DatabaseError) as err, db.tx() as c:
        c.execute("SELECT nothing FROM parents")
    assert not isinstance(err.value, IntegrityError)
    with db.read() as c:
        assert c.execute("SELECT COUNT(*) FROM parents").fetchone()[0] == 0


def test_a_caught_error_does_not_let_a_postgresql_transaction_commit_half(target: Target, db) -> None:
    """SQLite undoes the failed statement only; PostgreSQL aborts the transaction, so a block that
    caught the error is refused at its end instead of losing its other writes silently."""
    with nullcontext() if target.sqlite else pytest.raises(DatabaseError), db.tx() as c:
        c.execute("INSERT INTO parents (id, name) VALUES (?, ?)", (1, "a"))
        with pytest.raises(IntegrityError):
            c.execute("INSERT INTO parents (id, name) VALUES (?, ?)", (2, "a"))
    with db.read() as c:
        assert c.execute("SELECT COUNT(*) FROM parents").fetchone()[0] == (1 if target.sqlite else 0)


def test_a_lock_serialises_read_modify_write_across_connections(target: Target, db) -> None:
    with db.tx() as c:
        c.execute("INSERT INTO parents (id, name) VALUES (1, '0')")
    others = [target.open() for _ in range(3)]

    def bump(database) -> None:
        for _ in range(10):
            with database.tx() as c:
                c.lock("counter", "1")
                n = int(c.execute("SELECT name FROM parents WHERE id = 1").fetchone()[0])
                c.execute("UPDATE parents SET name = ? WHERE id = 1", (str(n + 1),))

    threads = [threading.Thread(target=bump, args=(d,)) for d in others]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with db.read() as c:
        assert c.execute("SELECT name FROM parents WHERE id = 1").fetchone()[0] == "30"


def test_migrations_run_once_each(target: Target) -> None:
    ran: list[int] = []
    steps = {1: lambda c: ran.append(1), 2: lambda c: ran.append(2)}
    for database in (target.open(), target.open()):
        with database.tx() as c:
            migrate(c, "test_schema", steps)
    assert ran == [1, 2]


def test_placeholders_outside_quotes_only() -> None:
    assert pg_sql("SELECT ? , '?', \"a?\" WHERE x LIKE '5%'") == "SELECT %s , '?', \"a?\" WHERE x LIKE '5%%'"


def test_credentials_stay_out_of_messages() -> None:
    assert without_password("postgresql://voicegw:s3cret@db:5432/x failed") == "postgresql://voicegw:***@db:5432/x failed"
    assert "s3cret" not in without_password("host=db password=s3cret user=v")


def test_the_setting_picks_the_database(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path)
    assert database_url(settings) is None  # before and after database.url exists as a setting
    opened = open_database_url(settings)
    assert isinstance(opened, SqliteDatabase) and opened.path == tmp_path / "voicegw.db"
    opened.close()
    url = "postgresql://voicegw:pw@db/voicegw"
    assert database_url(SimpleNamespace(database=SimpleNamespace(url=SecretStr(url)))) == url  # type: ignore[arg-type]
    assert database_url(SimpleNamespace(database=SimpleNamespace(url=SecretStr(" ")))) is None  # type: ignore[arg-type]
    with pytest.raises(DatabaseError, match="postgresql://"):
        database_url(SimpleNamespace(database=SimpleNamespace(url=SecretStr("mysql://x"))))  # type: ignore[arg-type]
