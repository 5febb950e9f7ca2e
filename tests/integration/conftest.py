"""The real gateway as users run it: `voicegw serve` in its own process on a loopback port,
with the real base model, the sample menus and the embedded SQLite backend."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from voicegw.asr.models import resolve_model
from voicegw.errors import ModelError
from voicegw.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "audio_fixtures"
SATURATED_RETRIES = 6


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]


@dataclass
class Gateway:
    base_url: str
    database: Path
    process: subprocess.Popen | None = None
    """The `voicegw serve` process, when this test started it."""

    def post(self, path: str, data: bytes, content_type: str, headers: dict[str, str] | None = None) -> Answer:
        """POST as a kiosk does: a clip the busy recogniser refuses (503 saturated) is sent again
        after its Retry-After, a few times."""
        for _ in range(SATURATED_RETRIES):
            request = urllib.request.Request(
                self.base_url + path, data=data, method="POST", headers={"Content-Type": content_type, **(headers or {})}
            )
            answer = _send(request)
            if not (answer.status == 503 and isinstance(answer.body, dict)
                    and answer.body.get("error", {}).get("code") == "saturated"):
                return answer
            time.sleep(min(float(answer.headers.get("Retry-After", "1")), 10.0))
        return answer

    def post_json(self, path: str, payload: Any, headers: dict[str, str] | None = None) -> Answer:
        return self.post(path, json.dumps(payload, ensure_ascii=False).encode(), "application/json", headers)

    def put_json(self, path: str, payload: Any) -> Answer:
        data = json.dumps(payload, ensure_ascii=False).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method="PUT",
                                         headers={"Content-Type": "application/json"})
        return _send(request)

    def get(self, path: str) -> Answer:
        return _send(urllib.request.Request(self.base_url + path))

    def delete(self, path: str) -> Answer:
        return _send(urllib.request.Request(self.base_url + path, method="DELETE"))

    def query(self, sql: str, *params: Any) -> list[sqlite3.Row]:
        """Read the backend's database directly, as an operator would."""
        connection = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True)
        connection.row_factory = sqlite3.Row
        try:
            return connection.execute(sql, params).fetchall()
        finally:
            connection.close()


def _send(request: urllib.request.Request) -> Answer:
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            raw, status, headers = response.read(), response.status, dict(response.headers)
    except urllib.error.HTTPError as err:
        raw, status, headers = err.read(), err.code, dict(err.headers)
    try:
        body: Any = json.loads(raw)
    except ValueError:
        body = raw.decode("utf-8", "replace")
    return Answer(status, body, headers)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_gateway(data_dir: Path, env: dict[str, str] | None = None) -> Iterator[Gateway]:
    """``voicegw serve`` on a free loopback port over ``data_dir`` (``env``: more settings), until
    the block ends."""
    settings = Settings.load()
    try:
        resolve_model(settings.asr.model, settings.asr.models_dir)
    except ModelError as err:
        pytest.fail(f"the integration tests need the real model: {err.message}")
    port = _free_port()
    env = {**os.environ, "VOICEGW_DATA_DIR": str(data_dir), "VOICEGW_MENUS_DIR": str(ROOT / "menus"), **(env or {})}
    log_path = data_dir / f"server-{port}.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "voicegw.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    gw = Gateway(f"http://127.0.0.1:{port}", data_dir / "voicegw.db", process)
    try:
        _wait_ready(gw, process, log_path)
        yield gw
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="session")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    with running_gateway(tmp_path_factory.mktemp("gateway-data")) as gw:
        yield gw


def _wait_ready(gw: Gateway, process: subprocess.Popen, log_path: Path, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"voicegw serve exited with {process.returncode}:\n{log_path.read_text(errors='replace')}")
        try:
            if gw.get("/readyz").status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    pytest.fail(f"voicegw serve was not ready in {timeout_s} s:\n{log_path.read_text(errors='replace')}")


def load_manifest() -> list[dict[str, Any]]:
    path = FIXTURES / "manifest.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
