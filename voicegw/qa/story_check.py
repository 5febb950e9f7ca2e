"""One story turn's expectations against the turn result the gateway answered (docs/stories.md).

Pure: :func:`check_turn` takes the expectation and the turn result JSON (the ``/v1/text/orders``
shape; the runner maps ``/kakao/skill`` answers onto it and leaves out what that route does not
report) and says which checks held, each failure as one readable "expected ..., got ..." line.
Lines are compared by the eval's own per-line rule (:mod:`voicegw.qa.scoring`: item, quantity,
the named options' values and amounts), so a story and a manifest clip agree on what "the same
line" means; lines are then paired as a multiset (a matching, not first come first served).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from voicegw.qa.scoring import option_ok, predicted_options
from voicegw.qa.story_format import ORDER_KEYS, StoryLine, StoryTurn

#: What a turn result without a ``sentiment`` field means (gateways from before the field).
DEFAULT_SENTIMENT = "neutral"


@dataclass(frozen=True)
class Check:
    key: str
    """The story key checked (intent, lines, reply_has, ...), or ``answer`` for a failed request."""
    ok: bool
    message: str = ""
    """For a failed check: what was expected and what came back."""


@dataclass(frozen=True)
class TurnVerdict:
    checks: tuple[Check, ...]
    intent_ok: bool | None
    """None when the turn states no ``intent``."""
    order_ok: bool | None
    """All of ``lines``, ``cart`` and ``total`` that the turn states held; None when it states none."""

    @property
    def passed(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[str]:
        return [c.message for c in self.checks if not c.ok]


def check_turn(turn: StoryTurn, result: Mapping[str, Any]) -> TurnVerdict:
    """Every expectation the turn states, checked against ``result``.

    A result with an ``error`` (the gateway refused the request) fails the turn and every score
    it counts in. A field the answer does not carry (a skill answer whose ``data`` has no
    ``lines``) fails the check that needs it, saying so, rather than passing unchecked.
    """
    error = result.get("error")
    if error is not None:
        message = f"the gateway answered an error: {_error_text(error)}"
        return TurnVerdict(
            (Check("answer", False, message),),
            intent_ok=False if turn.checks_intent else None,
            order_ok=False if turn.checks_order else None,
        )
    checks = tuple(_CHECKS[key](turn, result) for key in _CHECKS if turn.expects(key))
    ok = {c.key: c.ok for c in checks}
    order = [ok[k] for k in ORDER_KEYS if k in ok]
    return TurnVerdict(
        checks,
        intent_ok=ok.get("intent"),
        order_ok=all(order) if order else None,
    )


# --- one check per key ------------------------------------------------------------------------

_MISSING = object()


def _get(result: Mapping[str, Any], *path: str) -> Any:
    value: Any = result
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return _MISSING
        value = value[key]
    return value


def _not_reported(key: str, field: str) -> Check:
    return Check(key, False, f"{key}: the answer does not report `{field}`")


def _same(key: str, expected: Any, got: Any, note: str = "") -> Check:
    if expected == got:
        return Check(key, True)
    return Check(key, False, f"{key}: expected {_show(expected)}, got {_show(got)}{note}")


def _check_intent(turn: StoryTurn, result: Mapping[str, Any]) -> Check:
    got = _get(result, "intent", "name")
    if got is _MISSING:
        got = None if result.get("intent", _MISSING) is None else _MISSING
    if got is _MISSING:
        return _not_reported("intent", "intent")
    return _same("intent", turn.intent, got, _context(result))


def _check_status(turn: StoryTurn, result: Mapping[str, Any]) -> Check:
    got = _get(result, "status")
    if got is _MISSING:
        return _not_reported("status", "status")
    return _same("status", turn.status, got, _context(result, status=False))


def _check_reason(turn: StoryTurn, result: Mapping[str, Any]) -> Check:
    got = _get(result, "reason")
    return _not_reported("reason", "reason") if got is _MISSING else _same("reason", turn.reason, got)


def _check_faq(turn: StoryTurn, result: Mapping[str, Any]) -> Check:
    got = _get(result, "faq")
    return _not_reported("faq", "faq") if got is _MISSING else _same("faq", turn.faq, got, _context(result))


def _check_handoff(turn: StoryTurn, result: Mapping[str, Any]) -> Check:
    got = _get(result, "handoff")
    return _not_reported("handoff", "handoff") if got is _MISSING else _same("handoff", turn.handoff, bool(got))


def _check_sentiment(turn: StoryTurn, result: Mapping[str, Any]) -> Check:
    got = result.get("sentiment")
    note = "" if got else " (the answer has no `sentiment`: read as neutral)"
    return _same("sentiment", turn.sentiment, got or DEFAULT_SENTIMENT, note)


def _check_ordered(turn: StoryTurn, result: Mapping[str, Any]) -> Check:
    order_id = _get(result, "order_id")
    if order_id is _MISSING:
        return _not_reported("ordered", "order_id")
    if bool(order_id) == turn.ordered:
        return Check("ordered", True)
    if turn.ordered:
        return Check("ordered", False, f"ordered: expected an order_id, got none{_context(result)}")
    return Check("ordered", False, f"ordered: expected no order, got order_id {order_id}")


def _lines_check(key: str, expected: Sequence[StoryLine], got: Any) -> Check:
    if got is _MISSING or got is None:
        return _not_reported(key, "cart" if key == "cart" else key)
    if lines_match(expected, got):
        return Check(key, True)
    # Only the groups the story compares: the turn result lists every default too.
    groups = {g for line in expected for g in line.options}
    return Check(key, False, f"{key}: expected [{describe_lines(expected)}], got [{describe_lines(got, groups)}]")


def line_fits(expected: StoryLine, got: Mapping[str, Any]) -> bool:
    """Same item and quantity, and every option the story names has its value (and amount, if named)."""
    if got.get("item_id") != expected.item_id or got.get("quantity") != expected.quantity:
        return False
    options = predicted_options(got)
    return all(option_ok(want, options.get(group)) for group, want in expected.options.items())


def lines_match(expected: Sequence[StoryLine], got: Sequence[Mapping[str, Any]]) -> bool:
    """The two lists are the same multiset of lines: each expected line paired with its own got line.

    A matching (augmenting paths), because the first fitting line is not always the right one:
    ``[latte, latte {ice}]`` against ``[latte {ice}, latte {hot}]`` only pairs one way.
    """
    if len(expected) != len(got):
        return False
    holder: dict[int, int] = {}  # got line -> the expected line it is paired with

    def pair(e: int, tried: set[int]) -> bool:
        for g in range(len(got)):
            if g not in tried and line_fits(expected[e], got[g]):
                tried.add(g)
                if g not in holder or pair(holder[g], tried):
                    holder[g] = e
                    return True
        return False

    return all(pair(e, set()) for e in range(len(expected)))


def _check_lines(turn: StoryTurn, result: Mapping[str, Any]) -> Check:
    return _lines_check("lines", turn.lines or (), _get(result, "lines"))


def _check_cart(turn: StoryTurn, result: Mapping[str, Any]) -> Check:
    return _lines_check("cart", turn.cart or (), _get(result, "cart", "lines"))


def _check_total(turn: StoryTurn, result: Mapping[str, Any]) -> Check:
    got = _get(result, "cart", "total")
    return _not_reported("total", "cart.total") if got is _MISSING else _same("total", turn.total, got)


def _reply_text(result: Mapping[str, Any]) -> str:
    text = _get(result, "reply", "text")
    return text if isinstance(text, str) else ""


def _check_reply_has(turn: StoryTurn, result: Mapping[str, Any]) -> Check:
    reply = _reply_text(result)
    missing = [s for s in turn.reply_has if s.casefold() not in reply.casefold()]
    if not missing:
        return Check("reply_has", True)
    return Check("reply_has", False, f"reply_has: {_show(missing)} not in the reply {reply!r}")


def _check_reply_lacks(turn: StoryTurn, result: Mapping[str, Any]) -> Check:
    reply = _reply_text(result)
    present = [s for s in turn.reply_lacks if s.casefold() in reply.casefold()]
    if not present:
        return Check("reply_lacks", True)
    return Check("reply_lacks", False, f"reply_lacks: {_show(present)} in the reply {reply!r}")


def _check_quick_replies(turn: StoryTurn, result: Mapping[str, Any]) -> Check:
    labels = _get(result, "reply", "quick_replies")
    labels = list(labels) if isinstance(labels, list) else []
    missing = [q for q in turn.quick_replies_has if q not in labels]
    if not missing:
        return Check("quick_replies_has", True)
    return Check("quick_replies_has", False, f"quick_replies_has: {_show(missing)} not among {_show(labels)}")


# Order of the checks in a report: what was understood first, then what it did.
_CHECKS: dict[str, Callable[[StoryTurn, Mapping[str, Any]], Check]] = {
    "intent": _check_intent,
    "status": _check_status,
    "reason": _check_reason,
    "lines": _check_lines,
    "cart": _check_cart,
    "total": _check_total,
    "faq": _check_faq,
    "ordered": _check_ordered,
    "handoff": _check_handoff,
    "sentiment": _check_sentiment,
    "reply_has": _check_reply_has,
    "reply_lacks": _check_reply_lacks,
    "quick_replies_has": _check_quick_replies,
}


# --- how things read in a failure ---------------------------------------------------------------


def describe_lines(lines: Sequence[Any], groups: Collection[str] | None = None) -> str:
    """``2 x cafe_latte {temperature: hot, milk: oat/extra}, 1 x muffin``; expected or got lines,
    with the options of ``groups`` only when given."""
    return ", ".join(_describe_line(line, groups) for line in lines) or "nothing"


def _describe_line(line: Any, groups: Collection[str] | None) -> str:
    if isinstance(line, StoryLine):
        item, quantity = line.item_id, line.quantity
        options = [(g, o.value, o.amount) for g, o in line.options.items()]
    else:
        item, quantity = line.get("item_id"), line.get("quantity")
        options = [(o.get("group"), o.get("value"), o.get("amount")) for o in line.get("options") or ()]
    shown = [f"{g}: {v}" + (f"/{a}" if a not in (None, "regular") else "") for g, v, a in options if groups is None or g in groups]
    return f"{quantity} x {item}" + (f" {{{', '.join(shown)}}}" if shown else "")


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return "none" if value is None else str(value)


def _context(result: Mapping[str, Any], *, status: bool = True) -> str:
    """The status and reason behind a wrong answer, when they say something: `` (needs_clarification, missing_option)``."""
    parts = [result.get("status") if status and result.get("status") not in (None, "ok") else None, result.get("reason")]
    said = [p for p in parts if p]
    return f" ({', '.join(said)})" if said else ""


def _error_text(error: Any) -> str:
    if isinstance(error, Mapping):
        return f"{error.get('code', 'error')}: {error.get('message', '')}".rstrip(": ")
    return str(error)
