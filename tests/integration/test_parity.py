"""Typed, chatted and spoken: one sentence through `/v1/text/orders`, `/kakao/skill` and
`/v1/voice/orders` ends in the same order, in the turn result and in the backend's database.

Real clips (espeak-ng English, audio_fixtures/manifest.jsonl) through the real `voicegw serve`
with the base model and the embedded SQLite backend.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.conftest import Gateway, load_manifest
from tests.integration.test_voice_orders import accepted, post_clip

MANIFEST = load_manifest()
ENGLISH_ORDERS = [c for c in MANIFEST if c["lang"] == "en" and c.get("kind") == "synthetic_speech" and c["intent"] == "order.add"]
CONFIRM = next(c for c in MANIFEST if c["audio"] == "en/coffee_confirm.wav")
#: Orders stored through all three channels: several options, amounts, several lines, quantities.
STORED = [
    "en/coffee_latte_large_iced_oat.wav",
    "en/coffee_mocha_almond_muffin.wav",
    "en/coffee_coldbrew_honey_light.wav",
    "en/coffee_bagel_2_cream_cheese_lots.wav",
    "en/coffee_croissant_2_americano.wav",
    "en/coffee_latte_small_extra_vanilla.wav",
]
CHANNELS = ("voice", "text", "kakao")


def kakao(gw: Gateway, store: str, session: str, text: str) -> dict[str, Any]:
    """One Open Builder skill request; the answer's ``data`` holds the turn result."""
    skill = {
        "userRequest": {"utterance": text, "lang": "en", "user": {"id": session, "type": "botUserKey"}},
        "bot": {"id": store},
        "action": {"name": "fallback", "params": {}, "detailParams": {}, "clientExtra": None},
    }
    answer = gw.post_json(f"/kakao/skill?store={store}", skill)
    assert answer.status == 200 and answer.body["version"] == "2.0", answer.body
    return answer.body["data"]


def typed(gw: Gateway, store: str, session: str, text: str) -> dict[str, Any]:
    answer = gw.post_json("/v1/text/orders", {"store": store, "session": session, "text": text, "lang": "en"})
    assert answer.status == 200, answer.body
    return answer.body


def spoken(gw: Gateway, clip: dict[str, Any], session: str) -> dict[str, Any]:
    answer = post_clip(gw, clip, session)
    assert answer.status == 200, answer.body
    return answer.body


@pytest.fixture(scope="module")
def first_turns(gateway: Gateway) -> dict[str, dict[str, dict[str, Any]]]:
    """Every English order clip, and its sentence typed and chatted, each in a session of its own."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for n, clip in enumerate(ENGLISH_ORDERS):
        out[clip["audio"]] = {
            "voice": spoken(gateway, clip, f"parity-voice-{n}"),
            "text": typed(gateway, clip["store"], f"parity-text-{n}", clip["text"]),
            "kakao": kakao(gateway, clip["store"], f"parity-kakao-{n}", clip["text"]),
        }
    return out


def _ordered(lines: list[dict[str, Any]]) -> list[tuple]:
    return sorted(
        (l["item_id"], l["quantity"], tuple(sorted((o["group"], o["value"], o["amount"]) for o in l["options"])))
        for l in lines
    )


def test_spoken_and_typed_sentences_give_the_same_lines(first_turns) -> None:
    """Every clip the model hears right is understood exactly as its sentence typed."""
    heard = [c for c in ENGLISH_ORDERS if accepted(first_turns[c["audio"]]["voice"], c)]
    assert len(heard) >= 10, f"only {len(heard)} of {len(ENGLISH_ORDERS)} clips heard right"
    for clip in heard:
        turns = first_turns[clip["audio"]]
        # what is ordered must agree; the display name may differ when speech lost a word that
        # happened to equal the default ("60 ounce mocha": size defaulted to medium, not said)
        assert _ordered(turns["text"]["lines"]) == _ordered(turns["voice"]["lines"]), (clip["text"], turns["voice"]["transcript"])
        # the skill answer's data carries the same turn result as the typed route
        assert _ordered(turns["kakao"]["lines"]) == _ordered(turns["text"]["lines"]), clip["text"]
        assert _ordered(turns["kakao"]["cart"]["lines"]) == _ordered(turns["text"]["cart"]["lines"]), clip["text"]
        assert turns["kakao"]["cart"]["total"] == turns["text"]["cart"]["total"] == turns["voice"]["cart"]["total"]


def stored_order(gw: Gateway, order_id: str) -> tuple[str, dict[str, Any]]:
    """The channel, and what was ordered as the backend's database holds it."""
    [order] = gw.query("SELECT store, channel, total, currency FROM orders WHERE id = ?", order_id)
    lines = gw.query(
        "SELECT item_id, name, quantity, options, unit_price FROM order_lines WHERE order_id = ? ORDER BY position", order_id
    )
    content = {
        "store": order["store"],
        "total": order["total"],
        "currency": order["currency"],
        "lines": [
            (l["item_id"], l["quantity"], l["unit_price"],
             sorted((o["group"], o["value"], o["amount"]) for o in json.loads(l["options"])))
            for l in lines
        ],
    }
    return order["channel"], content


@pytest.mark.parametrize("audio", STORED)
def test_the_same_order_is_stored_from_every_channel(gateway: Gateway, first_turns, audio: str) -> None:
    clip = next(c for c in ENGLISH_ORDERS if c["audio"] == audio)
    n = ENGLISH_ORDERS.index(clip)
    turns = first_turns[audio]
    assert accepted(turns["voice"], clip), f"the model misheard {audio}: {turns['voice']['transcript']!r}"
    assert accepted(turns["text"], clip), f"the typed sentence was not understood as the manifest says: {turns['text']['lines']}"

    done = {
        "voice": spoken(gateway, CONFIRM, f"parity-voice-{n}"),
        "text": typed(gateway, clip["store"], f"parity-text-{n}", CONFIRM["text"]),
        "kakao": kakao(gateway, clip["store"], f"parity-kakao-{n}", CONFIRM["text"]),
    }
    order_ids = {channel: answer["order_id"] for channel, answer in done.items()}
    said = {channel: (a["status"], a["reason"], a["reply"]["text"]) for channel, a in done.items()}
    assert all(order_ids.values()) and len(set(order_ids.values())) == 3, said
    stored = {channel: stored_order(gateway, order_id) for channel, order_id in order_ids.items()}

    assert {channel: s[0] for channel, s in stored.items()} == {"voice": "voice", "text": "text", "kakao": "text"}
    voice, text, chat = (stored[c][1] for c in CHANNELS)
    assert voice == text == chat, json.dumps({c: stored[c][1] for c in CHANNELS}, indent=1)
    assert [(item, quantity) for item, quantity, _, _ in text["lines"]] == [(l["item_id"], l["quantity"]) for l in clip["lines"]]
    assert text["total"] == sum(quantity * price for _, quantity, price, _ in text["lines"]) > 0
    # each session's cart is emptied by its order
    assert all(answer["cart"]["lines"] == [] for answer in done.values())
