"""Property-based fuzz of the reference skill server: ``/skill``, ``/faq`` and the operator reads,
with hostile and near-valid bodies; and the bodies it once answered with a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.fuzz_support import (  # noqa: F401  (fixtures are found by name)
    _quote,
    faq_entries,
    _report_counts,
    FUZZ,
    INJECTIONS,
    MENUS,
    STORES,
    checked,
    json_values,
    skill_server,
)
from voicegw.backend.request_builder import build_skill_request
from voicegw.backend.skill import SkillResponse
from voicegw.nlu.types import MAX_QUANTITY, Intent, IntentName, OrderLine, Understanding

# --- the reference skill server: POST /skill, PUT /faq, operator reads ---------------------------

INTENTS = [IntentName.ORDER_ADD, IntentName.ORDER_CONFIRM, IntentName.ORDER_CANCEL, IntentName.ORDER_STATUS,
           IntentName.ORDER_REMOVE, IntentName.FAQ, IntentName.UNKNOWN]
EXTRA_PATHS = ["understanding", "order", "confidence", "channel", "idempotency_key", "store", "session", "candidates",
               "reason", "language"]
_plain_text = st.text(st.characters(codec="utf-8"), max_size=16)
#: A lone surrogate between other characters (never part of a pair).
lone_surrogate_text = st.builds(lambda a, c, b: a + c + b, _plain_text, st.integers(0xD800, 0xDFFF).map(chr), _plain_text)
#: Backend strings, unpaired surrogates among them: JSON carries them as \ud800 escapes (refused,
#: 400), a query string as invalid UTF-8 (read as U+FFFD).
backend_text = _plain_text | st.sampled_from(INJECTIONS) | lone_surrogate_text


@st.composite
def order_lines(draw: st.DrawFn, store: str) -> OrderLine:
    item = draw(st.sampled_from(MENUS[store].items))
    return OrderLine(
        item_id=draw(st.one_of(st.just(item.id), backend_text)), name=draw(st.one_of(st.just(item.id), backend_text)),
        quantity=draw(st.integers(1, MAX_QUANTITY)), unit_price=draw(st.integers(-(10**6), 10**9)), origin=draw(backend_text),
    )


@st.composite
def backend_skill_requests(draw: st.DrawFn) -> dict[str, Any]:
    store = draw(st.sampled_from(STORES))
    intent = draw(st.sampled_from(INTENTS))
    understanding = Understanding(
        intent=Intent(name=intent, confidence=draw(st.floats(0, 1))),
        lines=tuple(draw(st.lists(order_lines(store), max_size=3))) if intent is IntentName.ORDER_ADD else (),
        candidates=tuple(draw(st.lists(st.sampled_from([f.id for f in MENUS[store].faq] or ["x"]) | backend_text, max_size=2))),
        reason=draw(st.sampled_from([None, None, "unknown_item", "low_confidence", "🍕"])),
    )
    body = build_skill_request(
        understanding, store=store, session=draw(st.from_regex(r"[a-z0-9]{1,10}", fullmatch=True)),
        language=draw(st.sampled_from(["ko", "en", "zz"])), utterance=draw(backend_text), channel="text",
        idempotency_key=draw(st.one_of(st.none(), st.from_regex(r"[a-z0-9]{1,10}", fullmatch=True), backend_text)),
    ).to_wire()
    extra = body["action"]["clientExtra"]
    for path in draw(st.lists(st.sampled_from(EXTRA_PATHS), max_size=3)):
        how = draw(st.sampled_from(["drop", "any json", "text"]))
        if how == "drop":
            extra.pop(path, None)
        elif path == "confidence":  # JSON numbers only (NaN is not JSON), in [0, 1] or out of it
            extra[path] = draw(st.one_of(st.floats(0, 1), st.none(), st.floats(allow_nan=False, allow_infinity=False),
                                         st.integers()))
        else:
            extra[path] = draw(json_values if how == "any json" else backend_text)
    if draw(st.booleans()):
        body["action"]["name"] = draw(st.sampled_from([i.value for i in IntentName]) | backend_text)
    return body


@settings(FUZZ, max_examples=250)  # nearly half are refused for a lone surrogate
@given(body=backend_skill_requests())
def test_skill_server_answers_a_skill_response_or_a_4xx(skill_server, body) -> None:
    app, _ = skill_server
    answer = app.send_json("POST", "/skill", body)
    result = checked(answer, "POST /skill (backend)", "near-valid")
    if answer.status == 200:
        response = SkillResponse.model_validate(result)
        assert {"status", "cart", "order_id", "handoff"} <= set(response.data or {})


@settings(FUZZ, max_examples=30)
@given(body=json_values)
def test_skill_server_survives_any_json(skill_server, body) -> None:
    app, _ = skill_server
    answer = app.send_json("POST", "/skill", body)
    checked(answer, "POST /skill (backend)", "any json")
    assert answer.status == 400


@settings(FUZZ, max_examples=50)
@given(entries=st.lists(faq_entries(), max_size=3), wrap=st.booleans(), store=st.sampled_from(STORES) | backend_text)
def test_skill_server_faq_edits_are_stored_or_refused(skill_server, entries, wrap, store) -> None:
    app, _ = skill_server
    answer = app.send_json("PUT", f"/faq?store={_quote(store)}", {"faq": entries} if wrap else entries)
    result = checked(answer, "PUT /faq (backend)", "near-valid")
    if store and store not in STORES:
        assert (answer.status, result["error"]["code"]) == (404, "unknown_store")
    if answer.status == 200:
        assert isinstance(result["faq"], list)
        assert checked(app.send("GET", f"/faq?store={_quote(store)}")) == result


@settings(FUZZ, max_examples=30)
@given(store=backend_text, session=backend_text, limit=backend_text | st.integers().map(str), order_id=backend_text)
def test_skill_server_operator_reads(skill_server, store, session, limit, order_id) -> None:
    app, _ = skill_server
    query = f"/orders?store={_quote(store)}&session={_quote(session)}&limit={_quote(limit)}"
    checked(app.send("GET", query), "GET /orders (backend)", "query")
    checked(app.send("GET", f"/orders/{_quote(order_id) or 'x'}"), "GET /orders/{id} (backend)", "id")


# --- bodies the skill server once answered with a 500 (each with its one-line diagnosis) -------------


def _skill_body(**extra: Any) -> dict[str, Any]:
    body = build_skill_request(
        Understanding(intent=Intent(name=IntentName.ORDER_STATUS, confidence=1.0)),
        store="cafe-ko", session="kb", language="ko", utterance="…", channel="text",
    ).to_wire()
    body["action"]["clientExtra"].update(extra)
    return body


def _with_utterance(text: str) -> dict[str, Any]:
    body = _skill_body()
    body["userRequest"]["utterance"] = text
    return body


ONCE_500S = {
    # server._json_body: request.json() -> RecursionError was not caught.
    "deeply nested json": (b'{"userRequest": {"user": {"id": "u"}}, "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
                           "bad_json"),
    # server._json_body: int() over 4300 digits raises ValueError, not JSONDecodeError.
    "4301-digit number": (b'{"userRequest": {"user": {"id": "u"}}, "x": ' + b"1" * 4301 + b"}", "bad_json"),
    # storage: a lone surrogate reached sqlite3 -> UnicodeEncodeError (not sqlite3.Error).
    "surrogate in the session": (json.dumps(_skill_body(session="u\ud800")).encode(), "bad_json"),
    "surrogate in the store": (json.dumps(_skill_body(store="cafe-ko\udfff")).encode(), "bad_json"),
    "surrogate in the idempotency key": (json.dumps(_skill_body(idempotency_key="k\udc00")).encode(), "bad_json"),
    "surrogate in the utterance": (json.dumps(_with_utterance("아메리카노 \ud83d 한 잔")).encode(), "bad_json"),
    "surrogate as raw bytes": (json.dumps(_skill_body(session="u\ud800"), ensure_ascii=False).encode("utf-8", "surrogatepass"),
                               "bad_json"),
    # server._understanding: Intent(confidence=5) raised ValidationError outside its try.
    "confidence out of range": (json.dumps(_skill_body(confidence=5, understanding=None)).encode(), "bad_skill_request"),
    "negative confidence": (json.dumps(_skill_body(confidence=-0.5, understanding=None)).encode(), "bad_skill_request"),
}


@pytest.mark.parametrize("name", sorted(ONCE_500S))
def test_skill_server_refuses_what_once_500ed(skill_server, name: str) -> None:
    app, _ = skill_server
    body, code = ONCE_500S[name]
    answer = app.send("POST", "/skill", body, {"Content-Type": "application/json"})
    assert (answer.status, checked(answer)["error"]["code"]) == (400, code)


@pytest.mark.parametrize("carrier", ["question", "answer"])
def test_skill_server_refuses_a_surrogate_in_faq_text(skill_server, carrier: str) -> None:
    app, _ = skill_server
    entry = {"id": "sur", "category": "store", "questions": {"ko": ["와이파이 비번"]}, "answer": {"ko": "네"}}
    if carrier == "question":
        entry["questions"]["ko"] = ["와이파이 \ud800 비번"]
    else:
        entry["answer"]["ko"] = "\udbff"
    answer = app.send_json("PUT", "/faq?store=cafe-ko", {"faq": [entry]})
    assert (answer.status, checked(answer)["error"]["code"]) == (400, "bad_json")
