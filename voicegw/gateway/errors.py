"""The one place where errors become HTTP answers: JSON ``{"error": {code, message}}``, never a bare 500."""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiohttp import web

from voicegw.errors import VoicegwError

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    415: "unsupported_media_type",
}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status, headers=headers)


def make_error_middleware(on_error: Callable[[str], None]):
    """Every error a route raises becomes JSON; ``on_error`` hears each error code (metrics)."""

    @web.middleware
    async def error_middleware(request: web.Request, handler) -> web.StreamResponse:
        headers = None
        try:
            return await handler(request)
        except web.HTTPException as err:
            if err.status < 400:
                raise
            status, code, message = err.status, _HTTP_CODES.get(err.status, "http_error"), err.reason
        except VoicegwError as err:
            status, code, message = err.http_status, err.code, err.message
            # A busy recogniser (Saturated) or an unavailable remote one (asr_unavailable) says when.
            retry_after = getattr(err, "retry_after_s", None)
            if isinstance(retry_after, int):
                headers = {"Retry-After": str(retry_after)}
        except Exception:  # the last line of defence: log it, answer JSON, keep the worker alive
            log.exception("unhandled error on %s %s", request.method, request.path)
            status, code, message = 500, "internal_error", "the gateway failed on this request; it has been logged"
        on_error(code)
        return error_response(status, code, message, headers)

    return error_middleware
