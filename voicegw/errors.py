"""One error hierarchy for every stage; mapped to HTTP in exactly one place (gateway/errors.py)."""

from __future__ import annotations


class VoicegwError(Exception):
    """An error with a machine-readable ``code`` and a message a client may read."""

    #: HTTP status the gateway answers with when this error reaches a route.
    http_status: int = 400

    def __init__(self, code: str, message: str, *, http_status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        if http_status is not None:
            self.http_status = http_status


class AudioError(VoicegwError):
    """The audio the client sent cannot be used (corrupt, empty, unsupported, too long, too large)."""


class ModelError(VoicegwError):
    """The speech model is missing, corrupt or failed to load."""

    http_status = 503


class MenuError(VoicegwError):
    """A menu file is invalid, or a store id names no menu."""


class BackendError(VoicegwError):
    """The FAQ and order backend failed or answered something unusable."""

    http_status = 502


class RequestError(VoicegwError):
    """The HTTP request itself is malformed (bad JSON, missing fields, unknown store)."""
