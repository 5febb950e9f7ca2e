"""The chat-log report as one self-contained HTML page: inline CSS, plots as embedded PNGs, no
script and no external URL, so it opens offline. Every text from the report is escaped (they are
customer utterances). Roll-up segments get the plots; detailed segments only tables."""

from __future__ import annotations

import base64
import functools
import html
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from voicegw.analytics.render_text import (
    ci, count, decimal, headline, ms, ordered_segments, p_value, pct, pp, segment_title, when, words,
)

FIGSIZE = (6.0, 2.5)
DPI = 90
TOP_INTENTS = 12
EXAMPLES = 3
# Defence in depth: even a text that escaped escaping could load nothing and run nothing.
VERDICT_CLASS = {"srm_alert": "alert", "treatment_worse": "alert", "treatment_better": "ok"}
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans KR","Malgun Gothic","Apple SD Gothic Neo",sans-serif;
 margin:1.5em auto;max-width:1200px;padding:0 1em;color:#222;line-height:1.4}
header{border-bottom:2px solid #446;margin-bottom:1em}
h2{margin-top:1.6em;border-bottom:1px solid #ccd}
.cards{display:flex;flex-wrap:wrap;gap:.6em;margin:.6em 0}
.card{border:1px solid #ccd;border-radius:6px;padding:.3em .8em;background:#f6f7fb}
.card b{display:block;font-size:1.3em}
.plots{display:flex;flex-wrap:wrap;gap:.5em}
.plots img{border:1px solid #eee;max-width:100%}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:.92em}
th,td{border:1px solid #ddd;padding:.2em .5em;vertical-align:top;text-align:right}
th{background:#eef}
td.t,th.t{text-align:left}
.alert{color:#c00;font-weight:bold}
.ok{color:#070}
.verdict{font-size:1.1em;padding:.4em .8em;border-left:4px solid #446;background:#f6f7fb}
.muted{color:#777}
details{margin:.5em 0 1em 1em}
summary{cursor:pointer;font-weight:bold}
"""


class Raw(str):
    """HTML this module wrote itself; every other cell text is escaped."""


def e(value: Any) -> str:
    return value if isinstance(value, Raw) else html.escape("" if value is None else str(value))


def table(head: Sequence[str], rows: Iterable[Sequence[Any]], text_cols: Sequence[int] = (0,)) -> str:
    """A table whose columns in text_cols are left-aligned text; the rest right-aligned figures."""
    def cell(tag: str, i: int, value: Any) -> str:
        return f'<{tag} class="t">{e(value)}</{tag}>' if i in text_cols else f"<{tag}>{e(value)}</{tag}>"

    body = "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>" for row in rows)
    if not body:
        return ""
    return "<table><tr>" + "".join(cell("th", i, h) for i, h in enumerate(head)) + f"</tr>{body}</table>"


def titled(title: str, body: str) -> str:
    """A subheading over body; nothing where body is empty."""
    return f"<h4>{e(title)}</h4>{body}" if body else ""


def lines(values: Iterable[Any]) -> Raw:
    return Raw("<br>".join(e(v) for v in values))


# -- plots -------------------------------------------------------------------------------------

@functools.cache
def _font_families() -> tuple[str, ...]:
    """DejaVu Sans, falling back to NanumGothic for Hangul where that font is installed."""
    from matplotlib import font_manager

    nanum = any(f.name == "NanumGothic" for f in font_manager.fontManager.ttflist)
    return ("DejaVu Sans", "NanumGothic") if nanum else ("DejaVu Sans",)


def png(draw: Callable[..., str], *args: Any, height: float = FIGSIZE[1]) -> str:
    """An <img> of what draw puts on a fresh axis (draw returns the alt text). A bare Figure,
    never registered with pyplot, so nothing stays open and no global backend is switched."""
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError as err:
        raise RuntimeError("the HTML report's plots need matplotlib: pip install 'voicegw[qa]'") from err
    with matplotlib.rc_context({"font.family": list(_font_families()), "font.size": 8, "text.parse_math": False}):
        figure = Figure(figsize=(FIGSIZE[0], height), dpi=DPI, layout="tight")
        alt = draw(figure.add_subplot(), *args)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", metadata={"Software": None})
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{e(alt)}" src="data:image/png;base64,{data}">'


def _sparse_ticks(axis: Any, labels: Sequence[str], most: int = 10) -> None:
    step = max(1, -(-len(labels) // most))
    axis.set_xticks(range(0, len(labels), step), labels[::step], rotation=30, ha="right")


def draw_days(axis: Any, by_day: Mapping[str, int]) -> str:
    days = sorted(by_day)
    axis.plot(range(len(days)), [by_day[d] for d in days], marker="o", markersize=3)
    _sparse_ticks(axis, days)
    axis.set(title="Turns by day (UTC)", ylabel="turns", ylim=(0, None))
    return "turns by day"


def draw_hours(axis: Any, by_hour: Mapping[str, int]) -> str:
    hours = sorted(by_hour, key=int)
    axis.bar([int(h) for h in hours], [by_hour[h] for h in hours], color="#4a6fa5")
    axis.set(title="Turns by hour of day (UTC)", xlabel="hour", ylabel="turns", xticks=range(0, 24, 3))
    return "turns by hour of day"


def draw_intents(axis: Any, intents: Mapping[str, int]) -> str:
    top = sorted(intents.items(), key=lambda kv: -kv[1])[:TOP_INTENTS][::-1]
    axis.barh([k for k, _ in top], [v for _, v in top], color="#5b8c5a")
    axis.set(title=f"Intents (top {len(top)})", xlabel="turns")
    return "turns per intent"


def draw_outcomes(axis: Any, outcomes: Mapping[str, int]) -> str:
    names = list(outcomes)
    axis.bar([words(n) for n in names], [outcomes[n] for n in names], color="#c9883a")
    axis.set(title="Session outcomes", ylabel="sessions")
    return "sessions per outcome"


def draw_funnel(axis: Any, funnel: Sequence[Mapping]) -> str:
    steps, sessions = [words(s["step"]) for s in funnel], [s["sessions"] or 0 for s in funnel]
    bars = axis.bar(steps, sessions, color="#7a5ba5")
    for i, bar in enumerate(bars):
        drop = f"(-{(1 - sessions[i] / sessions[i - 1]) * 100:.0f}%)" if i and sessions[i - 1] else ""
        axis.annotate(f"{sessions[i]:,} {drop}".strip(), (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                      ha="center", va="bottom", fontsize=7)
    axis.set(title="Funnel (sessions; drop from the step before)", ylabel="sessions", ylim=(0, max(sessions) * 1.15 or 1))
    return "session funnel"


def draw_variant_rates(axis: Any, variants: Sequence[Mapping]) -> str:
    shown = [v for v in variants if v.get("rate") is not None]
    for x, v in enumerate(shown):
        rate, (low, high) = v["rate"] * 100, v.get("ci") or (None, None)
        err = None if low is None or high is None else [[rate - low * 100], [high * 100 - rate]]
        axis.errorbar([x], [rate], yerr=err, fmt="o", capsize=4)
    axis.set_xticks(range(len(shown)), [str(v["name"]) for v in shown])
    axis.set(title="Rate per variant (95% CI)", ylabel="rate (%)", xlim=(-0.5, len(shown) - 0.5))
    return "rate per variant with confidence intervals"


def draw_daily(axis: Any, daily: Sequence[Mapping]) -> str:
    shown = [d for d in daily if d.get("diff") is not None and d.get("seq_ci") and None not in d["seq_ci"]]
    xs = range(len(shown))
    axis.fill_between(xs, [d["seq_ci"][0] * 100 for d in shown], [d["seq_ci"][1] * 100 for d in shown],
                      alpha=0.3, label="always-valid CI")
    axis.plot(xs, [d["diff"] * 100 for d in shown], marker="o", markersize=3, label="difference")
    axis.axhline(0, color="#c00", linewidth=1)
    _sparse_ticks(axis, [str(d["day"]) for d in shown])
    axis.set(title="Difference to control over days (cumulative)", ylabel="difference (pp)")
    axis.legend(fontsize=7, loc="upper right")
    return "difference to control over days with its always-valid confidence interval"


# -- segments ----------------------------------------------------------------------------------

def cards(segment: Mapping) -> str:
    return '<div class="cards">' + "".join(
        f'<div class="card">{e(label)}<b>{e(value)}</b></div>' for label, value in headline(segment)) + "</div>"


def plots(segment: Mapping) -> str:
    figures = []
    if any((segment.get("by_day") or {}).values()):
        figures.append(png(draw_days, segment["by_day"]))
    if any((segment.get("by_hour") or {}).values()):
        figures.append(png(draw_hours, segment["by_hour"]))
    intents = {k: v for k, v in (segment.get("intents") or {}).items() if v}
    if intents:
        figures.append(png(draw_intents, intents, height=max(FIGSIZE[1], 0.2 * min(len(intents), TOP_INTENTS) + 0.8)))
    if any((segment.get("outcomes") or {}).values()):
        figures.append(png(draw_outcomes, segment["outcomes"]))
    if any(step.get("sessions") for step in segment.get("funnel") or []):
        figures.append(png(draw_funnel, segment["funnel"]))
    return f'<div class="plots">{"".join(figures)}</div>' if figures else '<p class="muted">no turns to plot</p>'


def rate_table(segment: Mapping) -> str:
    rates = segment.get("rates") or {}
    return table(["rate", "of turns"], [(words(k), pct(v)) for k, v in rates.items() if v is not None])


def figure_tables(segment: Mapping) -> str:
    """What the plots show, as tables (for detailed segments)."""
    intents = sorted((segment.get("intents") or {}).items(), key=lambda kv: -kv[1])
    funnel = segment.get("funnel") or []
    return "".join([
        table(["intent", "turns"], [(k, count(v)) for k, v in intents]),
        table(["status", "turns"], [(words(k), count(v)) for k, v in (segment.get("statuses") or {}).items()]),
        table(["outcome", "sessions"], [(words(k), count(v)) for k, v in (segment.get("outcomes") or {}).items()]),
        table(["funnel step", "sessions"], [(words(s.get("step")), count(s.get("sessions"))) for s in funnel]),
    ])


def unmatched_table(segment: Mapping) -> str:
    rows = []
    for group in segment.get("unmatched") or []:
        languages = ", ".join(f"{k} {v}" for k, v in (group.get("languages") or {}).items())
        suggestion = group.get("suggestion") or {}
        action = lines([words(suggestion.get("action", "")), suggestion.get("text", ""),
                        *([f"item: {suggestion['item']}"] if suggestion.get("item") else [])])
        rows.append((count(group.get("size")), group.get("label", ""), languages,
                     lines((group.get("examples") or [])[:EXAMPLES]), action))
    total = f'<p>Unmatched utterances: <b>{e(count(segment.get("unmatched_total")))}</b></p>'
    return total + table(["size", "group", "languages", "examples", "suggested action"], rows, text_cols=(1, 2, 3, 4))


def voice_table(voice: Mapping | None) -> str:
    if not voice:
        return ""
    conf, latency = voice.get("asr_confidence") or {}, voice.get("latency_ms") or {}
    return table(["voice turns", "ASR confidence p10", "ASR confidence p50", "latency p50", "latency p95"],
                 [(count(voice.get("turns")), decimal(conf.get("p10")), decimal(conf.get("p50")),
                   ms(latency.get("p50")), ms(latency.get("p95")))], text_cols=())


def segment_html(segment: Mapping, full: bool, level: int) -> str:
    faq = [(f.get("entry"), count(f.get("answered")), lines((f.get("examples") or [])[:EXAMPLES]))
           for f in segment.get("faq") or []]
    drop = sorted((segment.get("drop_off") or {}).items(), key=lambda kv: -kv[1])
    return "".join([
        f"<h{level}>{e(segment_title(segment))}</h{level}>", cards(segment),
        plots(segment) if full else figure_tables(segment), rate_table(segment), voice_table(segment.get("voice")),
        titled("Abandoned sessions by their last turn", table(["last turn", "sessions"], [(words(k), count(v)) for k, v in drop])),
        titled("FAQ answers", table(["entry", "answered", "examples"], faq, text_cols=(0, 2))),
        "<h4>Unmatched groups</h4>" + unmatched_table(segment),
    ])


def segments_html(segments: Sequence[Mapping]) -> str:
    if not segments:
        return '<h2>Segments</h2><p class="muted">no turns in this period</p>'
    parts = []
    for rollup, details in ordered_segments(segments):
        parts.append("<section>" + (segment_html(rollup, True, 2) if rollup else "<h2>Other segments</h2>"))
        if details:
            inner = "".join(segment_html(s, False, 3) for s in details)
            parts.append(f"<details><summary>Per channel and language ({len(details)})</summary>{inner}</details>")
        parts.append("</section>")
    return "".join(parts)


# -- experiments -------------------------------------------------------------------------------

def experiment_html(x: Mapping) -> str:
    variants = x.get("variants") or []
    srm, verdict = x.get("srm") or {}, x.get("verdict") or {}
    srm_class, srm_word = ("alert", "ALERT: assignment is off its weights") if srm.get("alert") else ("ok", "ok")
    figures = []
    if any(v.get("rate") is not None for v in variants):
        figures.append(png(draw_variant_rates, variants))
    if any(d.get("diff") is not None for d in x.get("daily") or []):
        figures.append(png(draw_daily, x["daily"]))
    decision = f"{words(verdict.get('decision', 'n/a'))}" + (f" ({verdict['variant']})" if verdict.get("variant") else "")
    tone = VERDICT_CLASS.get(verdict.get("decision"), "")
    return "".join([
        f"<section><h3>Experiment {e(x.get('id'))}</h3>",
        f"<p>reply {e(x.get('reply'))} · metric {e(x.get('metric'))} · phase {e(x.get('phase'))} · "
        f"started {e(when(x.get('started')))} · needs {e(count(x.get('min_per_variant')))} sessions per variant</p>",
        f'<p class="verdict">Verdict: <b class="{tone}">{e(decision)}</b>: {e(verdict.get("why", ""))}</p>',
        table(["variant", "weight", "sessions", "successes", "rate", "95% CI"],
              [(v.get("name"), count(v.get("weight")), count(v.get("sessions")), count(v.get("successes")),
                pct(v.get("rate")), ci(v.get("ci"))) for v in variants]),
        table(["variant vs control", "difference", "95% CI", "p", "always-valid CI", "always-valid p", "significant"],
              [(f"{c.get('variant')} vs {c.get('control')}", pp(c.get("diff")), ci(c.get("ci"), True), p_value(c.get("p_value")),
                ci(c.get("seq_ci"), True), p_value(c.get("seq_p_value")), "yes" if c.get("significant") else "no")
               for c in x.get("comparisons") or []]),
        table(["guardrail", "variant", "control rate", "variant rate", "difference", "always-valid CI", "significant", "worse"],
              [(g.get("metric"), g.get("variant"), pct(g.get("control_rate")), pct(g.get("variant_rate")), pp(g.get("diff")),
                ci(g.get("seq_ci"), True), "yes" if g.get("significant") else "no",
                Raw('<span class="alert">yes</span>') if g.get("worse") else "no")
               for g in x.get("guardrails") or []], text_cols=(0, 1)),
        f'<p>Sample ratio: chi² {e(decimal(srm.get("chi2")))}, p {e(p_value(srm.get("p_value")))}: <span class="{srm_class}">{e(srm_word)}</span></p>',
        f'<div class="plots">{"".join(figures)}</div></section>',
    ])


# -- page --------------------------------------------------------------------------------------

def header_html(report: Mapping) -> str:
    period, filters = report.get("period") or {}, report.get("filters") or {}
    return (f"<header><h1>voicegw chat-log report</h1>"
            f"<p>Period {e(when(period.get('since')))} to {e(when(period.get('until')))} "
            f"(logs kept from {e(when(period.get('retention_from')))}) · generated {e(when(report.get('generated_at')))}</p>"
            f"<p>Store: <b>{e(filters.get('store') or 'all')}</b> · channel: <b>{e(filters.get('channel') or 'all')}</b></p></header>")


def render_html(report: Mapping) -> str:
    """One self-contained HTML page of a chat-log report (no script, no external URL)."""
    experiments = report.get("experiments") or []
    body = header_html(report) + segments_html(report.get("segments") or [])
    if experiments:
        body += "<h2>Experiments</h2>" + "".join(experiment_html(x) for x in experiments)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>voicegw chat-log report</title><style>{CSS}</style></head>\n<body>{body}</body></html>\n")
