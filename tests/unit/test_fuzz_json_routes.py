"""Property-based fuzz of the gateway's JSON routes (text, kakao and FAQ; the reference skill
server's own routes are in test_fuzz_skill_server.py), with arbitrary JSON, near-valid bodies, hostile
strings (SQL, paths, format strings, markup, zero-width/RTL, controls, emoji, 100k characters),
broken bytes (BOMs, UTF-16, invalid UTF-8, truncation, NaN, deep nesting) and abused headers.

Every answer must be a 4xx JSON error or a correct answer: never a 5xx, a hang or a dead server;
the database never holds an order without lines, lines without an order, or two orders for one
idempotency key. Only the recogniser is a stand-in; understanding, the skill server over loopback
HTTP and SQLite are real. Examples are derandomized: every run tries the same cases.
``FUZZ_COUNTS=1`` prints how many cases each route and kind got.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tests.unit.fuzz_support import (  # noqa: F401  (fixtures are found by name)
    _quote,
    faq_entries,
    _report_counts,
    CONFIRM,
    CONTENT_TYPES,
    FUZZ,
    ID,
    LiveApp,
    MENUS,
    ROOT,
    STORES,
    checked,
    gateway,
    gateway_app,
    hostile_ids,
    hostile_text,
    json_values,
    long_text,
    tally,
    text_bodies,
    text_body_ok,
    utterances,
)
from tests.unit.test_gateway_routes import ScriptedTranscriber
from voicegw.backend.server import scoped_idempotency_key
from voicegw.backend.skill import SkillRequest, SkillResponse
from voicegw.gateway.app import create_app
from voicegw.gateway.inputs import LANGUAGES
from voicegw.settings import BackendSettings, Settings
from voicegw.turn import TurnResult

# --- gateway: POST /v1/text/orders -------------------------------------------------------------


@settings(FUZZ, max_examples=150)
@given(body=text_bodies(), content_type=st.sampled_from(CONTENT_TYPES))
def test_text_orders_answer_a_turn_exactly_when_the_body_is_valid(gateway, body, content_type) -> None:
    app, _ = gateway
    data = json.dumps(body).encode()
    answer = app.send("POST", "/v1/text/orders", data, {"Content-Type": content_type} if content_type is not None else {})
    result = checked(answer, "POST /v1/text/orders", "near-valid")
    if len(data) > 64 * 1024:
        assert (answer.status, result["error"]["code"]) == (413, "body_too_large")
    elif text_body_ok(body):
        assert answer.status == 200, (body, result)
        turn = TurnResult.model_validate(result)
        assert (turn.store, turn.transcript) == (body["store"], body["text"])
        assert turn.session == body.get("session") or (not body.get("session") and turn.session.startswith("s-"))
    else:
        assert 400 <= answer.status < 500, (body, result)


@settings(FUZZ, max_examples=40)
@given(body=json_values)
def test_text_orders_survive_any_json(gateway, body) -> None:
    app, _ = gateway
    answer = app.send_json("POST", "/v1/text/orders", body)
    checked(answer, "POST /v1/text/orders", "any json")
    assert answer.status == 400  # no arbitrary value is a valid body: "store" and "text" are required


#: Byte-level breakage of a valid body: kind -> variants. Each pair is its own test, so every
#: variant is tried (Hypothesis then varies the utterance, the encoding and the cut).
BREAKAGES: dict[str, list[Any]] = {
    "bom": [b"\xef\xbb\xbf"],
    "utf-16/32": ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"],
    "truncated": [0.0, 0.3, 0.6, 0.9, None],
    "invalid utf-8": [b"\xff", b"\xc3\x28", b"\xe2\x82", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf"],
    "constant": [b"NaN", b"Infinity", b"-Infinity", b"1e999", b"-1e999", b"1" * 5000, b"1" * 50],
    "deep": [5, 31, 33, 1000, 30_000],
    "duplicate key": [b'"again"', b"5", b"null"],
    "trailing": [b"\n", b" \t\r\n", b"x", b"\x00", b"{}", b",", b"\xff"],
    "single quotes": [None],
    "not an object": [b"", b" ", b"null", b"[]", b'"text"', b"0", b"wrapped"],
    "comment": [b"// a comment\n", b"/* c */"],
}


def broken(kind: str, variant: Any, body: dict[str, Any], ascii_only: bool, cut: float) -> tuple[bytes, bool]:
    """(bytes, whether they still are a valid text order)."""
    raw = json.dumps(body, ensure_ascii=ascii_only).encode()
    text_at = raw.index(b'"text": ') + len(b'"text": ')
    if kind == "bom":
        return variant + raw, True
    if kind == "utf-16/32":
        return json.dumps(body, ensure_ascii=ascii_only).encode(variant), True
    if kind == "truncated":
        return raw[: int((cut if variant is None else variant) * len(raw))], False
    if kind == "invalid utf-8":
        return raw[: text_at + 1] + variant + raw[text_at + 1 :], False
    if kind == "constant":
        return raw[:text_at] + variant + b', "x": 1}', False
    if kind == "deep":
        return raw[:-1] + b', "lang": ' + b"[" * variant + b"]" * variant + b"}", False
    if kind == "duplicate key":
        return raw[:-1] + b', "text": ' + variant + b"}", variant == b'"again"'
    if kind == "trailing":
        return raw + variant, variant.strip() == b""
    if kind == "single quotes":
        return raw.replace(b'"', b"'"), False
    if kind == "not an object":
        return (b"[" + raw + b"]" if variant == b"wrapped" else variant), False
    return variant + raw, False


@pytest.mark.parametrize(("kind", "variant"), [(k, v) for k, vs in BREAKAGES.items() for v in vs],
                         ids=lambda v: repr(v)[:14])
@settings(FUZZ, max_examples=3)
@given(text=utterances("cafe-ko"), ascii_only=st.booleans(), cut=st.floats(0, 1, exclude_max=True),
       content_type=st.sampled_from(CONTENT_TYPES))
def test_broken_json_bytes_get_a_400_and_good_encodings_a_turn(gateway, kind, variant, text, ascii_only, cut,
                                                               content_type) -> None:
    app, _ = gateway
    body = {"store": "cafe-ko", "session": "b1", "text": text, "lang": "ko"}
    data, still_valid = broken(kind, variant, body, ascii_only, cut)
    answer = app.send("POST", "/v1/text/orders", data, {"Content-Type": content_type} if content_type is not None else {})
    result = checked(answer, "POST /v1/text/orders", f"bytes: {kind}")
    if still_valid:
        assert answer.status == 200, (kind, data[:80], result)
    else:
        assert answer.status == 400 and result["error"]["code"] in ("invalid_json", "invalid_body"), (kind, result)


SURROGATE_CARRIERS: dict[str, tuple[str, str, Callable[[str], Any]]] = {
    "text": ("POST", "/v1/text/orders", lambda t: {"store": "cafe-ko", "session": "sur", "text": t}),
    "kakao": ("POST", "/kakao/skill", lambda t: {"userRequest": {"utterance": t, "user": {"id": "sur"}}, "bot": {"id": "cafe-ko"}}),
    "faq": ("PUT", "/v1/faq?store=cafe-ko",
            lambda t: {"faq": [{"id": "sur", "category": "store", "questions": {"ko": [t]}, "answer": {"ko": "네"}}]}),
}


@pytest.mark.parametrize("carrier", sorted(SURROGATE_CARRIERS))
@settings(FUZZ, max_examples=12)
@given(lone=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), prefix=hostile_text, raw_bytes=st.booleans())
def test_unpaired_surrogates_are_refused_before_they_reach_storage(gateway, carrier, lone, prefix, raw_bytes) -> None:
    """SQLite cannot store them (UTF-8 has no surrogates): refused at the edge, not a 500 later."""
    app, _ = gateway
    method, path, build = SURROGATE_CARRIERS[carrier]
    # As a \ud800 escape, or as the raw (CESU-8) bytes that json.loads would pass through; one
    # surrogate between other characters is never part of a pair.
    data = json.dumps(build(prefix + "아메리카노 " + lone + " 한 잔"), ensure_ascii=not raw_bytes).encode("utf-8", "surrogatepass")
    answer = app.send(method, path, data, {"Content-Type": "application/json"})
    result = checked(answer, f"{method} {path.split('?')[0]}", "surrogates")
    assert (answer.status, result["error"]["code"]) == (400, "invalid_json")


@settings(FUZZ, max_examples=40)
@given(key=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=140) | st.sampled_from(
    ["'; DROP TABLE orders;--", "../../x", "a b", "k" * 129, "{0}", "%s%n"]))
def test_bad_idempotency_keys_are_refused_before_anything_is_ordered(gateway, key) -> None:
    app, db_path = gateway
    session = f"key-{next(_serial)}"
    app.send_json("POST", "/v1/text/orders", {"store": "cafe-ko", "session": session, "text": "카페라떼 한 잔"})
    answer = app.send_json("POST", "/v1/text/orders", {"store": "cafe-ko", "session": session, "text": "주문 완료"},
                           {"Idempotency-Key": key})
    result = checked(answer, "POST /v1/text/orders", "idempotency key")
    with sqlite3.connect(db_path) as db:
        ordered = db.execute("SELECT COUNT(*) FROM orders WHERE session = ?", (session,)).fetchone()[0]
    if key == "" or ID.fullmatch(key):
        assert answer.status == 200 and result["order_id"] and ordered == 1
    else:
        assert (answer.status, result["error"]["code"], ordered) == (400, "invalid_idempotency_key", 0)


_serial = itertools.count()


def test_lang_is_checked_against_the_codes_whisper_knows() -> None:
    """A code Whisper does not know reached the model and failed there as a 500 (lang=zz)."""
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    assert LANGUAGES == {*_LANGUAGE_CODES, "auto"}


# --- gateway: idempotent order submission --------------------------------------------------------


@settings(FUZZ, max_examples=25)
@given(
    store=st.sampled_from(STORES),
    items=st.lists(st.integers(0, 10**6), min_size=1, max_size=3),
    key=st.from_regex(r"[A-Za-z0-9._:@-]{1,40}", fullmatch=True),
    tries=st.integers(2, 5),
    together=st.booleans(),
)
def test_retried_confirms_order_once_and_all_name_that_order(gateway, store, items, key, tries, together) -> None:
    app, db_path = gateway
    menu = MENUS[store]
    session, key = f"idem-{next(_serial)}", f"{key}-{next(_serial)}"
    names = [menu.items[i % len(menu.items)].names[menu.language][0] for i in items]
    added = checked(app.send_json("POST", "/v1/text/orders", {"store": store, "session": session, "text": " ".join(names)}))
    cart = [(line["item_id"], line["quantity"]) for line in (added["cart"] or {}).get("lines", [])]
    confirm = ("POST", "/v1/text/orders", {"store": store, "session": session, "text": CONFIRM[menu.language]},
               {"Idempotency-Key": key})
    if together:
        answers = app.send_together([confirm] * tries)
    else:
        answers = [app.send_json(*confirm[:3], confirm[3]) for _ in range(tries)]
    order_ids = {checked(a, "POST /v1/text/orders", "confirm retries")["order_id"] for a in answers}
    assert all(a.status == 200 for a in answers) and len(order_ids) == 1, order_ids
    with sqlite3.connect(db_path) as db:
        stored = scoped_idempotency_key(store, session, key)
        rows = db.execute("SELECT id, session FROM orders WHERE idempotency_key = ?", (stored,)).fetchall()
        lines = db.execute("SELECT l.item_id, l.quantity FROM order_lines l JOIN orders o ON o.id = l.order_id"
                           " WHERE o.idempotency_key = ? ORDER BY l.position", (stored,)).fetchall()
    (order_id,) = order_ids
    if order_id is None:
        assert rows == []
    else:
        assert rows == [(order_id, session)] and lines == cart


# --- gateway: POST /kakao/skill ------------------------------------------------------------------

KAKAO_PATHS = [
    ("userRequest", "utterance"), ("userRequest", "user", "id"), ("userRequest", "user"), ("userRequest", "lang"),
    ("userRequest",), ("bot", "id"), ("bot",), ("action", "clientExtra"), ("action", "params"), ("intent",),
    ("contexts",), ("userRequest", "params"), ("userRequest", "block"), ("action",),
]


@st.composite
def kakao_requests(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    store = draw(st.sampled_from(STORES))
    body: dict[str, Any] = {
        "intent": {"id": "i", "name": "폴백 블록"},
        "userRequest": {
            "timezone": "Asia/Seoul", "params": {}, "block": {"id": "b", "name": "폴백 블록"},
            "utterance": draw(st.one_of(utterances(store), long_text)),
            "lang": draw(st.sampled_from(["kr", "ko", "en", None, "zz", ""])),
            "user": {"id": draw(st.from_regex(r"[a-z0-9]{1,12}", fullmatch=True)), "type": "botUserKey", "properties": {}},
        },
        "bot": {"id": store, "name": "가게"},
        "action": {"name": "voicegw", "clientExtra": None, "params": {}, "id": "a", "detailParams": {}},
    }
    for _ in range(draw(st.integers(0, 3))):
        *parents, leaf = draw(st.sampled_from(KAKAO_PATHS))
        node = body
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            how = draw(st.sampled_from(["drop", "any json", "hostile id"]))
            if how == "drop":
                node.pop(leaf, None)
            else:
                node[leaf] = draw(json_values if how == "any json" else hostile_ids)
    query_store = draw(st.one_of(st.just(""), st.sampled_from(STORES), hostile_ids.filter(lambda s: "\x00" not in s)))
    return body, query_store


@settings(FUZZ, max_examples=120)
@given(case=kakao_requests())
def test_kakao_skill_answers_a_skill_response_or_a_4xx(gateway, case) -> None:
    app, _ = gateway
    body, query_store = case
    path = "/kakao/skill" + (f"?store={_quote(query_store)}" if query_store else "")
    answer = app.send_json("POST", path, body)
    result = checked(answer, "POST /kakao/skill", "near-valid")
    if answer.status == 200:
        response = SkillResponse.model_validate(result)
        assert response.version == "2.0" and response.text
        TurnResult.model_validate(response.data)
    if query_store in STORES and len(json.dumps(body).encode()) <= 64 * 1024 and _serves(body):
        assert answer.status == 200, (body, result)


def _serves(body: dict[str, Any]) -> bool:
    """A request of the protocol's shape (the SkillRequest model) from a user id of the contract."""
    try:
        request = SkillRequest.model_validate(body)
    except ValidationError:
        return False
    return ID.fullmatch(request.user_request.user.id) is not None



@settings(FUZZ, max_examples=30)
@given(body=json_values)
def test_kakao_skill_survives_any_json(gateway, body) -> None:
    app, _ = gateway
    answer = app.send_json("POST", "/kakao/skill?store=cafe-ko", body)
    checked(answer, "POST /kakao/skill", "any json")
    assert answer.status == 400  # userRequest.user.id is required


# --- gateway: GET and PUT /v1/faq ------------------------------------------------------------------


@pytest.fixture(scope="module")
def faq_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """A gateway of its own: these edits would change FAQ matching for the other tests."""
    app = LiveApp(gateway_app(tmp_path_factory.mktemp("fuzz-faq")), ready_path="/readyz")
    yield app
    assert app.send("GET", "/healthz").status == 200
    app.close()


@settings(FUZZ, max_examples=50)
@given(store=st.sampled_from(STORES), entries=st.lists(faq_entries(), max_size=3), wrap=st.booleans())
def test_faq_edits_are_stored_or_refused_and_turns_keep_working(faq_gateway, store, entries, wrap) -> None:
    answer = faq_gateway.send_json("PUT", f"/v1/faq?store={store}", {"faq": entries} if wrap else entries)
    result = checked(answer, "PUT /v1/faq", "near-valid")
    if not wrap:
        assert answer.status == 400  # the gateway takes {"faq": [...]} only
    if answer.status == 200:
        assert result["store"] == store and isinstance(result["faq"], list)
        listed = checked(faq_gateway.send("GET", f"/v1/faq?store={store}"))
        assert listed == result
    # The edit is matched from the next turn on: asking any of its questions must still work.
    asked = [q for e in entries if isinstance(e, dict) and isinstance(e.get("questions"), dict)
             for qs in e["questions"].values() if isinstance(qs, list) for q in qs if isinstance(q, str) and q.strip()]
    for question in asked[:2] + ["와이파이 비번 알려주세요"]:
        turn = faq_gateway.send_json("POST", "/v1/text/orders", {"store": store, "text": question[:1000]})
        result = checked(turn, "POST /v1/text/orders", "after faq edit")
        assert turn.status == 200, result


@settings(FUZZ, max_examples=30)
@given(store=hostile_ids.filter(lambda s: "\x00" not in s) | st.sampled_from(STORES), method=st.sampled_from(["GET", "PUT"]))
def test_faq_store_parameter_is_checked(gateway, store, method) -> None:
    app, _ = gateway
    answer = app.send_json(method, f"/v1/faq?store={_quote(store)}", {"faq": []})
    result = checked(answer, f"{method} /v1/faq", "store param")
    if ID.fullmatch(store) is None:
        assert (answer.status, result["error"]["code"]) in ((400, "missing_store"), (400, "invalid_store"))
    elif store not in STORES:  # answered 200 with an empty list before
        assert (answer.status, result["error"]["code"]) == (404, "unknown_store")


# --- header abuse, straight to the socket ----------------------------------------------------------

BODY = b'{"store": "cafe-ko", "text": "\xec\x95\x84\xeb\xa9\x94\xeb\xa6\xac\xec\xb9\xb4\xeb\x85\xb8"}'


def _request(head: str, body: bytes = BODY) -> bytes:
    return head.replace("\n", "\r\n").encode("latin-1") + b"\r\n" + body


RAW_CASES = {
    # A gigantic declared length is refused from the header: nothing waits for 100 GB to arrive.
    "huge content-length": (_request("POST /v1/text/orders HTTP/1.1\nHost: x\nContent-Type: application/json\n"
                                     "Content-Length: 100000000000\nConnection: close\n"), (413,), True),
    "chunked over the limit": (_request("POST /v1/text/orders HTTP/1.1\nHost: x\nContent-Type: application/json\n"
                                        "Transfer-Encoding: chunked\nConnection: close\n",
                                        b"".join(b"%x\r\n%s\r\n" % (8192, b" " * 8192) for _ in range(9)) + b"0\r\n\r\n"),
                               (413,), True),
    "negative content-length": (_request("POST /v1/text/orders HTTP/1.1\nHost: x\nContent-Length: -1\nConnection: close\n"),
                                (400,), False),
    "non-numeric content-length": (_request("POST /v1/text/orders HTTP/1.1\nHost: x\nContent-Length: 12abc\n"
                                            "Connection: close\n"), (400,), False),
    "length and chunked": (_request("POST /v1/text/orders HTTP/1.1\nHost: x\nContent-Length: 5\n"
                                    "Transfer-Encoding: chunked\nConnection: close\n", b"0\r\n\r\n"), (400,), False),
    "chunk size overflow": (_request("POST /v1/text/orders HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n"
                                     "Connection: close\n", b"FFFFFFFFFFFFFFFFFFFF\r\nabc\r\n"), (400, 413), False),
    "voice huge content-length": (_request("POST /v1/voice/orders?store=cafe-ko HTTP/1.1\nHost: x\nContent-Type: audio/wav\n"
                                           "Content-Length: 100000000000\nConnection: close\n", b"RIFF"), (413,), True),
    "faq huge content-length": (_request("PUT /v1/faq?store=cafe-ko HTTP/1.1\nHost: x\nContent-Type: application/json\n"
                                         "Content-Length: 100000000000\nConnection: close\n", b"{"), (413,), True),
    "100 kB header": (_request("POST /v1/text/orders HTTP/1.1\nHost: x\nX-Big: " + "a" * 100_000 + "\n"
                               "Content-Length: 0\nConnection: close\n", b""), (400, 431), False),
    "binary in the path": (b"POST /v1/text/\xff\xfe/orders HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                           (400, 404), False),
}


@pytest.mark.parametrize("name", sorted(RAW_CASES))
def test_abused_headers_get_a_4xx_at_once(gateway, name: str) -> None:
    """Route-level refusals are JSON; a request aiohttp's HTTP parser rejects (a broken header) is
    answered by aiohttp itself, before any middleware, as plain text."""
    app, _ = gateway
    payload, statuses, json_body = RAW_CASES[name]
    reply = app.raw(payload)
    head, _, body = reply.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    tally("raw socket", "headers", status)
    assert status in statuses, head[:200]
    if json_body:
        assert set(json.loads(body)["error"]) == {"code", "message"}
        assert json.loads(body)["error"]["code"] in ("body_too_large", "audio_too_large")
    assert app.send("GET", "/healthz").status == 200


@pytest.mark.parametrize("questions", [5, None, True, 1.5, "와이파이 비번", {"q": "x"}, [1], ["ok", None]])
def test_faq_questions_that_are_not_a_list_of_strings_are_refused(faq_gateway, questions) -> None:
    """records.FaqEntry.from_public raised TypeError for a non-list (a 500 the gateway relayed)."""
    answer = faq_gateway.send_json("PUT", "/v1/faq?store=cafe-ko", {"faq": [{"id": "q", "questions": {"ko": questions}}]})
    assert (answer.status, checked(answer)["error"]["code"]) == (400, "bad_faq")


def test_a_backend_failure_on_faq_is_a_502_not_a_relayed_500(tmp_path: Path) -> None:
    """routes.faq_entries relayed the backend's 500 as the gateway's own."""

    async def failing(request: web.Request) -> web.Response:
        return web.json_response({"error": {"code": "internal_error", "message": "boom"}}, status=500)

    def broken_backend() -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", failing)
        return app

    backend = LiveApp(broken_backend)
    try:
        settings_ = Settings.load(data_dir=tmp_path, menus_dir=ROOT / "menus")
        settings_ = settings_.model_copy(update={"backend": BackendSettings(url=str(backend.client.make_url("/skill")))})
        gateway = LiveApp(lambda: create_app(settings_, transcriber=ScriptedTranscriber()), ready_path="/readyz")
        try:
            for method in ("GET", "PUT"):
                answer = gateway.send_json(method, "/v1/faq?store=cafe-ko", {"faq": []})
                assert (answer.status, answer.json()["error"]["code"]) == (502, "backend_bad_response"), answer.body
        finally:
            gateway.close()
    finally:
        backend.close()


def test_an_absurd_quantity_is_refused_and_the_session_goes_on(gateway) -> None:
    app, _ = gateway
    refused, added, placed = (
        checked(app.send_json("POST", "/v1/text/orders", {"store": "cafe-ko", "session": "huge-qty", "text": text}))
        for text in ("아메리카노 99999999999999999999잔", "아메리카노 두 잔", "주문 완료"))
    assert (refused["status"], refused["reason"]) == ("rejected", "too_many")
    assert added["cart"]["total"] == 9000 and placed["order_id"]


def test_an_idempotency_key_is_one_sessions(gateway) -> None:
    """server._run_turn found a confirm's order by the key alone: another session reusing it was
    answered with (and shown) the first session's order. A retry within a session still finds its own."""
    app, db_path = gateway
    headers = {"Idempotency-Key": "shared-key-1"}
    for session, item in (("alice", "카페라떼 한 잔"), ("mallory", "아메리카노 한 잔")):
        app.send_json("POST", "/v1/text/orders", {"store": "cafe-ko", "session": session, "text": item})
    confirm = {"store": "cafe-ko", "text": "주문 완료"}
    alice = checked(app.send_json("POST", "/v1/text/orders", {**confirm, "session": "alice"}, headers))
    mallory = checked(app.send_json("POST", "/v1/text/orders", {**confirm, "session": "mallory"}, headers))
    assert alice["order_id"] and mallory["order_id"] and mallory["order_id"] != alice["order_id"]
    assert "아메리카노" in mallory["reply"]["text"] and "라떼" not in mallory["reply"]["text"], mallory["reply"]
    again = checked(app.send_json("POST", "/v1/text/orders", {**confirm, "session": "alice"}, headers))
    assert again["order_id"] == alice["order_id"]
    with sqlite3.connect(db_path) as db:
        rows = db.execute("SELECT session, idempotency_key FROM orders WHERE id IN (?, ?) ORDER BY seq",
                          (alice["order_id"], mallory["order_id"])).fetchall()
    assert rows == [("alice", scoped_idempotency_key("cafe-ko", "alice", "shared-key-1")),
                    ("mallory", scoped_idempotency_key("cafe-ko", "mallory", "shared-key-1"))]
