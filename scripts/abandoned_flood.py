#!/usr/bin/env python3
"""How long an honest customer waits after a flood of clients that post a clip and hang up.

Starts `voicegw serve` (the real model, embedded skill server, a throw-away data folder), sends
--flood voice orders whose clients close the connection after --hang-up-s, then one honest order,
and prints the honest customer's wait, its status, and how many abandoned sessions changed a cart.

    python scripts/abandoned_flood.py --flood 17
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "audio_fixtures" / "ko" / "cafe_americano_ice_2.wav"


async def wait_ready(base: str) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(600):
            try:
                async with http.get(base + "/readyz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.3)
    raise SystemExit("the gateway did not become ready")


async def post(http: aiohttp.ClientSession, base: str, session: str) -> tuple[int, str | None]:
    async with http.post(f"{base}/v1/voice/orders?store=cafe-ko&session={session}", data=CLIP.read_bytes(),
                         headers={"Content-Type": "audio/wav"}) as r:
        await r.read()
        return r.status, r.headers.get("Retry-After")


async def flood(base: str, n: int, hang_up_s: float) -> None:
    async with aiohttp.ClientSession() as http:
        tasks = [asyncio.create_task(post(http, base, f"gone-{i}")) for i in range(n)]
        await asyncio.sleep(hang_up_s)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def measure(base: str, n: int, hang_up_s: float) -> tuple[float, int, str | None]:
    await flood(base, n, hang_up_s)
    async with aiohttp.ClientSession() as http:
        started = time.monotonic()
        while True:  # an honest kiosk honours Retry-After
            status, retry_after = await post(http, base, "honest")
            if status != 503:
                return time.monotonic() - started, status, retry_after
            await asyncio.sleep(float(retry_after or 1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flood", type=int, default=17)
    parser.add_argument("--hang-up-s", type=float, default=0.3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="voicegw-flood-") as tmp, socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        env = {**os.environ, "VOICEGW_DATA_DIR": tmp, "VOICEGW_MENUS_DIR": str(ROOT / "menus")}
        server = subprocess.Popen([sys.executable, "-m", "voicegw.cli", "serve", "--port", str(port)], cwd=ROOT,
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            asyncio.run(wait_ready(base))
            waited, status, _ = asyncio.run(measure(base, args.flood, args.hang_up_s))
            time.sleep(5)  # let anything still queued finish, to count what it changed
            with sqlite3.connect(Path(tmp) / "voicegw.db") as db:
                changed = db.execute("SELECT COUNT(*) FROM carts WHERE session LIKE 'gone-%'").fetchone()[0]
        finally:
            server.kill()
            server.wait()
    print(f"flood of {args.flood} clients hanging up after {args.hang_up_s} s: honest customer answered "
          f"{status} after {waited:.1f} s (Retry-After honoured); abandoned sessions with a cart: {changed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
