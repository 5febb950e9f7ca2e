"""The chat-log report as a terminal summary: per segment the headline figures and the largest
unmatched groups, per experiment its arms and verdict. Also the number formats the HTML page shares."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

MISSING = "n/a"
TOP_GROUPS = 5
EXAMPLE_CELLS = 34


# -- number formats (shared with render_html) ------------------------------------------------

def count(value: Any) -> str:
    """A count with thousands separators; n/a for None."""
    return MISSING if value is None else f"{value:,}"


def pct(value: Any, digits: int = 1) -> str:
    """A fraction 0..1 as a percentage."""
    return MISSING if value is None else f"{value * 100:.{digits}f}%"


def pp(value: Any) -> str:
    """A difference of two fractions, signed, in percentage points."""
    return MISSING if value is None else f"{value * 100:+.1f} pp"


def ci(bounds: Sequence[Any] | None, signed: bool = False) -> str:
    """A confidence interval of fractions: [26.0%, 35.0%], or [-2.0, +15.0] pp for differences."""
    if not bounds or bounds[0] is None or bounds[1] is None:
        return MISSING
    if signed:
        return f"[{bounds[0] * 100:+.1f}, {bounds[1] * 100:+.1f}] pp"
    return f"[{pct(bounds[0])}, {pct(bounds[1])}]"


def p_value(value: Any) -> str:
    if value is None:
        return MISSING
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def decimal(value: Any) -> str:
    return MISSING if value is None else f"{value:.2f}"


def ms(value: Any) -> str:
    return MISSING if value is None else f"{value:,.0f} ms"


def when(stamp: Any) -> str:
    """An ISO timestamp to the minute, with its zone (UTC, or UTC+09:00)."""
    if not stamp:
        return MISSING
    try:
        moment = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return str(stamp)
    zone = f" {moment.tzname()}" if moment.tzinfo else ""
    return moment.strftime("%Y-%m-%d %H:%M") + zone


def words(name: Any) -> str:
    """An identifier (not_understood, keep_running) as words."""
    return str(name).replace("_", " ")


# -- segments ----------------------------------------------------------------------------------

def is_rollup(segment: Mapping) -> bool:
    return segment.get("channel") == "all" and segment.get("language") == "all"


def segment_title(segment: Mapping) -> str:
    if is_rollup(segment):
        return f"{segment.get('store')}: all channels, all languages"
    return f"{segment.get('store')}: {segment.get('channel')}, {segment.get('language')}"


def ordered_segments(segments: Sequence[Mapping]) -> list[tuple[Mapping | None, list[Mapping]]]:
    """Each roll-up with its store's detailed segments; detailed segments of stores without a
    roll-up come last under None."""
    rollups = [s for s in segments if is_rollup(s)]
    details = [s for s in segments if not is_rollup(s)]
    groups: list[tuple[Mapping | None, list[Mapping]]] = [
        (r, [s for s in details if s.get("store") == r.get("store")]) for r in rollups
    ]
    stores = {r.get("store") for r in rollups}
    orphans = [s for s in details if s.get("store") not in stores]
    if orphans:
        groups.append((None, orphans))
    return groups


def headline(segment: Mapping) -> list[tuple[str, str]]:
    """The figures every segment leads with, as (label, formatted value)."""
    rates = segment.get("rates") or {}
    return [
        ("turns", count(segment.get("turns"))),
        ("sessions", count(segment.get("sessions"))),
        ("containment", pct(segment.get("containment"))),
        ("hand-off", pct(segment.get("handoff_rate"))),
        ("not understood", pct(rates.get("not_understood"))),
    ]


# -- terminal text -----------------------------------------------------------------------------

def clean(text: Any) -> str:
    """One line with no control characters (an utterance must not drive the terminal)."""
    return "".join(" " if unicodedata.category(c)[0] in "CZ" and c != " " else c for c in str(text)).strip()


def cells(text: str) -> int:
    """Terminal columns: Hangul and other wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def fit(text: Any, width: int) -> str:
    """Cut to width columns (with an ellipsis) and pad to exactly width."""
    text = clean(text)
    if cells(text) > width:
        while text and cells(text) > width - 1:
            text = text[:-1]
        text += "…"
    return text + " " * (width - cells(text))


def columns(rows: Sequence[Sequence[str]], right: Sequence[bool], indent: str = "  ") -> list[str]:
    """Rows padded to aligned columns; right-aligned where right says so."""
    widths = [max(cells(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        padded = [(" " * (w - cells(c)) + c) if r else (c + " " * (w - cells(c))) for c, w, r in zip(row, widths, right)]
        lines.append((indent + "  ".join(padded)).rstrip())
    return lines


def segment_lines(segment: Mapping) -> list[str]:
    lines = [f"== {clean(segment_title(segment))} =="]
    lines.append("  " + "   ".join(f"{label} {value}" for label, value in headline(segment)))
    rates = segment.get("rates") or {}
    extra = [("low confidence", rates.get("low_confidence")), ("frustrated", rates.get("frustrated"))]
    if rates.get("no_speech") is not None:  # None: not a voice segment
        extra.insert(0, ("no speech", rates["no_speech"]))
    lines.append("  " + "   ".join(f"{label} {pct(value)}" for label, value in extra))
    voice = segment.get("voice")
    if voice:
        conf, latency = voice.get("asr_confidence") or {}, voice.get("latency_ms") or {}
        lines.append(f"  voice: {count(voice.get('turns'))} turns   ASR confidence p10 {decimal(conf.get('p10'))}"
                     f" p50 {decimal(conf.get('p50'))}   latency p50 {ms(latency.get('p50'))} p95 {ms(latency.get('p95'))}")
    groups = list(segment.get("unmatched") or [])[:TOP_GROUPS]
    lines.append(f"  unmatched: {count(segment.get('unmatched_total'))} utterances"
                 + (f", top {len(groups)} groups:" if groups else ""))
    if groups:
        rows = [["size", "group", "example", "action"]]
        for group in groups:
            examples = group.get("examples") or [""]
            suggestion = group.get("suggestion") or {}
            rows.append([count(group.get("size")), fit(group.get("label", ""), 18), fit(f'"{clean(examples[0])}"', EXAMPLE_CELLS),
                         clean(f"{suggestion.get('action', '')}: {suggestion.get('text', '')}")[:70]])
        lines += columns(rows, right=[True, False, False, False], indent="    ")
    return lines


def experiment_lines(experiment: Mapping) -> list[str]:
    lines = [f"== experiment {clean(experiment.get('id'))} (reply {clean(experiment.get('reply'))}, "
             f"metric {clean(experiment.get('metric'))}, since {when(experiment.get('started'))}) =="]
    rows = [["variant", "weight", "sessions", "rate", "95% CI"]]
    for v in experiment.get("variants") or []:
        rows.append([clean(v.get("name")), count(v.get("weight")), count(v.get("sessions")), pct(v.get("rate")), ci(v.get("ci"))])
    if len(rows) > 1:
        lines += columns(rows, right=[False, True, True, True, False])
    for c in experiment.get("comparisons") or []:
        lines.append(f"  {clean(c.get('variant'))} vs {clean(c.get('control'))}: diff {pp(c.get('diff'))}, "
                     f"CI {ci(c.get('ci'), True)} p {p_value(c.get('p_value'))}; always-valid "
                     f"{ci(c.get('seq_ci'), True)} p {p_value(c.get('seq_p_value'))}")
    for g in experiment.get("guardrails") or []:
        flag = "WORSE" if g.get("worse") else "ok"
        lines.append(f"  guardrail {clean(g.get('metric'))} ({clean(g.get('variant'))}): {pct(g.get('control_rate'))} -> "
                     f"{pct(g.get('variant_rate'))} ({pp(g.get('diff'))}) {flag}")
    srm = experiment.get("srm") or {}
    lines.append(f"  SRM: chi2 {decimal(srm.get('chi2'))} p {p_value(srm.get('p_value'))} "
                 f"{'ALERT: assignment is off its weights' if srm.get('alert') else 'ok'}"
                 f"   (min sessions per variant {count(experiment.get('min_per_variant'))})")
    lines.append("  " + verdict_line(experiment))
    return lines


def verdict_line(experiment: Mapping) -> str:
    verdict = experiment.get("verdict") or {}
    variant = f" ({clean(verdict['variant'])})" if verdict.get("variant") else ""
    return f"verdict: {clean(verdict.get('decision', MISSING))}{variant}: {clean(verdict.get('why', ''))}"


def render_text(report: Mapping) -> str:
    """The terminal summary of a chat-log report (plain text, no colour codes)."""
    period, filters = report.get("period") or {}, report.get("filters") or {}
    lines = [
        f"voicegw chat-log report, generated {when(report.get('generated_at'))}",
        f"period {when(period.get('since'))} to {when(period.get('until'))} "
        f"(logs kept from {when(period.get('retention_from'))})",
        f"store {clean(filters.get('store') or 'all')}, channel {clean(filters.get('channel') or 'all')}",
    ]
    segments = report.get("segments") or []
    if not segments:
        lines += ["", "no turns in this period"]
    for rollup, details in ordered_segments(segments):
        for segment in ([rollup] if rollup else []) + details:
            lines += ["", *segment_lines(segment)]
    experiments = report.get("experiments") or []
    for experiment in experiments:
        lines += ["", *experiment_lines(experiment)]
    return "\n".join(lines) + "\n"


def render_experiment(experiment: Mapping) -> str:
    """One experiment's results alone (``voicegw experiments report ID``)."""
    return "\n".join(experiment_lines(experiment)) + "\n"
