"""Data keys: authenticated encryption, where keys come from, and rotation of everything stored."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from tests.unit.db_support import Target, target  # noqa: F401  (the fixture)
from voicegw.privacy.crypto import DataKeyError, KeyRing, load_keys, new_key, read_keys_file, write_keys_file
from voicegw.privacy.store import PrivacyStore
from voicegw.settings import PrivacySettings, Settings


def test_round_trip_and_the_token_hides_the_text() -> None:
    ring = KeyRing([new_key()], "test")
    token = ring.encrypt_text("010-1234-5678")
    assert b"010-1234-5678" not in token and b"1234" not in token
    assert ring.decrypt_text(token) == "010-1234-5678"
    assert ring.encrypt_text("010-1234-5678") != token  # a fresh IV each time: equal values do not show


@pytest.mark.parametrize("position", [1, 12, 30, -40, -1], ids=["timestamp", "iv", "ciphertext", "ciphertext-end", "hmac"])
def test_one_flipped_bit_anywhere_is_refused(position: int) -> None:
    ring = KeyRing([new_key()], "test")
    raw = bytearray(base64.urlsafe_b64decode(ring.encrypt(b"seoul, gangnam-daero 123")))
    raw[position] ^= 0x01  # a well-formed token with one bit changed: only the HMAC can notice
    with pytest.raises(DataKeyError) as err:
        ring.decrypt(base64.urlsafe_b64encode(bytes(raw)))
    assert err.value.code == "undecryptable"


def test_a_key_outside_the_ring_is_a_clear_error() -> None:
    token = KeyRing([new_key()], "old").encrypt(b"secret")
    with pytest.raises(DataKeyError, match="altered, or encrypted with a key that is no longer in the ring"):
        KeyRing([new_key()], "VOICEGW_DATA_KEYS").decrypt(token)


@pytest.mark.parametrize("bad", ["", "not-a-key", "c2hvcnQ=", "é" * 44])
def test_malformed_or_missing_keys_are_refused_at_load(tmp_path: Path, bad: str) -> None:
    settings = Settings.load(data_dir=tmp_path)
    with pytest.raises(DataKeyError):
        if bad:
            load_keys(settings, env={"VOICEGW_DATA_KEYS": bad})
        else:
            (tmp_path / "data-keys").write_text("# only a comment\n")
            load_keys(settings, env={})


def test_key_file_is_created_once_owner_only_with_one_key(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path / "state")
    ring = load_keys(settings, env={})
    path = tmp_path / "state" / "data-keys"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(ring.keys) == 1 and read_keys_file(path) == list(ring.keys)
    assert load_keys(settings, env={}).keys == ring.keys  # reused, not replaced
    assert ring.keys[0] not in repr(ring)


def test_environment_keys_win_over_the_file_and_list_newest_first(tmp_path: Path) -> None:
    newest, older = new_key(), new_key()
    custom = tmp_path / "keys" / "ring"
    settings = Settings.load(data_dir=tmp_path, privacy=PrivacySettings(data_keys_file=custom))
    ring = load_keys(settings, env={"VOICEGW_DATA_KEYS": f" {newest} , {older} "})
    assert ring.keys == (newest, older) and ring.source == "VOICEGW_DATA_KEYS"
    assert not custom.exists()
    old_token = KeyRing([older], "x").encrypt(b"kept under the old key")
    assert ring.decrypt(old_token) == b"kept under the old key"
    assert KeyRing([newest], "x").decrypt(ring.encrypt(b"new")) == b"new"  # the first key encrypts
    assert load_keys(settings, env={}).path == custom  # without the env: the configured file


def test_a_running_ring_follows_a_rewritten_key_file(tmp_path: Path) -> None:
    path = tmp_path / "data-keys"
    old = new_key()
    write_keys_file(path, [old])
    ring = KeyRing(read_keys_file(path), str(path), path)
    newer = new_key()
    write_keys_file(path, [newer, old])
    os.utime(path, ns=(1, 1))  # a different stamp even on a coarse-clock file system
    assert ring.current().keys == (newer, old)


def test_rotation_reencrypts_every_encrypted_column_then_the_old_key_can_go(target: Target) -> None:
    old = KeyRing([new_key()], "test")
    store = PrivacyStore(target.open(), old)
    store.grant_consent("cafe-ko", "u-1", "delivery_contact", 30)
    store.grant_consent("cafe-ko", "u-1", "audio_qa", 7)
    store.save_contact("cafe-ko", "u-1", "A-0001", "010-1234-5678", "서울 강남구 테헤란로 1", contact_days=30)
    clip = store.retain_audio("cafe-ko", "u-1", b"RIFF....WAVEfmt clip", "audio/wav", audio_days=7)

    columns = store.encrypted_columns()
    assert set(columns) == {("contacts", "phone_enc"), ("contacts", "address_enc"), ("retained_audio", "clip_enc")}
    rotated = KeyRing([new_key(), *old.keys], "test")
    counts = store.reencrypt(rotated)
    assert counts == {"contacts.phone_enc": 1, "contacts.address_enc": 1, "retained_audio.clip_enc": 1}

    newest_only = rotated.newest_only()
    with store.read() as c:
        for table, column in columns:
            for (token,) in c.execute(f"SELECT {column} FROM {table}"):
                newest_only.decrypt(token)  # would raise if any token still needed the old key
                with pytest.raises(DataKeyError):
                    old.decrypt(token)
    store.close()
    reopened = PrivacyStore(target.open(), newest_only)
    contact = reopened.contact_for_order("A-0001")
    assert contact is not None and (contact.phone, contact.address) == ("010-1234-5678", "서울 강남구 테헤란로 1")
    assert reopened.retained_clip(clip) == b"RIFF....WAVEfmt clip"
    reopened.close()
