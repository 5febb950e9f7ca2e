"""All settings in one pydantic-settings object, built once in ``main`` and passed down.

Precedence, highest first: explicit overrides (CLI flags, tests), ``VOICEGW_...`` environment
variables (nested groups joined with ``__``, e.g. ``VOICEGW_ASR__BEAM_SIZE=1``), the YAML config
file, then the defaults below.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)


def _user_dir(env: str, fallback: str) -> Path:
    return Path(os.environ.get(env) or Path.home() / fallback) / "voicegw"


#: ``asr.workers: auto`` on CPU: one recogniser per core, up to this many. On 2 cores, under load,
#: two recognisers of one thread each read 1.2-1.5 times as many clips as one of two threads
#: (CTranslate2 gains little from a second thread on one short clip); README, "Scaling out:
#: throughput on one machine".
MAX_AUTO_CPU_WORKERS = 4
#: Batch sizes of ``asr.batch_size: auto``. On 2 CPU cores batches of 2-8 clips decode 1.14-1.29
#: times faster than one by one on a recogniser of two threads, and no faster on one of one thread;
#: two recognisers of one thread do better than either, and batching on top of them does worse
#: (README, "Batched decoding"). 16 on CUDA is a starting point, not measured (no GPU was available).
CPU_BATCH_SIZE = 1
CUDA_BATCH_SIZE = 16


def available_cores() -> int:
    """The CPU cores this process may run on (its affinity: a cpuset's cores, not a CPU quota)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class AsrSettings(BaseModel):
    """Recognition with faster-whisper."""

    model: str = "base"
    """An installed model name (``base``, ``tiny.en``) or the path of any CTranslate2 Whisper directory."""
    models_dir: Path = Field(default_factory=lambda: _user_dir("XDG_CACHE_HOME", ".cache") / "models")
    """Where ``voicegw models install`` puts named models."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """``auto``: CUDA when a GPU is visible to CTranslate2, else CPU."""
    compute_type: str = "auto"
    """``auto``: float16 on CUDA, int8 on CPU; any CTranslate2 compute type otherwise."""
    cpu_threads: int = Field(default=0, ge=0)
    """Threads per transcription on CPU; 0: the cores shared out among the workers."""
    workers: Annotated[int, Field(ge=1, le=16)] | Literal["auto"] = "auto"
    """Transcriptions run at once (threads in the pool, and CTranslate2 workers). ``auto``: on CPU
    one per core, at most 4; on CUDA one, which decodes batches (``batch_size``)."""
    queue_limit: int = Field(default=16, ge=0)
    """Clips allowed to wait for a worker; beyond that the gateway answers 503 with Retry-After."""
    deadline_s: float | None = Field(default=5.0, gt=0)
    """A clip waits for a busy recogniser only if its transcript is estimated to come within this
    (the clips ahead and its own length times the measured real-time factor); otherwise 503 at once
    with the Retry-After the queue needs. Open Builder gives a skill 5 s. None: up to ``queue_limit``."""
    batch_size: Annotated[int, Field(ge=1, le=64)] | Literal["auto"] = "auto"
    """Clips waiting at the same moment decoded in one CTranslate2 call, at most (clips of the
    same beam size, readings and prompt layout; others wait for the next batch). ``auto``: 1 on
    CPU, 16 on CUDA (see README, "Batched decoding")."""
    batch_wait_ms: float = Field(default=20.0, ge=0, le=1000)
    """How long a clip that arrives at an idle recogniser waits for company before it is decoded
    with what has come (a busy one never waits: its queue is the company)."""
    beam_size: int = Field(default=5, ge=1, le=10)
    readings: int = Field(default=5, ge=1, le=10)
    """Whisper's best beams weighed against the store's menu before understanding (N-best
    rescoring); 1 acts on Whisper's best alone. More than ``beam_size`` widens the beam to match."""
    menu_grammar: bool = True
    """When Whisper's best reading writes a word the store's menu and language do not have, read
    the clip again allowing only those words, and weigh those readings with the others
    (``voicegw.asr.grammar``). Needs ``readings`` above 1."""
    bias: Literal["prompt", "hotwords", "both", "none"] = "hotwords"
    """How the store's menu words reach Whisper: a sample-sentence initial prompt, hotwords, both, or not at all."""
    no_speech_threshold: float = Field(default=0.6, ge=0.0, le=1.0)
    """Segments Whisper itself judges silent above this probability are dropped."""
    warmup: bool = True
    """Run one short transcription at start so the first customer does not pay for it."""
    # Remote recognition (voicegw/asr/remote.py): a store's CPU gateway sends its clips to a GPU one.
    url: str | None = None
    """A remote recogniser (``http(s)://host:port``) the clips are sent to instead of a model
    loaded here: another voicegw (``POST /v1/asr/readings``: N-best readings and the menu-grammar
    pass) or any OpenAI-compatible server (``POST /v1/audio/transcriptions``: the best reading
    only). Unset: the local model, as before."""
    url_key: SecretStr | None = None
    """Sent to the remote recogniser as ``Authorization: Bearer <key>`` (a voicegw key whose role
    has the ``transcribe`` scope)."""
    remote_kind: Literal["auto", "voicegw", "openai"] = "auto"
    """``auto``: try ``/v1/asr/readings`` and, if the server answers 404, take it for a plain
    OpenAI-compatible server from then on."""
    remote_model: str = "whisper-1"
    """The ``model`` field sent to an OpenAI-compatible server (which model it should run)."""
    remote_timeout_s: float = Field(default=10.0, gt=0)
    """The longest one request to the remote recogniser may take (connecting, sending, answering)."""
    remote_retries: int = Field(default=2, ge=0, le=10)
    """Further tries after a connection error, a timeout or HTTP 429/502/503/504, after an
    exponential backoff with jitter, or the server's ``Retry-After`` when it gives one (at most 3 s;
    a longer one is not waited for)."""
    breaker_failures: int = Field(default=5, ge=1)
    """Consecutive failed requests (connection errors, timeouts, 5xx, unreadable answers) that
    open the circuit breaker: no request is sent for ``breaker_reset_s``, then one trial request."""
    breaker_reset_s: float = Field(default=30.0, gt=0)
    """How long the breaker stays open before a trial request is let through."""
    fallback: Literal["none", "local"] = "none"
    """When the remote recogniser fails or the breaker is open: ``local`` transcribes with a
    model loaded here at start (``asr.model``); ``none`` fails the turn with 503
    ``asr_unavailable`` and a ``Retry-After``."""

    def workers_on(self, device: str) -> int:
        """The recognisers run at once on ``device`` (``cpu`` or ``cuda``)."""
        if self.workers != "auto":
            return int(self.workers)
        return 1 if device == "cuda" else min(available_cores(), MAX_AUTO_CPU_WORKERS)

    def threads_per_worker(self, device: str) -> int:
        """CTranslate2's threads for each recogniser on CPU (``cpu_threads``, else the cores
        shared out among the workers)."""
        if self.cpu_threads:
            return self.cpu_threads
        return max(1, available_cores() // self.workers_on(device))

    def batch_size_on(self, device: str) -> int:
        """The batch size in use on ``device`` (``cpu`` or ``cuda``)."""
        if self.batch_size != "auto":
            return int(self.batch_size)
        return CUDA_BATCH_SIZE if device == "cuda" else CPU_BATCH_SIZE

    @field_validator("url")
    @classmethod
    def _remote_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise ValueError("asr.url must be an http:// or https:// address, such as http://gpu-host:8080")
        return value


class AudioSettings(BaseModel):
    """Input limits and voice activity detection."""

    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    """Largest request body accepted on audio routes, in bytes."""
    max_duration_s: float = Field(default=30.0, gt=0)
    """Longest clip accepted, in seconds."""
    vad_aggressiveness: int = Field(default=2, ge=0, le=3)
    vad_frame_ms: Literal[10, 20, 30] = 30
    vad_padding_ms: int = Field(default=500, ge=10, le=2000)
    """Audio kept around each speech segment; 500 ms won on the English eval (0.949 against 0.885 at 300 and 800)."""


class BackendSettings(BaseModel):
    """The FAQ and order skill server."""

    url: str | None = None
    """An external skill server URL; unset runs the reference skill server inside ``voicegw serve``."""
    key: SecretStr | None = None
    """Sent to the external skill server as ``Authorization: Bearer <key>`` so it can tell the
    gateway from anyone else (the embedded server draws its own key)."""
    timeout_s: float = Field(default=5.0, gt=0)
    """Open Builder gives a skill 5 seconds; so do we."""


class StreamSettings(BaseModel):
    """The streaming route (``/v1/voice/stream``): end-pointing and the limits of one stream."""

    sensitivity: Literal["relaxed", "default", "aggressive"] = "default"
    """End-pointing preset (``voicegw.audio.endpoint``): ``relaxed`` waits longer for slow speakers,
    ``aggressive`` rejects more noise (noisy cabins) and ends sooner."""
    silence_ms: int | None = Field(default=None, ge=30, le=10_000)
    """Silence that ends an utterance; unset: the preset's (700 ms by default)."""
    max_utterance_s: float = Field(default=15.0, gt=0.5, le=30.0)
    """An utterance is cut and recognised at this length even if the speaker goes on."""
    min_speech_ms: int | None = Field(default=None, ge=30, le=2000)
    """Sounds with less speech than this start no utterance; unset: the preset's (200 ms by default)."""
    partials: bool = True
    """Send the transcript so far about once a second while someone speaks (when the recogniser is idle)."""
    idle_timeout_s: float = Field(default=30.0, gt=0)
    """A stream with no message for this long is closed."""
    max_stream_s: float = Field(default=600.0, gt=0)
    """Audio one stream may carry in all (a drive's worth); then it is closed."""
    max_speed: float = Field(default=1.0, ge=1.0)
    """How much faster than real time a kiosk or app key may send audio; faster senders are slowed
    (the gateway stops reading until real time catches up)."""
    replay_max_speed: float = Field(default=10.0, ge=1.0)
    """The same for ``qa`` and ``admin`` keys replaying recordings (``voicegw stream --speed``)."""
    token_ttl_s: int = Field(default=60, ge=5, le=3600)
    """How long a browser's stream token (``POST /v1/voice/stream/token``) may wait to be used."""


class DatabaseSettings(BaseModel):
    """Where the gateway keeps its state."""

    url: SecretStr | None = None
    """A PostgreSQL database (``postgresql://user:password@host:5432/voicegw``) holding every table
    (keys, personal data, turn log, A/B exposures; the embedded skill server's carts and orders),
    shared by gateways on several hosts. Unset: the SQLite file ``<data_dir>/voicegw.db``."""


class KakaoSettings(BaseModel):
    """Kakao i Open Builder text chat (``/kakao/skill``)."""

    reply_within_s: float = Field(default=3.5, gt=0, le=4.9)
    """Answer Open Builder within this (its skill limit is 5 s, with the network on the way):
    a slower turn is answered by its callback URL, or with a busy reply."""
    callback_hosts: list[str] = Field(default_factory=lambda: ["*.kakao.com"])
    """Hosts (glob patterns) a request's ``userRequest.callbackUrl`` may name; https only."""


class ServerSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    read_timeout_s: float = Field(default=15.0, gt=0)
    """A client that has not sent its whole body by then gets 408: slow senders cannot hold workers."""


class AuthSettings(BaseModel):
    """Who may call which route (API keys with scopes) and how often."""

    dev_mode: Literal["auto", "off"] = "auto"
    """``auto``: on a loopback host with no API key created yet, the gateway runs without keys and
    says so at start (local development); ``off``: keys are always required."""
    rate_per_minute: int = Field(default=120, ge=1)
    """Requests a key (or, in development mode, a client address) may make per minute."""
    rate_burst: int = Field(default=30, ge=1)
    """Requests allowed at once above the steady rate."""
    cors_origins: list[str] = Field(default_factory=list)
    """Web origins of the store's kiosk and app pages allowed to call the gateway from a browser."""


class RetentionSettings(BaseModel):
    """How long each class of personal data is kept, in days (purged by ``voicegw purge`` and the server)."""

    audio_days: int = Field(default=7, ge=0)
    """Retained audio (only with retention on and the customer's consent)."""
    transcripts_days: int = Field(default=30, ge=0)
    """Redacted transcripts in the turn log (chat-log analysis)."""
    contact_days: int = Field(default=30, ge=0)
    """Delivery phone numbers and addresses, counted from the order."""
    events_days: int = Field(default=90, ge=0)
    """Event entries: consents withdrawn or expired, hand-offs."""
    audit_days: int = Field(default=365, ge=0)
    """The audit log of admin reads of personal data."""


class PrivacySettings(BaseModel):
    """Personal data: what is kept, encrypted with which keys, for how long."""

    retain_audio: bool = False
    """Keep customers' clips for QA; each clip is kept only when its customer consented to it."""
    data_keys_file: Path | None = None
    """The file of data encryption keys (newest first); default ``<data_dir>/data-keys``.
    ``VOICEGW_DATA_KEYS`` (comma-separated Fernet keys, newest first) takes precedence."""
    purge_interval_s: float = Field(default=3600.0, gt=0)
    """How often the server deletes what is due."""
    retention: RetentionSettings = Field(default_factory=RetentionSettings)


class Settings(BaseSettings):
    """Everything voicegw can be told."""

    model_config = SettingsConfigDict(
        env_prefix="VOICEGW_", env_nested_delimiter="__", extra="forbid"
    )

    data_dir: Path = Field(default_factory=lambda: _user_dir("XDG_DATA_HOME", ".local/share"))
    """The one folder where voicegw keeps state on disk (the SQLite database)."""
    menus_dir: Path = Path("menus")
    """Folder of store menu files (``*.yaml``)."""
    experiments_dir: Path = Path("experiments")
    """Folder of A/B tests of replies (``*.yaml``, docs/experiments.md); missing: none."""
    default_language: str = "ko"
    """Recognition language when neither the request nor the store's menu says one."""
    asr: AsrSettings = Field(default_factory=AsrSettings)
    audio: AudioSettings = Field(default_factory=AudioSettings)
    backend: BackendSettings = Field(default_factory=BackendSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    stream: StreamSettings = Field(default_factory=StreamSettings)
    kakao: KakaoSettings = Field(default_factory=KakaoSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)

    @property
    def database_path(self) -> Path:
        return self.data_dir / "voicegw.db"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, YamlConfigSettingsSource(settings_cls))

    @classmethod
    def load(cls, config_file: Path | None = None, **overrides: Any) -> Settings:
        """Build the settings from a YAML file (optional), the environment and overrides."""
        if config_file is None:
            return cls(**overrides)
        if not Path(config_file).is_file():
            raise FileNotFoundError(f"config file not found: {config_file}")

        class _FromFile(cls):  # type: ignore[valid-type,misc]
            model_config = SettingsConfigDict(yaml_file=config_file)

        return _FromFile(**overrides)
