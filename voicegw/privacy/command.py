"""``voicegw purge`` and ``voicegw privacy export|delete|rotate-key``: the operator's side of
retention, a user's rights and key rotation, on the gateway's database (``database.url``'s
PostgreSQL, else the SQLite file)."""

from __future__ import annotations

import argparse
import getpass
import json
from collections.abc import Callable

from voicegw.backend.storage import REPLY_RETENTION
from voicegw.privacy.audit import CLI_ACTOR, Actor, audit
from voicegw.privacy.crypto import KeyRing, keys_file, keys_from_env, load_keys, new_key, write_keys_file
from voicegw.privacy.retention import purge
from voicegw.privacy.store import PrivacyStore
from voicegw.privacy.subject import delete_user, export_user
from voicegw.settings import Settings


def add_privacy_arguments(parser: argparse.ArgumentParser, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """The ``privacy`` subcommands; ``common`` adds the shared options (--config, --data-dir)."""
    commands = parser.add_subparsers(dest="privacy_command", required=True)
    export = commands.add_parser("export", help="print everything kept about a user (session id) as JSON; audited")
    export.add_argument("user")
    delete = commands.add_parser("delete", help="delete a user's data from every table (orders kept, detached); audited")
    delete.add_argument("user")
    rotate = commands.add_parser(
        "rotate-key", help="put a new data key in front and re-encrypt everything; later, --drop-old removes the old keys"
    )
    rotate.add_argument("--drop-old", action="store_true", help="re-encrypt under the newest key, check, then drop every older key")
    for sub in (export, delete, rotate):
        common(sub)


def _actor() -> Actor:
    try:
        return Actor(f"{CLI_ACTOR.name}:{getpass.getuser()}", CLI_ACTOR.role)
    except (KeyError, OSError):  # no passwd entry (containers)
        return CLI_ACTOR


def open_store(settings: Settings, keys: KeyRing | None = None) -> PrivacyStore:
    return PrivacyStore.from_settings(settings, keys or load_keys(settings))


def run_purge(args: argparse.Namespace, settings: Settings) -> int:
    store = open_store(settings)
    try:
        counts = purge(store, settings.privacy.retention)
    finally:
        store.close()
    days = settings.privacy.retention
    periods = {"audio": f"{days.audio_days} days", "transcripts": f"{days.transcripts_days} days",
               "carts": f"{days.transcripts_days} days", "replies": f"{REPLY_RETENTION.total_seconds() / 3600:g} hours", "contacts": f"{days.contact_days} days",
               "events": f"{days.events_days} days", "audit": f"{days.audit_days} days"}
    for name, count in counts.items():
        print(f"{name:12} {count:6d} deleted (kept {periods[name]})")
    return 0


def run_privacy(args: argparse.Namespace, settings: Settings) -> int:
    if args.privacy_command == "rotate-key":
        return _rotate(settings, args.drop_old)
    store = open_store(settings)
    try:
        if args.privacy_command == "export":
            audit(store, _actor(), "user.export", args.user)
            print(json.dumps(export_user(store, args.user), ensure_ascii=False, indent=2))
        else:
            counts = delete_user(store, args.user, _actor())
            for table, count in counts.items():
                print(f"{table:16} {count:6d}")
    finally:
        store.close()
    return 0


def _rotate(settings: Settings, drop_old: bool) -> int:
    ring = load_keys(settings)
    from_env = keys_from_env()
    if not drop_old and not from_env:
        ring = KeyRing([new_key(), *ring.keys], ring.source, ring.path)
        write_keys_file(keys_file(settings), ring.keys)  # first: a failure below leaves both keys usable
    store = open_store(settings, ring)
    try:
        counts = store.reencrypt(ring)
        if drop_old:
            store.reencrypt(ring.newest_only())  # fails, dropping nothing, if any token needs an old key
        audit(store, _actor(), "keys.rotate", detail={"drop_old": drop_old, "keys": 1 if drop_old else len(ring.keys), **counts})
    finally:
        store.close()
    if drop_old and not from_env:
        write_keys_file(keys_file(settings), ring.keys[:1])
    for column, count in counts.items():
        print(f"{column:24} {count:6d} re-encrypted")
    if from_env and drop_old:
        print("every token decrypts with the first key of VOICEGW_DATA_KEYS: the other keys may now be removed there")
    elif from_env:
        print("keys come from VOICEGW_DATA_KEYS: data is now under its first key (put a new key first to rotate)")
    elif drop_old:
        print(f"older keys dropped from {keys_file(settings)} (running servers reread it)")
    else:
        print(f"new key added in front of {keys_file(settings)} (running servers reread it); "
              "run `voicegw privacy rotate-key --drop-old` once every server has seen it")
    return 0
