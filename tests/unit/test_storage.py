"""SQLite storage: carts, atomic and idempotent order submission, FAQ."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from voicegw.backend.storage import SCHEMA_VERSION, FaqEntry, SqliteStorage
from voicegw.dialogue.cart import Cart
from voicegw.errors import BackendError
from voicegw.nlu.types import LineOption, OrderLine

ICE = LineOption(group="temperature", value="ice")
AMERICANO = OrderLine(item_id="americano", name="아이스 아메리카노", quantity=2, options=(ICE,), unit_price=4500)
CAKE = OrderLine(item_id="cheesecake", name="치즈케이크", quantity=1, unit_price=6000)
CART = Cart(lines=(AMERICANO, CAKE), currency="KRW")


@pytest.fixture
def db(tmp_path: Path):
    storage = SqliteStorage(tmp_path / "data" / "voicegw.db")
    yield storage
    storage.close()


def _count(path: Path, table: str) -> int:
    with sqlite3.connect(path) as c:
        return c.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_schema_is_versioned_wal_and_reopenable(tmp_path: Path) -> None:
    path = tmp_path / "voicegw.db"
    first = SqliteStorage(path)
    first.save_cart("cafe", "s1", CART)
    first.close()
    again = SqliteStorage(path)  # migrations are idempotent; data survives
    assert again.schema_version() == SCHEMA_VERSION
    assert again.get_cart("cafe", "s1") == CART
    again.close()
    with sqlite3.connect(path) as c:
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert c.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == SCHEMA_VERSION


def test_cart_save_get_clear(db: SqliteStorage) -> None:
    assert db.get_cart("cafe", "s1") is None
    db.save_cart("cafe", "s1", CART)
    db.save_cart("cafe", "s1", Cart(lines=(CAKE,), currency="KRW"))  # overwrite, not a second row
    assert db.get_cart("cafe", "s1") == Cart(lines=(CAKE,), currency="KRW")
    assert db.get_cart("cafe", "s2") is None
    assert db.get_cart("other", "s1") is None
    db.clear_cart("cafe", "s1")
    assert db.get_cart("cafe", "s1") is None


def test_submit_order_stores_lines_and_clears_cart(db: SqliteStorage) -> None:
    db.save_cart("cafe", "s1", CART)
    order = db.submit_order("cafe", "s1", "voice", CART, "key-1")
    assert order.id == "A-0001"
    assert (order.store, order.session, order.channel, order.status) == ("cafe", "s1", "voice", "submitted")
    assert order.total == 2 * 4500 + 6000 and order.currency == "KRW"
    assert order.lines == CART.lines
    assert db.get_cart("cafe", "s1") is None
    assert db.get_order("A-0001") == order
    second = db.submit_order("cafe", "s2", "text", Cart(lines=(CAKE,)))
    assert second.id == "A-0002" and second.channel == "text"
    assert [o.id for o in db.list_orders()] == ["A-0002", "A-0001"]
    assert [o.id for o in db.list_orders(store="cafe", session="s1")] == ["A-0001"]
    assert db.list_orders(store="elsewhere") == []
    assert order.to_public()["lines"][0] == {
        "item_id": "americano", "name": "아이스 아메리카노", "quantity": 2,
        "options": [{"group": "temperature", "value": "ice", "amount": "regular"}], "unit_price": 4500,
    }


def test_submit_is_atomic(db: SqliteStorage, tmp_path: Path) -> None:
    """A failure after the order row and the first line are written leaves nothing behind."""
    db.save_cart("cafe", "s1", CART)
    with db.database.tx() as c:  # a real database failure on the second line's insert
        c.execute("CREATE TRIGGER fail_second_line BEFORE INSERT ON order_lines WHEN NEW.position = 1"
                  " BEGIN SELECT RAISE(ABORT, 'disk on fire'); END")
    with pytest.raises(BackendError) as info:
        db.submit_order("cafe", "s1", "voice", CART, "key-1")
    assert info.value.code == "storage_failed"
    path = tmp_path / "data" / "voicegw.db"
    assert _count(path, "orders") == 0
    assert _count(path, "order_lines") == 0
    assert db.get_cart("cafe", "s1") == CART  # the cart is still there to retry
    with db.database.tx() as c:
        c.execute("DROP TRIGGER fail_second_line")
    order = db.submit_order("cafe", "s1", "voice", CART, "key-1")  # the same key works afterwards
    assert order.id == "A-0001" and len(order.lines) == 2


def test_repeated_idempotency_key_returns_the_first_order(db: SqliteStorage) -> None:
    first = db.submit_order("cafe", "s1", "voice", CART, "key-1")
    # The cart is gone after the first submit; a retry with the same key must not fail or re-order.
    again = db.submit_order("cafe", "s1", "voice", Cart(), "key-1")
    assert again == first
    assert len(db.list_orders()) == 1
    assert db.find_order_by_key("key-1") == first
    assert db.find_order_by_key("key-2") is None


def test_concurrent_submits_make_one_order_per_key(tmp_path: Path) -> None:
    path = tmp_path / "voicegw.db"
    stores = [SqliteStorage(path), SqliteStorage(path)]  # two connections, as two processes would have
    results: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(12)

    def submit(i: int) -> None:
        try:
            barrier.wait()
            order = stores[i % 2].submit_order("cafe", f"s{i % 3}", "voice", CART, f"key-{i % 3}")
            results.append(f"{order.idempotency_key}:{order.id}")
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 12
    assert len(set(results)) == 3  # every caller with the same key got the same order
    assert _count(path, "orders") == 3
    assert _count(path, "order_lines") == 6
    for s in stores:
        s.close()


def test_submit_rejects_empty_cart_and_bad_channel(db: SqliteStorage) -> None:
    with pytest.raises(BackendError) as info:
        db.submit_order("cafe", "s1", "voice", Cart())
    assert info.value.code == "empty_cart"
    with pytest.raises(BackendError) as info:
        db.submit_order("cafe", "s1", "fax", CART)  # type: ignore[arg-type]
    assert info.value.code == "bad_channel"
    assert db.list_orders() == []


def test_faq_upsert_get_list(db: SqliteStorage) -> None:
    wifi = FaqEntry.from_public(
        {"id": "wifi", "category": "store", "questions": {"ko": ["와이파이 비번"], "en": ["wifi password"]},
         "answer": {"ko": "비밀번호는 cafe1234예요.", "en": "The password is cafe1234."}}
    )
    hours = FaqEntry(id="hours", category="store", questions={"ko": ("몇 시까지",)}, answers={"ko": "밤 10시까지예요."})
    assert db.upsert_faq("cafe", [wifi, hours]) == 2
    assert db.get_faq("cafe", "wifi") == wifi
    assert db.get_faq("other", "wifi") is None
    assert [e.id for e in db.list_faq("cafe")] == ["hours", "wifi"]
    edited = FaqEntry(id="wifi", category="store", questions=wifi.questions, answers={"ko": "cafe5678이에요."})
    db.upsert_faq("cafe", [edited])
    assert db.get_faq("cafe", "wifi") == edited
    assert len(db.list_faq("cafe")) == 2
    assert wifi.answer("en") == "The password is cafe1234."
    assert hours.answer("en") == "밤 10시까지예요."  # falls back to Korean
    assert wifi.to_public()["answer"] == {"ko": "비밀번호는 cafe1234예요.", "en": "The password is cafe1234."}


def test_faq_from_public_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError):
        FaqEntry.from_public({"category": "x"})
    with pytest.raises(ValueError):
        FaqEntry.from_public({"id": "x", "questions": ["not", "a", "dict"]})


def test_the_database_is_the_owners_alone(tmp_path) -> None:
    import stat

    path = tmp_path / "voicegw.db"
    storage = SqliteStorage(path)
    storage.save_cart("cafe", "s1", CART)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    storage.close()
