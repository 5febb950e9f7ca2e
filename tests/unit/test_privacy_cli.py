"""``voicegw purge`` and ``voicegw privacy export|delete|rotate-key`` on a data folder; on SQLite,
and on PostgreSQL once ``database.url`` is a setting (``db_support``)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.unit.db_support import Target, target  # noqa: F401  (the fixture)
from voicegw.cli import main
from voicegw.privacy.audit import entries
from voicegw.privacy.crypto import DataKeyError, KeyRing, load_keys, new_key, read_keys_file
from voicegw.privacy.store import PrivacyStore
from voicegw.settings import Settings

USER = "kakao-cli-0042"


@pytest.fixture
def settings(tmp_path: Path, target: Target, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.delenv("VOICEGW_DATA_KEYS", raising=False)
    monkeypatch.delenv("VOICEGW_DATA_DIR", raising=False)
    target.use_in_settings(monkeypatch)
    settings = Settings.load(data_dir=tmp_path)
    store = PrivacyStore.from_settings(settings, load_keys(settings))
    store.grant_consent("cafe-ko", USER, "delivery_contact", 30)
    store.save_contact("cafe-ko", USER, "A-0001", "010-1357-2468", "대구광역시 중구 동성로 1", 30)
    store.save_contact("cafe-ko", USER, "A-0002", "010-1357-2468", "대구광역시 중구 동성로 1", 30,
                       now=datetime.now(timezone.utc) - timedelta(days=31))
    store.close()
    return settings


def _run(settings: Settings, *args: str) -> int:
    return main([*args, "--data-dir", str(settings.data_dir)])


def test_purge_prints_counts_per_class(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(settings, "purge") == 0
    lines = dict(line.split(maxsplit=1) for line in capsys.readouterr().out.splitlines())
    assert set(lines) == {"audio", "transcripts", "carts", "replies", "contacts", "events", "audit"}
    assert lines["contacts"].startswith("1 deleted (kept 30 days)") and lines["audio"].startswith("0 deleted")


def test_export_then_delete(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(settings, "privacy", "export", USER) == 0
    exported = json.loads(capsys.readouterr().out)
    assert {c["order_id"] for c in exported["contacts"]} == {"A-0001", "A-0002"}
    assert exported["audit"][0]["action"] == "user.export" and exported["audit"][0]["actor"].startswith("cli")
    assert _run(settings, "privacy", "delete", USER) == 0
    assert "contacts" in capsys.readouterr().out
    store = PrivacyStore.from_settings(settings, load_keys(settings))
    assert store.contact_for_order("A-0001") is None
    assert [e.action for e in entries(store, USER)] == ["user.delete", "user.export"]
    store.close()


def test_rotate_then_drop_the_old_key(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    path = settings.data_dir / "data-keys"
    (first,) = read_keys_file(path)
    assert _run(settings, "privacy", "rotate-key") == 0
    assert "contacts.phone_enc" in capsys.readouterr().out
    newest, old = read_keys_file(path)
    assert old == first and newest != first
    store = PrivacyStore.from_settings(settings, KeyRing([newest], "newest only"))
    assert store.contact_for_order("A-0001").phone == "010-1357-2468"  # already under the new key
    store.close()

    assert _run(settings, "privacy", "rotate-key", "--drop-old") == 0
    assert read_keys_file(path) == [newest]
    store = PrivacyStore.from_settings(settings, load_keys(settings))
    assert store.contact_for_order("A-0002").address == "대구광역시 중구 동성로 1"
    assert [e.action for e in entries(store)][:2] == ["keys.rotate", "keys.rotate"]
    store.close()


def test_environment_keys_rotate_and_a_retired_key_reads_nothing(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """With VOICEGW_DATA_KEYS the operator puts the new key first; --drop-old re-encrypts under it
    and checks. Afterwards the retired key alone reads nothing, and the command says so (exit 2)."""
    (first,) = read_keys_file(settings.data_dir / "data-keys")
    monkeypatch.setenv("VOICEGW_DATA_KEYS", f"{new_key()},{first}")
    assert _run(settings, "privacy", "rotate-key", "--drop-old") == 0
    monkeypatch.setenv("VOICEGW_DATA_KEYS", first)  # the key just retired
    assert _run(settings, "privacy", "rotate-key") == 2  # a clear error, not a traceback
    store = PrivacyStore.from_settings(settings, load_keys(settings))
    with pytest.raises(DataKeyError):
        store.contact_for_order("A-0001")
    store.close()
