"""N-best rescoring with the real model on real fixture audio: the menu picks among Whisper's beams.

In-process (no server): the same pipeline stages ``voicegw serve`` runs, with ``asr.readings``
set both ways, so the test shows what the rescoring changes and that Whisper's own best is kept
when the menu cannot tell the readings apart.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from voicegw.asr.engine import TranscriberPool
from voicegw.asr.loader import load_transcriber
from voicegw.nlu.loader import load_menus
from voicegw.nlu.parser import understand
from voicegw.nlu.rescoring import choose_reading
from voicegw.nlu.types import IntentName
from voicegw.pipeline import TurnContext, build_pipeline
from voicegw.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
MENUS = load_menus(ROOT / "menus")


@pytest.fixture(scope="module")
def pool():
    pool = TranscriberPool(load_transcriber(Settings.load().asr))
    yield pool
    pool.close()


def _transcribe(pool: TranscriberPool, clip: str, readings: int):
    settings = Settings.load(asr={"readings": readings})
    pipeline = build_pipeline(settings, MENUS, pool, None)
    audio = (ROOT / "audio_fixtures" / clip).read_bytes()
    transcript, _ = asyncio.run(pipeline.transcribe_for_store(audio, TurnContext(store="coffee-en", session="t")))
    assert transcript is not None
    return transcript


def test_five_readings_are_weighed_and_one_is_acted_on(pool: TranscriberPool) -> None:
    # "is the muffin nut free", espeak-ng: Whisper offers several readings ("hot-free", "hot free",
    # ...); the one acted on is among them and is understood. (The rescue of a third-ranked reading
    # is tested on Whisper's recorded beams in tests/unit/test_rescoring.py: live beams move with
    # every change to the audio the VAD keeps.)
    transcript = _transcribe(pool, "en/coffee_faq_nut_free.wav", readings=5)
    menu = MENUS["coffee-en"]
    assert len(transcript.alternatives) >= 2, transcript
    reading, understanding = choose_reading(transcript.readings, menu, "en")
    assert reading.text in {r.text for r in transcript.readings}
    assert understanding.intent.name is not IntentName.UNKNOWN, (reading, understanding)


def test_one_reading_is_whispers_best_alone(pool: TranscriberPool) -> None:
    transcript = _transcribe(pool, "en/coffee_faq_nut_free.wav", readings=1)
    assert transcript.alternatives == ()
    reading, understanding = choose_reading(transcript.readings, MENUS["coffee-en"], "en")
    assert reading.text == transcript.text and not understanding.candidates


def test_a_clear_order_keeps_whispers_best(pool: TranscriberPool) -> None:
    transcript = _transcribe(pool, "en/coffee_latte_large_iced_oat.wav", readings=5)
    reading, understanding = choose_reading(transcript.readings, MENUS["coffee-en"], "en")
    assert reading.text == transcript.text
    (line,) = understanding.lines
    assert line.item_id == "latte" and {o.group: o.value for o in line.options}["milk"] == "oat"


def test_a_full_window_with_the_menu_hotwords_decodes(pool: TranscriberPool) -> None:
    # 30 s of orders (the longest clip accepted) + the coffee menu's hotword prompt would ask the
    # decoder for more than its 448 positions; the words are capped instead of the call failing.
    from voicegw.asr.biasing import bias_for_menu
    from voicegw.asr.transcript import TranscribeOptions
    from voicegw.audio.decode import decode_audio
    from voicegw.audio.limits import AudioLimits

    clips = sorted((ROOT / "audio_fixtures" / "en").glob("coffee_*.wav"))
    samples = np.concatenate([decode_audio(c.read_bytes(), AudioLimits()).samples for c in clips[:12]])[: 30 * 16_000]
    _, hotwords = bias_for_menu(MENUS["coffee-en"], "en", "hotwords")
    transcript = asyncio.run(pool.transcribe(samples, TranscribeOptions(language="en", hotwords=hotwords, readings=5)))
    assert "americano" in transcript.text.lower() and transcript.alternatives
