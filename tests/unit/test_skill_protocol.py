"""The Open Builder skill protocol models: round trips, unknown fields, and the request voicegw builds."""

from __future__ import annotations

import copy
import json

from voicegw.backend.request_builder import build_skill_request
from voicegw.backend.skill import SkillRequest, SkillResponse, VoicegwExtra
from voicegw.nlu.types import Intent, IntentName, LineOption, OrderLine, Understanding

# What Open Builder posts to a skill (shape of its documented payload, including fields we do not model).
OPEN_BUILDER_REQUEST = {
    "intent": {"id": "5fa3b2c1d0e", "name": "주문 블록", "extra": {"reason": {"code": 1, "message": "OK"}}},
    "userRequest": {
        "timezone": "Asia/Seoul",
        "params": {"ignoreMe": "true", "surface": "Kakaotalk.plusfriend"},
        "block": {"id": "5fa3b2c1d0e", "name": "주문 블록"},
        "utterance": "아이스 아메리카노 두 잔 주세요",
        "lang": "kr",
        "user": {
            "id": "b8a3c0f1e2d",
            "type": "botUserKey",
            "properties": {"plusfriendUserKey": "Xy12AbC", "isFriend": True},
        },
        "callbackUrl": "https://bot-api.kakao.com/callback/abc",
    },
    "contexts": [{"name": "order", "lifeSpan": 3, "params": {}}],
    "bot": {"id": "5f9e8d7c6b", "name": "카페 주문봇"},
    "action": {
        "name": "order_skill",
        "clientExtra": None,
        "params": {"menu": "아메리카노", "sys_number": "2"},
        "id": "6a1b2c3d",
        "detailParams": {
            "menu": {"origin": "아메리카노", "value": "아메리카노", "groupName": ""},
            "sys_number": {"origin": "두 잔", "value": "2", "groupName": "", "extra": "kept"},
        },
    },
    "flow": {"lastBlock": {"id": "x", "name": "y"}},
}


def test_open_builder_request_parses_with_unknown_fields() -> None:
    req = SkillRequest.model_validate(OPEN_BUILDER_REQUEST)
    assert req.user_request.utterance == "아이스 아메리카노 두 잔 주세요"
    assert req.user_request.user.id == "b8a3c0f1e2d"
    assert req.user_request.user.properties["plusfriendUserKey"] == "Xy12AbC"
    assert req.action.detail_params["sys_number"].origin == "두 잔"
    assert req.action.client_extra is None
    assert VoicegwExtra.of(req).store is None  # a plain Open Builder request carries no voicegw extra


def test_request_round_trip_keeps_unknown_fields() -> None:
    original = copy.deepcopy(OPEN_BUILDER_REQUEST)
    req = SkillRequest.model_validate(original)
    wire = json.loads(json.dumps(req.to_wire()))
    again = SkillRequest.model_validate(wire)
    assert again == req
    assert wire["flow"] == original["flow"]
    assert wire["intent"]["extra"] == original["intent"]["extra"]
    assert wire["userRequest"]["callbackUrl"] == original["userRequest"]["callbackUrl"]
    assert wire["action"]["detailParams"]["sys_number"]["extra"] == "kept"
    # Only nulls are dropped; everything else is as Open Builder sent it.
    del original["action"]["clientExtra"]
    assert wire == original


def test_response_round_trip_and_wire_names() -> None:
    wire = {
        "version": "2.0",
        "template": {
            "outputs": [
                {"simpleText": {"text": "아이스 아메리카노 2잔 담았어요."}},
                {"basicCard": {"title": "메뉴", "buttons": []}},
            ],
            "quickReplies": [
                {"label": "주문 완료", "action": "message", "messageText": "주문 완료"},
                {"label": "메뉴", "action": "block", "blockId": "abc"},
            ],
        },
        "context": {"values": [{"name": "order", "lifeSpan": 5, "params": {"k": "v"}}]},
        "data": {"status": "ok", "cart": {"lines": [], "total": 0, "currency": "KRW"}},
    }
    resp = SkillResponse.model_validate(wire)
    assert resp.text == "아이스 아메리카노 2잔 담았어요."
    assert resp.quick_reply_labels == ["주문 완료", "메뉴"]
    assert resp.to_wire() == wire
    assert SkillResponse.model_validate(resp.to_wire()) == resp


def test_simple_response_shape() -> None:
    resp = SkillResponse.simple("Added 2 large iced lattes. Anything else?", ["Place order", "Cancel"], {"status": "ok"})
    assert resp.to_wire() == {
        "version": "2.0",
        "template": {
            "outputs": [{"simpleText": {"text": "Added 2 large iced lattes. Anything else?"}}],
            "quickReplies": [
                {"label": "Place order", "action": "message", "messageText": "Place order"},
                {"label": "Cancel", "action": "message", "messageText": "Cancel"},
            ],
        },
        "data": {"status": "ok"},
    }


def _understanding() -> Understanding:
    return Understanding(
        intent=Intent(name=IntentName.ORDER_ADD, confidence=0.93),
        lines=(
            OrderLine(
                item_id="americano",
                name="아이스 아메리카노",
                quantity=2,
                options=(LineOption(group="temperature", value="ice"), LineOption(group="milk", value="oat", amount="extra")),
                unit_price=5000,
                origin="아이스 아메리카노 오트 많이 두 잔",
            ),
            OrderLine(item_id="cheesecake", name="치즈케이크", quantity=1, unit_price=6000, origin="치즈케이크 하나"),
        ),
    )


def test_build_skill_request_is_a_normal_open_builder_request() -> None:
    u = _understanding()
    req = build_skill_request(
        u, store="cafe-ko", session="s-1", language="ko", utterance="아이스 아메리카노 오트 많이 두 잔이랑 치즈케이크 하나",
        channel="voice", idempotency_key="k-1",
    )
    wire = json.loads(json.dumps(req.to_wire()))
    assert wire["action"]["name"] == "order.add"
    assert wire["userRequest"]["utterance"].startswith("아이스 아메리카노")
    assert wire["userRequest"]["user"]["id"] == "s-1"
    assert wire["bot"]["id"] == "cafe-ko"
    assert wire["action"]["params"] == {
        "item_1": "americano",
        "quantity_1": "2",
        "option_1_temperature": "ice",
        "option_1_milk": "oat",
        "option_1_milk_amount": "extra",
        "item_2": "cheesecake",
        "quantity_2": "1",
    }
    assert all(isinstance(v, str) for v in wire["action"]["params"].values())
    assert wire["action"]["detailParams"]["item_2"] == {"origin": "치즈케이크 하나", "value": "cheesecake", "groupName": ""}
    extra = wire["action"]["clientExtra"]
    assert (extra["store"], extra["session"], extra["channel"], extra["idempotency_key"]) == ("cafe-ko", "s-1", "voice", "k-1")
    # The lines travel whole and come back equal.
    again = VoicegwExtra.of(SkillRequest.model_validate(wire))
    assert tuple(OrderLine.model_validate(d) for d in again.order.lines) == u.lines
    assert SkillRequest.model_validate(wire) == req


def test_build_skill_request_carries_reason_candidates_and_faq_id() -> None:
    u = Understanding(intent=Intent(name=IntentName.FAQ, confidence=0.8), candidates=("wifi",), normalized_text="와이파이 비번")
    req = build_skill_request(u, store="cafe-ko", session="s", language="ko", utterance="와이파이 비번 뭐예요", channel="text")
    assert req.action.params == {"faq": "wifi"}
    assert req.action.detail_params["faq"].origin == "와이파이 비번"
    extra = VoicegwExtra.of(req)
    assert extra.candidates == ["wifi"] and extra.channel == "text" and extra.idempotency_key is None

    sold = Understanding(
        intent=Intent(name=IntentName.ORDER_ADD, confidence=0.9), reason="sold_out", candidates=("라떼", "카푸치노")
    )
    extra = VoicegwExtra.of(build_skill_request(sold, store="c", session="s", language="ko", utterance="u", channel="voice"))
    assert extra.reason == "sold_out" and extra.candidates == ["라떼", "카푸치노"]
