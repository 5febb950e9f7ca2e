"""A session lives in the backend's database: two gateway processes on one database serve the
same conversation, and a gateway restart loses nothing."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.integration.conftest import Gateway, running_gateway


def _say(gw: Gateway, session: str, text: str) -> dict:
    answer = gw.post_json("/v1/text/orders", {"store": "cafe-ko", "session": session, "text": text, "lang": "ko"})
    assert answer.status == 200, answer.body
    return answer.body


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("shared-data")


def test_two_gateways_share_one_conversation_and_a_restart_keeps_it(data_dir: Path) -> None:
    session = f"s-{uuid.uuid4().hex[:8]}"
    with running_gateway(data_dir) as first, running_gateway(data_dir) as second:
        assert _say(first, session, "아이스 아메리카노 두 잔 주세요")["cart"]["total"] == 9000
        asked = _say(second, session, "에이드 한 잔 주세요")
        assert (asked["status"], asked["reason"]) == ("needs_clarification", "missing_option")
        answered = _say(first, session, "자몽으로 주세요")  # the question was asked by the other process
        assert answered["status"] == "ok"
        assert [(l["item_id"], l["quantity"]) for l in answered["cart"]["lines"]] == [("americano", 2), ("ade", 1)]
    with running_gateway(data_dir) as restarted:
        status = _say(restarted, session, "장바구니 보여 주세요")
        assert status["cart"]["total"] == 14000 and "14,000원" in status["reply"]["text"]
        placed = _say(restarted, session, "네 결제할게요")
        assert placed["order_id"]
        rows = restarted.query("SELECT item_id, quantity FROM order_lines WHERE order_id = ? ORDER BY position",
                               placed["order_id"])
        assert [(r["item_id"], r["quantity"]) for r in rows] == [("americano", 2), ("ade", 1)]


def test_handoff_through_kakao_carries_the_cart_and_the_operator_button(gateway: Gateway) -> None:
    session = f"k-{uuid.uuid4().hex[:8]}"

    def kakao(text: str) -> dict:
        body = {"userRequest": {"utterance": text, "user": {"id": session}, "lang": "ko"}, "bot": {"id": "cafe-ko"}}
        answer = gateway.post_json("/kakao/skill?store=cafe-ko", body)
        assert answer.status == 200, answer.body
        return answer.body

    kakao("라떼 두 잔 주세요")
    response = kakao("상담원 연결해 주세요")
    assert response["data"]["handoff"] is True and response["data"]["cart"]["total"] == 10000
    buttons = [b for o in response["template"]["outputs"] for b in o.get("textCard", {}).get("buttons", [])]
    assert {"label": "상담직원 연결", "action": "operator"} in buttons
    assert "장바구니" in response["template"]["outputs"][0]["simpleText"]["text"]


def test_an_operator_edits_the_faq_through_the_gateway_and_it_is_matched_at_once(gateway: Gateway) -> None:
    listed = gateway.get("/v1/faq?store=cafe-ko")
    assert listed.status == 200 and any(e["id"] == "opening_hours" for e in listed.body["faq"])
    question = "강아지 데리고 들어가도 되나요?"
    before = gateway.post_json("/v1/text/orders", {"store": "cafe-ko", "session": "faq-edit", "text": question})
    assert before.body["faq"] != "pets"
    entry = {"id": "pets", "category": "store",
             "questions": {"ko": ["강아지 데리고 가도 되나요", "반려동물 동반 되나요"], "en": ["can i bring my dog"]},
             "answer": {"ko": "반려동물은 테라스석에서만 함께하실 수 있어요.", "en": "Pets are welcome on the terrace."}}
    edited = gateway.put_json("/v1/faq?store=cafe-ko", {"faq": [entry]})
    assert edited.status == 200 and any(e["id"] == "pets" for e in edited.body["faq"])
    after = gateway.post_json("/v1/text/orders", {"store": "cafe-ko", "session": "faq-edit", "text": question})
    assert (after.body["intent"]["name"], after.body["faq"]) == ("faq", "pets")
    assert after.body["reply"]["text"] == "반려동물은 테라스석에서만 함께하실 수 있어요."
    bad = gateway.put_json("/v1/faq?store=cafe-ko", {"faq": [{"id": ""}]})
    assert bad.status == 400 and bad.body["error"]["code"]
