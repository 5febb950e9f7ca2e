"""API keys as an operator uses them: `voicegw serve` starts keyless on loopback and says so; a
key made with `voicegw keys create` in another process ends development mode within seconds;
`voicegw keys revoke` shuts that key out; slow senders are cut off by the served server."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.integration.conftest import ROOT, running_gateway

READ_TIMEOUT_S = 1.0
TURN = json.dumps({"store": "cafe-ko", "session": "keys", "text": "아메리카노 한 잔"}).encode()


def keys_cli(data_dir: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "voicegw.cli", "keys", *args], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "VOICEGW_DATA_DIR": str(data_dir)},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def status_of(base_url: str, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(f"{base_url}/v1/text/orders", data=TURN, method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def eventually(check, timeout_s: float = 6.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def test_keys_lifecycle_against_the_served_gateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICEGW_SERVER__READ_TIMEOUT_S", str(READ_TIMEOUT_S))
    with running_gateway(tmp_path) as gw:
        [log_path] = tmp_path.glob("server-*.log")
        assert re.search(r"WARNING .*development mode: no API keys, loopback only", log_path.read_text())
        assert status_of(gw.base_url)[0] == 200

        created = keys_cli(tmp_path, "create", "--name", "kiosk-1", "--role", "kiosk")
        [token] = re.findall(r"^vgw_\S+$", created, re.MULTILINE)
        key_id = token.split("_")[1]
        assert eventually(lambda: status_of(gw.base_url)[0] == 401), "development mode did not end"
        assert status_of(gw.base_url, {"Authorization": f"Bearer {token}"})[0] == 200

        listed = keys_cli(tmp_path, "list", "--json")
        assert token.split("_", 2)[2] not in listed and json.loads(listed)[0]["id"] == key_id

        keys_cli(tmp_path, "revoke", key_id)
        assert eventually(lambda: status_of(gw.base_url, {"X-API-Key": token}) == (
            401, {"error": {"code": "key_revoked", "message": f"the API key {key_id} (kiosk-1) was revoked"}}
        ))

        host, port = gw.base_url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            started = time.monotonic()
            sock.sendall(b"POST /v1/text/orders HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 100\r\n\r\n{")  # and nothing more
            answer = b""
            while chunk := sock.recv(4096):
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 408") and time.monotonic() - started < READ_TIMEOUT_S + 2
