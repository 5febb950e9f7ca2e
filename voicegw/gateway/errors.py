"""The one place where errors become HTTP answers: JSON ``{"error": {code, message}}``, never a bare 500."""

from __future__ import annotations

import logging

from aiohttp import web

from voicegw.asr.engine import Saturated
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


@web.middleware
async def error_middleware(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except Saturated as err:
        return error_response(503, err.code, err.message, {"Retry-After": str(err.retry_after_s)})
    except VoicegwError as err:
        return error_response(err.http_status, err.code, err.message)
    except web.HTTPException as err:
        if err.status < 400:
            raise
        code = _HTTP_CODES.get(err.status, "http_error")
        return error_response(err.status, code, err.reason or code, None)
    except Exception:  # the last line of defence: log it, answer JSON, keep the worker alive
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "the gateway failed on this request; it has been logged")
