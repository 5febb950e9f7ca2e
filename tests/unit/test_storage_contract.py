"""The skill server's storage contract, held by SQLite and by PostgreSQL alike: carts, one
transaction per session turn (no lost turn between two gateways), an order stored once per key,
order numbers unique across gateways, nothing half-written when a turn fails.

PostgreSQL runs where ``VOICEGW_TEST_DATABASE_URL`` names a database (``.ci/run`` starts one and
sets it); each test gets a schema of its own, dropped after it.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from voicegw.backend.records import FaqEntry
from voicegw.backend.storage import PostgresStorage, SqliteStorage, Storage
from voicegw.dialogue.cart import Cart
from voicegw.dialogue.state import DialogueState
from voicegw.errors import BackendError
from voicegw.nlu.types import OrderLine

PG_URL = os.environ.get("VOICEGW_TEST_DATABASE_URL")
BURGER = OrderLine(item_id="shrimp_burger", name="새우버거", quantity=1, unit_price=5700)
CART = Cart(lines=(BURGER,), currency="KRW")

Opener = Callable[[], Storage]


@pytest.fixture(params=["sqlite", "postgresql"])
def opener(request, tmp_path: Path) -> Iterator[Opener]:
    """Opens another store on the same database: another gateway process, as far as the database knows."""
    opened: list[Storage] = []
    if request.param == "sqlite":
        def open_sqlite() -> Storage:
            opened.append(SqliteStorage(tmp_path / "voicegw.db"))
            return opened[-1]
        yield open_sqlite
    else:
        if not PG_URL:
            pytest.skip("VOICEGW_TEST_DATABASE_URL is not set (.ci/run sets it and starts PostgreSQL)")
        import psycopg
        from psycopg.conninfo import make_conninfo

        schema = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            admin.execute(f"CREATE SCHEMA {schema}")
        url = make_conninfo(PG_URL, options=f"-c search_path={schema}")

        def open_pg() -> Storage:
            opened.append(PostgresStorage(url, max_connections=4))
            return opened[-1]
        yield open_pg
        for storage in opened:
            storage.close()
        opened.clear()
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")
    for storage in opened:
        storage.close()


def test_carts_are_saved_replaced_and_cleared(opener: Opener) -> None:
    db = opener()
    assert db.get_cart("burger-ko", "s1") is None
    db.save_cart("burger-ko", "s1", CART)
    two = Cart(lines=(BURGER.model_copy(update={"quantity": 2}),), currency="KRW")
    db.save_cart("burger-ko", "s1", two)
    assert db.get_cart("burger-ko", "s1") == two and db.get_cart("burger-ko", "s2") is None
    db.clear_cart("burger-ko", "s1")
    assert db.get_cart("burger-ko", "s1") is None


def test_an_order_is_stored_once_per_key_and_clears_the_cart(opener: Opener) -> None:
    db = opener()
    db.save_cart("burger-ko", "s1", CART)
    first = db.submit_order("burger-ko", "s1", "voice", CART, idempotency_key="k1")
    again = db.submit_order("burger-ko", "s1", "voice", CART, idempotency_key="k1")
    assert again == first and first.total == 5700 and first.lines == (BURGER,)
    assert db.get_cart("burger-ko", "s1") is None
    assert [o.id for o in db.list_orders("burger-ko")] == [first.id]
    assert db.find_order_by_key("k1") == first == db.get_order(first.id)
    with pytest.raises(BackendError) as err:
        db.submit_order("burger-ko", "s1", "text", Cart(currency="KRW"))
    assert err.value.code == "empty_cart"


def test_a_failed_turn_writes_nothing(opener: Opener) -> None:
    db = opener()
    with pytest.raises(RuntimeError), db.session_turn("burger-ko", "s1") as turn:
        turn.save(CART, DialogueState(failures=1))
        turn.submit("text", CART, "k-crash")
        raise RuntimeError("the gateway died mid-turn")
    assert db.get_cart("burger-ko", "s1") is None
    assert db.find_order_by_key("k-crash") is None and db.list_orders() == []


def test_two_gateways_lose_no_turn_of_one_session(opener: Opener) -> None:
    gateways = [opener(), opener()]
    turns_each = 25

    def add_one(db: Storage) -> None:
        for _ in range(turns_each):
            with db.session_turn("burger-ko", "shared") as turn:
                cart = turn.cart or Cart(currency="KRW")
                held = cart.lines[0].quantity if cart.lines else 0
                turn.save(Cart(lines=(BURGER.model_copy(update={"quantity": held + 1}),), currency="KRW"), turn.state)

    threads = [threading.Thread(target=add_one, args=(db,)) for db in gateways for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert gateways[0].get_cart("burger-ko", "shared").lines[0].quantity == 4 * turns_each


def test_order_numbers_are_unique_across_gateways(opener: Opener) -> None:
    gateways = [opener(), opener()]
    ids: list[str] = []
    lock = threading.Lock()

    def order(db: Storage, n: int) -> None:
        for i in range(10):
            with db.session_turn("burger-ko", f"s{n}-{i}") as turn:
                placed = turn.submit("text", CART, None)
            with lock:
                ids.append(placed.id)

    threads = [threading.Thread(target=order, args=(db, n)) for n, db in enumerate(gateways * 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == 40 and len(set(ids)) == 40


def test_keyed_replies_and_the_last_order_are_kept_per_session(opener: Opener) -> None:
    db = opener()
    with db.session_turn("burger-ko", "s1") as turn:
        turn.save_reply("key-1", "digest", '{"version": "2.0"}')
        placed = turn.submit("voice", CART, None)
    with db.session_turn("burger-ko", "s1") as turn:
        reply = turn.find_reply("key-1")
        assert (reply.digest, reply.response) == ("digest", '{"version": "2.0"}')
        assert turn.find_reply("other") is None and turn.last_order_id() == placed.id
    with db.session_turn("burger-ko", "s2") as turn:
        assert turn.last_order_id() is None


def test_faq_entries_are_upserted_per_store(opener: Opener) -> None:
    db = opener()
    entry = FaqEntry(id="hours", category="store", questions={"ko": ("몇 시까지 해요",)}, answers={"ko": "밤 10시까지요."})
    assert db.upsert_faq("burger-ko", [entry]) == 1
    db.upsert_faq("burger-ko", [FaqEntry(id="hours", category="store", questions=entry.questions, answers={"ko": "11시"})])
    assert db.get_faq("burger-ko", "hours").answers == {"ko": "11시"}
    assert db.get_faq("cafe-ko", "hours") is None and [e.id for e in db.list_faq("burger-ko")] == ["hours"]


def test_the_schema_is_migrated_once_and_reopens(opener: Opener) -> None:
    first = opener()
    first.save_cart("burger-ko", "s1", CART)
    again = opener()
    assert again.schema_version() == first.schema_version() == 3
    assert again.get_cart("burger-ko", "s1") == CART
