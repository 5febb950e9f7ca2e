"""Conversation stories: the format and its errors, the checks, the scores, and the runner.

The runner is tested against a small aiohttp server that answers canned turn results (what is
under test is what the runner sends and how it reads the answers); the last tests run the
``voicegw stories`` command against the real gateway app in this process (text turns, no model).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from voicegw.backend.skill import SkillResponse
from voicegw.cli import main
from voicegw.qa.story_check import check_turn, describe_lines, lines_match
from voicegw.qa.story_format import StoryError, StoryLine, StoryTurn, load_stories, load_story_file
from voicegw.qa.story_runner import StoryClient, kakao_turn_result, needs_model, replay_all, select
from voicegw.qa.story_scores import StoryRecord, TurnRecord, by_language, by_tag, gate_failures, results_json, tally

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data" / "stories"
FIXTURES = ROOT / "audio_fixtures"


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def turn(**fields: Any) -> StoryTurn:
    return StoryTurn.model_validate({"text": "hi", **fields})


def got_line(item: str, quantity: int = 1, **options: Any) -> dict[str, Any]:
    opts = [
        {"group": g, "value": v[0], "amount": v[1]} if isinstance(v, tuple) else {"group": g, "value": v, "amount": "regular"}
        for g, v in options.items()
    ]
    return {"item_id": item, "name": item, "quantity": quantity, "options": opts, "unit_price": 100}


def result(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "status": "ok", "session": "s", "store": "cafe-ko", "language": "ko", "transcript": "",
        "intent": {"name": "order.add", "confidence": 0.9}, "lines": [], "cart": {"lines": [], "total": 0, "currency": "KRW"},
        "order_id": None, "faq": None, "reply": {"text": "", "quick_replies": []}, "reason": None, "handoff": False,
    }
    return base | fields


# --- format ---------------------------------------------------------------------------------------


def test_fixture_folder_loads_recursively_yaml_and_yml() -> None:
    files = load_stories([DATA / "good"], FIXTURES)
    assert [f.path.name for f in files] == ["cafe_ko.yaml", "coffee_en.yml"]
    cafe, coffee = (f.content for f in files)
    assert (cafe.store, cafe.lang, cafe.via) == ("cafe-ko", "ko", "text")
    first = cafe.stories[0].turns[0]
    assert first.lines == (StoryLine(item_id="americano", quantity=2, options={"temperature": "ice"}),)
    assert first.expects("reason") and first.reason is None  # `reason: null` is an expectation
    assert not first.expects("faq")
    latte = coffee.stories[0].turns[0].lines[0]
    assert latte.quantity == 1  # the default
    assert latte.options["milk"] == ("oat", "regular") and latte.options["size"] == ("large", None)
    assert coffee.via == "kakao" and cafe.stories[1].turns[0].via == "kakao"


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        ("  - name: 라떼\n    turns:\n      - text: 라떼\n        intnet: order.add\n", ["story '라떼' turn 1: intnet: unknown key"]),
        ("  - name: 라떼\n    tgas: [a]\n    turns:\n      - text: 라떼\n", ["story '라떼': tgas: unknown key"]),
        ("  - name: 라떼\n    turns:\n      - text: 라떼\n        intent: order.add\n      - text: 네\n        intent: order.confrim\n",
         ["story '라떼' turn 2: intent:", "unknown intent 'order.confrim'"]),
        ("  - name: a\n    turns:\n      - intent: order.add\n", ["story 'a' turn 1", "exactly one of text or audio"]),
        ("  - name: a\n    turns:\n      - {text: x, audio: en/coffee_confirm.wav}\n", ["exactly one of text or audio"]),
        ("  - name: a\n    turns:\n      - {audio: en/coffee_confirm.wav, via: kakao}\n", ["via applies to typed turns"]),
        ("  - name: a\n    turns:\n      - {text: x, cart: null}\n", ["cart: null is not an expectation", "use []"]),
        ("  - name: a\n    turns:\n      - {text: x, lines: [{item_id: latte, quantity: 0}]}\n", ["turn 1: lines.0.quantity"]),
        ("  - name: a\n    turns:\n      - {text: x, lines: [{item_id: latte, options: {milk: {value: oat, amout: extra}}}]}\n",
         ["turn 1: lines.0.options", "value, amount"]),
        ("  - name: a\n    turns:\n      - {text: x, status: fine}\n", ["turn 1: status:"]),
        ("  - name: a\n    turns:\n      - {text: x, sentiment: angry}\n", ["turn 1: sentiment:"]),
        ("  - name: a\n    turns: []\n", ["story 'a': turns:"]),
        ("  - name: a\n    turns:\n      - {text: x}\n  - name: a\n    turns:\n      - {text: y}\n", ["two stories are named 'a'"]),
    ],
    ids=["typo-turn-key", "typo-story-key", "unknown-intent", "no-utterance", "two-utterances", "via-on-audio",
         "null-cart", "zero-quantity", "option-typo", "bad-status", "bad-sentiment", "no-turns", "same-name"],
)
def test_format_errors_name_file_story_turn_and_key(tmp_path: Path, body: str, fragments: list[str]) -> None:
    path = write(tmp_path, "store: cafe-ko\nlang: ko\nstories:\n" + body)
    with pytest.raises(StoryError) as caught:
        load_story_file(path)
    message = caught.value.message
    assert message.startswith(f"{path}: "), message
    for fragment in fragments:
        assert fragment in message, message
    assert caught.value.code == "story_invalid"


def test_file_level_errors(tmp_path: Path) -> None:
    with pytest.raises(StoryError, match="lang"):
        load_story_file(write(tmp_path, "store: cafe-ko\nlang: jp\nstories:\n  - {name: a, turns: [{text: x}]}\n"))
    with pytest.raises(StoryError, match="vai: unknown key"):
        load_story_file(write(tmp_path, "store: cafe-ko\nlang: ko\nvai: kakao\nstories:\n  - {name: a, turns: [{text: x}]}\n"))
    with pytest.raises(StoryError, match="not valid YAML"):
        load_story_file(write(tmp_path, "store: [cafe-ko\n"))
    with pytest.raises(StoryError, match="expected a mapping"):
        load_story_file(write(tmp_path, "- just a list\n"))
    with pytest.raises(StoryError) as missing:
        load_stories([tmp_path / "nowhere"])
    assert missing.value.code == "story_missing"


def test_yes_and_no_stay_words(tmp_path: Path) -> None:
    # YAML 1.1 would read an unquoted `text: yes` as a boolean; stories say "yes" and "no" a lot
    path = write(tmp_path, "store: coffee-en\nlang: en\nstories:\n  - {name: a, turns: [{text: yes, ordered: true}, {text: no, handoff: false}]}\n")
    turns = load_story_file(path).content.stories[0].turns
    assert [(t.text, t.ordered, t.handoff) for t in turns] == [("yes", True, None), ("no", None, False)]


def test_audio_clips_must_exist_under_the_fixtures_folder(tmp_path: Path) -> None:
    path = write(tmp_path, "store: coffee-en\nlang: en\nstories:\n  - {name: a, turns: [{audio: en/no_such_clip.wav}]}\n")
    load_story_file(path)  # without a fixtures folder nothing is looked up
    with pytest.raises(StoryError) as caught:
        load_story_file(path, FIXTURES)
    assert caught.value.code == "story_audio_missing" and "story 'a' turn 1" in caught.value.message


def test_the_bad_fixture_fails_to_load() -> None:
    with pytest.raises(StoryError, match="intnet: unknown key"):
        load_stories([DATA / "bad"])


# --- line matching ---------------------------------------------------------------------------------


def lines(*specs: dict[str, Any]) -> tuple[StoryLine, ...]:
    return tuple(StoryLine.model_validate(s) for s in specs)


@pytest.mark.parametrize(
    ("expected", "got", "match"),
    [
        # same multiset in another order
        ([{"item_id": "latte", "quantity": 2}, {"item_id": "muffin"}], [got_line("muffin"), got_line("latte", 2)], True),
        # quantity differs
        ([{"item_id": "latte", "quantity": 2}], [got_line("latte", 1)], False),
        # a line too many, a line too few
        ([{"item_id": "latte"}], [got_line("latte"), got_line("muffin")], False),
        ([{"item_id": "latte"}, {"item_id": "muffin"}], [got_line("latte")], False),
        # two lines of one item against one line of twice the quantity
        ([{"item_id": "latte"}, {"item_id": "latte"}], [got_line("latte", 2)], False),
        # options the story does not name are not compared
        ([{"item_id": "latte", "options": {"temperature": "ice"}}], [got_line("latte", temperature="ice", size="large", milk="oat")], True),
        # a named option with another value, or missing
        ([{"item_id": "latte", "options": {"temperature": "ice"}}], [got_line("latte", temperature="hot")], False),
        ([{"item_id": "latte", "options": {"temperature": "ice"}}], [got_line("latte", size="large")], False),
        # amount not named: any amount; named: that one; "regular" is the turn result's unstated amount
        ([{"item_id": "latte", "options": {"milk": "oat"}}], [got_line("latte", milk=("oat", "extra"))], True),
        ([{"item_id": "latte", "options": {"milk": {"value": "oat", "amount": "extra"}}}], [got_line("latte", milk=("oat", "light"))], False),
        ([{"item_id": "latte", "options": {"milk": {"value": "oat", "amount": "extra"}}}], [got_line("latte", milk=("oat", "extra"))], True),
        ([{"item_id": "latte", "options": {"milk": {"value": "oat", "amount": "regular"}}}],
         [{"item_id": "latte", "quantity": 1, "options": [{"group": "milk", "value": "oat"}]}], True),
        # same item twice with different options, in either order
        ([{"item_id": "latte", "quantity": 2, "options": {"temperature": "hot"}}, {"item_id": "latte", "options": {"temperature": "ice"}}],
         [got_line("latte", 1, temperature="ice"), got_line("latte", 2, temperature="hot")], True),
        # the first fitting line is not the right one: needs a matching, not greedy pairing
        ([{"item_id": "latte"}, {"item_id": "latte", "options": {"temperature": "ice"}}],
         [got_line("latte", temperature="ice"), got_line("latte", temperature="hot")], True),
        ([], [], True),
        ([], [got_line("latte")], False),
    ],
    ids=["reordered", "quantity", "extra-line", "missing-line", "split-vs-merged", "unnamed-options-ignored",
         "other-value", "option-absent", "any-amount", "wrong-amount", "right-amount", "regular-default",
         "same-item-two-options", "not-greedy", "both-empty", "expected-empty"],
)
def test_lines_match(expected, got, match) -> None:
    assert lines_match(lines(*expected), got) is match
    verdict = check_turn(turn(lines=expected), result(lines=got))
    assert verdict.passed is match and verdict.order_ok is match


def test_a_failed_lines_check_says_expected_and_got() -> None:
    verdict = check_turn(
        turn(lines=[{"item_id": "cafe_latte", "quantity": 2, "options": {"temperature": "ice"}}]),
        result(lines=[got_line("cafe_latte", 1, temperature="hot", size="regular", milk=("oat", "extra"))]),
    )
    # the got side shows only the groups the story compares (the turn result lists every default)
    assert verdict.failures == ["lines: expected [2 x cafe_latte {temperature: ice}], got [1 x cafe_latte {temperature: hot}]"]
    assert describe_lines([got_line("latte", 1, milk=("oat", "extra"), size="large")]) == "1 x latte {milk: oat/extra, size: large}"
    assert describe_lines([]) == "nothing"


def test_cart_and_total() -> None:
    cart = {"lines": [got_line("americano", 2, temperature="ice")], "total": 9000, "currency": "KRW"}
    ok = check_turn(turn(cart=[{"item_id": "americano", "quantity": 2}], total=9000), result(cart=cart))
    assert ok.passed and ok.order_ok is True
    wrong_total = check_turn(turn(cart=[{"item_id": "americano", "quantity": 2}], total=4500), result(cart=cart))
    assert wrong_total.order_ok is False and wrong_total.failures == ["total: expected 4500, got 9000"]
    empty = check_turn(turn(cart=[]), result(cart=cart))
    assert not empty.passed and "cart: expected [nothing], got [2 x americano]" in empty.failures
    assert check_turn(turn(cart=[]), result()).passed
    unreported = check_turn(turn(cart=[], total=0), result(cart=None))
    assert unreported.failures == ["cart: the answer does not report `cart`", "total: the answer does not report `cart.total`"]


# --- the other checks --------------------------------------------------------------------------------


def test_intent_status_reason_and_context() -> None:
    asked = result(status="needs_clarification", reason="missing_option", intent={"name": "order.add", "confidence": 0.8})
    verdict = check_turn(turn(intent="order.change", status="ok", reason=None), asked)
    assert verdict.intent_ok is False and verdict.order_ok is None
    assert verdict.failures == [
        "intent: expected order.change, got order.add (needs_clarification, missing_option)",
        "status: expected ok, got needs_clarification (missing_option)",
        "reason: expected none, got missing_option",
    ]
    silent = check_turn(turn(intent="order.add"), result(status="no_speech", reason="no_speech", intent=None))
    assert silent.failures == ["intent: expected order.add, got none (no_speech, no_speech)"]
    assert check_turn(turn(intent="order.add", reason=None, status="ok"), result()).passed


def test_faq_ordered_handoff_and_sentiment() -> None:
    assert check_turn(turn(faq="refund", ordered=False, handoff=False), result(faq="refund")).passed
    assert check_turn(turn(faq="refund"), result(faq="delivery")).failures == ["faq: expected refund, got delivery"]
    assert check_turn(turn(faq=None), result(faq="refund")).failures == ["faq: expected none, got refund"]
    assert check_turn(turn(ordered=True), result(order_id="o-1")).passed
    assert check_turn(turn(ordered=True), result(reason="empty_cart")).failures == ["ordered: expected an order_id, got none (empty_cart)"]
    assert check_turn(turn(ordered=False), result(order_id="o-1")).failures == ["ordered: expected no order, got order_id o-1"]
    assert check_turn(turn(handoff=True), result(handoff=True)).passed
    assert not check_turn(turn(handoff=True), result()).passed
    # a turn result without `sentiment` (older gateways) reads as neutral
    assert check_turn(turn(sentiment="neutral"), result()).passed
    assert "read as neutral" in check_turn(turn(sentiment="frustrated"), result()).failures[0]
    assert check_turn(turn(sentiment="frustrated"), result(sentiment="frustrated")).passed
    assert not check_turn(turn(sentiment="neutral"), result(sentiment="frustrated")).passed


def test_reply_and_quick_replies() -> None:
    answer = result(reply={"text": "Sorry about that. Your cart: latte $4.50", "quick_replies": ["Talk to staff", "Place order"]})
    assert check_turn(turn(reply_has=["sorry", "$4.50"], reply_lacks=["refund"], quick_replies_has=["Talk to staff"]), answer).passed
    verdict = check_turn(turn(reply_has=["죄송"], reply_lacks=["CART"], quick_replies_has=["talk to staff"]), answer)
    assert verdict.failures == [
        "reply_has: [죄송] not in the reply 'Sorry about that. Your cart: latte $4.50'",
        "reply_lacks: [CART] in the reply 'Sorry about that. Your cart: latte $4.50'",
        "quick_replies_has: [talk to staff] not among [Talk to staff, Place order]",  # labels are exact
    ]


def test_an_error_answer_fails_every_score_the_turn_counts_in() -> None:
    error = {"error": {"code": "unknown_store", "message": "no menu for store 'x'", "http_status": 404}}
    verdict = check_turn(turn(intent="order.add", cart=[]), error)
    assert verdict.intent_ok is False and verdict.order_ok is False
    assert verdict.failures == ["the gateway answered an error: unknown_store: no menu for store 'x'"]
    unscored = check_turn(turn(reply_has=["x"]), error)
    assert (unscored.intent_ok, unscored.order_ok, unscored.passed) == (None, None, False)


def test_kakao_answer_maps_to_a_turn_result_without_inventing_fields() -> None:
    cart = {"lines": [got_line("bulgogi_burger", 2)], "total": 11000, "currency": "KRW"}
    wire = SkillResponse.simple("불고기버거 2개 담았어요", ["주문 완료"], data={
        "status": "ok", "intent": "order.add", "cart": cart, "order_id": None, "handoff": False,
    }).to_wire()
    mapped = kakao_turn_result(wire)
    assert mapped == {"reply": {"text": "불고기버거 2개 담았어요", "quick_replies": ["주문 완료"]}, "status": "ok",
                      "intent": {"name": "order.add"}, "cart": cart, "order_id": None, "handoff": False}
    # the gateway's own route puts the whole turn result in `data`; the reply is the template's
    whole = result(reply={"text": "ignored", "quick_replies": []}, lines=[got_line("latte")], sentiment="frustrated")
    full = kakao_turn_result(SkillResponse.simple("shown", ["Talk to staff"], data=whole).to_wire())
    assert full == whole | {"reply": {"text": "shown", "quick_replies": ["Talk to staff"]}}
    verdict = check_turn(turn(intent="order.add", cart=[{"item_id": "bulgogi_burger", "quantity": 2}], lines=[], reason=None), mapped)
    assert verdict.intent_ok is True
    assert verdict.failures == ["reason: the answer does not report `reason`", "lines: the answer does not report `lines`"]
    # once the route reports them, they are checked
    richer = SkillResponse.simple("x", data={"intent": "faq", "faq": "refund", "reason": None, "lines": []}).to_wire()
    assert check_turn(turn(intent="faq", faq="refund", reason=None, lines=[]), kakao_turn_result(richer)).passed


# --- scores ---------------------------------------------------------------------------------------


def record(name: str, lang: str, tags: tuple[str, ...], *verdicts) -> StoryRecord:
    turns = tuple(TurnRecord(n, f"t{n}", "text", v) for n, v in enumerate(verdicts, start=1))
    return StoryRecord(Path(f"{lang}.yaml"), name, "store", lang, tags, f"s-{name}", turns)


def test_score_arithmetic_per_language_and_tag() -> None:
    ok_add = check_turn(turn(intent="order.add", lines=[]), result())
    wrong_intent = check_turn(turn(intent="order.change", lines=[]), result())  # intent wrong, order right
    wrong_order = check_turn(turn(intent="order.add", total=1), result())  # intent right, order wrong
    reply_only = check_turn(turn(reply_has=["x"]), result())  # in no score but turns passed
    stories = [
        record("a", "ko", ("add",), ok_add, ok_add),
        record("b", "ko", ("add", "change"), ok_add, wrong_intent),
        record("c", "en", ("change",), wrong_order, reply_only),
    ]
    ko, en = by_language(stories)["ko"], by_language(stories)["en"]
    assert (ko.intent_ok, ko.intent_n, ko.order_ok, ko.order_n) == (3, 4, 4, 4)
    assert (ko.turns_ok, ko.turns_n, ko.stories_ok, ko.stories_n) == (3, 4, 1, 2)
    assert (ko.intent_accuracy, ko.order_match, ko.stories_passed) == (0.75, 1.0, 0.5)
    assert (en.intent_ok, en.intent_n, en.order_ok, en.order_n, en.turns_ok, en.turns_n) == (1, 1, 0, 1, 0, 2)
    tags = by_tag(stories)
    assert list(tags) == ["add", "change"]
    assert tags["add"].stories_n == 2 and tags["change"].stories_n == 2  # b counts in both
    assert (tags["change"].intent_ok, tags["change"].intent_n) == (2, 3)
    overall = tally(stories)
    assert (overall.turns_n, overall.turns_ok, overall.intent_n, overall.order_n) == (6, 3, 5, 5)
    assert gate_failures(stories, 0.75) == ["en: exact order match 0.000 (0/1) is below 0.75"]
    assert gate_failures(stories, 0.8) == [
        "en: exact order match 0.000 (0/1) is below 0.8",
        "ko: intent accuracy 0.750 (3/4) is below 0.8",
    ]
    assert stories[1].failure_lines() == ['turn 2 "t2": intent: expected order.change, got order.add']
    dumped = json.loads(json.dumps(results_json(stories, {"target": "test"})))
    assert dumped["by_language"]["ko"]["intent_accuracy"] == 0.75 and len(dumped["stories"]) == 3
    assert dumped["stories"][2]["turns"][0]["failures"] == ["total: expected 1, got 0"]


def test_a_language_with_nothing_to_measure_has_no_rate_and_passes_the_gate() -> None:
    stories = [record("a", "en", (), check_turn(turn(reply_has=["x"]), result()))]
    t = tally(stories)
    assert t.intent_accuracy is None and t.order_match is None and t.turns_passed == 0.0
    assert gate_failures(stories, 0.97) == []


# --- the runner, against canned answers ---------------------------------------------------------------


class CannedGateway:
    """Answers typed text from a script (text -> turn result fields), records every request, and
    tracks how many sessions were inside a request at once."""

    def __init__(self, script: dict[str, dict[str, Any]]) -> None:
        self.script = script
        self.requests: list[tuple[str, str, dict[str, Any]]] = []  # (route, session, details)
        self.in_flight: set[str] = set()
        self.most_at_once = 0
        self.overlap_in_a_session = False

    async def _hold(self, session: str) -> None:
        if session in self.in_flight:
            self.overlap_in_a_session = True
        self.in_flight.add(session)
        self.most_at_once = max(self.most_at_once, len(self.in_flight))
        await asyncio.sleep(0.01)
        self.in_flight.discard(session)

    def _answer(self, text: str, session: str) -> dict[str, Any]:
        return result(session=session, transcript=text, **self.script.get(text, {"status": "not_understood", "intent": None}))

    async def text(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body["store"] == "no-such-store":
            return web.json_response({"error": {"code": "unknown_store", "message": "no menu"}}, status=404)
        self.requests.append(("text", body["session"], body))
        await self._hold(body["session"])
        return web.json_response(self._answer(body["text"], body["session"]))

    async def kakao(self, request: web.Request) -> web.Response:
        body = await request.json()
        session = body["userRequest"]["user"]["id"]
        self.requests.append(("kakao", session, {"query": dict(request.query), **body}))
        await self._hold(session)
        answer = self._answer(body["userRequest"]["utterance"], session)
        data = {k: answer[k] for k in ("status", "cart", "order_id", "handoff")}
        data["intent"] = answer["intent"]["name"] if answer["intent"] else None
        return web.json_response(SkillResponse.simple(answer["reply"]["text"], answer["reply"]["quick_replies"], data).to_wire())

    async def voice(self, request: web.Request) -> web.Response:
        audio = await request.read()
        session = request.query["session"]
        self.requests.append(("voice", session, {"query": dict(request.query), "bytes": len(audio), "type": request.content_type}))
        await self._hold(session)
        return web.json_response(self._answer("<audio>", session))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/text/orders", self.text)
        app.router.add_post("/kakao/skill", self.kakao)
        app.router.add_post("/v1/voice/orders", self.voice)
        return app


SCRIPT = {
    "latte": {"lines": [got_line("latte")], "cart": {"lines": [got_line("latte")], "total": 450, "currency": "USD"}},
    "yes": {"intent": {"name": "order.confirm", "confidence": 1.0}, "order_id": "o-1"},
    "<audio>": {"lines": [got_line("latte", 1, size="large", temperature="ice", milk="oat")]},
}

STORIES = """\
store: coffee-en
lang: en
stories:
{stories}
"""


def story_file(tmp_path: Path, n: int) -> Path:
    body = "\n".join(
        f"  - name: s{k}\n    tags: [{'even' if k % 2 == 0 else 'odd'}]\n    turns:\n"
        "      - {text: latte, intent: order.add, lines: [{item_id: latte}], total: 450}\n"
        "      - {text: yes, via: kakao, intent: order.confirm, ordered: true}\n"
        "      - {audio: en/coffee_latte_large_iced_oat.wav, lines: [{item_id: latte, options: {size: large}}]}\n"
        "      - {text: what, intent: faq}"
        for k in range(n)
    )
    return write(tmp_path, STORIES.format(stories=body))


async def test_runner_sends_each_story_in_its_own_session_over_each_route(aiohttp_client, tmp_path: Path) -> None:
    canned = CannedGateway(SCRIPT)
    server = await aiohttp_client(canned.app())
    files = load_stories([story_file(tmp_path, 6)], FIXTURES)
    selected = select(files)
    assert needs_model(selected)
    async with aiohttp.ClientSession() as http:
        client = StoryClient(str(server.make_url("/")), FIXTURES, http)
        seen: list[str] = []
        records = await replay_all(client, selected, concurrency=2, on_story=lambda r: seen.append(r.name))

    assert [r.name for r in records] == [f"s{k}" for k in range(6)] and sorted(seen) == sorted(r.name for r in records)
    sessions = {r.session for r in records}
    assert len(sessions) == 6
    for record in records:
        mine = [(route, details) for route, session, details in canned.requests if session == record.session]
        assert [route for route, _ in mine] == ["text", "kakao", "voice", "text"]  # in order, one session
        text, kakao, voice, _ = (d for _, d in mine)
        assert text == {"store": "coffee-en", "session": record.session, "text": "latte", "lang": "en"}
        assert kakao["query"] == {"store": "coffee-en"} and kakao["bot"]["id"] == "coffee-en"
        assert kakao["userRequest"]["utterance"] == "yes" and kakao["userRequest"]["lang"] == "en"
        assert voice["query"] == {"store": "coffee-en", "session": record.session, "lang": "en"}
        assert voice["type"] == "audio/wav" and voice["bytes"] == (FIXTURES / "en/coffee_latte_large_iced_oat.wav").stat().st_size
        assert [t.verdict.passed for t in record.turns] == [True, True, True, False]
        assert record.turns[3].verdict.failures == ["intent: expected faq, got none (not_understood)"]
        assert [t.route for t in record.turns] == ["text", "kakao", "voice", "text"]
    assert 1 < canned.most_at_once <= 2  # stories overlap, bounded
    assert not canned.overlap_in_a_session  # a story's turns never do
    t = tally(records)
    assert (t.intent_ok, t.intent_n, t.order_ok, t.order_n, t.stories_ok) == (12, 18, 12, 12, 0)


async def test_runner_records_http_errors_as_failed_turns(aiohttp_client, tmp_path: Path) -> None:
    canned = CannedGateway(SCRIPT)
    server = await aiohttp_client(canned.app())
    path = write(tmp_path, "store: no-such-store\nlang: en\nstories:\n  - {name: a, turns: [{text: latte, intent: order.add}]}\n")
    async with aiohttp.ClientSession() as http:
        client = StoryClient(str(server.make_url("/")), FIXTURES, http)
        [record] = await replay_all(client, select(load_stories([path])))
    assert record.turns[0].verdict.failures == ["the gateway answered an error: unknown_store: no menu"]
    assert record.turns[0].got["error"]["http_status"] == 404


def test_select_by_language_and_tag() -> None:
    files = load_stories([DATA / "good"])
    assert [s.name for _, s in select(files, lang="en")] == ["a latte by voice"]
    assert [s.name for _, s in select(files, tags=["faq", "confirm"])] == ["아메리카노 두 잔 주문", "카카오로 묻는 영업시간"]
    assert not needs_model(select(files, lang="ko"))


# --- the command, against the real gateway app in this process (typed turns: no model needed) --------


def test_cli_replays_stories_against_an_in_process_gateway(tmp_path: Path, capsys) -> None:
    out = tmp_path / "results.json"
    argv = ["stories", str(DATA / "good" / "cafe_ko.yaml"), "--menus", str(ROOT / "menus"), "--data-dir", str(tmp_path / "data"),
            "--out", str(out), "--fail-under", "0.97"]
    assert main(argv) == 0, capsys.readouterr().out
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["by_language"]["ko"]["stories_n"] == 2 and report["overall"]["turns_ok"] == 3
    assert "gate passed" in capsys.readouterr().out
    assert not (tmp_path / "data").exists()  # the in-process gateway keeps its database elsewhere, and drops it


def test_cli_gate_fails_and_shows_failures(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, "store: cafe-ko\nlang: ko\nstories:\n  - name: 틀린 기대\n    turns:\n"
                 "      - {text: 아이스 아메리카노 두 잔 주세요, intent: order.cancel, total: 1}\n")
    argv = ["stories", str(path), "--menus", str(ROOT / "menus"), "--fail-under", "0.97", "--show-failures"]
    assert main(argv) == 1
    printed = capsys.readouterr().out
    assert "intent: expected order.cancel, got order.add" in printed and "total: expected 1, got 9000" in printed
    assert "GATE" in printed and "ko: intent accuracy 0.000 (0/1)" in printed


def test_cli_reports_a_bad_story_file(tmp_path: Path, capsys) -> None:
    assert main(["stories", str(DATA / "bad"), "--menus", str(ROOT / "menus")]) == 2
    assert "intnet: unknown key" in capsys.readouterr().err
