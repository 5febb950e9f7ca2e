"""The chat-log report's renderers: a self-contained, script-free HTML page with embedded PNG plots
and escaped utterances, and the terminal summary."""

from __future__ import annotations

import base64
import copy
import re

import pytest

pytest.importorskip("matplotlib")

from voicegw.analytics.render_html import render_html  # noqa: E402
from voicegw.analytics.render_text import render_text  # noqa: E402

HOSTILE = "<script>alert(1)</script>"
DAYS = [f"2026-12-0{d}" for d in range(1, 8)]


def segment(channel: str, language: str, turns: int, sessions: int, voice: bool = False) -> dict:
    return {
        "store": "burger-ko", "channel": channel, "language": language, "turns": turns, "sessions": sessions,
        "by_day": {day: turns // len(DAYS) for day in DAYS},
        "by_hour": {str(h): (turns // 12 if 10 <= h < 22 else 0) for h in range(24)},
        "intents": {"order.add": turns // 2, "faq": turns // 10, "order.confirm": turns // 8, "unknown": turns // 30},
        "statuses": {"ok": turns - 300, "not_understood": 100, "no_speech": 20, "needs_clarification": 150, "rejected": 30},
        "rates": {"not_understood": 0.081, "no_speech": 0.02 if voice else None, "low_confidence": 0.05, "frustrated": 0.01},
        "outcomes": {"ordered": 150, "answered": 40, "handed_off": 10, "abandoned": 80, "other": 20},
        "containment": 0.633, "handoff_rate": 0.0333,
        "funnel": [{"step": "started", "sessions": sessions}, {"step": "item_added", "sessions": 230},
                   {"step": "confirmed", "sessions": 150}],
        "drop_off": {"not_understood": 30, "needs_clarification": 20, "order.add": 25, "faq": 5},
        "faq": [{"entry": "hours", "answered": 30, "examples": ["몇 시까지 해요?", "영업시간 알려주세요", "When do you close?"]}],
        "unmatched": [
            {"size": 12, "label": "배송 주소 변경", "languages": {"ko": 11, "en": 1},
             "examples": ["배송 주소 바꾸고 싶어요", "주소 변경 돼요?", "change my delivery address"],
             "suggestion": {"action": "add_faq", "text": "Add an FAQ entry answering: 배송 주소 변경", "item": None}},
            {"size": 7, "label": "shrimp burger", "languages": {"en": 4, "ko": 3},
             "examples": [HOSTILE, "새우버거 주세요", "one shrimp burger"],
             "suggestion": {"action": "add_alias", "text": "Add the alias 새우버거 to shrimp_burger", "item": "shrimp_burger"}},
        ],
        "unmatched_total": 40,
        "voice": {"turns": 400, "asr_confidence": {"p10": 0.55, "p50": 0.82}, "latency_ms": {"p50": 1200, "p95": 2900}}
        if voice else None,
    }


def sample_report() -> dict:
    return {
        "generated_at": "2026-12-07T10:00:00.000+00:00",
        "period": {"since": "2026-11-07T10:00:00.000+00:00", "until": "2026-12-07T10:00:00.000+00:00",
                   "retention_from": "2026-11-07T10:00:00.000+00:00"},
        "filters": {"store": None, "channel": None},
        "segments": [segment("all", "all", 1234, 300, voice=True), segment("voice", "ko", 800, 190, voice=True),
                     segment("text", "en", 434, 110)],
        "experiments": [{
            "id": "added-emoji", "reply": "added", "phase": "a1b2c3", "metric": "conversion",
            "started": "2026-12-01T00:00:00.000+00:00",
            "variants": [{"name": "control", "weight": 50, "sessions": 400, "successes": 120, "rate": 0.30, "ci": [0.26, 0.35]},
                         {"name": "emoji", "weight": 50, "sessions": 410, "successes": 150, "rate": 0.366, "ci": [0.32, 0.41]}],
            "comparisons": [{"variant": "emoji", "control": "control", "diff": 0.066, "ci": [0.001, 0.13], "p_value": 0.04,
                             "seq_ci": [-0.02, 0.15], "seq_p_value": 0.3, "significant": False}],
            "guardrails": [{"metric": "handoff", "variant": "emoji", "control_rate": 0.03, "variant_rate": 0.035,
                            "diff": 0.005, "seq_ci": [-0.02, 0.03], "significant": False, "worse": False}],
            "srm": {"chi2": 0.1, "p_value": 0.75, "alert": False},
            "min_per_variant": 357,
            "verdict": {"decision": "keep_running", "variant": "emoji",
                        "why": "The always-valid interval still includes zero."},
            "daily": [{"day": day, "sessions": {"control": 50 * i, "emoji": 52 * i}, "diff": 0.02 + 0.005 * i,
                       "seq_ci": [-0.3 / i, 0.34 / i]} for i, day in enumerate(DAYS, start=1)],
        }],
    }


def empty_report() -> dict:
    report = sample_report()
    report["segments"], report["experiments"] = [], []
    return report


@pytest.fixture(scope="module")
def page() -> str:
    return render_html(sample_report())


def test_page_is_self_contained_and_script_free(page: str) -> None:
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.IGNORECASE)
    assert "http://" not in page and "https://" not in page
    assert "@import" not in page and "url(" not in page


def test_hostile_utterance_is_escaped(page: str) -> None:
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "배송 주소 바꾸고 싶어요" in page and "change my delivery address" in page


def test_plots_are_embedded_pngs(page: str) -> None:
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    # Five plots for the one roll-up segment (detailed segments get tables), two for the experiment.
    assert len(images) == 7
    assert all(base64.b64decode(data).startswith(b"\x89PNG\r\n\x1a\n") for data in images)
    assert page.count("<img") == len(images)


def test_headline_numbers_appear(page: str) -> None:
    for figure in ["1,234", "300", "63.3%", "3.3%", "8.1%", "800", "190", "434", "110"]:
        assert figure in page, figure
    for figure in ["30.0%", "36.6%", "[26.0%, 35.0%]", "+6.6 pp", "[-2.0, +15.0] pp", "0.040", "0.300", "keep running"]:
        assert figure in page, figure
    assert "1,200 ms" in page and "2,900 ms" in page


def test_srm_alert_is_red() -> None:
    report = sample_report()
    report["experiments"][0]["srm"] = {"chi2": 14.2, "p_value": 0.0002, "alert": True}
    page = render_html(report)
    assert '<span class="alert">ALERT' in page and "&lt;0.001" in page
    report["experiments"][0]["verdict"] = {"decision": "srm_alert", "variant": None, "why": "Assignment is off."}
    assert '<b class="alert">srm alert</b>' in render_html(report)


def test_dollar_signs_in_plot_labels_are_not_mathtext() -> None:
    report = sample_report()
    report["segments"][0]["intents"]["promo.$5$deal"] = 40
    report["experiments"][0]["variants"][1]["name"] = "$\\frac{$"  # malformed mathtext, were it parsed
    assert render_html(report).count("data:image/png;base64,") == 7


def test_empty_report_renders() -> None:
    page, text = render_html(empty_report()), render_text(empty_report())
    assert "no turns in this period" in page and "<img" not in page
    assert "no turns in this period" in text


def test_segment_without_data_renders() -> None:
    report = sample_report()
    quiet = report["segments"][0]
    quiet.update(turns=0, sessions=0, by_day={}, by_hour={str(h): 0 for h in range(24)}, intents={}, statuses={},
                 outcomes={}, funnel=[], drop_off={}, faq=[], unmatched=[], unmatched_total=0, voice=None,
                 containment=None, handoff_rate=None, rates={k: None for k in quiet["rates"]})
    report["experiments"][0].update(daily=[], variants=[{**v, "rate": None, "ci": None} for v in report["experiments"][0]["variants"]])
    page = render_html(report)
    assert "no turns to plot" in page and "n/a" in page
    assert render_text(report)


def test_text_summary() -> None:
    text = render_text(sample_report())
    assert "verdict: keep_running (emoji): The always-valid interval still includes zero." in text
    assert "turns 1,234" in text and "containment 63.3%" in text and "hand-off 3.3%" in text
    groups = [line for line in text.splitlines() if "add_faq:" in line or "add_alias:" in line]
    assert len(groups) == 6 and all(re.match(r"\s+(12|7)\s", line) for line in groups)
    assert "unmatched: 40 utterances" in text
    assert "SRM: chi2 0.10 p 0.750 ok" in text
    assert 30 <= len(text.splitlines()) <= 80
    # Columns line up in terminal cells, Hangul counting two.
    header = next(line for line in text.splitlines() if line.strip().startswith("size"))
    row = next(line for line in text.splitlines() if "배송 주소 변경" in line)
    before_example = row[: row.index('"')]
    assert len(before_example) + sum(1 for c in before_example if "\uac00" <= c <= "\ud7a3") == header.index("example")


def test_text_drops_control_characters() -> None:
    report = sample_report()
    report["segments"][0]["unmatched"][0]["examples"][0] = "\x1b[2J\x1b]0;pwned\x07주소"
    text = render_text(report)
    assert "\x1b" not in text and "\x07" not in text


def test_renderers_do_not_change_the_report() -> None:
    report = sample_report()
    before = copy.deepcopy(report)
    render_html(report)
    render_text(report)
    assert report == before
