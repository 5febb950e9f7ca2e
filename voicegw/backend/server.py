"""The reference FAQ and order skill server: an aiohttp application speaking Open Builder's protocol.

The gateway runs it on a loopback port when no external backend URL is configured. Every route
wants the server's key (``Authorization: Bearer``); every order line is checked, priced and named
again from the server's own copy of the store's menu (menu_check.py); a turn sent with an
idempotency key is applied once and its answer kept for the retries. Handlers parse, call the pure
dialogue, and do storage I/O off the loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from voicegw.backend.client import AUTHORIZATION, bearer
from voicegw.backend.menu_check import checked_understanding
from voicegw.backend.records import FaqEntry
from voicegw.backend.skill import Channel, SkillRequest, SkillResponse, VoicegwExtra, operator_label
from voicegw.backend.storage import Storage
from voicegw.dialogue.cart import Cart
from voicegw.dialogue.turns import TurnOutcome, apply_turn, order_placed
from voicegw.dialogue import replies as R
from voicegw.errors import RequestError, VoicegwError
from voicegw.jsonbody import parse_json
from voicegw.nlu.builtin_faq import builtin_answer
from voicegw.nlu.counting import item_counters
from voicegw.nlu.menu import FaqEntry as MenuFaqEntry
from voicegw.nlu.menu import Menu
from voicegw.nlu.types import Intent, IntentName, OrderLine, Understanding

log = logging.getLogger(__name__)

STORAGE_KEY = web.AppKey("skill_storage", Storage)
MENUS_KEY = web.AppKey("skill_menus", Mapping)


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


@web.middleware
async def _errors(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except VoicegwError as err:
        return _error(err.http_status, err.code, err.message)
    except web.HTTPException as err:
        if err.status < 400:
            raise
        return _error(err.status, "not_found" if err.status == 404 else "http_error", err.reason or "")
    except Exception:
        log.exception("skill server failed on %s %s", request.method, request.path)
        return _error(500, "internal_error", "the skill server failed on this request; it has been logged")


def _make_auth_middleware(key: str):
    expected = bearer(key)[AUTHORIZATION].encode()

    @web.middleware
    async def _auth(request: web.Request, handler) -> web.StreamResponse:
        # Constant-time: the time a wrong key takes says nothing about the right one.
        if not hmac.compare_digest(request.headers.get(AUTHORIZATION, "").encode(), expected):
            return _error(401, "unauthorized", "the skill server wants its key: Authorization: Bearer <key>")
        return await handler(request)

    return _auth


async def _json_body(request: web.Request) -> Any:
    # The gateway's strict parser: deep nesting, huge integers and unpaired surrogates (which
    # SQLite cannot store) are a 400 here, not a 500 later.
    return parse_json(await request.read(), code="bad_json")


def _faq_entries(menu: Menu | Mapping[str, Any]) -> list[FaqEntry]:
    entries = menu.faq if isinstance(menu, Menu) else menu.get("faq", [])
    return [FaqEntry.from_public(e.model_dump() if isinstance(e, MenuFaqEntry) else e) for e in entries]


def seed_faq(storage: Storage, menus: Mapping[str, Menu | Mapping[str, Any]], *, overwrite: bool = False) -> int:
    """Store the menus' ``faq:`` entries under each store id (blocking); returns how many were written.

    Entries already stored are kept unless ``overwrite``: an operator's edit (PUT /faq) outlives
    a restart.
    """
    written = 0
    for store, menu in menus.items():
        entries = _faq_entries(menu)
        if not overwrite:
            have = {e.id for e in storage.list_faq(store)}
            entries = [e for e in entries if e.id not in have]
        written += storage.upsert_faq(store, entries)
    return written


def _refused(code: str, where: str, err: ValidationError) -> RequestError:
    first = err.errors()[0]
    inner = ".".join(str(p) for p in first["loc"])
    return RequestError(code, f"{where}{': ' + inner if inner else ''}: {first['msg']}")


def _understanding(req: SkillRequest, extra: VoicegwExtra) -> Understanding:
    """The understanding voicegw sent in full, else rebuilt from the plain skill fields; any
    field out of its model's range is a 400, never a 500."""
    if extra.understanding is not None:
        try:
            return Understanding.model_validate(extra.understanding)
        except ValidationError as err:
            raise _refused("bad_understanding", "clientExtra.understanding", err) from err
    try:
        name = IntentName(req.action.name)
    except ValueError:
        name = IntentName.UNKNOWN  # a plain Open Builder block name we do not serve
    try:
        lines = tuple(OrderLine.model_validate(d) for d in extra.order.lines)
    except ValidationError as err:
        raise _refused("bad_order_lines", "clientExtra.order.lines", err) from err
    try:
        return Understanding(
            intent=Intent(name=name, confidence=extra.confidence if extra.confidence is not None else 1.0),
            lines=lines,
            reason=extra.reason,
            candidates=tuple(extra.candidates),
        )
    except ValidationError as err:  # e.g. clientExtra.confidence outside [0, 1]
        raise _refused("bad_skill_request", "clientExtra", err) from err


async def handle_skill(request: web.Request) -> web.Response:
    storage, menus = request.app[STORAGE_KEY], request.app[MENUS_KEY]
    body = await _json_body(request)
    try:
        req = SkillRequest.model_validate(body)
        extra = VoicegwExtra.of(req)
    except ValidationError as err:
        raise _refused("bad_skill_request", "not a skill request", err) from err
    store = extra.store or req.bot.id
    session = extra.session or req.user_request.user.id
    if not store or not session:
        raise RequestError("bad_skill_request", "no store (clientExtra.store or bot.id) or session (userRequest.user.id)")
    menu = menus.get(store)
    if menu is None:
        return _error(404, "unknown_store", f"no menu for store {store!r}")
    language = extra.language or req.user_request.lang or menu.language
    understanding = checked_understanding(_understanding(req, extra), menu, R.language_of(language))
    turn = Turn(store, session, language, menu, understanding, extra.channel,
                scoped_idempotency_key(store, session, extra.idempotency_key) if extra.idempotency_key else None,
                extra.request_digest or _digest(body))
    # The JSON as stored for retries, sent as it is.
    return web.Response(text=await asyncio.to_thread(_run_turn, storage, turn), content_type="application/json")


def _digest(body: Any) -> str:
    """What a plain skill request said, for telling a retry from another request under one key."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _response(outcome: TurnOutcome, understanding: Understanding, language: str) -> SkillResponse:
    data = {
        "status": outcome.status,
        "reason": outcome.reason,
        "intent": (outcome.intent or understanding.intent.name).value,
        "sentiment": understanding.sentiment,
        "cart": outcome.cart.to_public(),
        "order_id": outcome.order_id,
        "handoff": outcome.handoff,
    }
    if isinstance(outcome.reply.text, R.Rendered):
        # Which reply this is and what filled it: the gateway's A/B tests say it another way.
        data["reply"] = {"kind": outcome.reply.text.kind, "values": dict(outcome.reply.text.values)}
    response = SkillResponse.simple(outcome.reply.text, outcome.reply.quick_replies, data)
    if outcome.handoff:
        response = response.with_operator_button(operator_label(language))
    return response


def scoped_idempotency_key(store: str, session: str, key: str) -> str:
    """What the orders table stores for a client's idempotency key: a key is one session's, so
    another session reusing it orders anew instead of being shown this session's order."""
    return hashlib.sha256(json.dumps([store, session, key]).encode()).hexdigest()


@dataclass(frozen=True)
class Turn:
    """One checked skill request."""

    store: str
    session: str
    language: str
    menu: Menu
    understanding: Understanding
    channel: Channel
    key: str | None
    """The client's idempotency key, scoped to the store and session."""
    digest: str
    """What the client sent, hashed (the gateway's digest of the customer's request when it sent one)."""


def _run_turn(storage: Storage, t: Turn) -> str:
    """The blocking part of a turn (a worker thread): load the session, apply the turn, store or
    submit, all in one transaction, so a retry racing the original or a second gateway process
    waits for this turn instead of both reading the old cart and one losing. Returns the skill
    response JSON; a keyed turn stores it in the same transaction, and its retry gets it back."""
    u, language = t.understanding, t.language
    counters = item_counters(t.menu, R.language_of(language))
    faq_answer = None
    if u.intent.name is IntentName.FAQ and u.candidates and u.reason is None:
        entry = storage.get_faq(t.store, u.candidates[0])
        faq_answer = entry.answer(language) if entry is not None else builtin_answer(u.candidates[0], R.language_of(language))
    with storage.session_turn(t.store, t.session) as turn:
        if t.key is not None and (first := turn.find_reply(t.key)) is not None:
            if not hmac.compare_digest(first.digest, t.digest):
                raise RequestError("idempotency_key_reused",
                                   "this Idempotency-Key was used for another request in this session", http_status=409)
            return _replayed(first.response)
        cart = turn.cart or Cart(currency=t.menu.currency)
        last_order_id = turn.last_order_id() if u.intent.name is IntentName.ORDER_STATUS and not cart.lines else None
        outcome = apply_turn(cart, u, language=language, state=turn.state, menu=t.menu, faq_answer=faq_answer,
                             last_order_id=last_order_id, counters=counters)
        state = outcome.state or turn.state
        if outcome.submit:
            order = turn.submit(t.channel, outcome.cart, t.key)
            outcome = order_placed(outcome, order.id, order.lines, order.total, order.currency,
                                   language=language, counters=counters)
        if outcome.cart != cart or state != turn.state or outcome.order_id:
            turn.save(outcome.cart, state)
        response = json.dumps(_response(outcome, u, language).to_wire(), ensure_ascii=False)
        if t.key is not None:
            turn.save_reply(t.key, t.digest, response)
        return response


def _replayed(response: str) -> str:
    """A stored answer, marked as given before: the gateway logs the turn once, not per retry."""
    body = json.loads(response)
    body.setdefault("data", {})["replayed"] = True
    return json.dumps(body, ensure_ascii=False)


# --- operator endpoints ------------------------------------------------------------------


async def handle_list_orders(request: web.Request) -> web.Response:
    storage = request.app[STORAGE_KEY]
    q = request.query
    try:
        limit = min(max(int(q.get("limit", "100")), 1), 1000)
    except ValueError as err:
        raise RequestError("bad_limit", "limit must be an integer") from err
    orders = await asyncio.to_thread(storage.list_orders, q.get("store"), q.get("session"), limit)
    return web.json_response({"orders": [o.to_public() for o in orders]})


async def handle_get_order(request: web.Request) -> web.Response:
    order = await asyncio.to_thread(request.app[STORAGE_KEY].get_order, request.match_info["order_id"])
    if order is None:
        return _error(404, "order_not_found", f"no order {request.match_info['order_id']!r}")
    return web.json_response(order.to_public())


def _store_param(request: web.Request) -> str:
    store = request.query.get("store", "")
    if not store:
        raise RequestError("missing_store", "the query needs ?store=")
    if store not in request.app[MENUS_KEY]:
        raise RequestError("unknown_store", f"no menu for store {store!r}", http_status=404)
    return store


async def handle_list_faq(request: web.Request) -> web.Response:
    store = _store_param(request)
    entries = await asyncio.to_thread(request.app[STORAGE_KEY].list_faq, store)
    return web.json_response({"store": store, "faq": [e.to_public() for e in entries]})


async def handle_put_faq(request: web.Request) -> web.Response:
    """Body: ``{"faq": [{id, category, questions{lang:[..]}, answer{lang:..}}]}`` or the bare list."""
    store = _store_param(request)
    body = await _json_body(request)
    raw = body.get("faq") if isinstance(body, dict) else body
    if not isinstance(raw, list):
        raise RequestError("bad_faq", "the body must be {\"faq\": [entries]} or a list of entries")
    try:
        entries = [FaqEntry.from_public(e) for e in raw]
    except ValueError as err:
        raise RequestError("bad_faq", str(err)) from err
    storage = request.app[STORAGE_KEY]
    await asyncio.to_thread(storage.upsert_faq, store, entries)
    listed = await asyncio.to_thread(storage.list_faq, store)
    return web.json_response({"store": store, "faq": [e.to_public() for e in listed]})


def create_skill_app(storage: Storage, menus: Mapping[str, Menu], *, key: str) -> web.Application:
    """The skill server; ``POST /skill`` plus operator reads of orders and edits of FAQ, every one
    for callers that send ``key`` (``bearer(key)``); stores without a menu in ``menus`` are unknown.

    FAQ seeding from ``menus`` is left to the caller (``seed_faq``), so restarting the server
    does not overwrite FAQ answers an operator edited.
    """
    if len(key) < 16:
        raise ValueError("the skill server's key must be at least 16 characters")
    app = web.Application(middlewares=[_errors, _make_auth_middleware(key)])
    app[STORAGE_KEY] = storage
    app[MENUS_KEY] = dict(menus)
    app.router.add_post("/skill", handle_skill)
    app.router.add_get("/orders", handle_list_orders)
    app.router.add_get("/orders/{order_id}", handle_get_order)
    app.router.add_get("/faq", handle_list_faq)
    app.router.add_put("/faq", handle_put_faq)
    return app
