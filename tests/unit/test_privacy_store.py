"""Consents, encrypted contacts, audio kept only with a setting and a consent, the append-only
audit log; on SQLite and on PostgreSQL alike (``db_support``)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.unit.db_support import Target, target  # noqa: F401  (the fixture)
from voicegw.db import IntegrityError, Row
from voicegw.privacy.audit import DEV_ACTOR, Actor, audit, entries, pseudonym
from voicegw.privacy.crypto import KeyRing, new_key
from voicegw.privacy.retention import maybe_retain_audio, purge
from voicegw.privacy.store import ConsentError, PrivacyStore
from voicegw.settings import PrivacySettings, RetentionSettings, Settings
from voicegw.turn import ExposureOut, ReplyOut, TurnResult

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
CLIP = b"RIFF$\x00\x00\x00WAVEfmt " + bytes(range(256)) * 4


@pytest.fixture
def store(target: Target):
    s = PrivacyStore(target.open(), KeyRing([new_key()], "test"))
    yield s
    s.close()


def _rows(store: PrivacyStore, table: str) -> list[Row]:
    with store.read() as c:
        return c.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()


def _triggers(store: PrivacyStore) -> set[str]:
    with store.read() as c:
        if c.dialect == "sqlite":
            return {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        return {r[0] for r in c.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")}


def test_schema_is_created_once_and_reopens(target: Target) -> None:
    keys = KeyRing([new_key()], "test")
    PrivacyStore(target.open(), keys).close()
    again = PrivacyStore(target.open(), keys)
    with again.read() as c:
        versions = [r[0] for r in c.execute("SELECT version FROM privacy_schema ORDER BY version")]
        assert versions == sorted(set(versions)) == [1, 2]  # each migration ran once
        tables = set(c.tables())
        salt = c.execute("SELECT value FROM privacy_meta WHERE name = 'pseudonym_salt'").fetchone()[0]
    assert {"consents", "contacts", "retained_audio", "turn_log", "audit_log", "experiment_exposures"} <= tables
    assert {"audit_log_no_update", "audit_log_no_delete"} <= _triggers(again)
    assert isinstance(salt, bytes) and len(salt) == 32
    again.close()


def test_two_gateways_starting_at_once_migrate_once(target: Target) -> None:
    keys, opened, errors = KeyRing([new_key()], "test"), [], []

    def start() -> None:
        try:
            opened.append(PrivacyStore(target.open(), keys))
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(opened) == 4
    with opened[0].read() as c:
        assert [r[0] for r in c.execute("SELECT version FROM privacy_schema ORDER BY version")] == [1, 2]
        assert c.execute("SELECT COUNT(*) FROM privacy_meta").fetchone()[0] == 1
    for s in opened:
        s.close()


def test_consent_grant_renew_and_withdraw(store: PrivacyStore) -> None:
    first = store.grant_consent("cafe-ko", "u-1", "audio_qa", 7, now=NOW)
    assert store.active_consent("cafe-ko", "u-1", "audio_qa") == first
    assert store.active_consent("cafe-ko", "u-1", "delivery_contact") is None
    assert store.active_consent("other-store", "u-1", "audio_qa") is None
    renewed = store.grant_consent("cafe-ko", "u-1", "audio_qa", 3, now=NOW + timedelta(hours=1))
    assert store.active_consent("cafe-ko", "u-1", "audio_qa") == renewed and renewed.id != first.id
    assert store.withdraw_consent("cafe-ko", "u-1", "audio_qa")["consents"] == 1
    assert store.active_consent("cafe-ko", "u-1", "audio_qa") is None
    assert store.withdraw_consent("cafe-ko", "u-1", "audio_qa")["consents"] == 0
    with pytest.raises(ValueError):
        store.grant_consent("cafe-ko", "u-1", "marketing", 7)  # type: ignore[arg-type]


def test_contact_needs_consent_and_is_stored_encrypted(store: PrivacyStore) -> None:
    with pytest.raises(ConsentError) as err:
        store.save_contact("cafe-ko", "u-1", "A-0001", "010-1234-5678", "서울 강남구 테헤란로 1", contact_days=30)
    assert err.value.code == "consent_required" and not _rows(store, "contacts")

    store.grant_consent("cafe-ko", "u-1", "delivery_contact", 5, now=NOW)
    store.save_contact("cafe-ko", "u-1", "A-0001", "010-1234-5678", "서울 강남구 테헤란로 1", contact_days=30, now=NOW)
    (row,) = _rows(store, "contacts")
    stored = b"".join(v if isinstance(v, bytes) else str(v).encode() for v in tuple(row))
    assert b"1234-5678" not in stored and "테헤란로".encode() not in stored
    contact = store.contact_for_order("A-0001")
    assert contact is not None and contact.phone == "010-1234-5678" and contact.address == "서울 강남구 테헤란로 1"
    # The shorter of the class period (30 days) and the customer's (5 days).
    assert contact.expires_at == (NOW + timedelta(days=5)).isoformat(timespec="milliseconds")
    assert store.contact_for_order("A-0002") is None

    assert store.withdraw_consent("cafe-ko", "u-1", "delivery_contact")["contacts"] == 1
    assert store.contact_for_order("A-0001") is None


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def test_audio_is_kept_nowhere_by_default_even_with_consent(tmp_path: Path, target: Target, store: PrivacyStore) -> None:
    settings = Settings.load(data_dir=tmp_path)
    assert settings.privacy.retain_audio is False
    store.grant_consent("cafe-ko", "u-1", "audio_qa", 7)
    before = _files(tmp_path)
    assert maybe_retain_audio(settings, store, "cafe-ko", "u-1", CLIP, "audio/wav") is None
    store.checkpoint()
    assert not _rows(store, "retained_audio")
    if target.sqlite:  # and no file of the SQLite database holds it either
        assert {p.name for p in _files(tmp_path) - before} <= {"voicegw.db-wal", "voicegw.db-shm"}
        assert CLIP[:40] not in b"".join(p.read_bytes() for p in _files(tmp_path))


def test_audio_is_kept_encrypted_only_with_the_setting_and_a_consent(tmp_path: Path, store: PrivacyStore) -> None:
    settings = Settings.load(data_dir=tmp_path, privacy=PrivacySettings(retain_audio=True))
    assert maybe_retain_audio(settings, store, "cafe-ko", "u-1", CLIP, "audio/wav") is None  # no consent
    store.grant_consent("cafe-ko", "u-1", "delivery_contact", 7)
    assert maybe_retain_audio(settings, store, "cafe-ko", "u-1", CLIP) is None  # consent to something else
    store.grant_consent("cafe-ko", "u-1", "audio_qa", 30, now=NOW)
    clip_id = maybe_retain_audio(settings, store, "cafe-ko", "u-1", CLIP, "audio/wav", now=NOW)
    assert clip_id is not None
    (row,) = _rows(store, "retained_audio")
    assert CLIP[40:80] not in row["clip_enc"] and row["size_bytes"] == len(CLIP)
    assert row["expires_at"] == (NOW + timedelta(days=7)).isoformat(timespec="milliseconds")  # audio_days caps 30
    assert store.retained_clip(clip_id) == CLIP

    no_days = settings.model_copy(update={"privacy": PrivacySettings(retain_audio=True, retention=RetentionSettings(audio_days=0))})
    assert maybe_retain_audio(no_days, store, "cafe-ko", "u-1", CLIP) is None

    assert store.withdraw_consent("cafe-ko", "u-1", "audio_qa")["retained_audio"] == 1
    assert not _rows(store, "retained_audio")
    assert maybe_retain_audio(settings, store, "cafe-ko", "u-1", CLIP) is None


def test_audit_log_is_append_only(store: PrivacyStore) -> None:
    admin = Actor("ops-admin", "admin")
    audit(store, admin, "user.export", "u-1", now=NOW)
    # Each refused statement in a transaction of its own: PostgreSQL ends a transaction at its first error.
    with pytest.raises(IntegrityError, match="append-only"), store.db.tx() as c:
        c.execute("UPDATE audit_log SET actor = 'someone else'")
    with pytest.raises(IntegrityError, match="only by the retention purge"), store.db.tx() as c:
        c.execute("DELETE FROM audit_log")
    # A cutoff newer than the row is needed; a purge flag with an older one does not unlock it.
    with pytest.raises(IntegrityError, match="only by the retention purge"), store.db.tx() as c:
        c.execute("INSERT INTO audit_purge (before) VALUES (?)", ((NOW - timedelta(days=1)).isoformat(),))
        c.execute("DELETE FROM audit_log")
    assert not _rows(store, "audit_purge")  # rolled back with the refused delete
    (entry,) = entries(store, "u-1")
    assert (entry.actor, entry.role, entry.action) == ("ops-admin", "admin", "user.export")


def test_a_purge_in_flight_elsewhere_unlocks_nothing(target: Target, store: PrivacyStore) -> None:
    """PostgreSQL: the purge's flag, uncommitted in its own transaction, lets no other transaction
    delete audit rows meanwhile. (On SQLite no second writer can run meanwhile at all.)"""
    if target.sqlite:
        pytest.skip("one writer at a time: no second transaction runs beside the purge")
    audit(store, DEV_ACTOR, "user.export", "u-1", now=NOW - timedelta(days=400))
    other = target.open()
    flagged, release = threading.Event(), threading.Event()

    def purge_in_flight() -> None:
        with other.tx() as c:
            c.execute("INSERT INTO audit_purge (before) VALUES (?)", (NOW.isoformat(),))
            flagged.set()
            release.wait(10)
            c.execute("DELETE FROM audit_purge")

    holder = threading.Thread(target=purge_in_flight)
    holder.start()
    try:
        assert flagged.wait(10)
        with pytest.raises(IntegrityError, match="only by the retention purge"), store.db.tx() as c:
            c.execute("DELETE FROM audit_log")
    finally:
        release.set()
        holder.join()
    assert len(entries(store)) == 1


def test_truncate_cannot_empty_the_audit_log(target: Target, store: PrivacyStore) -> None:
    """PostgreSQL's TRUNCATE skips row triggers, so a statement trigger refuses it (SQLite has none)."""
    if target.sqlite:
        pytest.skip("SQLite has no TRUNCATE")
    audit(store, DEV_ACTOR, "user.export", "u-1", now=NOW)
    with pytest.raises(IntegrityError, match="append-only"), store.db.tx() as c:
        c.execute("TRUNCATE audit_log")
    assert len(entries(store)) == 1


def test_audit_log_names_users_by_pseudonym_only(store: PrivacyStore) -> None:
    audit(store, DEV_ACTOR, "contact.read", "kakao-user-7f3a", {"order_id": "A-0001"})
    (row,) = _rows(store, "audit_log")
    assert "kakao-user-7f3a" not in " ".join(str(v) for v in tuple(row))
    with store.read() as c:
        assert row["subject"] == pseudonym(c, "kakao-user-7f3a") != pseudonym(c, "kakao-user-7f3b")
    assert [e.detail for e in entries(store, "kakao-user-7f3a")] == [{"order_id": "A-0001"}]
    assert entries(store, "someone-else") == []


def test_purge_is_the_only_way_audit_rows_leave(store: PrivacyStore) -> None:
    audit(store, DEV_ACTOR, "user.export", "u-old", now=NOW - timedelta(days=400))
    audit(store, DEV_ACTOR, "user.export", "u-new", now=NOW - timedelta(days=10))
    assert purge(store, RetentionSettings(audit_days=365), now=NOW)["audit"] == 1
    assert [e.action for e in entries(store, "u-new")] == ["user.export"] and entries(store, "u-old") == []
    assert not _rows(store, "audit_purge")  # the flag does not outlive the purge
    assert [e.action for e in entries(store)][0] == "data.purge"  # and the purge is itself audited


def test_one_active_consent_per_purpose_is_enforced_by_the_database(store: PrivacyStore) -> None:
    store.grant_consent("cafe-ko", "u-1", "audio_qa", 7, now=NOW)
    with pytest.raises(IntegrityError), store.db.tx() as c:  # a second active one, behind the store's back
        c.execute("INSERT INTO consents (store, session, purpose, granted_at, retention_days) VALUES (?, ?, ?, ?, ?)",
                  ("cafe-ko", "u-1", "audio_qa", NOW.isoformat(), 7))
    store.withdraw_consent("cafe-ko", "u-1", "audio_qa", now=NOW)
    store.grant_consent("cafe-ko", "u-1", "audio_qa", 7, now=NOW)  # withdrawn ones do not count
    assert len(_rows(store, "consents")) == 2


def test_gateways_granting_and_withdrawing_at_once_leave_one_active_consent(target: Target) -> None:
    """Writes about one user run one after the other, from any connection: renewals never collide
    on the one-active index, and nothing is kept under a consent withdrawn meanwhile."""
    keys = KeyRing([new_key()], "test")
    stores = [PrivacyStore(target.open(), keys) for _ in range(3)]
    errors: list[Exception] = []

    def churn(s: PrivacyStore) -> None:
        for _ in range(15):
            try:
                s.grant_consent("cafe-ko", "u-race", "delivery_contact", 30)
                s.save_contact("cafe-ko", "u-race", "A-0001", "010-1111-2222", "서울 중구 세종대로 110", 30)
                s.withdraw_consent("cafe-ko", "u-race", "delivery_contact")
            except ConsentError:
                pass  # another gateway withdrew it between our grant and our save: refused, not kept
            except Exception as err:  # pragma: no cover - reported below
                errors.append(err)

    threads = [threading.Thread(target=churn, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with stores[0].read() as c:
        orphans = c.execute("SELECT COUNT(*) FROM contacts JOIN consents ON consents.id = contacts.consent_id"
                            " WHERE consents.withdrawn_at IS NOT NULL").fetchone()[0]
        active = c.execute("SELECT COUNT(*) FROM consents WHERE withdrawn_at IS NULL").fetchone()[0]
    assert orphans == 0 and active <= 1
    for s in stores:
        s.close()


def test_turns_and_exposures_round_trip_once_per_phase(store: PrivacyStore) -> None:
    heard = ExposureOut(experiment="greeting-tone", phase="p1", variant="warm")
    result = TurnResult(status="ok", session="u-1", store="cafe-ko", language="ko", transcript="라떼 한 잔",
                        reply=ReplyOut(text="네", kind="greeting", experiment=heard))
    first = store.log_turn(result, "voice", now=NOW)
    second = store.log_turn(result, "voice", now=NOW + timedelta(seconds=5))
    assert second > first
    turns = _rows(store, "turn_log")
    assert [(t["session"], t["channel"], t["transcript"], t["reply_kind"], t["handoff"]) for t in turns] == [
        ("u-1", "voice", "라떼 한 잔", "greeting", 0)] * 2
    (exposure,) = _rows(store, "experiment_exposures")
    assert (exposure["experiment"], exposure["phase"], exposure["variant"], exposure["at"]) == (
        "greeting-tone", "p1", "warm", NOW.isoformat(timespec="milliseconds"))
    store.log_turn(result.model_copy(update={"reply": ReplyOut(text="네", kind="greeting", experiment=heard.model_copy(
        update={"phase": "p2", "variant": "plain"}))}), now=NOW)
    assert [r["phase"] for r in _rows(store, "experiment_exposures")] == ["p1", "p2"]
