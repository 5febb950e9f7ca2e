"""What the JSON-route fuzz tests share: a live app driven synchronously, the checks every
answer and the database must pass, and the hypothesis strategies of hostile input."""

from __future__ import annotations

import asyncio
import concurrent.futures
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
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.unit.test_gateway_routes import ScriptedTranscriber
from voicegw.backend.server import bearer, create_skill_app, seed_faq
from voicegw.backend.storage import SqliteStorage
from voicegw.gateway.app import create_app
from voicegw.gateway.inputs import LANGUAGES
from voicegw.nlu.loader import load_menus
from voicegw.settings import AudioSettings, Settings

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

    def __init__(self, make_app: Callable[[], web.Application], ready_path: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fuzz-app", daemon=True)
        self._thread.start()
        self.client: TestClient = self.run(self._start(make_app, ready_path, headers or {}))

    async def _start(self, make_app: Callable[[], web.Application], ready_path: str | None,
                     headers: dict[str, str]) -> TestClient:
        client = TestClient(TestServer(make_app()), headers=headers)
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
    key = "the-fuzzed-skill-servers-key"
    app = LiveApp(lambda: create_skill_app(storage, MENUS, key=key), headers=bearer(key))
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


def _quote(value: str) -> str:
    return quote(value, safe="", errors="surrogatepass")
