"""Strict JSON for request bodies, shared by the gateway and the skill server.

Python's ``json`` accepts what no later stage can use: NaN and Infinity, floats that overflow,
integers past the digit limit (ValueError), nesting that exhausts the stack (RecursionError), and
unpaired UTF-16 surrogates that SQLite and UTF-8 cannot store. Each is a 400 here, not a 500
somewhere downstream.
"""

from __future__ import annotations

import json
import re
from typing import Any, NoReturn

from voicegw.errors import RequestError

#: Deeper JSON is no request we read (a skill request nests about 8 levels); walking or
#: re-encoding it would exhaust the recursion limit somewhere downstream.
MAX_JSON_DEPTH = 32
_SURROGATE = re.compile("[\ud800-\udfff]")


def _not_json(literal: str) -> NoReturn:
    raise ValueError(f"{literal} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{text} is out of range")
    return value


def parse_json(raw: bytes, *, code: str = "invalid_json") -> Any:
    """Strict JSON: no NaN/Infinity, no overflowing numbers, no unpaired surrogates, no nesting
    deeper than ``MAX_JSON_DEPTH``; else a :class:`RequestError` (400) with ``code``."""
    try:
        data: Any = json.loads(raw, parse_constant=_not_json, parse_float=_finite)
    except (ValueError, RecursionError) as err:  # JSONDecodeError, UnicodeDecodeError, int digit limit
        raise RequestError(code, f"the body is not valid JSON: {err}") from err
    # Iterative, so a hostile shape cannot exhaust the stack here either.
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                raise RequestError(code, "the body holds an unpaired UTF-16 surrogate (\\ud800-\\udfff)")
        elif isinstance(value, (list, dict)):
            if depth > MAX_JSON_DEPTH:
                raise RequestError(code, f"the body is nested deeper than {MAX_JSON_DEPTH} levels")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                stack.append((key, depth))
                stack.append((item, depth + 1))
    return data
