"""Personal data out of the log: every record's message, exception and stack text is redacted
before any handler formats it.

A filter on the root *logger* would not do: Python runs a logger's filters only for records
logged on that very logger, so ``voicegw.gateway.app``'s records reach the root's handlers without
passing it. ``install_log_redaction`` therefore wraps the log-record factory, the one place every
record is made, whichever logger it comes from and whichever handler (ours, a library's, one
added later such as pytest's) will write it. ``RedactingFilter`` does the same for a single
handler, for setups that configure their own handlers (``logging.config.dictConfig``).

Not covered: ``extra={...}`` fields (voicegw passes none) and text printed to stdout.
"""

from __future__ import annotations

import logging
from typing import Any

from voicegw.privacy.redact import redact

_TRACEBACKS = logging.Formatter()


def redact_record(record: logging.LogRecord) -> None:
    """Replace the record's message (``msg % args``), exception and stack text with redacted text."""
    try:
        message = record.getMessage()
    except Exception:  # bad format arguments: keep what was given, redacted, rather than lose it
        message = f"{record.msg} {record.args!r}"
    record.msg, record.args = redact(message).text, None
    if record.exc_info:
        # Formatters print exc_text when it is set; dropping exc_info keeps them from formatting the
        # raw exception again (its message may hold a request body).
        record.exc_text = redact(record.exc_text or _TRACEBACKS.formatException(record.exc_info)).text
        record.exc_info = None
    elif record.exc_text:
        record.exc_text = redact(record.exc_text).text
    if record.stack_info:
        record.stack_info = redact(record.stack_info).text


class RedactingFilter(logging.Filter):
    """Redacts each record a handler gets (attach with ``handler.addFilter``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


class _RedactingFactory:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = self.inner(*args, **kwargs)
        redact_record(record)
        return record


def install_log_redaction() -> None:
    """Redact every log record of this process from now on (idempotent)."""
    current = logging.getLogRecordFactory()
    if not isinstance(current, _RedactingFactory):
        logging.setLogRecordFactory(_RedactingFactory(current))


def uninstall_log_redaction() -> None:
    """Undo ``install_log_redaction`` (tests)."""
    current = logging.getLogRecordFactory()
    if isinstance(current, _RedactingFactory):
        logging.setLogRecordFactory(current.inner)


def log_redaction_installed() -> bool:
    return isinstance(logging.getLogRecordFactory(), _RedactingFactory)
