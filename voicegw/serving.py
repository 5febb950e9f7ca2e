"""Serving an aiohttp app (the gateway, the embedded skill server): aiohttp's runner, with JSON
answers for requests it cannot parse.

aiohttp answers a request line or header it cannot parse (over its size limits, a bad byte) itself,
before any middleware, in plain text. Every other refusal of the gateway is ``{"error": {code,
message}}`` (``voicegw.gateway.errors``), and clients parse one shape; aiohttp 3.14 has no hook for this answer, so the runner
builds its server with a request handler whose ``handle_error`` answers JSON.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

#: What the answer says for each status aiohttp answers on its own; never the bytes that were
#: sent (they may be anything), only the kind of error.
_ANSWERS = {
    400: ("malformed_request", "the request could not be parsed ({what}): the request line and each header are at most 8190 bytes of valid characters"),
    500: ("internal_error", "the server failed on this request ({what}); it has been logged"),
    504: ("timeout", "the request took too long ({what})"),
}


class _JsonErrorRequestHandler(RequestHandler):
    def handle_error(
        self, request: web.BaseRequest, status: int = 500, exc: BaseException | None = None, message: str | None = None
    ) -> web.StreamResponse:
        # aiohttp's own does the logging (one line, see limits.MalformedRequestLog) and refuses
        # when part of an answer was already sent; its plain-text answer is replaced.
        super().handle_error(request, status, exc, message)
        what = type(exc).__name__ if exc is not None else HTTPStatus(status).phrase
        code, message = _ANSWERS.get(status, ("http_error", "the request could not be handled ({what})"))
        response = web.json_response({"error": {"code": code, "message": message.format(what=what)}}, status=status)
        response.force_close()
        return response


class _JsonErrorServer(web.Server):
    def __call__(self) -> RequestHandler:
        return _JsonErrorRequestHandler(self, loop=self._loop, **self._kwargs)


class JsonErrorRunner(web.AppRunner):
    """``web.AppRunner`` whose connections answer unparseable requests in JSON."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        return _JsonErrorServer(
            server.request_handler,
            request_factory=server.request_factory,
            handler_cancellation=server.handler_cancellation,
            loop=server._loop,
            **server._kwargs,
        )


def run_gateway(app: web.Application, host: str, port: int, on_ready: Callable[[], None], **options: Any) -> None:
    """Serve ``app`` until SIGINT or SIGTERM, then shut down cleanly (what ``web.run_app`` does)."""

    async def serve() -> None:
        runner = JsonErrorRunner(app, handle_signals=True, access_log=None, **options)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
            on_ready()
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    try:
        asyncio.run(serve())
    except (web.GracefulExit, KeyboardInterrupt):
        pass
