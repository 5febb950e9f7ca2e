"""The gateway's HTTP client for a skill server (the reference one or the store's own)."""

from __future__ import annotations

import asyncio
import json
from types import TracebackType
from typing import Any

import aiohttp
from pydantic import ValidationError

from voicegw.backend.skill import SkillRequest, SkillResponse
from voicegw.errors import BackendError, RequestError
from voicegw.settings import Settings

OPEN_BUILDER_TIMEOUT_S = 5.0
"""Open Builder gives a skill 5 s; a backend slower than that would fail in KakaoTalk too."""


AUTHORIZATION = "Authorization"


def bearer(key: str) -> dict[str, str]:
    """The header a caller of a skill server sends with the server's key."""
    return {AUTHORIZATION: f"Bearer {key}"}


def backend_headers(settings: Settings) -> dict[str, str]:
    """What the gateway sends an external skill server: its key, when one is set."""
    key = settings.backend.key
    return {} if key is None else bearer(key.get_secret_value())


class SkillClient:
    """POSTs skill requests to ``url`` over one long-lived ``aiohttp.ClientSession``.

    Use ``async with SkillClient(url) as client`` or ``open()`` / ``close()`` (e.g. from an
    aiohttp ``cleanup_ctx``). Every failure is a ``BackendError``: ``backend_unavailable`` (502),
    ``backend_timeout`` (504) or ``backend_bad_response`` (502).
    """

    def __init__(
        self, url: str, *, timeout_s: float = OPEN_BUILDER_TIMEOUT_S, headers: dict[str, str] | None = None
    ) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self._headers = dict(headers or {})
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout_s), headers=self._headers
            )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> SkillClient:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def post(self, request: SkillRequest) -> SkillResponse:
        if self._session is None:
            await self.open()
        assert self._session is not None
        try:
            async with self._session.post(self.url, json=request.to_wire()) as resp:
                body = await resp.read()
                status = resp.status
        except asyncio.TimeoutError as err:
            raise BackendError(
                "backend_timeout", f"the skill server did not answer within {self.timeout_s:g} s", http_status=504
            ) from err
        except aiohttp.ClientError as err:
            raise BackendError("backend_unavailable", f"cannot reach the skill server: {err}") from err
        if status == 409 and _error_code(body) == "idempotency_key_reused":
            # The client's fault, not the backend's: it reused a key for another request.
            raise RequestError("idempotency_key_reused", "this Idempotency-Key was used for another request in this session",
                               http_status=409)
        if status != 200:
            raise BackendError("backend_bad_response", f"the skill server answered HTTP {status}: {_snippet(body)}")
        try:
            data = json.loads(body)
            if not isinstance(data, dict) or "version" not in data:
                raise ValueError("no 'version' in the answer")
            return SkillResponse.model_validate(data)
        except (ValueError, ValidationError) as err:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            raise BackendError("backend_bad_response", f"the skill server answered no skill response: {err}") from err


    async def relay(self, method: str, path: str, query: dict[str, str], payload: Any = None) -> tuple[int, Any]:
        """An operator request to an endpoint beside the skill URL (``/faq`` for ``.../skill``):
        the status and the JSON answer, as the backend gave them."""
        if self._session is None:
            await self.open()
        assert self._session is not None
        url = self.url.split("?", 1)[0].rstrip("/").removesuffix("/skill") + path
        try:
            async with self._session.request(method, url, params=query, json=payload) as resp:
                return resp.status, await resp.json(content_type=None)
        except asyncio.TimeoutError as err:
            raise BackendError("backend_timeout", f"the backend did not answer within {self.timeout_s:g} s",
                               http_status=504) from err
        except (aiohttp.ClientError, ValueError) as err:
            raise BackendError("backend_unavailable", f"the backend gave no JSON answer at {path}: {err}") from err


def _error_code(body: bytes) -> str | None:
    try:
        error = json.loads(body).get("error")
        return error.get("code") if isinstance(error, dict) else None
    except (ValueError, AttributeError):
        return None


def _snippet(body: bytes, limit: int = 200) -> str:
    return body[:limit].decode("utf-8", "replace")
