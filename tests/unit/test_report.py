"""The chat-log report over a real turn log: outcomes, funnel, rates, FAQ, retention, deletion, privacy."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
import pytest

from tests.unit.db_support import Target, target  # noqa: F401  (the fixture)
from voicegw.analytics.records import read_exposures, read_turns, window
from voicegw.analytics.report import build_report
from voicegw.nlu.types import IntentName
from voicegw.privacy.audit import DEV_ACTOR
from voicegw.privacy.crypto import KeyRing, new_key
from voicegw.privacy.store import PrivacyStore
from voicegw.privacy.subject import delete_user
from voicegw.turn import ExposureOut, IntentOut, LineOut, ReadingOut, ReplyOut, TurnResult

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)
LINE = LineOut(item_id="shrimp_burger", name="새우버거", quantity=1, unit_price=5700)


@pytest.fixture
def store(target: Target):
    s = PrivacyStore(target.open(), KeyRing([new_key()], "test"))
    yield s
    s.close()


def _turn(store: PrivacyStore, session: str, minutes_ago: float, intent: str, status: str = "ok", *,
          text: str = "", reason: str | None = None, channel: str = "text", order: str | None = None,
          handoff: bool = False, faq: str | None = None, lines: int = 0, language: str = "ko",
          confidence: float = 0.95, shop: str = "burger-ko", logprob: float | None = None) -> None:
    result = TurnResult(
        status=status, session=session, store=shop, language=language, transcript=text,
        intent=IntentOut(name=IntentName(intent), confidence=confidence), lines=[LINE] * lines,
        order_id=order, faq=faq, reason=reason, handoff=handoff, timings_ms={"total": 1200},
        readings=[ReadingOut(text=text, avg_logprob=logprob, chosen=True)] if logprob is not None else [],
    )
    store.log_turn(result, channel, now=NOW - timedelta(minutes=minutes_ago))


def _stories(store: PrivacyStore) -> None:
    """Six sessions of known ends, two hours ago, and one still going."""
    _turn(store, "cust-ordered", 120, "order.add", text="새우버거 하나 주세요", lines=1)
    _turn(store, "cust-ordered", 119, "order.confirm", text="주문 완료", order="A-1")
    _turn(store, "cust-answered", 120, "faq", text="배달 되나요", faq="delivery")
    _turn(store, "cust-handed", 120, "order.add", text="새우버거 하나", lines=1)
    _turn(store, "cust-handed", 119, "handoff", text="직원 불러 주세요", handoff=True)
    _turn(store, "cust-left-cart", 120, "order.add", text="새우버거 하나", lines=1)
    _turn(store, "cust-lost", 120, "unknown", "not_understood", text="주차 되나요 제 번호는 010-2345-6789", reason="not_understood")
    _turn(store, "cust-greeted", 120, "greeting", text="안녕하세요")
    _turn(store, "cust-ongoing", 5, "order.add", text="새우버거 하나", lines=1, channel="voice", logprob=-0.2)


def _report(privacy: PrivacyStore, **kw) -> dict:
    return build_report(privacy, window(30, now=NOW, **kw), now=NOW)


def test_each_session_ends_as_its_story_says(store: PrivacyStore) -> None:
    _stories(store)
    rollup = _report(store)["segments"][0]
    assert (rollup["store"], rollup["channel"], rollup["language"]) == ("burger-ko", "all", "all")
    assert rollup["outcomes"] == {"ordered": 1, "answered": 1, "handed_off": 1, "abandoned": 2, "other": 1, "open": 1}
    assert rollup["containment"] == pytest.approx(2 / 6)  # ordered + answered of the six that ended
    assert rollup["handoff_rate"] == pytest.approx(1 / 6)
    assert rollup["funnel"] == [{"step": "started", "sessions": 7}, {"step": "item_added", "sessions": 4},
                                {"step": "confirmed", "sessions": 1}]
    assert rollup["drop_off"] == {"order.add": 1, "not_understood": 1}
    assert rollup["faq"] == [{"entry": "delivery", "answered": 1, "examples": ["배달 되나요"]}]
    assert (rollup["turns"], rollup["sessions"]) == (9, 7)
    assert rollup["rates"]["not_understood"] == pytest.approx(1 / 9)
    assert rollup["voice"]["turns"] == 1 and rollup["voice"]["latency_ms"]["p50"] == 1200


def test_segments_split_by_channel_and_language_and_filters_apply(store: PrivacyStore) -> None:
    _stories(store)
    _turn(store, "english", 60, "order.add", language="en", text="one shrimp burger", lines=1)
    segments = _report(store)["segments"]
    assert [(s["channel"], s["language"]) for s in segments] == [("all", "all"), ("text", "en"), ("text", "ko"), ("voice", "ko")]
    assert sum(s["turns"] for s in segments[1:]) == segments[0]["turns"]
    voice = _report(store, channel="voice")["segments"]
    assert voice[0]["turns"] == 1 and voice[0]["rates"]["no_speech"] == 0.0
    assert _report(store, store="cafe-ko")["segments"] == []


def test_the_report_names_no_session_and_holds_only_redacted_text(store: PrivacyStore) -> None:
    _stories(store)
    text = json.dumps(_report(store), ensure_ascii=False)
    assert "cust-" not in text
    assert "010-2345-6789" not in text and "2345" not in text


def test_nothing_older_than_the_transcript_retention_is_read(store: PrivacyStore) -> None:
    _stories(store)
    _turn(store, "ancient", 31 * 24 * 60, "order.add", text="새우버거", lines=1)  # not purged yet
    rollup = _report(store)["segments"][0]
    assert rollup["sessions"] == 7
    asked_earlier = _report(store, since=NOW - timedelta(days=90))
    assert asked_earlier["segments"][0]["sessions"] == 7
    assert asked_earlier["period"]["since"] == asked_earlier["period"]["retention_from"]


def test_a_deleted_user_is_gone_from_every_later_report(store: PrivacyStore) -> None:
    _stories(store)
    delete_user(store, "cust-ordered", DEV_ACTOR)
    rollup = _report(store)["segments"][0]
    assert rollup["outcomes"]["ordered"] == 0 and rollup["sessions"] == 6


def test_unmatched_utterances_are_grouped_with_a_suggestion(store: PrivacyStore) -> None:
    for i, said in enumerate(["화장실 어디예요?", "화장실 어디 있어요", "화장실은 어디에 있나요?", "화장실 비밀번호 알려주세요"]):
        _turn(store, f"q{i}", 200, "faq", "not_understood", text=said, reason="faq_not_found")
    _turn(store, "x", 200, "unknown", "not_understood", text="오늘 날씨 좋네", reason="not_understood")
    rollup = _report(store)["segments"][0]
    assert rollup["unmatched_total"] == 5
    top = rollup["unmatched"][0]
    assert top["size"] == 4 and top["suggestion"]["action"] == "add_faq" and "화장실" in top["label"]


def test_the_records_reader_pseudonymises_clamps_to_retention_and_filters(store: PrivacyStore) -> None:
    heard = ExposureOut(experiment="upsell", phase="p1", variant="b")
    for session, minutes, channel in (("cust-a", 60, "voice"), ("cust-a", 50, "text"), ("cust-b", 40, "text"),
                                      ("ancient", 31 * 24 * 60, "text")):
        result = TurnResult(status="ok", session=session, store="burger-ko", language="ko", transcript="새우버거",
                            intent=IntentOut(name=IntentName.ORDER_ADD, confidence=0.5), lines=[LINE],
                            handoff=session == "cust-b", timings_ms={"total": 800},
                            reply=ReplyOut(text="네", kind="added", experiment=heard))
        store.log_turn(result, channel, now=NOW - timedelta(minutes=minutes))
    w = window(30, now=NOW)
    turns = read_turns(store, w)
    assert [(t.channel, t.added, t.handoff, t.latency_ms, t.confidence) for t in turns] == [
        ("voice", 1, False, 800, 0.5), ("text", 1, False, 800, 0.5), ("text", 1, True, 800, 0.5)]
    a, a_again, b = (t.session for t in turns)
    assert a == a_again != b and a.startswith("u-") and "cust" not in a + b  # pseudonyms, stable per session
    assert [t.channel for t in read_turns(store, window(30, now=NOW, channel="voice"))] == ["voice"]
    assert read_turns(store, window(30, now=NOW, store="cafe-ko")) == []
    exposures = read_exposures(store, w, "upsell")
    assert [(e.session, e.variant) for e in exposures] == [(a, "b"), (b, "b")]  # once per session and phase
    assert read_exposures(store, w, "another") == []
