"""The eval runner and its reports, with a scripted sender (the real pipeline runs in tests/integration)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from voicegw.audio.decode import decode_audio
from voicegw.audio.limits import AudioLimits
from voicegw.qa.manifest import load_manifest
from voicegw.qa.report import COLUMNS, gate_failures, markdown, row_cells, rows, write_outputs
from voicegw.qa.runner import Condition, NoiseBank, clip_audio, conditions_for, run_eval
from voicegw.qa.scoring import ClipOutcome

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "audio_fixtures" / "manifest.jsonl"
BABBLE = ROOT / "audio_fixtures" / "noise" / "cafe_babble.wav"


@pytest.fixture(scope="module")
def clips():
    every = load_manifest(MANIFEST)
    orders = [c for c in every if c.lang == "en" and c.intent == "order.add"][:3]
    quiet = [c for c in every if c.expects_no_speech][:1]
    return orders + quiet


class PerfectSender:
    """Answers every clip exactly as its manifest line expects (or with an order, if told to)."""

    def __init__(self, order_on_silence: bool = False) -> None:
        self.order_on_silence = order_on_silence
        self.sessions: list[str] = []

    async def send(self, clip, audio: bytes, session: str) -> ClipOutcome:
        self.sessions.append(session)
        if clip.expects_no_speech and not self.order_on_silence:
            return ClipOutcome(status="no_speech", latency_ms=5)
        lines = [
            {"item_id": line.item_id, "quantity": line.quantity,
             "options": [{"group": g, "value": o.value, "amount": o.amount or "regular"} for g, o in line.options.items()]}
            for line in clip.lines
        ] or [{"item_id": "latte", "quantity": 1, "options": []}]
        return ClipOutcome(status="ok", transcript=clip.text, intent=clip.intent if clip.lines else "order.add",
                           lines=tuple(lines), latency_ms=100, asr_ms=90)


def test_conditions_are_clean_then_each_noise_by_falling_snr(tmp_path: Path) -> None:
    labels = [c.label for c in conditions_for([tmp_path / "cafe.wav", tmp_path / "road.ogg"], [6, 24, 12])]
    assert labels == ["clean", "cafe@24dB", "cafe@12dB", "cafe@6dB", "road@24dB", "road@12dB", "road@6dB"]


def test_noisy_audio_is_reproducible_and_noisier(clips) -> None:
    speech = clips[0]
    condition = Condition("cafe_babble", 6.0, BABBLE)
    first, duration_ms = clip_audio(speech, condition, NoiseBank())
    again, _ = clip_audio(speech, condition, NoiseBank())
    assert first == again and duration_ms > 500
    clean = decode_audio(speech.audio.read_bytes(), AudioLimits()).samples
    noisy = decode_audio(first, AudioLimits()).samples
    assert len(noisy) == len(clean)
    residual = noisy - clean * (np.max(np.abs(noisy)) / max(np.max(np.abs(clean)), 1e-9))
    assert float(np.mean(residual**2)) > 0


def test_silence_gets_noise_at_the_speech_level_of_the_condition(clips) -> None:
    quiet = clips[-1]
    loud, _ = clip_audio(quiet, Condition("cafe_babble", 0.0, BABBLE), NoiseBank())
    soft, _ = clip_audio(quiet, Condition("cafe_babble", 24.0, BABBLE), NoiseBank())
    power = lambda data: float(np.mean(decode_audio(data, AudioLimits()).samples ** 2))  # noqa: E731
    assert 10 * np.log10(power(loud) / power(soft)) == pytest.approx(24.0, abs=1.0)


async def test_run_scores_each_clip_in_its_own_session(clips, tmp_path: Path) -> None:
    sender = PerfectSender()
    results = await run_eval(clips, [Condition(), Condition("cafe_babble", 12.0, BABBLE)], sender)
    assert len(results) == 2 * len(clips) and len(set(sender.sessions)) == len(sender.sessions)
    table = rows(results)
    assert {(r.condition, r.lang) for r in table} == {("clean", "en"), ("clean", clips[-1].lang),
                                                      ("cafe_babble@12dB", "en"), ("cafe_babble@12dB", clips[-1].lang)}
    assert gate_failures(table, 0.97) == []
    written = write_outputs(tmp_path, results, table, {"model": "scripted"})
    assert [p.name for p in written] == ["results.json", "summary.md", "snr.png"]
    data = json.loads(written[0].read_text(encoding="utf-8"))
    assert len(data["clips"]) == len(results) and data["summary"][0]["speech"]["command_acceptance"] == 1.0
    assert written[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| clean | en |" in markdown(table, "")


async def test_gate_fails_on_an_order_from_silence(clips) -> None:
    results = await run_eval(clips, [Condition()], PerfectSender(order_on_silence=True))
    failures = gate_failures(rows(results), 0.5)
    assert any("order(s) from silence or noise" in f for f in failures)


async def test_gate_fails_below_the_threshold(clips) -> None:
    class Deaf(PerfectSender):
        async def send(self, clip, audio, session):
            return ClipOutcome(status="no_speech", latency_ms=5)

    failures = gate_failures(rows(await run_eval(clips, [Condition()], Deaf())), 0.9)
    assert failures and "command acceptance 0.000 < 0.9" in failures[0]


async def test_phantom_orders_from_talk_are_counted(clips) -> None:
    talk = load_manifest(MANIFEST)
    talk = [c for c in talk if c.kind == "real_speech"][:2]

    class Eager(PerfectSender):
        async def send(self, clip, audio, session):
            return ClipOutcome(status="ok", transcript="coffee", intent="order.add",
                               lines=({"item_id": "drip_coffee", "quantity": 1, "options": []},), latency_ms=5)

    [row] = rows(await run_eval(talk, [Condition()], Eager()))
    assert row.speech.phantom_orders == 2 and row.speech.command_acceptance == 0.0
    assert row_cells(row)[COLUMNS.index("phantom orders")] == "2"


def test_noise_follows_the_audio_not_its_path(clips, tmp_path: Path) -> None:
    speech = clips[0]
    moved = tmp_path / "elsewhere.wav"
    moved.write_bytes(speech.audio.read_bytes())
    condition = Condition("cafe_babble", 12.0, BABBLE)
    here, _ = clip_audio(speech, condition, NoiseBank())
    there, _ = clip_audio(speech.model_copy(update={"audio": moved, "id": str(moved)}), condition, NoiseBank())
    assert here == there
