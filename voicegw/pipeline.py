"""One turn through every stage: decode -> vad -> asr -> understand -> backend -> turn result.

The pipeline owns no I/O of its own: the transcriber pool and the backend are passed in, so the
gateway, the CLI and the evaluation run exactly the same code.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Literal, Protocol, get_args

from voicegw.asr.biasing import bias_for_menu, grammar_for_menu
from voicegw.asr.engine import TranscribeOptions, Transcript
from voicegw.audio.decode import decode_audio
from voicegw.audio.limits import AudioLimits
from voicegw.audio.pcm import Pcm
from voicegw.audio.vad import VadOptions, find_speech, speech_only
from voicegw.backend.request_builder import build_skill_request
from voicegw.backend.skill import SkillRequest, SkillResponse
from voicegw.dialogue.replies import unheard_reply
from voicegw.dialogue.turns import REASON_STATUS
from voicegw.errors import MenuError
from voicegw.events import TurnEvent
from voicegw.experiments.assign import vary_reply
from voicegw.experiments.config import Experiment
from voicegw.nlu.compiled import LANGUAGES
from voicegw.nlu.menu import Menu
from voicegw.nlu.parser import understand
from voicegw.nlu.rescoring import choose_reading
from voicegw.nlu.types import IntentName, Understanding
from voicegw.settings import Settings
from voicegw.turn import CartOut, ExposureOut, IntentOut, LineOut, ReadingOut, ReplyOut, TurnResult, TurnStatus

Channel = Literal["voice", "text"]

_INTENT_NAMES = frozenset(i.value for i in IntentName)

#: The request's ``lang`` that asks Whisper to detect the language.
AUTO = "auto"


class AsyncTranscriber(Protocol):
    async def transcribe(self, samples, options: TranscribeOptions) -> Transcript: ...


class Backend(Protocol):
    """Anything that answers a skill request (``SkillClient`` over HTTP; a fake in unit tests)."""

    async def post(self, request: SkillRequest) -> SkillResponse: ...


@dataclass(frozen=True)
class TurnContext:
    store: str
    session: str
    language: str | None = None
    """Requested language; None means the store's menu language."""
    idempotency_key: str | None = None
    request_digest: str | None = None
    """sha256 of what the client sent (``request_digest``): a retry under one idempotency key
    must be the same request."""


def request_digest(*parts: bytes | str | None) -> str:
    """A digest of a client's request from its parts (audio or text, store, session, language)."""
    h = hashlib.sha256()
    for part in parts:
        data = b"" if part is None else part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big") + data)  # length-prefixed: ("ab", "c") != ("a", "bc")
    return h.hexdigest()


@dataclass
class Pipeline:
    menus: Mapping[str, Menu]
    transcriber: AsyncTranscriber
    backend: Backend | None
    """None for recognition-only use (``voicegw transcribe``)."""
    limits: AudioLimits = field(default_factory=AudioLimits)
    vad: VadOptions = field(default_factory=VadOptions)
    beam_size: int = 5
    bias: str = "hotwords"
    no_speech_threshold: float = 0.6
    readings: int = 1
    """Whisper beams weighed against the menu (``voicegw.nlu.rescoring``); 1 takes Whisper's best."""
    menu_grammar: bool = False
    """Add the readings of a menu-grammar pass when Whisper's best leaves the menu's words (``asr.menu_grammar``)."""
    listeners: list[Callable[[TurnEvent], None]] = field(default_factory=list)
    experiments: Mapping[str, Experiment] = field(default_factory=dict)
    """A/B tests of replies by id (``experiments_dir``); none: every reply as shipped."""

    def menu_for(self, store: str) -> Menu:
        menu = self.menus.get(store)
        if menu is None:
            known = ", ".join(sorted(self.menus)) or "none"
            raise MenuError("unknown_store", f"no menu for store {store!r} (known: {known})", http_status=404)
        return menu

    def _emit(self, stage: str, ctx: TurnContext, elapsed_ms: int, **data: object) -> None:
        event = TurnEvent(stage=stage, store=ctx.store, session=ctx.session, elapsed_ms=elapsed_ms, data=data)
        for listener in self.listeners:
            listener(event)

    async def recognise(
        self,
        audio: bytes,
        *,
        language: str | None,
        content_type: str | None = None,
        prompt: str | None = None,
        hotwords: str | None = None,
        grammar: tuple[str, ...] = (),
        ctx: TurnContext | None = None,
    ) -> tuple[Transcript | None, dict[str, int]]:
        """Decode, find speech and recognise it; None when there is no speech (an empty ``unclear``
        transcript when there was speech that could not be read)."""
        ctx = ctx or TurnContext(store="", session="")
        timings: dict[str, int] = {}
        pcm = await self._decode(audio, content_type, ctx, timings)
        transcript = await self.recognise_pcm(pcm, language=language, prompt=prompt, hotwords=hotwords,
                                              grammar=grammar, ctx=ctx, timings=timings)
        return transcript, timings

    async def _decode(self, audio: bytes, content_type: str | None, ctx: TurnContext, timings: dict[str, int]) -> Pcm:
        with _timed(timings, "decode"):
            # Decoding blocks for up to tens of ms on a large clip: off the event loop.
            pcm = await asyncio.to_thread(decode_audio, audio, self.limits, content_type)
        self._emit("decoded", ctx, timings["decode"], duration_ms=pcm.duration_ms)
        return pcm

    async def recognise_pcm(
        self,
        pcm: Pcm,
        *,
        language: str | None,
        prompt: str | None = None,
        hotwords: str | None = None,
        grammar: tuple[str, ...] = (),
        quick: bool = False,
        ctx: TurnContext,
        timings: dict[str, int],
    ) -> Transcript | None:
        """``recognise`` of decoded audio (a streamed utterance); ``quick`` reads it greedily,
        Whisper's best reading alone (a live partial transcript)."""
        with _timed(timings, "vad"):
            speech = await asyncio.to_thread(find_speech, pcm, self.vad)
        self._emit("speech_found", ctx, timings["vad"], speech_ms=speech.speech_ms)
        if not speech.has_speech:
            return None
        options = TranscribeOptions(
            language=language,
            beam_size=1 if quick else self.beam_size,
            initial_prompt=prompt,
            hotwords=hotwords,
            no_speech_threshold=self.no_speech_threshold,
            readings=1 if quick else self.readings,
            grammar=grammar,
        )
        with _timed(timings, "asr"):
            transcript = await self.transcriber.transcribe(speech_only(pcm, speech).samples, options)
        self._emit("transcribed", ctx, timings["asr"], confidence=transcript.confidence)
        return None if transcript.is_empty and not transcript.unclear else transcript

    async def transcribe_for_store(
        self, audio: bytes, ctx: TurnContext, content_type: str | None = None
    ) -> tuple[Transcript | None, dict[str, int]]:
        """``recognise`` in the turn's language, biased towards the store's menu."""
        timings: dict[str, int] = {}
        self.menu_for(ctx.store)  # an unknown store is refused before the audio is decoded
        pcm = await self._decode(audio, content_type, ctx, timings)
        return await self.transcribe_pcm_for_store(pcm, ctx, timings), timings

    async def transcribe_pcm_for_store(
        self, pcm: Pcm, ctx: TurnContext, timings: dict[str, int], *, partial: bool = False
    ) -> Transcript | None:
        """``auto`` lets Whisper detect the language, only when the request asks for it (short
        clips are easily misjudged); the prompt is then in the store's own language. A
        ``partial`` transcript (words on screen while someone speaks) is read greedily, without
        the menu-grammar pass."""
        menu = self.menu_for(ctx.store)
        language = self.language_of(ctx)
        prompt, hotwords = bias_for_menu(menu, menu.language if language == AUTO else language, self.bias)
        # A detected language is known only after decoding: no grammar for it.
        use_grammar = self.menu_grammar and language != AUTO and not partial
        return await self.recognise_pcm(
            pcm,
            language=None if language == AUTO else language,
            prompt=prompt,
            hotwords=hotwords,
            grammar=grammar_for_menu(menu, language) if use_grammar else (),
            quick=partial,
            ctx=ctx,
            timings=timings,
        )

    def language_of(self, ctx: TurnContext) -> str:
        return ctx.language or self.menu_for(ctx.store).language

    def _heard_language(self, transcript: Transcript, ctx: TurnContext) -> str:
        """The language Whisper heard, or the store's where it heard one the gateway does not speak."""
        return transcript.language if transcript.language in LANGUAGES else self.menu_for(ctx.store).language

    async def voice_turn(self, audio: bytes, ctx: TurnContext, content_type: str | None = None) -> TurnResult:
        started = time.perf_counter()
        timings: dict[str, int] = {}
        self.menu_for(ctx.store)
        pcm = await self._decode(audio, content_type, ctx, timings)
        return await self.voice_turn_pcm(pcm, ctx, timings, started)

    async def voice_turn_pcm(
        self, pcm: Pcm, ctx: TurnContext, timings: dict[str, int] | None = None, started: float | None = None
    ) -> TurnResult:
        """A voice turn of decoded audio: a clip after ``voice_turn`` decoded it, or an utterance
        the streaming route cut from a stream."""
        started = time.perf_counter() if started is None else started
        timings = {} if timings is None else timings
        transcript = await self.transcribe_pcm_for_store(pcm, ctx, timings)
        return await self.turn_of_transcript(transcript, ctx, timings, started)

    async def turn_of_transcript(
        self, transcript: Transcript | None, ctx: TurnContext, timings: dict[str, int], started: float
    ) -> TurnResult:
        """The rest of a voice turn once the audio is recognised (``transcribe_pcm_for_store``):
        the streaming route recognises an utterance early, while it waits to be sure it is over."""
        if transcript is None:
            timings["total"] = _ms_since(started)
            self._emit("no_speech", ctx, timings["total"])
            language = self.language_of(ctx)
            return _unheard_result(ctx, "no_speech", self.menu_for(ctx.store).language if language == AUTO else language, timings)
        if transcript.is_empty:  # unclear: asked again, the cart untouched
            timings["total"] = _ms_since(started)
            self._emit("unclear_speech", ctx, timings["total"])
            return _unheard_result(ctx, "unclear_speech", self._heard_language(transcript, ctx), timings)
        if self.language_of(ctx) == AUTO:
            ctx = replace(ctx, language=self._heard_language(transcript, ctx))
        menu, language = self.menu_for(ctx.store), self.language_of(ctx)
        readings = transcript.readings
        with _timed(timings, "understand"):
            reading, understanding = choose_reading(readings, menu, language)
        result = await self._understand_and_send(reading.text, ctx, "voice", timings, understanding)
        result.timings_ms["total"] = _ms_since(started)
        result.readings = [ReadingOut(text=r.text, avg_logprob=round(r.avg_logprob, 4), chosen=r is reading,
                                      within_grammar=r.within_grammar)
                           for r in readings]
        return result

    async def text_turn(self, text: str, ctx: TurnContext) -> TurnResult:
        started = time.perf_counter()
        result = await self._understand_and_send(text, ctx, "text", {})
        result.timings_ms["total"] = _ms_since(started)
        return result

    async def _understand_and_send(
        self,
        text: str,
        ctx: TurnContext,
        channel: Channel,
        timings: dict[str, int],
        understanding: Understanding | None = None,
    ) -> TurnResult:
        """``understanding`` is given when a voice turn already chose its reading by it."""
        menu = self.menu_for(ctx.store)
        language = self.language_of(ctx)
        if language == AUTO:  # typed text: nothing was detected, so the store's language
            language = menu.language
        if understanding is None:
            with _timed(timings, "understand"):
                understanding = understand(text, menu, language)
        self._emit("understood", ctx, timings["understand"], intent=understanding.intent.name.value)
        request = build_skill_request(
            understanding,
            store=ctx.store,
            session=ctx.session,
            language=language,
            utterance=text,
            channel=channel,
            idempotency_key=ctx.idempotency_key,
            request_digest=ctx.request_digest,
        )
        if self.backend is None:
            raise RuntimeError("this pipeline was built without a backend (recognition only)")
        with _timed(timings, "backend"):
            response = await self.backend.post(request)
        self._emit("replied", ctx, timings["backend"])
        return self._in_variant(_turn_result(ctx, language, text, understanding, response, timings), response)

    def _in_variant(self, result: TurnResult, response: SkillResponse) -> TurnResult:
        """The reply as the session's A/B variant says it (experiments/assign.py)."""
        said = (response.data or {}).get("reply")
        if not isinstance(said, dict) or not isinstance(said.get("kind"), str):
            return result
        values = said.get("values") if isinstance(said.get("values"), dict) else {}
        result.reply.kind = said["kind"]
        varied = vary_reply(self.experiments, result.store, result.session, result.language,
                            result.reply.text, said["kind"], {str(k): str(v) for k, v in values.items()})
        if varied.exposure is not None:
            result.reply.text = varied.text
            result.reply.experiment = ExposureOut(**asdict(varied.exposure))
        return result


def build_pipeline(
    settings: Settings, menus: Mapping[str, Menu], transcriber: AsyncTranscriber, backend: Backend | None,
    experiments: Mapping[str, Experiment] | None = None,
) -> Pipeline:
    """A pipeline tuned by the settings (limits, VAD, beam, menu biasing)."""
    return Pipeline(
        menus=menus,
        experiments=experiments or {},
        transcriber=transcriber,
        backend=backend,
        limits=AudioLimits(max_bytes=settings.audio.max_body_bytes, max_duration_s=settings.audio.max_duration_s),
        vad=VadOptions(
            aggressiveness=settings.audio.vad_aggressiveness,
            frame_ms=settings.audio.vad_frame_ms,
            padding_ms=settings.audio.vad_padding_ms,
        ),
        beam_size=settings.asr.beam_size,
        bias=settings.asr.bias,
        no_speech_threshold=settings.asr.no_speech_threshold,
        readings=settings.asr.readings,
        menu_grammar=settings.asr.menu_grammar,
    )


def turn_status(understanding: Understanding) -> tuple[TurnStatus, str | None]:
    """Status and reason of an understood turn, for a backend that does not report its own."""
    reason = understanding.reason
    if reason is None and understanding.intent.name is IntentName.UNKNOWN:
        reason = "not_understood"
    if reason is None:
        return "ok", None
    return REASON_STATUS.get(reason, "not_understood"), reason


def _turn_result(
    ctx: TurnContext,
    language: str,
    text: str,
    understanding: Understanding,
    response: SkillResponse,
    timings: dict[str, int],
) -> TurnResult:
    data = response.data or {}
    # The backend runs the dialogue, so its verdict wins (an empty cart on confirm, an item not in
    # the cart); a third-party skill server that reports nothing gets the understanding's verdict.
    status, reason = turn_status(understanding)
    if data.get("status") in get_args(TurnStatus):
        status, reason = data["status"], data.get("reason")
    cart = data.get("cart")
    intent = understanding.intent.name
    if data.get("intent") in _INTENT_NAMES:  # the dialogue read it in context ("라지요" answers a question)
        intent = IntentName(data["intent"])
    return TurnResult(
        status=status,
        session=ctx.session,
        store=ctx.store,
        language=language,
        transcript=text,
        intent=IntentOut(name=intent, confidence=round(understanding.intent.confidence, 3)),
        lines=[LineOut.model_validate(line.model_dump()) for line in understanding.lines],
        cart=CartOut.model_validate(cart) if cart is not None else None,
        order_id=data.get("order_id"),
        faq=understanding.candidates[0] if understanding.intent.name is IntentName.FAQ and understanding.candidates else None,
        reply=ReplyOut(text=response.text, quick_replies=response.quick_reply_labels),
        reason=reason,
        handoff=bool(data.get("handoff", False)),
        sentiment=understanding.sentiment,
        timings_ms=timings,
        replayed=data.get("replayed") is True,
    )


def _unheard_result(ctx: TurnContext, reason: str, language: str, timings: dict[str, int]) -> TurnResult:
    text, quick_replies = unheard_reply(reason, language)
    return TurnResult(
        status=REASON_STATUS.get(reason, "not_understood"),
        session=ctx.session,
        store=ctx.store,
        language=language,
        reply=ReplyOut(text=text, quick_replies=list(quick_replies)),
        reason=reason,
        timings_ms=timings,
    )


class _timed:
    """Adds the milliseconds a block took to ``timings[name]``."""

    def __init__(self, timings: dict[str, int], name: str) -> None:
        self.timings, self.name = timings, name

    def __enter__(self) -> None:
        self.started = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.timings[self.name] = self.timings.get(self.name, 0) + _ms_since(self.started)


def _ms_since(started: float) -> int:
    return int(round((time.perf_counter() - started) * 1000))
