"""Property-based fuzz of every JSON route: the gateway's text, kakao and FAQ routes and the
reference skill server's ``/skill`` and ``/faq``, with arbitrary JSON, near-valid bodies, hostile
strings (SQL, paths, format strings, markup, zero-width/RTL, controls, emoji, 100k characters),
broken bytes (BOMs, UTF-16, invalid UTF-8, truncation, NaN, deep nesting) and abused headers.

Every answer must be a 4xx JSON error or a correct answer: never a 5xx, a hang or a dead server;
the database never holds an order without lines, lines without an order, or two orders for one
idempotency key. Only the recogniser is a stand-in; understanding, the skill server over loopback
HTTP and SQLite are real. Examples are derandomized: every run tries the same cases.
``FUZZ_COUNTS=1`` prints how many cases each route and kind got.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import json
import os
import re
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tests.unit.test_gateway_routes import ScriptedTranscriber
from voicegw.backend.request_builder import build_skill_request
from voicegw.backend.server import create_skill_app, scoped_idempotency_key, seed_faq
from voicegw.backend.skill import SkillRequest, SkillResponse
from voicegw.backend.storage import SqliteStorage
from voicegw.gateway.app import create_app
from voicegw.gateway.inputs import LANGUAGES
from voicegw.nlu.loader import load_menus
from voicegw.nlu.types import MAX_QUANTITY, Intent, IntentName, OrderLine, Understanding
from voicegw.settings import AudioSettings, BackendSettings, Settings
from voicegw.turn import TurnResult

ROOT = Path(__file__).resolve().parents[2]
MENUS = load_menus(ROOT / "menus")
STORES = sorted(MENUS)
#: The id contract (DESIGN.md): 1-128 of letters, digits and ._:@-
ID = re.compile(r"[A-Za-z0-9._:@-]{1,128}")
HANG_S = 20.0
"""An answer slower than this is a hang (a real turn takes milliseconds here)."""

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
CASES: Counter[tuple[str, str, str]] = Counter()


# --- a live app driven synchronously --------------------------------------------------------


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body, parse_constant=_no_constants)


def _no_constants(literal: str) -> None:
    raise AssertionError(f"the server answered {literal}, which is not JSON")


class LiveApp:
    """An aiohttp app on a loopback port, served by an event loop in its own thread, so that
    Hypothesis (which runs examples synchronously) can call it example after example."""

    def __init__(self, make_app: Callable[[], web.Application], ready_path: str | None = None) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fuzz-app", daemon=True)
        self._thread.start()
        self.client: TestClient = self.run(self._start(make_app, ready_path))

    async def _start(self, make_app: Callable[[], web.Application], ready_path: str | None) -> TestClient:
        client = TestClient(TestServer(make_app()))
        await client.start_server()
        for _ in range(500):
            if ready_path is None or (await client.get(ready_path)).status == 200:
                return client
            await asyncio.sleep(0.01)
        raise AssertionError(f"{ready_path} never answered 200")

    def run(self, coro: Any, timeout_s: float = HANG_S) -> Any:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout_s)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise AssertionError(f"no answer within {timeout_s} s: the server hangs") from None

    async def _send(self, method: str, path: str, data: bytes, headers: dict[str, str]) -> Answer:
        skip = ["Content-Type"] if "Content-Type" not in headers else []
        response = await self.client.request(method, path, data=data, headers=headers, skip_auto_headers=skip)
        body = await response.read()
        return Answer(response.status, response.content_type, body)

    def send(self, method: str, path: str, data: bytes = b"", headers: dict[str, str] | None = None) -> Answer:
        return self.run(self._send(method, path, data, dict(headers or {})))

    def send_json(self, method: str, path: str, payload: Any, headers: dict[str, str] | None = None) -> Answer:
        data = json.dumps(payload).encode()
        return self.send(method, path, data, {"Content-Type": "application/json", **(headers or {})})

    def send_together(self, requests: list[tuple[str, str, Any, dict[str, str]]]) -> list[Answer]:
        """Several JSON requests in flight at once (retries racing each other)."""

        async def all_at_once() -> list[Answer]:
            return await asyncio.gather(*(
                self._send(m, p, json.dumps(b).encode(), {"Content-Type": "application/json", **h})
                for m, p, b, h in requests
            ))

        return self.run(all_at_once())

    def raw(self, payload: bytes, timeout_s: float = 10.0) -> bytes:
        """Bytes written straight to the socket; what comes back before the server closes."""

        async def exchange() -> bytes:
            reader, writer = await asyncio.open_connection(self.client.host, self.client.port)
            try:
                writer.write(payload)
                await writer.drain()
            except ConnectionError:
                pass  # the server answered and closed before taking it all
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout_s)
                length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                body = await asyncio.wait_for(
                    reader.readexactly(int(length.group(1))) if length else reader.read(), timeout_s
                )
                return head + body
            finally:
                writer.close()

        return self.run(exchange(), timeout_s + 5)

    def close(self) -> None:
        self.run(self.client.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()


def gateway_app(data_dir: Path, transcriber: ScriptedTranscriber | None = None) -> Callable[[], web.Application]:
    """The gateway with default settings (keyless development mode on loopback) and the sample menus."""
    settings_ = Settings.load(
        data_dir=data_dir, menus_dir=ROOT / "menus",
        audio=AudioSettings(max_body_bytes=2 * 1024 * 1024, max_duration_s=20),
    )
    return lambda: create_app(settings_, transcriber=transcriber or ScriptedTranscriber())


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveApp, Path]]:
    data_dir = tmp_path_factory.mktemp("fuzz-gateway")
    app = LiveApp(gateway_app(data_dir), ready_path="/readyz")
    yield app, data_dir / "voicegw.db"
    assert app.send("GET", "/healthz").status == 200, "the gateway died under fuzzing"
    app.close()
    assert_orders_whole(data_dir / "voicegw.db")


@pytest.fixture(scope="module")
def skill_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveApp, Path]]:
    path = tmp_path_factory.mktemp("fuzz-backend") / "voicegw.db"
    storage = SqliteStorage(path)
    seed_faq(storage, MENUS)
    app = LiveApp(lambda: create_skill_app(storage, MENUS))
    yield app, path
    app.close()
    storage.close()
    assert_orders_whole(path)


@pytest.fixture(scope="module", autouse=True)
def _report_counts(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if os.environ.get("FUZZ_COUNTS"):
        report_counts(request)


def report_counts(request: pytest.FixtureRequest) -> None:
    """Cases per route and kind, and what they were answered (status and error code)."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    kinds = sorted({(route, kind) for route, kind, _ in CASES})
    with capture.global_and_fixture_disabled():
        for route, kind in kinds:
            n = {status: c for (r, k, status), c in sorted(CASES.items()) if (r, k) == (route, kind)}
            outcomes = ", ".join(f"{status} {c}" for status, c in n.items())
            reporter.write_line(f"fuzz {route:<28} {kind:<26} {sum(n.values()):>5}  ({outcomes})")
        reporter.write_line(f"fuzz total {sum(CASES.values())}")
        CASES.clear()


def tally(route: str, kind: str, status: int, code: str = "") -> None:
    CASES[route, kind, f"{status} {code}".strip()] += 1


# --- what every answer and the database must be ---------------------------------------------


def checked(answer: Answer, route: str | None = None, kind: str = "") -> Any:
    """The answer's JSON body; a 4xx must be exactly ``{"error": {"code", "message"}}``. With a
    ``route``, the case is counted for the report."""
    assert answer.status < 500, (answer.status, answer.body[:300])
    assert answer.content_type == "application/json", (answer.status, answer.content_type, answer.body[:200])
    body = answer.json()
    if answer.status >= 400:
        assert isinstance(body, dict) and set(body) == {"error"}, body
        assert set(body["error"]) == {"code", "message"}, body
        assert isinstance(body["error"]["code"], str) and body["error"]["code"], body
        assert isinstance(body["error"]["message"], str), body
    else:
        assert answer.status == 200, answer.status
    if route is not None:
        tally(route, kind, answer.status, body["error"]["code"] if answer.status >= 400 else "")
    return body


def assert_orders_whole(db_path: Path) -> None:
    with sqlite3.connect(db_path) as db:
        bare = db.execute("SELECT id FROM orders WHERE id NOT IN (SELECT order_id FROM order_lines)").fetchall()
        orphans = db.execute("SELECT order_id FROM order_lines WHERE order_id NOT IN (SELECT id FROM orders)").fetchall()
        doubled = db.execute(
            "SELECT idempotency_key FROM orders WHERE idempotency_key IS NOT NULL GROUP BY 1 HAVING COUNT(*) > 1"
        ).fetchall()
        wrong_total = db.execute(
            "SELECT o.id FROM orders o JOIN order_lines l ON l.order_id = o.id"
            " GROUP BY o.id HAVING SUM(l.unit_price * l.quantity) != MAX(o.total)"
        ).fetchall()
    assert (bare, orphans, doubled, wrong_total) == ([], [], [], [])


# --- strategies --------------------------------------------------------------------------------

INJECTIONS = [
    "'; DROP TABLE orders;--", "\" OR 1=1 --", "Robert'); DELETE FROM order_lines;--", "1 UNION SELECT * FROM faq",
    "../../etc/passwd", "..\\..\\windows\\win.ini", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "file:///etc/passwd", "/dev/zero",
    "{0.__class__}", "{0.__class__.__mro__[1].__subclasses__()}", "{store}", "{}", "%s%n%x%d", "%(text)s", "{{7*7}}",
    "${jndi:ldap://x/a}", "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "javascript:alert(1)",
    "\u202eevil\u202c", "\u2066아메리카노\u2069", "아\u200b메\u200b리\u200b카\u200b노", "\ufefflatte", "\x00", "\x1b[31m",
    "\r\n\r\nHTTP/1.1 200 OK", "🍕☕️👨‍👩‍👧‍👦", "🇰🇷", "Z̴̡̪͋a̷l̶g̷o̸", "아메리카노' OR '1'='1", "NaN", "-Infinity", "null", "true",
]
QUANTITIES = ["한 잔", "두 잔", "세 개", "2", "three", "a dozen", "0", "-5", "1e309", "٣", "２", "百", "½", "999999999999",
              "99999999999999999999잔", "1" * 40]
ODD_CHARS = (
    "\u200b\u200c\u200d\u2060\ufeff\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u061c\u200e\u200f"
    + "".join(map(chr, range(32))) + "\x7f\x85\u2028\u2029\ufffd\U0010ffff"
)
chars = st.one_of(
    st.characters(codec="utf-8"),
    st.sampled_from(ODD_CHARS),
    st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3),  # Hangul syllables
)
hostile_text = st.text(chars, max_size=24)


def _menu_words(store: str) -> list[str]:
    menu = MENUS[store]
    words = [name for item in menu.items for names in item.names.values() for name in names]
    words += [name for group in menu.option_groups for value in group.values for names in value.names.values() for name in names]
    return words


WORDS = {store: _menu_words(store) for store in STORES}
CONFIRM = {"ko": "주문 완료", "en": "place the order"}


def utterances(store: str) -> st.SearchStrategy[str]:
    fragment = st.one_of(
        st.sampled_from(WORDS[store]), st.sampled_from(QUANTITIES), st.sampled_from(INJECTIONS), hostile_text,
        st.sampled_from(list(CONFIRM.values()) + ["취소", "cancel", "뭐 있어요?", "와이파이 비번", "사람 불러줘"]),
    )
    joined = st.tuples(st.lists(fragment, min_size=1, max_size=6), st.sampled_from([" ", "", "\n", " , "]))
    return joined.map(lambda t: t[1].join(t[0])).filter(lambda s: s != "")


long_text = st.sampled_from([("가", 1000), ("a", 1000), ("가", 1001), ("🍕", 999), ("아메리카노 ", 200), ("x", 100_000)]).map(
    lambda t: t[0] * t[1]
)
hostile_ids = st.one_of(
    st.sampled_from(["", " ", "../../etc/passwd", "'; DROP TABLE orders;--", "a" * 129, "a" * 128, "cafe-ko\x00", "가", "a b",
                     "{0}", "%s", "CAFE-KO", "cafe-ko ", ".", "..", "@", "s:1@x.y-z_"]),
    st.from_regex(r"[A-Za-z0-9._:@-]{1,12}", fullmatch=True),
    hostile_text,
)
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), hostile_text,
)
json_values = st.recursive(
    json_scalars, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(hostile_text, kids, max_size=4), max_leaves=12
)
languages = st.one_of(st.none(), st.sampled_from(["", "ko", "en", "auto", "kr", "zz", "KO", "ko-KR", "haw", "yue", "en\x00"]))
CONTENT_TYPES = [
    "application/json", "application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x", "application/json; charset=latin-1", "audio/wav", "", None,
]


@st.composite
def text_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A text-order body, valid or a few mutations away from it."""
    store = draw(st.sampled_from(STORES))
    body: dict[str, Any] = {
        "store": store,
        "session": draw(st.one_of(st.none(), st.from_regex(r"[a-z0-9-]{1,16}", fullmatch=True))),
        "text": draw(st.one_of(utterances(store), long_text)),
        "lang": draw(languages),
    }
    for _ in range(draw(st.integers(0, 2))):
        key = draw(st.sampled_from(["store", "session", "text", "lang", "extra"]))
        how = draw(st.sampled_from(["drop", "any json", "hostile id"]))
        if key == "extra":
            body[draw(hostile_text)] = draw(json_values)
        elif how == "drop":
            body.pop(key, None)
        else:
            body[key] = draw(json_values if how == "any json" else hostile_ids)
    return body


def text_body_ok(body: dict[str, Any]) -> bool:
    """The contract of POST /v1/text/orders, written out independently of the route."""
    if set(body) - {"store", "session", "text", "lang"}:
        return False
    store, session, text, lang = (body.get(k) for k in ("store", "session", "text", "lang"))
    return (
        isinstance(store, str) and store in MENUS
        and (session in (None, "") or (isinstance(session, str) and ID.fullmatch(session) is not None))
        and isinstance(text, str) and 1 <= len(text) <= 1000
        and (lang in (None, "") or (isinstance(lang, str) and lang in LANGUAGES))
    )


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


def _quote(value: str) -> str:
    return quote(value, safe="", errors="surrogatepass")


@settings(FUZZ, max_examples=30)
@given(body=json_values)
def test_kakao_skill_survives_any_json(gateway, body) -> None:
    app, _ = gateway
    answer = app.send_json("POST", "/kakao/skill?store=cafe-ko", body)
    checked(answer, "POST /kakao/skill", "any json")
    assert answer.status == 400  # userRequest.user.id is required


# --- gateway: GET and PUT /v1/faq ------------------------------------------------------------------


FAQ_QUESTIONS = ["와이파이 비번", "화장실 어디예요?", "wifi password?", "do you deliver", "", " ", "x" * 2000]


@st.composite
def faq_entries(draw: st.DrawFn) -> Any:
    """An FAQ entry, mostly well formed, with up to two fields broken; now and then any JSON."""
    if draw(st.integers(0, 19)) == 0:
        return draw(json_values)
    question = st.one_of(st.sampled_from(FAQ_QUESTIONS), hostile_text)
    entry: dict[str, Any] = {
        "id": draw(st.from_regex(r"[a-z_]{1,12}", fullmatch=True)),
        "category": draw(st.sampled_from(["store", "order", "general"])),
        "questions": draw(st.dictionaries(st.sampled_from(["ko", "en"]), st.lists(question, min_size=1, max_size=3),
                                          min_size=1)),
        "answer": draw(st.dictionaries(st.sampled_from(["ko", "en"]), question, min_size=1)),
    }
    for _ in range(draw(st.sampled_from([0, 0, 0, 0, 0, 1, 2]))):
        field = draw(st.sampled_from(["id", "category", "questions", "answer", "drop", "extra"]))
        if field == "drop":
            entry.pop(draw(st.sampled_from(["id", "category", "questions", "answer"])), None)
        elif field == "extra":
            entry[draw(hostile_text)] = draw(json_values)
        elif field == "questions":
            # Lists, strings, objects, numbers and null per language.
            entry[field] = draw(st.one_of(
                st.dictionaries(st.sampled_from(["ko", "en", "fr", ""]), st.one_of(
                    st.lists(st.one_of(question, json_values), max_size=3), hostile_text,
                    st.dictionaries(hostile_text, json_scalars, max_size=2), json_scalars), max_size=3),
                st.lists(hostile_text, max_size=2), st.none(), hostile_text,
            ))
        else:
            entry[field] = draw(st.one_of(hostile_ids, json_values))
    return entry


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
