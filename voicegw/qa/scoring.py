"""Scores for one replayed clip, and their sums for a group of clips (docs/scoring.md).

Pure functions over typed values: the runner builds a :class:`ClipOutcome` per clip (from the
in-process turn or from the HTTP turn result JSON), :func:`score_clip` compares it with the
manifest, and :func:`summarize` aggregates any group the caller chooses (language, SNR, noise).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rapidfuzz.distance import Levenshtein

from voicegw.qa.manifest import ExpectedLine, ManifestClip
from voicegw.qa.textnorm import normalize_for_cer, normalize_for_wer

NO_SPEECH_STATUS = "no_speech"
ITEM, QUANTITY = "item", "quantity"
#: Slot key prefix for option groups: ``option:temperature``.
OPTION_PREFIX = "option:"

# --- text error rates -------------------------------------------------------------------------


def word_error_rate(ref: str, hyp: str, lang: str) -> tuple[int, int]:
    """(word edits, reference words) after :func:`normalize_for_wer`."""
    ref_words, hyp_words = normalize_for_wer(ref, lang), normalize_for_wer(hyp, lang)
    return Levenshtein.distance(ref_words, hyp_words), len(ref_words)


def char_error_rate(ref: str, hyp: str, lang: str) -> tuple[int, int]:
    """(character edits, reference characters) after :func:`normalize_for_cer` (no spaces)."""
    ref_chars, hyp_chars = normalize_for_cer(ref, lang), normalize_for_cer(hyp, lang)
    return Levenshtein.distance(ref_chars, hyp_chars), len(ref_chars)


def text_metric(lang: str) -> Literal["wer", "cer"]:
    """Korean (and other unspaced or loosely spaced scripts) is scored by CER, the rest by WER."""
    return "cer" if lang.split("-")[0] in ("ko", "ja", "zh") else "wer"


def error_rate(ref: str, hyp: str, lang: str) -> tuple[int, int]:
    """(edits, reference length) with the metric :func:`text_metric` picks for ``lang``."""
    if text_metric(lang) == "cer":
        return char_error_rate(ref, hyp, lang)
    return word_error_rate(ref, hyp, lang)


# --- one clip -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClipOutcome:
    """What one replayed clip produced."""

    status: str
    """Turn status (ok, no_speech, not_understood, ...), or ``error`` when the turn failed."""
    transcript: str = ""
    intent: str | None = None
    """Intent name, None when the turn produced none (error, no_speech)."""
    lines: tuple[Mapping[str, Any], ...] = ()
    """Turn result lines: ``{item_id, quantity, options: [{group, value, amount}]}``."""
    faq: str | None = None
    """FAQ entry id the turn answered with, when the runner can tell (the turn result has none)."""
    latency_ms: float | None = None
    """Wall time from sending the clip to the answer."""
    audio_duration_ms: float | None = None
    asr_ms: float | None = None
    """Time spent in recognition alone (``timings_ms.asr``)."""
    error: str | None = None
    """Error code when the turn failed."""
    readings: tuple[Mapping[str, Any], ...] = ()
    """What else Whisper heard: ``{text, avg_logprob, chosen}``, best first (turn result ``readings``)."""

    @classmethod
    def from_turn_result(
        cls,
        result: Mapping[str, Any],
        *,
        latency_ms: float | None = None,
        audio_duration_ms: float | None = None,
    ) -> ClipOutcome:
        """Build from a turn result JSON (DESIGN.md); latency defaults to ``timings_ms.total``."""
        timings = result.get("timings_ms") or {}
        intent = result.get("intent") or {}
        faq = result.get("faq")
        error = result.get("error")
        return cls(
            status=str(result.get("status", "error")),
            transcript=result.get("transcript") or "",
            intent=intent.get("name") if isinstance(intent, Mapping) else intent,
            lines=tuple(result.get("lines") or ()),
            faq=faq.get("id") if isinstance(faq, Mapping) else faq,
            latency_ms=latency_ms if latency_ms is not None else timings.get("total"),
            audio_duration_ms=audio_duration_ms,
            asr_ms=timings.get("asr"),
            error=error.get("code") if isinstance(error, Mapping) else error,
            readings=tuple(result.get("readings") or ()),
        )


@dataclass
class SlotCounts:
    """True/false positives and false negatives of one slot type (or of all)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: SlotCounts) -> None:
        self.tp, self.fp, self.fn = self.tp + other.tp, self.fp + other.fp, self.fn + other.fn

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None


@dataclass(frozen=True)
class ClipScore:
    """How one clip fared; every field is a plain value so reports can dump it as JSON."""

    clip_id: str
    lang: str
    kind: str | None
    expected_intent: str
    status: str
    predicted_intent: str | None
    intent_correct: bool
    """For ``intent: none`` clips: the turn ended ``no_speech``."""
    command_accepted: bool
    """Intent and every expected line right, and no extra line (DESIGN.md)."""
    slots: dict[str, SlotCounts]
    """Slot key (``item``, ``quantity``, ``option:<group>``) -> counts for this clip."""
    metric: Literal["wer", "cer"]
    text_errors: int
    """Edits between the normalised reference and transcript (words or characters)."""
    text_ref_len: int
    """Normalised reference length; 0 for silence and noise clips (left out of WER/CER)."""
    no_speech_correct: bool | None
    """For ``intent: none`` clips: ended ``no_speech`` with no line. None for speech clips."""
    produced_order: bool
    """An ``intent: none`` clip produced an order line: the release gate allows none."""
    speech_dropped: bool
    """A speech clip ended ``no_speech`` (the VAD or a guard threw the speech away)."""
    phantom_order: bool = False
    """A clip that asks for nothing (silence, noise, talk that is not an order, a FAQ question)
    produced order lines: an order the customer never gave."""
    faq_correct: bool | None = None
    """For faq clips where both sides name an entry: they agree. Else None."""
    latency_ms: float | None = None
    audio_duration_ms: float | None = None
    asr_ms: float | None = None
    transcript: str = ""


def predicted_options(line: Mapping[str, Any]) -> dict[str, tuple[str, str | None]]:
    """A turn result line's options as group -> (value, amount)."""
    opts = line.get("options") or ()
    if isinstance(opts, Mapping):  # tolerate the manifest's own shape
        return {
            g: (v, None) if isinstance(v, str) else (v["value"], v.get("amount"))
            for g, v in opts.items()
        }
    return {o["group"]: (o["value"], o.get("amount")) for o in opts}


def option_ok(expected: tuple[str, str | None], got: tuple[str, str | None] | None) -> bool:
    if got is None or got[0] != expected[0]:
        return False
    # An unstated amount is "regular" in the turn result.
    return expected[1] is None or expected[1] == (got[1] or "regular")


def _line_agreement(exp: ExpectedLine, got: Mapping[str, Any]) -> int:
    opts = predicted_options(got)
    same = sum(option_ok(v, opts.get(g)) for g, v in exp.options.items())
    return same + (got.get("quantity") == exp.quantity)


def _pair_lines(
    expected: Sequence[ExpectedLine], predicted: Sequence[Mapping[str, Any]]
) -> tuple[list[tuple[ExpectedLine, Mapping[str, Any]]], list[ExpectedLine], list[Mapping[str, Any]]]:
    """Pair lines by item id first (best agreeing line of that item), then the rest in order."""
    free = list(range(len(predicted)))
    pairs: list[tuple[ExpectedLine, Mapping[str, Any]]] = []
    unmatched: list[ExpectedLine] = []
    for exp in expected:
        same_item = [k for k in free if predicted[k].get("item_id") == exp.item_id]
        if same_item:
            best = max(same_item, key=lambda k: _line_agreement(exp, predicted[k]))
            free.remove(best)
            pairs.append((exp, predicted[best]))
        else:
            unmatched.append(exp)
    # Second pass: a wrong item can still carry the right quantity and options.
    n = min(len(unmatched), len(free))
    pairs += [(unmatched[k], predicted[free[k]]) for k in range(n)]
    return pairs, unmatched[n:], [predicted[k] for k in free[n:]]


def _count(slots: dict[str, SlotCounts], key: str, *, tp: int = 0, fp: int = 0, fn: int = 0) -> None:
    c = slots.setdefault(key, SlotCounts())
    c.tp, c.fp, c.fn = c.tp + tp, c.fp + fp, c.fn + fn


def _score_lines(
    expected: Sequence[ExpectedLine], predicted: Sequence[Mapping[str, Any]]
) -> tuple[dict[str, SlotCounts], bool]:
    """Slot counts, and whether the lines match exactly (no missing, wrong or extra line).

    Option groups the manifest does not list for a line are not scored (the turn fills in menu
    defaults, which the manifest need not repeat).
    """
    slots: dict[str, SlotCounts] = {}
    pairs, missing, extra = _pair_lines(expected, predicted)
    exact = not missing and not extra
    for exp, got in pairs:
        right_item = got.get("item_id") == exp.item_id
        right_qty = got.get("quantity") == exp.quantity
        for key, right in ((ITEM, right_item), (QUANTITY, right_qty)):
            _count(slots, key, tp=int(right), fp=int(not right), fn=int(not right))
        exact = exact and right_item and right_qty
        opts = predicted_options(got)
        for group, want in exp.options.items():
            key, have = OPTION_PREFIX + group, opts.get(group)
            if option_ok(want, have):
                _count(slots, key, tp=1)
            else:
                _count(slots, key, fp=1 if have is not None else 0, fn=1)
                exact = False
    for exp in missing:
        _count(slots, ITEM, fn=1)
        _count(slots, QUANTITY, fn=1)
        for group in exp.options:
            _count(slots, OPTION_PREFIX + group, fn=1)
    for got in extra:
        _count(slots, ITEM, fp=1)
        _count(slots, QUANTITY, fp=1)
        for group in predicted_options(got):
            _count(slots, OPTION_PREFIX + group, fp=1)
    return slots, exact


def score_clip(clip: ManifestClip, outcome: ClipOutcome) -> ClipScore:
    """Compare one outcome with its manifest entry."""
    no_speech = outcome.status == NO_SPEECH_STATUS
    slots, lines_exact = _score_lines(clip.lines, outcome.lines)
    faq_correct: bool | None = None
    if clip.expects_no_speech:
        intent_correct = no_speech
        accepted = no_speech and not outcome.lines
    else:
        intent_correct = outcome.intent == clip.intent
        accepted = intent_correct and lines_exact
        if clip.intent == "faq" and clip.faq and outcome.faq:
            faq_correct = clip.faq == outcome.faq
            accepted = accepted and faq_correct
    metric = text_metric(clip.lang)
    errors, ref_len = error_rate(clip.text, outcome.transcript or "", clip.lang)
    return ClipScore(
        clip_id=clip.id or str(clip.audio),
        lang=clip.lang,
        kind=clip.kind,
        expected_intent=clip.intent,
        status=outcome.status,
        predicted_intent=outcome.intent,
        intent_correct=intent_correct,
        command_accepted=accepted,
        slots=slots,
        metric=metric,
        text_errors=errors,
        text_ref_len=ref_len,
        no_speech_correct=accepted if clip.expects_no_speech else None,
        produced_order=clip.expects_no_speech and bool(outcome.lines),
        speech_dropped=not clip.expects_no_speech and no_speech,
        phantom_order=not clip.lines and bool(outcome.lines),
        faq_correct=faq_correct,
        latency_ms=outcome.latency_ms,
        audio_duration_ms=outcome.audio_duration_ms,
        asr_ms=outcome.asr_ms,
        transcript=outcome.transcript,
    )


# --- a group of clips -------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    """Figures for one group of clips. A rate is None when the group has nothing to measure."""

    n: int
    intent_accuracy: float | None
    command_acceptance: float | None
    """Share of the group's clips accepted (see :attr:`ClipScore.command_accepted`)."""
    wer: float | None
    """Sum of word edits / sum of reference words over WER-scored clips with a reference."""
    cer: float | None
    """Sum of character edits / sum of reference characters, likewise."""
    word_errors: int
    ref_words: int
    char_errors: int
    ref_chars: int
    slots: dict[str, SlotCounts]
    slots_overall: SlotCounts
    no_speech_n: int
    no_speech_accuracy: float | None
    orders_from_non_speech: int
    phantom_orders: int
    """Clips expecting no order line that produced one (non-speech included)."""
    speech_dropped: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    rtf: float | None
    """Real-time factor: sum of latency / sum of audio duration (below 1 is faster than real time)."""
    asr_rtf: float | None
    """The same with recognition time only."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with precision and recall spelled out per slot."""

        def pr(c: SlotCounts) -> dict[str, Any]:
            return {"tp": c.tp, "fp": c.fp, "fn": c.fn, "precision": c.precision, "recall": c.recall}

        out = {k: v for k, v in self.__dict__.items() if k not in ("slots", "slots_overall")}
        out["slots"] = {k: pr(v) for k, v in sorted(self.slots.items())}
        out["slots_overall"] = pr(self.slots_overall)
        return out


def percentile_nearest_rank(values: Iterable[float], pct: float) -> float | None:
    """The smallest value with at least ``pct`` % of the values at or below it; None if empty."""
    ordered = sorted(values)
    if not ordered:
        return None
    if not 0 < pct <= 100:
        raise ValueError(f"percentile must be in (0, 100], not {pct}")
    return ordered[max(1, math.ceil(pct / 100 * len(ordered))) - 1]


def _rate(hits: int, total: int) -> float | None:
    return hits / total if total else None


def _ratio(pairs: Sequence[tuple[float | None, float | None]]) -> float | None:
    used = [(a, b) for a, b in pairs if a is not None and b]
    denominator = sum(b for _, b in used)  # type: ignore[misc]
    return sum(a for a, _ in used) / denominator if denominator else None  # type: ignore[misc]


def summarize(scores: Sequence[ClipScore]) -> Summary:
    """Aggregate a group of clip scores; error rates are pooled, not averaged per clip."""
    spoken = [s for s in scores if s.text_ref_len > 0]
    word = [s for s in spoken if s.metric == "wer"]
    char = [s for s in spoken if s.metric == "cer"]
    slots: dict[str, SlotCounts] = {}
    overall = SlotCounts()
    for s in scores:
        for key, counts in s.slots.items():
            slots.setdefault(key, SlotCounts()).add(counts)
            overall.add(counts)
    silent = [s for s in scores if s.no_speech_correct is not None]
    latencies = [s.latency_ms for s in scores if s.latency_ms is not None]
    word_errors, ref_words = sum(s.text_errors for s in word), sum(s.text_ref_len for s in word)
    char_errors, ref_chars = sum(s.text_errors for s in char), sum(s.text_ref_len for s in char)
    return Summary(
        n=len(scores),
        intent_accuracy=_rate(sum(s.intent_correct for s in scores), len(scores)),
        command_acceptance=_rate(sum(s.command_accepted for s in scores), len(scores)),
        wer=_rate(word_errors, ref_words),
        cer=_rate(char_errors, ref_chars),
        word_errors=word_errors,
        ref_words=ref_words,
        char_errors=char_errors,
        ref_chars=ref_chars,
        slots=slots,
        slots_overall=overall,
        no_speech_n=len(silent),
        no_speech_accuracy=_rate(sum(bool(s.no_speech_correct) for s in silent), len(silent)),
        orders_from_non_speech=sum(s.produced_order for s in scores),
        phantom_orders=sum(s.phantom_order for s in scores),
        speech_dropped=sum(s.speech_dropped for s in scores),
        latency_p50_ms=percentile_nearest_rank(latencies, 50),
        latency_p95_ms=percentile_nearest_rank(latencies, 95),
        rtf=_ratio([(s.latency_ms, s.audio_duration_ms) for s in scores]),
        asr_rtf=_ratio([(s.asr_ms, s.audio_duration_ms) for s in scores]),
    )
