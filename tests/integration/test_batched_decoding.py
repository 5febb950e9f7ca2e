"""Batched decoding with the real model on real spoken orders: a clip reads the same alone and in a
batch (readings, the menu-grammar pass, confidence), and a gateway that batches answers
concurrent kiosks exactly as it answers them one at a time."""

from __future__ import annotations

import io
import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from faster_whisper import decode_audio

from tests.integration.conftest import running_gateway
from voicegw.asr import nbest
from voicegw.asr.biasing import bias_for_menu, grammar_for_menu
from voicegw.asr.engine import TranscribeOptions, Transcript, WhisperTranscriber
from voicegw.asr.loader import load_local_transcriber
from voicegw.nlu.loader import load_menus
from voicegw.qa.manifest import load_manifest
from voicegw.qa.runner import Condition, NoiseBank, clip_audio
from voicegw.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COFFEE = ROOT / "audio_fixtures" / "coffee-orders"
STORE = "coffee-kiosk-en"
MENUS = load_menus(ROOT / "menus")
#: A real order under running-tap noise whose best reading leaves the menu's words
#: (tests/integration/test_menu_grammar.py): the grammar's pass runs for it alone in a batch.
NOISY = "audio/2acbdc28-a89a-4947-9587-864cb9eb8784.flac"
TAP = ROOT / "noise" / "speechcommands_running_tap.wav"


def _coffee_rows(count: int) -> list[dict[str, Any]]:
    lines = (COFFEE / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines[:count]]


def _options() -> TranscribeOptions:
    """What the gateway asks for an English order at the coffee kiosk (pipeline.recognise)."""
    asr = Settings.load().asr
    prompt, hotwords = bias_for_menu(MENUS[STORE], "en", asr.bias)
    return TranscribeOptions(language="en", beam_size=asr.beam_size, initial_prompt=prompt, hotwords=hotwords,
                             no_speech_threshold=asr.no_speech_threshold, readings=asr.readings,
                             grammar=grammar_for_menu(MENUS[STORE], "en"))


@pytest.fixture(scope="module")
def transcriber() -> WhisperTranscriber:
    return load_local_transcriber(Settings.load().asr)


def _noisy_order() -> Any:
    clips = load_manifest(COFFEE / "sweep.jsonl")
    (clip,) = [c for c in clips if c.audio.as_posix().endswith(NOISY)]
    audio, _ = clip_audio(clip, Condition(TAP.stem, 6.0, TAP, "peak-frame"), NoiseBank())
    return decode_audio(io.BytesIO(audio))


def _reading(transcript: Transcript) -> tuple:
    return (transcript.text, transcript.unclear,
            [(r.text, r.within_grammar, round(r.avg_logprob, 2)) for r in transcript.alternatives])


def test_a_clip_reads_the_same_alone_and_in_a_batch(transcriber: WhisperTranscriber, monkeypatch) -> None:
    samples = [decode_audio(str(COFFEE / row["audio"])) for row in _coffee_rows(5)]
    samples.insert(2, _noisy_order())
    options = _options()
    clips = [(s, options) for s in samples]
    assert len({transcriber.batch_key(s, o) for s, o in clips}) == 1
    alone = [transcriber.transcribe(s, o) for s, o in clips]

    grammar_rows: list[tuple[list[int], int]] = []
    rows = nbest._rows

    def spied(encoder_output, wanted: list[int], total: int):  # noqa: ANN001, ANN202
        grammar_rows.append((list(wanted), total))
        return rows(encoder_output, wanted, total)

    monkeypatch.setattr(nbest, "_rows", spied)
    together = transcriber.transcribe_batch(clips)
    assert [_reading(t) for t in together] == [_reading(t) for t in alone]
    assert [t.confidence for t in together] == pytest.approx([t.confidence for t in alone], abs=0.01)
    # One search for all six, then the grammar's search for the noisy order alone, on its own
    # rows of the batch's encoder output.
    assert grammar_rows == [([0, 1, 2, 3, 4, 5], 6), ([2], 6)]
    assert any(r.within_grammar for r in together[2].alternatives)


def _turn(base_url: str, row: dict[str, Any], session: str) -> dict[str, Any]:
    import urllib.request

    url = f"{base_url}/v1/voice/orders?store={row['store']}&session={session}&lang={row['lang']}"
    data = (COFFEE / row["audio"]).read_bytes()
    request = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "audio/flac"})
    with urllib.request.urlopen(request, timeout=300) as response:
        body = json.loads(response.read())
    return {"transcript": body["transcript"], "status": body["status"],
            "lines": [(line["item_id"], line["quantity"], line["unit_price"]) for line in body["lines"]]}


def _batch_sizes(metrics: str) -> tuple[float, float]:
    """How many clips and how many recogniser calls the batch-size histogram has seen."""
    count = float(re.search(r"^voicegw_asr_batch_size_count (\S+)$", metrics, re.MULTILINE).group(1))
    total = float(re.search(r"^voicegw_asr_batch_size_sum (\S+)$", metrics, re.MULTILINE).group(1))
    return total, count


def test_a_batching_gateway_answers_concurrent_kiosks_as_it_answers_them_one_at_a_time(tmp_path: Path) -> None:
    rows = _coffee_rows(8)
    # Every clip admitted (the deadline's estimate is not what this test is about).
    env = {"VOICEGW_ASR__BATCH_SIZE": "4", "VOICEGW_ASR__BATCH_WAIT_MS": "50", "VOICEGW_ASR__DEADLINE_S": "600"}
    with running_gateway(tmp_path, env) as gateway:
        one_at_a_time = [_turn(gateway.base_url, row, f"alone-{n}") for n, row in enumerate(rows)]
        clips, calls = _batch_sizes(gateway.get("/metrics").body)
        assert clips == calls == 8  # each alone
        with ThreadPoolExecutor(8) as kiosks:
            together = list(kiosks.map(lambda job: _turn(gateway.base_url, *job),
                                       [(row, f"together-{n}") for n, row in enumerate(rows)]))
        clips, calls = _batch_sizes(gateway.get("/metrics").body)
    assert together == one_at_a_time
    assert all(turn["status"] == "ok" and turn["lines"] for turn in together), together
    # The eight concurrent clips in a few batches of four at most: say the first alone (nobody
    # came within 50 ms), the next four while it was decoded, then the last three.
    assert clips == 16 and 8 + 2 <= calls <= 8 + 4
