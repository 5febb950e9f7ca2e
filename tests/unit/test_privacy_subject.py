"""Export and delete one user's data: every table of the database is searched afterwards; on
SQLite and on PostgreSQL alike, with the skill server's carts and orders in the same database."""

from __future__ import annotations

import json

import pytest

from tests.unit.db_support import Target, target  # noqa: F401  (the fixture)
from voicegw.dialogue.cart import Cart
from voicegw.nlu.types import LineOption, OrderLine
from voicegw.privacy.audit import Actor, audit, entries
from voicegw.privacy.crypto import KeyRing, new_key
from voicegw.privacy.store import PrivacyStore
from voicegw.privacy.subject import ERASED, delete_user, export_user
from voicegw.turn import IntentOut, TurnResult

USER = "kakao-7f3a9c01e5"
OTHER = "kakao-other-22"
PHONE, ADDRESS = "010-9876-5432", "서울특별시 마포구 월드컵북로 396"
ADMIN = Actor("ops-admin", "admin")


def _line(origin: str) -> OrderLine:
    return OrderLine(
        item_id="americano", name="아이스 아메리카노", quantity=2, unit_price=4500, origin=origin,
        options=(LineOption(group="temperature", value="ice"),),
    )


@pytest.fixture
def keys() -> KeyRing:
    return KeyRing([new_key()], "test")


@pytest.fixture
def db(target: Target, keys: KeyRing) -> Target:
    """Two users with data in every kind of table: the backend's and the privacy ones."""
    backend = target.storage()
    for user in (USER, OTHER):
        order = backend.submit_order("cafe-ko", user, "voice", Cart(lines=(_line("아아 두 잔"),)), idempotency_key=f"confirm-{user}-1")
        backend.save_cart("cafe-ko", user, Cart(lines=(_line(f"{user} 아이스 아메리카노 두 잔"),)))
        with backend.session_turn("cafe-ko", user) as turn:  # a keyed turn's reply, kept for retries
            turn.save_reply(f"reply-{user}", "digest", json.dumps({"text": "네"}))
        store = PrivacyStore(target.open(), keys)
        store.grant_consent("cafe-ko", user, "delivery_contact", 30)
        store.grant_consent("cafe-ko", user, "audio_qa", 7)
        contact = (PHONE, ADDRESS) if user == USER else ("010-0000-1111", "부산광역시 해운대구 우동 1")
        store.save_contact("cafe-ko", user, order.id, *contact, 30)
        store.retain_audio("cafe-ko", user, b"clip of " + user.encode(), "audio/wav", 7)
        store.log_turn(TurnResult(status="ok", session=user, store="cafe-ko", language="ko",
                                  transcript="아이스 아메리카노 두 잔", intent=IntentOut(name="order.add", confidence=0.9)))
        audit(store, ADMIN, "contact.read", user, {"order_id": order.id})
        store.close()
    backend.close()
    return target


def _every_value(store: PrivacyStore, keys: KeyRing) -> list[tuple[str, str]]:
    """(table, text) for every value of every row of every table in the file; tokens decrypted."""
    found = []
    with store.read() as c:
        tables = c.tables()
        assert {"carts", "orders", "order_lines", "turn_replies", "contacts", "consents", "retained_audio", "turn_log",
                "audit_log"} <= set(tables)
        for table in tables:
            for row in c.execute(f'SELECT * FROM "{table}"'):
                for name, value in zip(row.keys(), tuple(row)):
                    if isinstance(value, bytes):
                        value = keys.decrypt(value) if name.endswith("_enc") else value
                        value = value.decode("utf-8", "replace")
                    found.append((table, str(value)))
    return found


def test_export_holds_everything_about_the_user_and_nothing_else(db: Target, keys: KeyRing) -> None:
    store = PrivacyStore(db.open(), keys)
    data = export_user(store, USER)
    store.close()
    assert [c["lines"][0]["origin"] for c in data["carts"]] == [f"{USER} 아이스 아메리카노 두 잔"]
    (order,) = data["orders"]
    assert order["session"] == USER and order["total"] == 9000 and order["lines"][0]["item_id"] == "americano"
    assert [(c["phone"], c["address"]) for c in data["contacts"]] == [(PHONE, ADDRESS)]
    assert {c["purpose"] for c in data["consents"]} == {"audio_qa", "delivery_contact"}
    assert [t["transcript"] for t in data["turn_log"]] == ["아이스 아메리카노 두 잔"]
    assert [r["key"] for r in data["turn_replies"]] == [f"reply-{USER}"]
    (clip,) = data["retained_audio"]
    assert clip["size_bytes"] == len(b"clip of " + USER.encode()) and "clip_enc" not in clip
    assert [(a["actor"], a["action"]) for a in data["audit"]] == [("ops-admin", "contact.read")]
    text = json.dumps(data, ensure_ascii=False)  # JSON all the way down, and no one else's data
    assert OTHER not in text and "010-0000-1111" not in text


def test_after_delete_no_table_mentions_the_user(db: Target, keys: KeyRing) -> None:
    store = PrivacyStore(db.open(), keys)
    before = _every_value(store, keys)
    assert any(USER in v for _, v in before) and any(PHONE in v for _, v in before)

    counts = delete_user(store, USER, ADMIN)

    assert counts["carts"] == counts["contacts"] == counts["retained_audio"] == counts["turn_log"] == counts["turn_replies"] == 1
    assert counts["consents"] == 2 and counts["orders_detached"] == 1
    for table, value in _every_value(store, keys):
        for secret in (USER, PHONE, ADDRESS, "clip of " + USER):
            assert secret not in value, f"{table} still holds {secret!r}"
    # Everyone else is untouched; the order stays for the books, detached from the user.
    after = export_user(store, OTHER)
    assert len(after["carts"]) == len(after["orders"]) == len(after["contacts"]) == len(after["turn_log"]) == 1
    with store.read() as c:
        (session, key, total) = c.execute("SELECT session, idempotency_key, total FROM orders WHERE session != ?", (OTHER,)).fetchone()
    assert (session, key, total) == (ERASED, None, 9000)
    # The delete is audited under the pseudonym; nothing is left to export.
    assert [e.action for e in entries(store, USER)] == ["user.delete", "contact.read"]
    leftovers = export_user(store, USER)
    assert all(leftovers[k] == [] for k in ("carts", "orders", "contacts", "consents", "turn_log", "retained_audio"))
    # The skill server reads the detached order as the books' (not the user's) ...
    backend = db.storage()
    assert backend.list_orders(session=USER) == [] and backend.get_cart("cafe-ko", USER) is None
    assert [o.session for o in backend.list_orders()] == [OTHER, ERASED]
    store.close()
    if db.sqlite:  # ... and on SQLite not in free pages or the write-ahead log either (secure_delete, checkpoint).
        backend.close()
        for path in db.path.parent.iterdir():
            assert USER.encode() not in path.read_bytes(), path.name


def test_delete_reaches_tables_added_later(db: Target, keys: KeyRing) -> None:
    """A table that another part of voicegw adds with a ``session`` column is covered too."""
    store = PrivacyStore(db.open(), keys)
    with store.tx() as c:
        c.execute("CREATE TABLE handoffs (session TEXT NOT NULL, note TEXT)")
        c.execute("INSERT INTO handoffs VALUES (?, 'asked for a person')", (USER,))
    assert export_user(store, USER)["handoffs"] == [{"session": USER, "note": "asked for a person"}]
    assert delete_user(store, USER, ADMIN)["handoffs"] == 1
    assert export_user(store, USER)["handoffs"] == []
    store.close()


def test_deleting_an_unknown_user_changes_nothing(db: Target, keys: KeyRing) -> None:
    store = PrivacyStore(db.open(), keys)
    before = _every_value(store, keys)
    counts = delete_user(store, "nobody-at-all", ADMIN)
    assert not any(counts.values())
    after = _every_value(store, keys)
    assert len(after) > len(before)  # the audit log gained its row, and nothing else changed
    unchanged = ("audit_log", "sqlite_sequence")
    assert sorted(v for v in after if v[0] not in unchanged) == sorted(v for v in before if v[0] not in unchanged)
    store.close()


def test_export_of_a_fresh_database_is_empty(target: Target, keys: KeyRing) -> None:
    store = PrivacyStore(target.open(), keys)  # no backend tables: an external skill server
    data = export_user(store, USER)
    assert "orders" not in data and data["contacts"] == [] and data["audit"] == []
    store.close()
