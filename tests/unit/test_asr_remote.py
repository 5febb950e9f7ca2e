"""The remote recogniser's client (asr/remote.py): retries, the circuit breaker, the fallback and
both server kinds, against a real HTTP server on loopback that does what each test scripts (fails
N times, hangs, answers 503 with Retry-After, answers garbage). Waits between tries are recorded,
not slept, except where the test is about time."""

from __future__ import annotations

import email.parser
import email.policy
import io
import json
import socket
import threading
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from voicegw.asr.remote import (
    RETRY_AFTER_CAP_S,
    AsrUnavailable,
    CircuitBreaker,
    RemoteTranscriber,
    _retry_after_s,
)
from voicegw.asr.transcript import Reading, TranscribeOptions, Transcript, TranscriptSegment
from voicegw.asr.wire import transcript_to_json
from voicegw.settings import AsrSettings, Settings

OPTIONS = TranscribeOptions(language="ko", beam_size=5, hotwords="아메리카노, 카페라떼", readings=5,
                            grammar=("아메리카노", "카페라떼", "주세요"))
HEARD = Transcript(
    text="아메리카노 두 잔 주세요",
    language="ko",
    segments=(TranscriptSegment("아메리카노 두 잔 주세요", 0, 1800, -0.21, 0.01),),
    dropped=("시청해주셔서 감사합니다",),
    confidence=0.81,
    alternatives=(Reading("아메리카노 두 잔 두세요", -0.4), Reading("아메리카노 두 잔 주세요.", -0.9, within_grammar=True)),
)


def samples(seconds: float = 1.0) -> np.ndarray:
    """16-bit audio as the decoder gives it: multiples of 1/32768."""
    rng = np.random.default_rng(1)
    return (rng.integers(-3000, 3000, int(16_000 * seconds)) / 32768.0).astype(np.float32)


# --- a scripted server --------------------------------------------------------------------------


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    parts: dict[str, bytes]


@dataclass
class Script:
    """What the server answers, one step per request (the last step repeats)."""

    steps: list[tuple] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def next(self) -> tuple:
        return self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]


def _parts(content_type: str, body: bytes) -> dict[str, bytes]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    if not message.is_multipart():
        return {}
    return {part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
            for part in message.iter_parts()}


def _handler(script: Script):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet
            pass

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            script.seen.append(Seen(self.path, dict(self.headers), _parts(self.headers.get("Content-Type", ""), body)))
            step = script.next()
            kind = step[0]
            if kind == "hang":
                script.release.wait(step[1])
                return
            if kind == "close":  # the connection drops without an answer
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            status, payload, headers = step[1], step[2], (step[3] if len(step) > 3 else {})
            if kind == "openai_only" and self.path == "/v1/asr/readings":  # an OpenAI server has no such route
                status, payload = 404, {"error": {"code": "not_found", "message": "Not Found"}}
            raw = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(raw)

    return Handler


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(script))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", script
    finally:
        script.release.set()
        httpd.shutdown()
        httpd.server_close()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def remote(url: str, *, sleeps: list[float] | None = None, breaker: CircuitBreaker | None = None, **kwargs) -> RemoteTranscriber:
    waits = sleeps if sleeps is not None else []
    return RemoteTranscriber(url, breaker=breaker or CircuitBreaker(5, 30.0), sleep=waits.append, **kwargs)


OK = ("ok", 200, transcript_to_json(HEARD))


# --- the circuit breaker alone ------------------------------------------------------------------


def test_the_breaker_opens_after_consecutive_failures_then_lets_one_trial_through() -> None:
    clock = Clock()
    breaker = CircuitBreaker(3, 30.0, clock=clock)
    for _ in range(2):
        assert breaker.acquire()
        breaker.failed()
    assert breaker.acquire()
    breaker.succeeded()  # a success in between: the count starts again
    for _ in range(3):
        assert breaker.acquire()
        breaker.failed()
    assert breaker.state == "open" and not breaker.acquire()
    assert breaker.retry_after_s() == 30.0
    clock.now += 29.5
    assert not breaker.acquire() and breaker.retry_after_s() == pytest.approx(0.5)
    clock.now += 0.5
    assert breaker.acquire()  # the trial
    assert breaker.state == "half_open" and not breaker.acquire()  # one at a time
    breaker.failed()  # the trial failed: open again, for the whole time
    assert breaker.state == "open" and breaker.retry_after_s() == 30.0
    clock.now += 30
    assert breaker.acquire()
    breaker.succeeded()
    assert breaker.state == "closed" and breaker.acquire() and breaker.acquire()


def test_retry_after_is_read_as_seconds_or_an_http_date() -> None:
    assert _retry_after_s("3") == 3.0
    assert _retry_after_s(None) is None and _retry_after_s("soon") is None
    later = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 60))
    assert 55 <= _retry_after_s(later) <= 61


# --- a voicegw on the other end -----------------------------------------------------------------


def test_a_voicegw_gets_the_options_whole_and_its_transcript_comes_back_whole(server) -> None:
    url, script = server
    script.steps = [OK]
    clip = samples(1.5)
    got = remote(url, key="vgw_secret").transcribe(clip, OPTIONS)
    assert got == HEARD  # alternatives, the grammar's reading, segments, dropped: all of it
    [seen] = script.seen
    assert seen.path == "/v1/asr/readings"
    assert seen.headers["Authorization"] == "Bearer vgw_secret"
    options = json.loads(seen.parts["options"])
    assert options == {"language": "ko", "beam_size": 5, "initial_prompt": None, "hotwords": "아메리카노, 카페라떼",
                       "no_speech_threshold": 0.6, "readings": 5, "grammar": ["아메리카노", "카페라떼", "주세요"]}
    with wave.open(io.BytesIO(seen.parts["audio"])) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 16_000)
        sent = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    np.testing.assert_array_equal(sent / 32768.0, clip)  # the very samples, not a rescaled copy


def test_a_server_that_fails_twice_then_answers_is_tried_again_with_growing_jittered_waits(server) -> None:
    url, script = server
    script.steps = [("err", 502, {}), ("err", 504, {}), OK]
    sleeps: list[float] = []
    assert remote(url, sleeps=sleeps, retries=2).transcribe(samples(), OPTIONS) == HEARD
    assert len(script.seen) == 3
    assert 0.1 <= sleeps[0] <= 0.2 and 0.2 <= sleeps[1] <= 0.4  # exponential, half of it jitter


def test_a_server_that_keeps_failing_fails_the_turn_after_the_retries(server) -> None:
    url, script = server
    script.steps = [("err", 503, {"error": {"code": "model_loading", "message": "loading"}})]
    with pytest.raises(AsrUnavailable) as caught:
        remote(url, retries=2).transcribe(samples(), OPTIONS)
    assert len(script.seen) == 3
    assert caught.value.http_status == 503 and caught.value.code == "asr_unavailable"
    assert "HTTP 503 (model_loading)" in caught.value.message and caught.value.retry_after_s >= 1


def test_503_with_retry_after_is_waited_out_as_the_server_asks(server) -> None:
    url, script = server
    script.steps = [("err", 503, {"error": {"code": "saturated"}}, {"Retry-After": "2"}), OK]
    sleeps: list[float] = []
    breaker = CircuitBreaker(1, 30.0)
    assert remote(url, sleeps=sleeps, breaker=breaker).transcribe(samples(), OPTIONS) == HEARD
    assert sleeps == [2.0]
    assert breaker.state == "closed"  # a busy server that says when to come back is not a failing one


def test_a_retry_after_longer_than_the_cap_is_not_waited_for_but_passed_on(server) -> None:
    url, script = server
    script.steps = [("err", 429, {"error": {"code": "rate_limited"}}, {"Retry-After": "120"}), OK]
    sleeps: list[float] = []
    with pytest.raises(AsrUnavailable) as caught:
        remote(url, sleeps=sleeps).transcribe(samples(), OPTIONS)
    assert RETRY_AFTER_CAP_S < 120
    assert sleeps == [] and len(script.seen) == 1 and caught.value.retry_after_s == 120


def test_a_hanging_server_times_out_each_try(server) -> None:
    url, script = server
    script.steps = [("hang", 10)]
    started = time.monotonic()
    with pytest.raises(AsrUnavailable, match="did not answer within 0.3 s"):
        remote(url, timeout_s=0.3, retries=1).transcribe(samples(), OPTIONS)
    assert time.monotonic() - started < 2.0 and len(script.seen) == 2


def test_a_dropped_connection_is_tried_again(server) -> None:
    url, script = server
    script.steps = [("close",), OK]
    assert remote(url).transcribe(samples(), OPTIONS) == HEARD
    assert len(script.seen) == 2


def test_garbage_is_not_tried_again_but_counts_against_the_server(server) -> None:
    url, script = server
    breaker = CircuitBreaker(2, 30.0)
    for garbage in (b"{not json", json.dumps({"text": 5}).encode()):
        script.steps = [("ok", 200, garbage)]
        with pytest.raises(AsrUnavailable, match="not JSON|not a transcript"):
            remote(url, breaker=breaker).transcribe(samples(), OPTIONS)
    assert len(script.seen) == 2 and breaker.state == "open"


def test_a_refused_request_is_not_tried_again_and_does_not_open_the_breaker(server) -> None:
    url, script = server
    script.steps = [("err", 401, {"error": {"code": "unauthorized", "message": "no key"}})]
    breaker = CircuitBreaker(2, 30.0)
    for _ in range(3):
        with pytest.raises(AsrUnavailable, match=r"HTTP 401 \(unauthorized\)"):
            remote(url, breaker=breaker).transcribe(samples(), OPTIONS)
    assert len(script.seen) == 3 and breaker.state == "closed"


def test_an_unreachable_server_opens_the_breaker_and_then_nothing_is_sent_until_the_trial(server) -> None:
    url, script = server
    clock = Clock()
    breaker = CircuitBreaker(3, 30.0, clock=clock)
    dead = remote(closed_port_url(), breaker=breaker, retries=1)
    with pytest.raises(AsrUnavailable, match="could not be reached"):
        dead.transcribe(samples(), OPTIONS)  # 2 tries
    with pytest.raises(AsrUnavailable) as caught:
        dead.transcribe(samples(), OPTIONS)  # the 3rd try opens it; no 4th
    assert breaker.state == "open" and caught.value.retry_after_s == 30
    started = time.monotonic()
    with pytest.raises(AsrUnavailable, match="circuit breaker") as caught:
        dead.transcribe(samples(), OPTIONS)
    assert time.monotonic() - started < 0.05 and caught.value.retry_after_s == 30
    # The server is back at another address for the trial: the same breaker, one request, closed again.
    script.steps = [OK]
    back = remote(url, breaker=breaker)
    with pytest.raises(AsrUnavailable, match="circuit breaker"):
        back.transcribe(samples(), OPTIONS)
    assert script.seen == []
    clock.now += 30
    assert back.transcribe(samples(), OPTIONS) == HEARD
    assert breaker.state == "closed" and len(script.seen) == 1


# --- fallback -----------------------------------------------------------------------------------


class LocalModel:
    def __init__(self) -> None:
        self.calls = 0

    def transcribe(self, samples: np.ndarray, options: TranscribeOptions) -> Transcript:
        self.calls += 1
        return Transcript(text="로컬", language="ko", confidence=0.5)


def test_the_local_fallback_reads_what_the_remote_cannot(server) -> None:
    url, script = server
    script.steps = [("err", 500, {})]
    local = LocalModel()
    clock = Clock()
    transcriber = remote(url, fallback=local, breaker=CircuitBreaker(1, 30.0, clock=clock))
    assert transcriber.transcribe(samples(), OPTIONS).text == "로컬"  # 500: not retried, breaker opens
    assert transcriber.transcribe(samples(), OPTIONS).text == "로컬"  # the breaker is open: not even asked
    assert local.calls == 2 and len(script.seen) == 1
    script.steps = [OK]
    clock.now += 30
    assert transcriber.transcribe(samples(), OPTIONS) == HEARD and local.calls == 2


# --- an OpenAI-compatible server ----------------------------------------------------------------


def openai_answer(text: str, **segment) -> dict:
    segments = [{"id": 0, "start": 0.0, "end": 1.5, "text": text, **segment}] if segment is not None else []
    return {"task": "transcribe", "language": "korean", "duration": 1.5, "text": text, "segments": segments}


def test_auto_finds_an_openai_server_remembers_it_and_sends_the_menu_words_as_the_prompt(server) -> None:
    url, script = server
    script.steps = [("openai_only", 200, openai_answer(" 아메리카노 두 잔 주세요", avg_logprob=-0.3, no_speech_prob=0.02))]
    transcriber = remote(url, model="large-v3")
    first = transcriber.transcribe(samples(), OPTIONS)
    second = transcriber.transcribe(samples(), TranscribeOptions(language=None, initial_prompt="아메리카노 주세요",
                                                                 hotwords="아메리카노"))
    assert [s.path for s in script.seen] == ["/v1/asr/readings", "/v1/audio/transcriptions", "/v1/audio/transcriptions"]
    assert first.text == "아메리카노 두 잔 주세요" and first.language == "ko" and first.alternatives == ()
    assert first.confidence == pytest.approx(np.exp(-0.3))
    assert second.language == "ko"  # "korean", as OpenAI names it, is the code the turn needs
    fields = {name: value.decode() for name, value in script.seen[1].parts.items() if name != "file"}
    assert fields == {"model": "large-v3", "response_format": "verbose_json", "temperature": "0", "language": "ko",
                      "prompt": "아메리카노, 카페라떼"}  # no initial prompt: the hotwords
    assert script.seen[2].parts["prompt"].decode() == "아메리카노 주세요" and "language" not in script.seen[2].parts
    assert script.seen[1].parts["file"][:4] == b"RIFF"


@pytest.mark.parametrize(("answer", "unclear"), [
    (openai_answer("시청해주셔서 감사합니다", avg_logprob=-0.2, no_speech_prob=0.1), False),  # a subtitle credit
    (openai_answer("아메리카노, 아메리카노, 아메리카노, 아메리카노", avg_logprob=-0.2, no_speech_prob=0.05), True),  # an echo
    (openai_answer("커피 커피 커피 커피 커피 커피 커피 커피 커피 커피 커피 커피 커피", avg_logprob=-0.2, no_speech_prob=0.05), True),  # a loop
    (openai_answer("아메리카노 주세요", avg_logprob=-1.6, no_speech_prob=0.9), False),  # Whisper's own silence rule
    ({"text": "thank you"}, False),  # text only: the text guards still act
])
def test_the_local_guards_run_on_what_an_openai_server_answers(server, answer: dict, unclear: bool) -> None:
    url, script = server
    script.steps = [("ok", 200, answer)]
    got = remote(url, kind="openai").transcribe(samples(), OPTIONS)
    assert got.is_empty and got.dropped and got.unclear == unclear


def test_an_openai_answer_without_probabilities_is_taken_as_its_text(server) -> None:
    url, script = server
    script.steps = [("ok", 200, {"text": "two lattes please"})]
    got = remote(url, kind="openai").transcribe(samples(), TranscribeOptions(language="en"))
    assert got.text == "two lattes please" and got.language == "en" and len(got.segments) == 1


def test_remote_kind_voicegw_does_not_fall_back_to_openai_on_404(server) -> None:
    url, script = server
    script.steps = [("openai_only", 200, openai_answer("x"))]
    with pytest.raises(AsrUnavailable, match="is asr.url a voicegw"):
        remote(url, kind="voicegw").transcribe(samples(), OPTIONS)
    assert [s.path for s in script.seen] == ["/v1/asr/readings"]


# --- settings -----------------------------------------------------------------------------------


def test_remote_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICEGW_ASR__URL", "http://gpu.internal:8080/")
    monkeypatch.setenv("VOICEGW_ASR__URL_KEY", "vgw_secret")
    monkeypatch.setenv("VOICEGW_ASR__REMOTE_RETRIES", "4")
    monkeypatch.setenv("VOICEGW_ASR__FALLBACK", "local")
    asr = Settings.load().asr
    assert asr.url == "http://gpu.internal:8080" and asr.url_key.get_secret_value() == "vgw_secret"
    assert "vgw_secret" not in repr(asr)
    assert (asr.remote_retries, asr.fallback, asr.remote_kind, asr.remote_timeout_s) == (4, "local", "auto", 10.0)
    assert (asr.breaker_failures, asr.breaker_reset_s) == (5, 30.0)
    transcriber = RemoteTranscriber.from_settings(asr)
    assert transcriber.url == "http://gpu.internal:8080" and transcriber.retries == 4
    assert transcriber.breaker.failures_to_open == 5 and transcriber.fallback is None


@pytest.mark.parametrize("bad", [{"url": "gpu:8080"}, {"url": "ftp://gpu"}, {"fallback": "cloud"},
                                 {"remote_kind": "whisper"}, {"breaker_failures": 0}, {"remote_timeout_s": 0}])
def test_bad_remote_settings_are_refused(bad: dict) -> None:
    with pytest.raises(ValueError):
        AsrSettings(**bad)
