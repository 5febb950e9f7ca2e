"""One item ordered in portions made differently: "라떼 세 잔, 두 잔은 아이스로 하나는 따뜻하게",
"two americanos, one iced and one hot". Pure: segments in, segments out."""

from __future__ import annotations

from dataclasses import replace

from voicegw.nlu.segments import Segment
from voicegw.nlu.tagger import Span

_OPTION_KINDS = frozenset({"option", "amount"})
"""What makes a portion made differently (a bare group word, 음료는, chooses nothing)."""


def split_portions(seg: Segment) -> tuple[Segment, ...]:
    """A segment with several quantities, each after the first followed by its own options, as
    one segment per portion. Options said before the quantities (아이스 라떼 세 잔, ...) go to
    every portion; a said total larger than the portions leaves the rest as said before them.
    Anything else stays one segment."""
    numbers = [s for s in seg.spans if s.kind == "number" and s.value]
    if len(numbers) < 2:
        return (seg,)
    head: list[Span] = []
    clauses: list[tuple[Span, list[Span]]] = []
    for span in seg.spans:
        if span in numbers:
            clauses.append((span, []))
        elif clauses:
            clauses[-1][1].append(span)
        else:
            head.append(span)
    first, first_spans = clauses[0]
    total: Span | None = None
    if first.start < seg.item.start or not _has_options(first_spans):
        total, portions = first, clauses[1:]  # "두 잔 주세요, ..." / "two americanos, ..."
        head += first_spans
    else:
        portions = clauses  # "두 잔은 아이스로, 하나는 ..."
    if not portions or not all(_has_options(spans) for _, spans in portions):
        return (seg,)
    parts = [Segment(seg.item, _ordered([*head, number, *spans])) for number, spans in portions]
    rest = (total.value or 0) - sum(number.value or 0 for number, _ in portions) if total is not None else 0
    if total is not None and rest > 0:
        parts.insert(0, Segment(seg.item, _ordered([*head, replace(total, value=rest)])))
    return tuple(parts)


def _has_options(spans: list[Span]) -> bool:
    return any(s.kind in _OPTION_KINDS for s in spans)


def _ordered(spans: list[Span]) -> tuple[Span, ...]:
    return tuple(sorted(spans, key=lambda s: s.start))
