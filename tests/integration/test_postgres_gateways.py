"""Two gateways on two "hosts" (separate data folders) sharing one PostgreSQL database: they serve
one conversation between them, and when one is killed mid-turn (SIGKILL while its clients' turns
are in flight), every unanswered turn retried on the other with its key leaves the books exact:
no order lost, doubled or half-written.

Runs where ``VOICEGW_TEST_DATABASE_URL`` names a database (``.ci/run`` starts PostgreSQL and sets
it); the gateways get a schema of their own, dropped after.
"""

from __future__ import annotations

import os
import signal
import threading
import urllib.error
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.integration.conftest import Gateway, running_gateway

PG_URL = os.environ.get("VOICEGW_TEST_DATABASE_URL")
pytestmark = pytest.mark.skipif(not PG_URL, reason="VOICEGW_TEST_DATABASE_URL is not set (.ci/run sets it)")
DATA_KEY = Fernet.generate_key().decode()
ADDS = [("아메리카노 두 잔 주세요", "americano", 2), ("치즈케이크 하나 주세요", "cheesecake", 1)]


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    import psycopg

    schema = f"gw_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{separator}options=-csearch_path%3D{schema}"  # a URL, as database.url wants
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")


def _env(url: str) -> dict[str, str]:
    # Every gateway on the database needs the same data keys (contacts, audio are encrypted with them).
    return {"VOICEGW_DATABASE__URL": url, "VOICEGW_DATA_KEYS": DATA_KEY}


def _say(gw: Gateway, session: str, text: str, key: str | None = None) -> dict:
    answer = gw.post_json("/v1/text/orders", {"store": "cafe-ko", "session": session, "text": text, "lang": "ko"},
                          headers={"Idempotency-Key": key} if key else None)
    assert answer.status == 200, answer.body
    return answer.body


def _rows(url: str, sql: str, *params) -> list[dict]:
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(url, row_factory=dict_row) as c:
        return c.execute(sql, params).fetchall()


def test_two_hosts_share_one_conversation(database: str, tmp_path: Path) -> None:
    session = f"s-{uuid.uuid4().hex[:8]}"
    env = _env(database)
    for host in ("host-a", "host-b"):
        (tmp_path / host).mkdir()
    with running_gateway(tmp_path / "host-a", env) as a, running_gateway(tmp_path / "host-b", env) as b:
        assert _say(a, session, "아이스 아메리카노 두 잔 주세요")["cart"]["total"] == 9000
        asked = _say(b, session, "에이드 한 잔 주세요")
        assert (asked["status"], asked["reason"]) == ("needs_clarification", "missing_option")
        answered = _say(a, session, "자몽으로 주세요")  # the question was asked on the other host
        assert [(l["item_id"], l["quantity"]) for l in answered["cart"]["lines"]] == [("americano", 2), ("ade", 1)]
        placed = _say(b, session, "주문 완료")
    rows = _rows(database, "SELECT item_id, quantity FROM order_lines WHERE order_id = %s ORDER BY position", placed["order_id"])
    assert [(r["item_id"], r["quantity"]) for r in rows] == [("americano", 2), ("ade", 1)]
    assert not (tmp_path / "host-a" / "voicegw.db").exists() or _no_state_in_sqlite(tmp_path / "host-a" / "voicegw.db")


def _no_state_in_sqlite(path: Path) -> bool:
    import sqlite3

    with sqlite3.connect(path) as c:
        return not c.execute("SELECT name FROM sqlite_master WHERE name IN ('orders', 'carts', 'turn_log')").fetchall()


def test_a_gateway_killed_mid_turn_loses_and_doubles_nothing(database: str, tmp_path: Path) -> None:
    sessions = [f"k-{i}-{uuid.uuid4().hex[:6]}" for i in range(12)]
    env = _env(database)
    for host in ("host-c", "host-d"):
        (tmp_path / host).mkdir()
    with running_gateway(tmp_path / "host-c", env) as survivor, running_gateway(tmp_path / "host-d", env) as victim:
        killed = threading.Event()
        retried: list[str] = []

        def customer(session: str) -> None:
            for step, (text, _, _) in enumerate([*ADDS, ("주문 완료", None, None)]):
                key = f"{session}-{step}"
                threading.Event().wait(0.1)  # a customer's pause: the kill lands among turns in flight
                try:
                    if killed.is_set():
                        raise OSError("the victim is gone")
                    _say(victim, session, text, key)
                except (OSError, urllib.error.URLError, AssertionError):
                    retried.append(key)
                    _say(survivor, session, text, key)  # the kiosk retries elsewhere with the same key

        def kill_soon() -> None:
            threading.Event().wait(0.3)
            assert victim.process is not None
            victim.process.send_signal(signal.SIGKILL)
            killed.set()

        killer = threading.Thread(target=kill_soon)
        killer.start()
        with ThreadPoolExecutor(6) as pool:
            list(pool.map(customer, sessions))
        killer.join()
    assert retried, "the kill came after every turn: nothing was tested"
    orders = _rows(database, "SELECT id, session, total FROM orders WHERE session = ANY(%s)", sessions)
    assert Counter(o["session"] for o in orders) == Counter(sessions)  # one order each: none lost, none doubled
    for order in orders:
        lines = _rows(database, "SELECT item_id, quantity, unit_price FROM order_lines WHERE order_id = %s", order["id"])
        assert sorted((line["item_id"], line["quantity"]) for line in lines) == [("americano", 2), ("cheesecake", 1)]
        assert order["total"] == sum(line["quantity"] * line["unit_price"] for line in lines)
