"""Manifest loading, per-clip scores and group summaries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from voicegw.qa.manifest import ExpectedOption, ManifestClip, ManifestError, load_manifest
from voicegw.qa.scoring import (
    ClipOutcome,
    char_error_rate,
    error_rate,
    percentile_nearest_rank,
    score_clip,
    summarize,
    word_error_rate,
)

MANIFEST = Path(__file__).resolve().parents[2] / "audio_fixtures" / "manifest.jsonl"


def clip(**fields) -> ManifestClip:
    base = {"audio": "a.wav", "lang": "en", "store": "coffee-en", "text": "", "intent": "order.add"}
    return ManifestClip.model_validate(base | fields)


def line(item: str, qty: int = 1, **options) -> dict:
    opts = [
        {"group": g, "value": v[0], "amount": v[1]} if isinstance(v, tuple) else {"group": g, "value": v, "amount": "regular"}
        for g, v in options.items()
    ]
    return {"item_id": item, "name": item, "quantity": qty, "options": opts, "unit_price": 100}


LATTE = clip(
    text="a large iced latte with oat milk please",
    lines=[{"item_id": "latte", "quantity": 1, "options": {"size": "large", "milk": {"value": "oat", "amount": "regular"}}}],
)

# --- manifest -----------------------------------------------------------------------------------


def test_fixture_manifest_loads_and_resolves_paths() -> None:
    clips = load_manifest(MANIFEST)
    assert len(clips) >= 70
    assert all(c.audio.is_absolute() and c.audio.is_file() for c in clips)
    whip = next(c for c in clips if c.id == "ko/cafe_choco_whip_extra.wav")
    assert whip.lines[0].options == {"whip": ExpectedOption("whip", "extra")}
    assert whip.model_extra and "license" in whip.model_extra
    assert {c.intent for c in clips if c.kind in ("silence", "noise")} == {"none"}


def test_every_fixture_scored_against_itself_is_accepted() -> None:
    scores = []
    for c in load_manifest(MANIFEST):
        lines = tuple(
            {"item_id": ln.item_id, "quantity": ln.quantity,
             "options": [{"group": g, "value": v, "amount": a or "regular"}
                         for g, (v, a) in ln.options.items()]}
            for ln in c.lines
        )
        status = "no_speech" if c.expects_no_speech else "ok"
        intent = None if c.expects_no_speech else c.intent
        scores.append(score_clip(c, ClipOutcome(status, c.text, intent, lines, faq=c.faq)))
    summary = summarize(scores)
    assert summary.command_acceptance == 1.0 and summary.intent_accuracy == 1.0
    assert summary.wer == 0.0 and summary.cer == 0.0 and summary.no_speech_accuracy == 1.0
    assert summary.slots_overall.precision == 1.0 and summary.slots_overall.recall == 1.0
    assert summary.orders_from_non_speech == 0


def test_plain_option_has_no_amount() -> None:
    assert LATTE.lines[0].options["size"] == ExpectedOption("large", None)
    assert LATTE.lines[0].options["milk"] == ExpectedOption("oat", "regular")


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ('{"audio": "a.wav", "lang": "en", "store": "s", "text": "", "intent": "order.ad"}', "unknown intent"),
        ('{"audio": "a.wav", "lang": "en", "store": "s", "text": "x", "intent": "order.add", '
         '"lines": [{"item_id": "latte", "quantity": 0}]}', "quantity"),
        ('{"audio": "a.wav", "lang": "en", "store": "s", "text": "", "intent": "none", '
         '"lines": [{"item_id": "latte", "quantity": 1}]}', "no lines"),
        ('{"audio": "a.wav", "lang": "en", "store": "s", "text": "x", "intent": "order.add", '
         '"lines": [{"item_id": "latte", "quantity": 1, "options": {"milk": {"amount": "extra"}}}]}', "milk"),
        ('[1, 2]', "JSON object"),
    ],
)
def test_bad_line_names_its_line_number(tmp_path, bad: str, fragment: str) -> None:
    (tmp_path / "a.wav").write_bytes(b"")
    good = json.dumps({"audio": "a.wav", "lang": "en", "store": "s", "text": "x", "intent": "faq"})
    path = tmp_path / "m.jsonl"
    path.write_text(f"{good}\n\n{bad}\n", encoding="utf-8")
    with pytest.raises(ManifestError) as err:
        load_manifest(path)
    assert err.value.code == "manifest_invalid"
    assert f"{path}:3:" in err.value.message and fragment in err.value.message


def test_missing_audio_and_missing_manifest(tmp_path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps({"audio": "sub/x.wav", "lang": "ko", "store": "s", "text": "", "intent": "none"}) + "\n")
    with pytest.raises(ManifestError) as err:
        load_manifest(path)
    assert err.value.code == "manifest_audio_missing" and ":1:" in err.value.message
    assert load_manifest(path, require_audio=False)[0].audio == tmp_path / "sub" / "x.wav"
    with pytest.raises(ManifestError) as err:
        load_manifest(tmp_path / "nope.jsonl")
    assert err.value.code == "manifest_unreadable"


# --- text error rates ------------------------------------------------------------------------


def test_wer_counts_word_edits_after_normalisation() -> None:
    assert word_error_rate("a twelve ounce latte", "A 12-oz latte.", "en") == (0, 4)
    assert word_error_rate("two small cappuccinos", "two small cappuccino", "en") == (1, 3)
    assert word_error_rate("two small cappuccinos", "", "en") == (3, 3)
    assert word_error_rate("", "thank you for watching", "en") == (4, 0)


def test_cer_ignores_korean_spacing() -> None:
    assert char_error_rate("아이스 아메리카노 두 잔 주세요", "아이스아메리카노 2잔 주세요", "ko") == (0, 13)
    assert char_error_rate("카페라떼 한 잔", "카페 라테 한잔", "ko") == (1, 6)
    assert error_rate("카페라떼 한 잔", "카페 라테 한잔", "ko") == (1, 6)
    assert error_rate("two lattes", "two latte", "en") == (1, 2)


# --- one clip ---------------------------------------------------------------------------------


def test_perfect_order_is_accepted_with_default_options_ignored() -> None:
    got = ClipOutcome("ok", "a large iced latte with oat milk please", "order.add",
                      (line("latte", 1, size="large", milk="oat", temperature="ice"),))
    s = score_clip(LATTE, got)
    assert s.intent_correct and s.command_accepted
    assert s.slots["item"].tp == 1 and s.slots["quantity"].tp == 1
    assert s.slots["option:size"].tp == 1 and s.slots["option:milk"].tp == 1
    assert "option:temperature" not in s.slots  # not listed in the manifest: not scored
    assert (s.text_errors, s.text_ref_len, s.metric) == (0, 8, "wer")
    assert s.no_speech_correct is None and not s.produced_order and not s.speech_dropped


@pytest.mark.parametrize(
    ("lines", "slot", "counts"),
    [
        ((line("latte", 2, size="large", milk="oat"),), "quantity", (0, 1, 1)),
        ((line("latte", 1, size="small", milk="oat"),), "option:size", (0, 1, 1)),
        ((line("latte", 1, milk="oat"),), "option:size", (0, 0, 1)),
        ((line("latte", 1, size="large", milk=("oat", "extra")),), "option:milk", (0, 1, 1)),
        ((line("mocha", 1, size="large", milk="oat"),), "item", (0, 1, 1)),
        ((), "item", (0, 0, 1)),
    ],
)
def test_any_wrong_slot_rejects_the_command(lines, slot, counts) -> None:
    s = score_clip(LATTE, ClipOutcome("ok", "", "order.add", lines))
    assert s.intent_correct and not s.command_accepted
    c = s.slots[slot]
    assert (c.tp, c.fp, c.fn) == counts


def test_wrong_item_still_credits_quantity_and_options() -> None:
    s = score_clip(LATTE, ClipOutcome("ok", "", "order.add", (line("mocha", 1, size="large", milk="oat"),)))
    assert s.slots["quantity"].tp == 1 and s.slots["option:size"].tp == 1


def test_extra_line_rejects_and_counts_false_positives() -> None:
    got = (line("latte", 1, size="large", milk="oat"), line("muffin", 1, warmed="yes"))
    s = score_clip(LATTE, ClipOutcome("ok", "", "order.add", got))
    assert not s.command_accepted
    assert s.slots["item"].tp == 1 and s.slots["item"].fp == 1
    assert s.slots["option:warmed"].fp == 1


def test_lines_match_by_item_regardless_of_order() -> None:
    two = clip(text="two croissants and one iced americano", lines=[
        {"item_id": "croissant", "quantity": 2},
        {"item_id": "americano", "quantity": 1, "options": {"temperature": "ice"}},
    ])
    got = (line("americano", 1, temperature="ice"), line("croissant", 2))
    assert score_clip(two, ClipOutcome("ok", "", "order.add", got)).command_accepted


def test_same_item_twice_pairs_best_matching_lines() -> None:
    two = clip(lines=[
        {"item_id": "latte", "quantity": 1, "options": {"temperature": "hot"}},
        {"item_id": "latte", "quantity": 1, "options": {"temperature": "ice"}},
    ])
    got = (line("latte", 1, temperature="ice"), line("latte", 1, temperature="hot"))
    s = score_clip(two, ClipOutcome("ok", "", "order.add", got))
    assert s.command_accepted and s.slots["option:temperature"].tp == 2


def test_wrong_intent_rejects() -> None:
    s = score_clip(LATTE, ClipOutcome("ok", "", "order.change", (line("latte", 1, size="large", milk="oat"),)))
    assert not s.intent_correct and not s.command_accepted


def test_silence_clip() -> None:
    silence = clip(intent="none", kind="silence", lang="ko")
    good = score_clip(silence, ClipOutcome("no_speech"))
    assert good.intent_correct and good.command_accepted and good.no_speech_correct
    assert not good.produced_order and good.text_ref_len == 0 and good.metric == "cer"
    hallucinated = score_clip(silence, ClipOutcome("ok", "시청해주셔서 감사합니다", "order.add", (line("latte"),)))
    assert not hallucinated.intent_correct and not hallucinated.no_speech_correct
    assert hallucinated.produced_order and hallucinated.slots["item"].fp == 1
    not_understood = score_clip(silence, ClipOutcome("not_understood", "음", "unknown"))
    assert not not_understood.no_speech_correct and not not_understood.produced_order


def test_speech_dropped_as_no_speech() -> None:
    s = score_clip(LATTE, ClipOutcome("no_speech"))
    assert s.speech_dropped and not s.intent_correct and s.text_errors == s.text_ref_len == 8


def test_faq_clip() -> None:
    faq = clip(intent="faq", faq="refund", text="can i get a refund")
    assert score_clip(faq, ClipOutcome("ok", "can I get a refund", "faq")).command_accepted
    assert score_clip(faq, ClipOutcome("ok", "", "faq", faq="refund")).faq_correct is True
    wrong = score_clip(faq, ClipOutcome("ok", "", "faq", faq="wifi"))
    assert wrong.faq_correct is False and not wrong.command_accepted
    assert not score_clip(faq, ClipOutcome("ok", "", "faq", (line("latte"),))).command_accepted


def test_outcome_from_turn_result_json() -> None:
    result = {
        "status": "ok", "transcript": "아이스 아메리카노 두 잔 주세요",
        "intent": {"name": "order.add", "confidence": 0.94},
        "lines": [{"item_id": "americano", "name": "아이스 아메리카노", "quantity": 2,
                   "options": [{"group": "temperature", "value": "ice", "amount": "regular"}], "unit_price": 4500}],
        "timings_ms": {"asr": 610, "total": 630},
    }
    out = ClipOutcome.from_turn_result(result, audio_duration_ms=2000)
    assert (out.intent, out.latency_ms, out.asr_ms, out.audio_duration_ms) == ("order.add", 630, 610, 2000)
    ko = clip(lang="ko", store="cafe-ko", text="아이스 아메리카노 두 잔 주세요",
              lines=[{"item_id": "americano", "quantity": 2, "options": {"temperature": "ice"}}])
    s = score_clip(ko, out)
    assert s.command_accepted and s.metric == "cer" and s.text_errors == 0
    assert ClipOutcome.from_turn_result({"status": "no_speech", "intent": None}).intent is None
    failed = ClipOutcome.from_turn_result({"error": {"code": "audio_too_long", "message": "..."}})
    assert (failed.status, failed.error) == ("error", "audio_too_long")


# --- summaries ----------------------------------------------------------------------------------


def test_percentile_nearest_rank() -> None:
    assert percentile_nearest_rank([], 50) is None
    assert percentile_nearest_rank([5, 1, 3, 2, 4], 50) == 3
    assert percentile_nearest_rank(range(1, 21), 95) == 19
    assert percentile_nearest_rank(range(1, 101), 95) == 95
    assert percentile_nearest_rank([7], 95) == 7
    with pytest.raises(ValueError):
        percentile_nearest_rank([1], 0)


def test_summary_pools_errors_and_counts_gate_figures() -> None:
    short = clip(text="two lattes", lines=[{"item_id": "latte", "quantity": 2}])
    long = clip(text="one two three four five six seven eight", lines=[{"item_id": "latte", "quantity": 1}])
    silence = clip(intent="none", kind="noise")
    scores = [
        score_clip(short, ClipOutcome("ok", "two latte", "order.add", (line("latte", 2),),
                                      latency_ms=100, audio_duration_ms=1000, asr_ms=80)),
        score_clip(long, ClipOutcome("ok", "one two three four five six seven eight", "order.add",
                                     (line("latte", 3),), latency_ms=300, audio_duration_ms=3000, asr_ms=200)),
        score_clip(silence, ClipOutcome("ok", "thank you", "order.add", (line("latte"),),
                                        latency_ms=200, audio_duration_ms=1000)),
        score_clip(silence, ClipOutcome("no_speech", latency_ms=50, audio_duration_ms=1000)),
    ]
    s = summarize(scores)
    assert s.n == 4
    assert s.wer == pytest.approx(1 / 10)  # pooled: (1 + 0) / (2 + 8), not mean(0.5, 0) = 0.25
    assert (s.word_errors, s.ref_words, s.cer) == (1, 10, None)
    assert s.intent_accuracy == pytest.approx(3 / 4)
    assert s.command_acceptance == pytest.approx(2 / 4)
    assert s.no_speech_n == 2 and s.no_speech_accuracy == pytest.approx(0.5)
    assert s.orders_from_non_speech == 1
    assert s.slots["quantity"].precision == pytest.approx(1 / 3)  # 1 right, 1 wrong, 1 on noise
    assert s.slots["quantity"].recall == pytest.approx(1 / 2)
    assert s.slots_overall.tp == 3 and s.slots_overall.fp == 3 and s.slots_overall.fn == 1
    assert (s.latency_p50_ms, s.latency_p95_ms) == (100, 300)
    assert s.rtf == pytest.approx(650 / 6000)
    assert s.asr_rtf == pytest.approx(280 / 4000)
    d = s.to_dict()
    assert json.loads(json.dumps(d))["slots"]["item"]["precision"] == pytest.approx(2 / 3)


def test_empty_summary_has_no_rates() -> None:
    s = summarize([])
    assert s.n == 0 and s.command_acceptance is None and s.wer is None and s.latency_p50_ms is None
    assert s.rtf is None and s.slots_overall.precision is None
