"""Consents, encrypted contacts, audio kept only with a setting and a consent, the append-only audit log."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from voicegw.privacy.audit import DEV_ACTOR, Actor, audit, entries, pseudonym
from voicegw.privacy.crypto import KeyRing, new_key
from voicegw.privacy.retention import maybe_retain_audio, purge
from voicegw.privacy.store import ConsentError, PrivacyStore
from voicegw.settings import PrivacySettings, RetentionSettings, Settings

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
CLIP = b"RIFF$\x00\x00\x00WAVEfmt " + bytes(range(256)) * 4


@pytest.fixture
def store(tmp_path: Path):
    s = PrivacyStore(tmp_path / "voicegw.db", KeyRing([new_key()], "test"))
    yield s
    s.close()


def _rows(store: PrivacyStore, table: str) -> list[sqlite3.Row]:
    with store.read() as c:
        return c.execute(f"SELECT * FROM {table}").fetchall()


def test_schema_is_created_once_and_reopens(tmp_path: Path) -> None:
    keys = KeyRing([new_key()], "test")
    PrivacyStore(tmp_path / "voicegw.db", keys).close()
    again = PrivacyStore(tmp_path / "voicegw.db", keys)
    with again.read() as c:
        versions = [r[0] for r in c.execute("SELECT version FROM privacy_schema ORDER BY version")]
        assert versions == sorted(set(versions)) and versions[0] == 1  # each migration ran once
        names = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")}
    assert {"consents", "contacts", "retained_audio", "turn_log", "audit_log", "audit_log_no_update",
            "experiment_exposures"} <= names
    again.close()


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


def test_audio_is_kept_nowhere_by_default_even_with_consent(tmp_path: Path, store: PrivacyStore) -> None:
    settings = Settings.load(data_dir=tmp_path)
    assert settings.privacy.retain_audio is False
    store.grant_consent("cafe-ko", "u-1", "audio_qa", 7)
    before = _files(tmp_path)
    assert maybe_retain_audio(settings, store, "cafe-ko", "u-1", CLIP, "audio/wav") is None
    with store.read() as c:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert not _rows(store, "retained_audio")
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
    with store.tx() as c:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            c.execute("UPDATE audit_log SET actor = 'someone else'")
        with pytest.raises(sqlite3.IntegrityError, match="only by the retention purge"):
            c.execute("DELETE FROM audit_log")
    # A cutoff newer than the row is needed; a purge flag with an older one does not unlock it.
    with store.tx() as c:
        c.execute("INSERT INTO audit_purge (before) VALUES (?)", ((NOW - timedelta(days=1)).isoformat(),))
        with pytest.raises(sqlite3.IntegrityError):
            c.execute("DELETE FROM audit_log")
        c.execute("DELETE FROM audit_purge")
    (entry,) = entries(store, "u-1")
    assert (entry.actor, entry.role, entry.action) == ("ops-admin", "admin", "user.export")


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
