"""Remote recognition with the real model: a store's gateway without a model (``asr.url``) sends
its clips to another `voicegw serve` (the "GPU" one; here on the same CPUs) and takes the same
orders as that one does itself; when the recogniser goes away it says 503 ``asr_unavailable`` at
once (the circuit breaker), or, with ``asr.fallback: local``, reads the clips with its own model.

Three real processes on loopback, each with its own embedded backend and database.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.integration.conftest import FIXTURES, ROOT, Gateway, load_manifest, running_gateway
from voicegw.qa.manifest import load_manifest as load_qa_manifest
from voicegw.qa.runner import Condition, NoiseBank, clip_audio

MANIFEST = {clip["audio"]: clip for clip in load_manifest()}
#: A Korean and an English synthetic order, a real noise-only clip, and (below) a real spoken
#: order under kitchen noise whose order only the menu-grammar pass hears (test_menu_grammar.py).
CLIPS = ["ko/cafe_americano_ice_2.wav", "en/coffee_latte_large_iced_oat.wav", "silence/room_tone.wav"]
NOISY_STORE = "coffee-kiosk-en"
NOISY_CLIP = "audio/2acbdc28-a89a-4947-9587-864cb9eb8784.flac"
TAP = ROOT / "noise" / "speechcommands_running_tap.wav"


def noisy_order() -> bytes:
    clips = load_qa_manifest(FIXTURES / "coffee-orders" / "sweep.jsonl")
    (clip,) = [c for c in clips if c.audio.as_posix().endswith(NOISY_CLIP)]
    audio, _ = clip_audio(clip, Condition(TAP.stem, 6.0, TAP, "peak-frame"), NoiseBank())
    return audio


def turns() -> list[tuple[str, str, bytes]]:
    """(store, lang, audio) of each clip."""
    out = [(MANIFEST[name]["store"], MANIFEST[name]["lang"], (FIXTURES / name).read_bytes()) for name in CLIPS]
    return [*out, (NOISY_STORE, "en", noisy_order())]


def order(gw: Gateway, store: str, lang: str, audio: bytes, session: str):
    return gw.post(f"/v1/voice/orders?store={store}&session={session}&lang={lang}", audio, "audio/wav")


def what_was_heard(result: dict[str, Any]) -> dict[str, Any]:
    """Everything of a turn result that recognition and understanding decide (not the session,
    the timings or the reply's A/B variant)."""
    return {key: result.get(key) for key in ("status", "reason", "transcript", "language", "intent", "lines", "readings")}


def test_a_gateway_without_a_model_orders_through_another_and_copes_when_it_goes(tmp_path: Path) -> None:
    clips = turns()
    for name in ("gpu", "store", "fallback"):
        (tmp_path / name).mkdir()
    gpu_context = running_gateway(tmp_path / "gpu")
    gpu = gpu_context.__enter__()
    try:
        remote_env = {"VOICEGW_ASR__URL": gpu.base_url, "VOICEGW_ASR__FALLBACK": "none"}
        with running_gateway(tmp_path / "store", remote_env) as store:
            direct = []
            for n, (store_id, lang, audio) in enumerate(clips):
                answer = order(gpu, store_id, lang, audio, f"direct-{n}")
                assert answer.status == 200, answer.body
                direct.append(answer.body)
                relayed = order(store, store_id, lang, audio, f"relayed-{n}")
                assert relayed.status == 200, relayed.body
                assert what_was_heard(relayed.body) == what_was_heard(answer.body)
                assert relayed.body["cart"] == answer.body["cart"]
            # The clips were what the test means them to be: orders taken, silence left alone, and the
            # noisy order chosen from the menu-grammar pass's readings (so it went over the wire too).
            assert [d["status"] for d in direct] == ["ok", "ok", "no_speech", "ok"]
            chosen = next(r for r in direct[3]["readings"] if r["chosen"])
            assert chosen["within_grammar"] and len(direct[3]["readings"]) > 2

            gpu_context.__exit__(None, None, None)
            gpu = None
            store_id, lang, audio = clips[0]
            answers, seconds = [], []
            for n in range(4):
                started = time.monotonic()
                answers.append(order(store, store_id, lang, audio, f"down-{n}"))
                seconds.append(time.monotonic() - started)
            for answer in answers:
                assert answer.status == 503 and answer.body["error"]["code"] == "asr_unavailable", answer.body
                assert 1 <= int(answer.headers["Retry-After"]) <= 30
            # Five failed requests (three tries of the first turn, two of the second) open the
            # breaker: the turns after it are answered without asking.
            assert "circuit breaker" in answers[-1].body["error"]["message"]
            assert seconds[-1] < 1.0, seconds
            assert store.get("/readyz").status == 200  # text turns go on; a load balancer keeps it
            typed = store.post_json("/v1/text/orders", {"store": "cafe-ko", "session": "down-t", "text": "주문 완료"})
            assert typed.status == 200

        fallback_env = {"VOICEGW_ASR__URL": remote_env["VOICEGW_ASR__URL"], "VOICEGW_ASR__FALLBACK": "local"}
        with running_gateway(tmp_path / "fallback", fallback_env) as fallback:
            for n in (0, 3):
                store_id, lang, audio = clips[n]
                answer = order(fallback, store_id, lang, audio, f"local-{n}")
                assert answer.status == 200, answer.body
                assert what_was_heard(answer.body) == what_was_heard(direct[n])
    finally:
        if gpu is not None:
            gpu_context.__exit__(None, None, None)

