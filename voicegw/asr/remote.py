"""Recognition on another machine: a store's CPU gateway sends its clips to a GPU one (``asr.url``).

``RemoteTranscriber`` meets the ``Transcriber`` interface, so the ``TranscriberPool`` runs it in
its threads like the local model; it blocks on one HTTP request at a time (the standard library's
``urllib.request``: nothing to install, and every timeout and header is ours to set).

Two kinds of server:

- **another voicegw** (``POST /v1/asr/readings``, gateway/asr_routes.py): the options go whole and
  the whole ``Transcript`` comes back, N-best readings and the menu-grammar pass's included, so a
  turn is understood as it would be with the model here;
- **any OpenAI-compatible server** (``POST /v1/audio/transcriptions``, ``verbose_json``): the best
  reading only, with the menu words as the ``prompt``; the guards of the local engine
  (``asr.guards``) run on what it answers, so silence phrases, loops and echoes of the menu words
  are still dropped (on its segments' log-probabilities too when it gives them).

``auto`` tries ``/v1/asr/readings`` and remembers a server that answers 404 as an OpenAI one.

Failures: a connection error, a timeout or HTTP 429/502/503/504 is tried again (``asr.remote_retries``
times) after an exponential backoff with jitter, or after the server's ``Retry-After`` when it
gives one of at most ``RETRY_AFTER_CAP_S`` (a longer one is not waited for: the customer is
waiting). A circuit breaker counts consecutive failed requests (connection errors, timeouts, 5xx
other than a busy server's 503 with ``Retry-After``, unreadable answers); at ``asr.breaker_failures``
it opens: for ``asr.breaker_reset_s`` no request is sent, then one trial request decides whether it
closes again. A clip the remote recogniser cannot read goes to the local model (``asr.fallback:
local``) or fails with 503 ``asr_unavailable`` and a ``Retry-After``.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import logging
import math
import random
import secrets
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import Message
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from voicegw.asr.guards import guard_segments
from voicegw.asr.hallucinations import bias_words
from voicegw.asr.transcript import Transcriber, TranscribeOptions, Transcript, TranscriptSegment
from voicegw.asr.wire import known_language, options_to_json, transcript_of_json, wav_of_samples
from voicegw.errors import VoicegwError
from voicegw.settings import AsrSettings

log = logging.getLogger(__name__)

READINGS_PATH = "/v1/asr/readings"
OPENAI_PATH = "/v1/audio/transcriptions"
#: First backoff before a retry; doubled each time, at most ``BACKOFF_MAX_S``; half of it is jitter.
BACKOFF_BASE_S = 0.2
BACKOFF_MAX_S = 2.0
#: The longest ``Retry-After`` waited for before a retry; a longer one ends the tries at once.
RETRY_AFTER_CAP_S = 3.0
#: ``Retry-After`` sent to our client when the remote recogniser failed and gave none.
DEFAULT_RETRY_AFTER_S = 2
#: An answer longer than this is not a transcript.
MAX_ANSWER_BYTES = 4 * 1024 * 1024
#: Statuses tried again (with 503 and 429 also after a ``Retry-After``).
RETRY_STATUSES = frozenset({429, 502, 503, 504})
#: OpenAI's ``verbose_json`` names the language ("korean"); the turn needs its code.
_LANGUAGE_NAMES = {
    "korean": "ko", "english": "en", "japanese": "ja", "chinese": "zh", "spanish": "es", "french": "fr",
    "german": "de", "vietnamese": "vi", "thai": "th", "russian": "ru", "portuguese": "pt", "italian": "it",
}

RemoteKind = Literal["auto", "voicegw", "openai"]


class AsrUnavailable(VoicegwError):
    """The remote recogniser could not read the clip and no local model stands in: 503 with
    ``Retry-After`` (the error middleware sends ``retry_after_s`` as the header)."""

    http_status = 503

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__("asr_unavailable", message)
        self.retry_after_s = max(1, int(retry_after_s))


@dataclass(eq=False)
class RemoteFailure(Exception):
    """One request to the remote recogniser failed."""

    reason: str
    retryable: bool
    """Worth another try: a connection error, a timeout, 429/502/503/504."""
    counts: bool
    """A failure of the server (it opens the breaker): not a 4xx, not a busy server's 503 with Retry-After."""
    retry_after_s: float | None = None
    """The server's ``Retry-After``, when it gave one."""

    def __str__(self) -> str:
        return self.reason


class _NotVoicegw(Exception):
    """The server has no ``/v1/asr/readings`` (404/405): an OpenAI-compatible server."""


# --- the circuit breaker ------------------------------------------------------------------------


class CircuitBreaker:
    """Closed: requests go. ``failures`` consecutive failed ones open it: none go for ``reset_s``.
    Then it is half-open: one trial request goes (the others are refused meanwhile); its success
    closes the breaker, its failure opens it again for ``reset_s``. Thread-safe."""

    CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"

    def __init__(self, failures: int, reset_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.failures_to_open = failures
        self.reset_s = reset_s
        self._clock = clock
        self._lock = threading.Lock()
        self._state = self.CLOSED
        self._failures = 0
        self._opened_at = 0.0

    @property
    def state(self) -> str:
        with self._lock:
            return self._state

    @property
    def consecutive_failures(self) -> int:
        with self._lock:
            return self._failures

    def acquire(self) -> bool:
        """Whether a request may go now; a True in the half-open state is the one trial, and must
        be followed by ``succeeded`` or ``failed``."""
        with self._lock:
            if self._state == self.CLOSED:
                return True
            if self._state == self.OPEN and self._clock() - self._opened_at >= self.reset_s:
                self._state = self.HALF_OPEN
                log.info("remote recogniser: breaker half-open, one trial request")
                return True
            return False

    def succeeded(self) -> None:
        with self._lock:
            if self._state != self.CLOSED:
                log.warning("remote recogniser: answering again, breaker closed")
            self._state, self._failures = self.CLOSED, 0

    def failed(self) -> None:
        with self._lock:
            self._failures += 1
            if self._state == self.HALF_OPEN or (self._state == self.CLOSED and self._failures >= self.failures_to_open):
                self._state, self._opened_at = self.OPEN, self._clock()
                log.warning("remote recogniser: %d failed requests in a row, breaker open for %g s",
                            self._failures, self.reset_s)

    def retry_after_s(self) -> float:
        """Seconds until a request may go: the rest of the open time; 1 while the trial is out (it
        decides soon); 0 when closed."""
        with self._lock:
            if self._state == self.OPEN:
                return max(0.0, self.reset_s - (self._clock() - self._opened_at))
            return 1.0 if self._state == self.HALF_OPEN else 0.0


# --- the transcriber ----------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not followed: a POST would lose its body, and the key would go to
    whoever the redirect names."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001, ANN201
        return None


class RemoteTranscriber:
    """Transcribes by asking a remote recogniser; the local ``fallback`` (if any) when it cannot."""

    def __init__(
        self,
        url: str,
        *,
        key: str | None = None,
        kind: RemoteKind = "auto",
        model: str = "whisper-1",
        timeout_s: float = 10.0,
        retries: int = 2,
        breaker: CircuitBreaker | None = None,
        fallback: Transcriber | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.kind: RemoteKind = kind
        self.model = model
        self.timeout_s = timeout_s
        self.retries = retries
        self.breaker = breaker or CircuitBreaker(5, 30.0)
        self.fallback = fallback
        self._key = key
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._told_best_only = False
        self._opener = urllib.request.build_opener(_NoRedirects)

    @classmethod
    def from_settings(cls, settings: AsrSettings, fallback: Transcriber | None = None) -> RemoteTranscriber:
        assert settings.url is not None
        return cls(
            settings.url,
            key=settings.url_key.get_secret_value() if settings.url_key is not None else None,
            kind=settings.remote_kind,
            model=settings.remote_model,
            timeout_s=settings.remote_timeout_s,
            retries=settings.remote_retries,
            breaker=CircuitBreaker(settings.breaker_failures, settings.breaker_reset_s),
            fallback=fallback,
        )

    def __repr__(self) -> str:
        return f"RemoteTranscriber({self.url!r}, kind={self.kind!r}, fallback={self.fallback is not None})"

    def transcribe(self, samples: np.ndarray, options: TranscribeOptions) -> Transcript:
        try:
            return self._remote(samples, options)
        except AsrUnavailable as err:
            if self.fallback is None:
                raise
            log.info("transcribing here: %s", err.message)
            return self.fallback.transcribe(samples, options)

    def _remote(self, samples: np.ndarray, options: TranscribeOptions) -> Transcript:
        wav = wav_of_samples(samples)
        tries = 0
        while True:
            if not self.breaker.acquire():
                wait = self.breaker.retry_after_s()
                raise AsrUnavailable(
                    "speech recognition is unavailable: the remote recogniser keeps failing (circuit breaker "
                    f"open) and is asked again in {max(1, math.ceil(wait))} s",
                    retry_after_s=math.ceil(wait),
                )
            tries += 1
            try:
                transcript = self._ask(wav, samples, options)
            except RemoteFailure as failure:
                self.breaker.failed() if failure.counts else self.breaker.succeeded()
                last = failure
                log.warning("remote recogniser %s, try %d of %d: %s", self.url, tries, self.retries + 1, failure.reason)
            except Exception as err:  # not foreseen: still the remote's failure, never a bare 500
                log.exception("remote recogniser %s: unexpected error", self.url)
                self.breaker.failed()
                last = RemoteFailure(f"failed unexpectedly ({type(err).__name__})", retryable=False, counts=True)
            except BaseException:
                self.breaker.failed()  # cancelled mid-request: no half-open trial may stay out for ever
                raise
            else:
                self.breaker.succeeded()
                return transcript
            # No further try once the breaker has opened (its trial comes later) or the tries are spent.
            wait_s = None
            if tries <= self.retries and self.breaker.state == CircuitBreaker.CLOSED:
                wait_s = self._wait_before_retry(tries, last)
            if wait_s is None:
                break
            self._sleep(wait_s)
        if self.breaker.state != CircuitBreaker.CLOSED:
            retry_after = self.breaker.retry_after_s()
        else:
            retry_after = last.retry_after_s if last.retry_after_s is not None else DEFAULT_RETRY_AFTER_S
        raise AsrUnavailable(f"speech recognition is unavailable: the remote recogniser {last.reason}",
                             retry_after_s=math.ceil(retry_after))

    def _wait_before_retry(self, tries: int, failure: RemoteFailure) -> float | None:
        """Seconds to wait before try ``tries + 1``; None: no further try."""
        if not failure.retryable:
            return None
        if failure.retry_after_s is not None:
            return failure.retry_after_s if failure.retry_after_s <= RETRY_AFTER_CAP_S else None
        backoff = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** (tries - 1))
        return backoff / 2 + self._rng.uniform(0, backoff / 2)

    def _ask(self, wav: bytes, samples: np.ndarray, options: TranscribeOptions) -> Transcript:
        if self.kind != "openai":
            try:
                return self._readings(wav, options)
            except _NotVoicegw:
                if self.kind == "voicegw":
                    raise RemoteFailure(f"has no {READINGS_PATH} (HTTP 404): is asr.url a voicegw?",
                                        retryable=False, counts=False) from None
                with self._lock:
                    self.kind = "openai"
                log.warning("the remote recogniser %s has no %s: taken for an OpenAI-compatible server "
                            "(the best reading only: no N-best rescoring, no menu-grammar pass)", self.url, READINGS_PATH)
        return self._openai(wav, samples, options)

    # --- a voicegw ---

    def _readings(self, wav: bytes, options: TranscribeOptions) -> Transcript:
        options_part = json.dumps(options_to_json(options), ensure_ascii=False).encode()
        body, content_type = multipart([
            ("audio", wav, "clip.wav", "audio/wav"),
            ("options", options_part, None, "application/json"),
        ])
        status, headers, raw = self._post(READINGS_PATH, body, content_type)
        if status in (404, 405):
            raise _NotVoicegw
        data = self._answer(status, headers, raw)
        try:
            return transcript_of_json(data)
        except ValueError as err:
            raise RemoteFailure(f"answered something that is not a transcript ({_first_error(err)})",
                                retryable=False, counts=True) from err

    # --- an OpenAI-compatible server ---

    def _openai(self, wav: bytes, samples: np.ndarray, options: TranscribeOptions) -> Transcript:
        if (options.readings > 1 or options.grammar) and not self._told_best_only:
            self._told_best_only = True
            log.warning("the remote recogniser %s is an OpenAI-compatible server: the best reading only "
                        "(asr.readings and asr.menu_grammar need a voicegw there)", self.url)
        fields: list[tuple[str, bytes, str | None, str | None]] = [
            ("file", wav, "clip.wav", "audio/wav"),
            ("model", self.model.encode(), None, None),
            ("response_format", b"verbose_json", None, None),
            ("temperature", b"0", None, None),
        ]
        if options.language is not None:
            fields.append(("language", options.language.encode(), None, None))
        prompt = options.initial_prompt or options.hotwords
        if prompt:
            fields.append(("prompt", prompt.encode(), None, None))
        body, content_type = multipart(fields)
        status, headers, raw = self._post(OPENAI_PATH, body, content_type)
        data = self._answer(status, headers, raw)
        try:
            answer = _OpenAIAnswer.model_validate(data)
        except ValidationError as err:
            raise RemoteFailure(f"answered something that is not a transcription ({_first_error(err)})",
                                retryable=False, counts=True) from err
        language = options.language or _language_code(answer.language) or ""
        duration_ms = len(samples) * 1000 // 16_000
        if answer.segments:
            segments = [
                TranscriptSegment(
                    text=s.text,
                    start_ms=int(s.start * 1000),
                    end_ms=int(s.end * 1000),
                    # A server that gives no probabilities: only the guards that read the text act.
                    avg_logprob=s.avg_logprob if s.avg_logprob is not None else 0.0,
                    no_speech_prob=s.no_speech_prob if s.no_speech_prob is not None else 0.0,
                )
                for s in answer.segments
            ]
        elif answer.text.strip():
            segments = [TranscriptSegment(answer.text, 0, duration_ms, 0.0, 0.0)]
        else:
            segments = []
        return guard_segments(segments, language, options.no_speech_threshold, bias_words(options.hotwords))

    # --- HTTP ---

    def _post(self, path: str, body: bytes, content_type: str) -> tuple[int, Message, bytes]:
        headers = {"Content-Type": content_type, "Accept": "application/json", "User-Agent": "voicegw-remote-asr"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        request = urllib.request.Request(self.url + path, data=body, method="POST", headers=headers)
        deadline = time.monotonic() + self.timeout_s
        try:
            with self._opener.open(request, timeout=self.timeout_s) as response:
                return response.status, response.headers, _read_until(response, deadline)
        except urllib.error.HTTPError as err:
            try:
                raw = _read_until(err, deadline) if err.fp is not None else b""
            except (OSError, http.client.HTTPException, RemoteFailure):
                raw = b""
            return err.code, err.headers or Message(), raw
        except urllib.error.URLError as err:
            if isinstance(err.reason, (TimeoutError, socket.timeout)):
                raise self._timed_out() from err
            raise RemoteFailure(f"could not be reached ({err.reason})", retryable=True, counts=True) from err
        except (TimeoutError, socket.timeout) as err:
            raise self._timed_out() from err
        except (OSError, http.client.HTTPException) as err:  # reset, closed mid-answer, a broken status line
            raise RemoteFailure(f"dropped the connection ({type(err).__name__}: {err})", retryable=True,
                                counts=True) from err

    def _timed_out(self) -> RemoteFailure:
        return RemoteFailure(f"did not answer within {self.timeout_s:g} s", retryable=True, counts=True)

    def _answer(self, status: int, headers: Message, raw: bytes) -> Any:
        """The JSON of a 2xx answer; a ``RemoteFailure`` classified for retry and breaker otherwise."""
        if 200 <= status < 300:
            try:
                return json.loads(raw)
            except (ValueError, RecursionError) as err:
                raise RemoteFailure(f"answered HTTP {status} with a body that is not JSON", retryable=False,
                                    counts=True) from err
        retry_after = _retry_after_s(headers.get("Retry-After"))
        reason = f"answered HTTP {status}{_error_code(raw)}"
        if status == 429 or (status == 503 and retry_after is not None):
            # Busy or over our rate, and saying when to come back: up, so not a failure of the server.
            raise RemoteFailure(reason, retryable=True, counts=False, retry_after_s=retry_after)
        if status >= 500:
            raise RemoteFailure(reason, retryable=status in RETRY_STATUSES, counts=True, retry_after_s=retry_after)
        # 3xx and 4xx: the server answers; the request (or asr.url, asr.url_key) is wrong, and trying
        # again would not change that.
        raise RemoteFailure(reason, retryable=False, counts=False)


class _OpenAISegment(BaseModel):
    model_config = ConfigDict(extra="ignore")

    text: str
    start: float = 0.0
    end: float = 0.0
    avg_logprob: float | None = None
    no_speech_prob: float | None = None


class _OpenAIAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    text: str
    language: str | None = None
    segments: list[_OpenAISegment] | None = None


def _read_until(response: Any, deadline: float) -> bytes:
    """The body, as long as it comes before ``deadline`` and is no longer than ``MAX_ANSWER_BYTES``
    (a socket timeout bounds each read; this bounds a server that trickles)."""
    chunks: list[bytes] = []
    size = 0
    read = getattr(response, "read1", None) or response.read
    while chunk := read(64 * 1024):
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise RemoteFailure(f"answered more than {MAX_ANSWER_BYTES} bytes", retryable=False, counts=True)
        chunks.append(chunk)
        if time.monotonic() > deadline:
            raise RemoteFailure("did not finish its answer in time", retryable=True, counts=True)
    return b"".join(chunks)


def _retry_after_s(value: str | None) -> float | None:
    """``Retry-After`` in seconds: a number of seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _error_code(raw: bytes) -> str:
    """`` (code)`` of a voicegw-style JSON error body, else nothing."""
    try:
        code = json.loads(raw)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return ""
    return f" ({code[:64]})" if isinstance(code, str) else ""


def _first_error(err: Exception) -> str:
    if isinstance(err, ValidationError):
        first = err.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc']) or 'body'}: {first['msg']}"
    return str(err)[:200]


def _language_code(name: str | None) -> str | None:
    if not name:
        return None
    name = name.strip().lower()
    return name if known_language(name) else _LANGUAGE_NAMES.get(name)


def multipart(fields: list[tuple[str, bytes, str | None, str | None]]) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body of (name, value, filename, content type) parts, and its Content-Type."""
    boundary = f"voicegw-{secrets.token_hex(16)}"
    out = bytearray()
    for name, value, filename, content_type in fields:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        if content_type:
            out += f"Content-Type: {content_type}\r\n".encode()
        out += b"\r\n" + value + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"
