#!/usr/bin/env python3
"""Kill the gateway mid-turn again and again; retry every unanswered turn with its key; check the books.

A kiosk on a flaky network: each session adds items and confirms, every turn with an
Idempotency-Key, several sessions at once. The gateway (`voicegw serve`, embedded skill server,
SQLite in a throw-away data folder) is killed with SIGKILL at random moments and started again;
a turn that got no answer is sent again, with the same key, until it is answered. Afterwards the
database must hold, for every session, exactly what it asked for: no doubled line, no lost
confirmed order, no order without lines, and totals that are the sum of their lines.

    python scripts/crash_retry.py --sessions 40 --kills 6
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STORE = "cafe-ko"
# (what a customer types, the item and how many it adds)
ADDS = [("아메리카노 두 잔 주세요", "americano", 2), ("카페라떼 한 잔이요", "cafe_latte", 1),
        ("치즈케이크 하나 주세요", "cheesecake", 1), ("바닐라 라떼 세 잔이요", "vanilla_latte", 3)]
CONFIRM = "주문 완료"


@dataclass
class Session:
    name: str
    turns: list[tuple[str, str]]  # (text, idempotency key)
    asked: dict[str, int] = field(default_factory=dict)
    order_id: str | None = None
    retries: int = 0


class Gateway:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.lock = threading.Lock()

    def start(self) -> None:
        env = {**os.environ, "VOICEGW_DATA_DIR": str(self.data_dir), "VOICEGW_MENUS_DIR": str(ROOT / "menus")}
        self.process = subprocess.Popen([sys.executable, "-m", "voicegw.cli", "serve", "--port", str(self.port)],
                                        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(300):
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("the gateway did not start")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def turn(self, session: str, text: str, key: str) -> dict | None:
        """The answer, or None when the connection failed (the gateway was killed)."""
        body = json.dumps({"store": STORE, "session": session, "text": text}).encode()
        request = urllib.request.Request(self.base + "/v1/text/orders", data=body, method="POST",
                                         headers={"Content-Type": "application/json", "Idempotency-Key": key})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as err:
            raise SystemExit(f"{session}: HTTP {err.code} {err.read()[:200]!r}") from err
        except OSError:
            return None


def plan(n: int, rng: random.Random) -> list[Session]:
    sessions = []
    for s in range(n):
        picks = rng.sample(ADDS, rng.randint(1, 3))
        session = Session(f"crash-{s}", [(text, f"k{s}-{i}") for i, (text, _, _) in enumerate(picks)])
        session.turns.append((CONFIRM, f"k{s}-confirm"))
        for _, item, quantity in picks:
            session.asked[item] = session.asked.get(item, 0) + quantity
        sessions.append(session)
    return sessions


def run_session(gateway: Gateway, session: Session) -> None:
    for text, key in session.turns:
        while (answer := gateway.turn(session.name, text, key)) is None:
            session.retries += 1
            time.sleep(0.2)  # the gateway is down: a kiosk waits and sends the same turn again
        if text == CONFIRM:
            session.order_id = answer.get("order_id")


def audit(database: Path, sessions: list[Session]) -> dict[str, int]:
    problems = {"doubled_or_wrong_lines": 0, "lost_orders": 0, "orders_without_lines": 0, "totals_off": 0,
                "extra_orders": 0}
    with sqlite3.connect(database) as db:
        db.row_factory = sqlite3.Row
        for s in sessions:
            orders = db.execute("SELECT * FROM orders WHERE session = ?", (s.name,)).fetchall()
            if not orders:
                problems["lost_orders"] += 1
                continue
            problems["extra_orders"] += len(orders) - 1
            for order in orders:
                lines = db.execute("SELECT * FROM order_lines WHERE order_id = ?", (order["id"],)).fetchall()
                if not lines:
                    problems["orders_without_lines"] += 1
                if sum(line["unit_price"] * line["quantity"] for line in lines) != order["total"]:
                    problems["totals_off"] += 1
                held: dict[str, int] = {}
                for line in lines:
                    held[line["item_id"]] = held.get(line["item_id"], 0) + line["quantity"]
                if held != s.asked:
                    problems["doubled_or_wrong_lines"] += 1
            if s.order_id not in {o["id"] for o in orders}:
                problems["lost_orders"] += 1
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=40)
    parser.add_argument("--kills", type=int, default=6)
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    sessions = plan(args.sessions, rng)
    with tempfile.TemporaryDirectory(prefix="voicegw-crash-") as tmp:
        gateway = Gateway(Path(tmp))
        gateway.start()
        pending = list(sessions)
        workers: list[threading.Thread] = []
        done = threading.Event()

        def worker() -> None:
            while pending:
                try:
                    session = pending.pop()
                except IndexError:
                    return
                run_session(gateway, session)

        for _ in range(args.parallel):
            workers.append(threading.Thread(target=worker, daemon=True))
            workers[-1].start()

        def killer() -> None:
            for _ in range(args.kills):
                time.sleep(rng.uniform(0.5, 2.0))
                if done.is_set():
                    return
                gateway.kill()
                time.sleep(rng.uniform(0.2, 1.0))
                gateway.start()

        chaos = threading.Thread(target=killer, daemon=True)
        chaos.start()
        for w in workers:
            w.join()
        done.set()
        chaos.join()
        gateway.kill()
        confirmed = sum(1 for s in sessions if s.order_id)
        problems = audit(Path(tmp) / "voicegw.db", sessions)
    retried = sum(s.retries for s in sessions)
    print(f"sessions {len(sessions)}, turns {sum(len(s.turns) for s in sessions)}, kills {args.kills}, "
          f"turns sent again after a kill {retried}, confirmed {confirmed}")
    print(json.dumps(problems))
    return 0 if not any(problems.values()) and confirmed == len(sessions) else 1


if __name__ == "__main__":
    sys.exit(main())
