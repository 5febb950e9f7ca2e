"""``purge(now)``: each class of personal data goes when its period is up, and nothing younger;
on SQLite and on PostgreSQL alike, the skill server's carts and replies included."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.unit.db_support import Target, target  # noqa: F401  (the fixture)
from voicegw.dialogue.cart import Cart
from voicegw.nlu.types import OrderLine
from voicegw.privacy.audit import DEV_ACTOR, audit
from voicegw.privacy.crypto import KeyRing, new_key
from voicegw.privacy.retention import purge
from voicegw.privacy.store import PrivacyStore, iso
from voicegw.settings import RetentionSettings
from voicegw.turn import ExposureOut, IntentOut, ReplyOut, TurnResult

NOW = datetime(2025, 6, 1, 9, 0, tzinfo=timezone.utc)
RETENTION = RetentionSettings(audio_days=7, transcripts_days=30, contact_days=30, events_days=90, audit_days=365)


def _ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def _count(store: PrivacyStore, table: str) -> int:
    with store.read() as c:
        return c.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


@pytest.fixture
def store(target: Target):
    s = PrivacyStore(target.open(), KeyRing([new_key()], "test"))
    yield s
    s.close()


def _turn(session: str, text: str) -> TurnResult:
    return TurnResult(status="ok", session=session, store="cafe-ko", language="ko", transcript=text,
                      intent=IntentOut(name="order.add", confidence=0.9))


def test_each_class_goes_after_its_own_period(target: Target, store: PrivacyStore) -> None:
    # audio: kept 7 days, or less when the customer agreed to less
    store.grant_consent("cafe-ko", "u-audio", "audio_qa", 30, now=_ago(20))
    store.retain_audio("cafe-ko", "u-audio", b"old clip", None, RETENTION.audio_days, now=_ago(8))
    store.retain_audio("cafe-ko", "u-audio", b"new clip", None, RETENTION.audio_days, now=_ago(6))
    store.grant_consent("cafe-ko", "u-brief", "audio_qa", 1, now=_ago(3))
    store.retain_audio("cafe-ko", "u-brief", b"one-day clip", None, RETENTION.audio_days, now=_ago(2))
    # transcripts: the turn log and the A/B exposures, 30 days
    store.log_turn(_turn("u-t", "아메리카노 한 잔"), now=_ago(31))
    store.log_turn(_turn("u-t", "라떼 두 잔"), now=_ago(29))
    for phase, age in (("p1", 31), ("p2", 29)):
        heard = ReplyOut(text="네", experiment=ExposureOut(experiment="tone", phase=phase, variant="warm"))
        store.log_turn(_turn("u-x", "").model_copy(update={"reply": heard}), now=_ago(age + 0.001))
    # contacts: 30 days from the order
    store.grant_consent("cafe-ko", "u-c", "delivery_contact", 365, now=_ago(40))
    store.save_contact("cafe-ko", "u-c", "A-0001", "010-1111-2222", "부산 해운대구 우동 1", 30, now=_ago(31))
    store.save_contact("cafe-ko", "u-c", "A-0002", "010-1111-2222", "부산 해운대구 우동 1", 30, now=_ago(29))
    # events: consents withdrawn 90 days ago, or unused and granted that long ago
    store.grant_consent("cafe-ko", "u-w", "audio_qa", 7, now=_ago(200))
    store.withdraw_consent("cafe-ko", "u-w", "audio_qa", now=_ago(91))
    store.grant_consent("cafe-ko", "u-w2", "audio_qa", 7, now=_ago(100))
    store.withdraw_consent("cafe-ko", "u-w2", "audio_qa", now=_ago(89))
    store.grant_consent("cafe-ko", "u-idle", "delivery_contact", 7, now=_ago(91))
    # audit: a year
    audit(store, DEV_ACTOR, "user.export", "u-x", now=_ago(366))
    audit(store, DEV_ACTOR, "user.export", "u-x", now=_ago(364))
    # carts idle past the transcript period
    backend = target.storage()
    line = OrderLine(item_id="americano", name="아메리카노", quantity=1, unit_price=4500, origin="아메리카노 하나")
    backend.save_cart("cafe-ko", "u-cart-old", Cart(lines=(line,)))
    backend.save_cart("cafe-ko", "u-cart-new", Cart(lines=(line,)))
    with store.tx() as c:
        c.execute("UPDATE carts SET updated_at = ? WHERE session = 'u-cart-old'", (iso(_ago(31)),))
        c.execute("UPDATE carts SET updated_at = ? WHERE session = 'u-cart-new'", (iso(_ago(29)),))
    # answers kept for retried keyed turns: a day
    with store.tx() as c:
        for session, age in (("u-reply-old", 1.1), ("u-reply-new", 0.9)):
            c.execute("INSERT INTO turn_replies (key, store, session, digest, response, created_at)"
                      " VALUES (?, 'cafe-ko', ?, 'd', '{}', ?)", (session, session, iso(_ago(age))))

    counts = purge(store, RETENTION, now=NOW)

    assert counts == {"audio": 2, "transcripts": 3, "carts": 1, "replies": 1, "contacts": 1, "events": 2, "audit": 1}
    with store.read() as c:
        assert [r[0] for r in c.execute("SELECT session FROM retained_audio")] == ["u-audio"]
        assert [r[0] for r in c.execute("SELECT transcript FROM turn_log WHERE session = 'u-t'")] == ["라떼 두 잔"]
        assert [r[0] for r in c.execute("SELECT order_id FROM contacts")] == ["A-0002"]
        assert [r[0] for r in c.execute("SELECT phase FROM experiment_exposures")] == ["p2"]
        assert {r[0] for r in c.execute("SELECT session FROM consents")} == {"u-audio", "u-brief", "u-c", "u-w2"}
        assert [r[0] for r in c.execute("SELECT session FROM carts")] == ["u-cart-new"]
        assert [r[0] for r in c.execute("SELECT session FROM turn_replies")] == ["u-reply-new"]
    assert backend.get_cart("cafe-ko", "u-cart-new") is not None
    backend.close()
    assert store.retained_clip(1) is None and store.retained_clip(2) == b"new clip"

    assert purge(store, RETENTION, now=NOW) == dict.fromkeys(counts, 0)  # nothing due twice


def test_purge_works_without_the_backend_tables(store: PrivacyStore) -> None:
    """An external skill server keeps carts elsewhere: the gateway's file has no carts table."""
    assert not store.has_table("carts")
    assert purge(store, RETENTION, now=NOW)["carts"] == 0


def test_a_shorter_setting_applies_to_data_kept_before_it(store: PrivacyStore) -> None:
    store.grant_consent("cafe-ko", "u-1", "delivery_contact", 365, now=_ago(20))
    store.save_contact("cafe-ko", "u-1", "A-0001", "010-1111-2222", "부산 해운대구 우동 1", 30, now=_ago(10))
    assert purge(store, RETENTION, now=NOW)["contacts"] == 0
    assert purge(store, RETENTION.model_copy(update={"contact_days": 7}), now=NOW)["contacts"] == 1
    assert _count(store, "contacts") == 0


def test_turn_log_keeps_only_redacted_transcripts(store: PrivacyStore) -> None:
    store.log_turn(_turn("u-1", "배달은 010-1234-5678 으로 연락 주세요 아메리카노 두 잔"), now=NOW)
    with store.read() as c:
        (text,) = c.execute("SELECT transcript FROM turn_log").fetchone()
    assert "1234" not in text and "5678" not in text and "아메리카노 두 잔" in text
