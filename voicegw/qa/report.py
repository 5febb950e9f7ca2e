"""Eval reports: summaries per condition and language, the release gate, and the output files
(per-clip JSON, a Markdown summary, a PNG of accuracy against SNR per noise type)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from voicegw.qa.runner import ClipResult
from voicegw.qa.scoring import Summary, summarize


@dataclass(frozen=True)
class Row:
    """One table row: a condition, a language, and the figures of its speech and non-speech clips."""

    condition: str
    noise: str
    snr_db: float | None
    lang: str
    speech: Summary | None
    non_speech: Summary | None


def rows(results: Sequence[ClipResult]) -> list[Row]:
    groups: dict[tuple[str, str], list[ClipResult]] = defaultdict(list)
    for result in results:
        groups[(result.condition.label, result.clip.lang)].append(result)
    table = []
    for (label, lang), members in groups.items():
        condition = members[0].condition
        speech = [r.score for r in members if not r.clip.expects_no_speech]
        quiet = [r.score for r in members if r.clip.expects_no_speech]
        table.append(
            Row(label, condition.noise, condition.snr_db, lang,
                summarize(speech) if speech else None, summarize(quiet) if quiet else None)
        )
    return table


def gate_failures(table: Sequence[Row], fail_under: float) -> list[str]:
    """Why a release should stop: acceptance under the threshold anywhere, or any order from non-speech."""
    failures = []
    for row in table:
        acceptance = row.speech.command_acceptance if row.speech else None
        if acceptance is not None and acceptance < fail_under:
            failures.append(f"{row.condition} {row.lang}: command acceptance {acceptance:.3f} < {fail_under}")
        if row.non_speech is not None and row.non_speech.orders_from_non_speech:
            failures.append(f"{row.condition} {row.lang}: {row.non_speech.orders_from_non_speech} order(s) from silence or noise")
    return failures


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


COLUMNS = ("condition", "lang", "n", "accept", "intent", "WER/CER", "slot P", "slot R",
           "no-speech", "orders from noise", "phantom orders", "p50 ms", "p95 ms", "RTF")


def row_cells(row: Row) -> list[str]:
    s, q = row.speech, row.non_speech
    text_error = None if s is None else (s.cer if row.lang == "ko" else s.wer)
    return [
        row.condition,
        row.lang,
        str((s.n if s else 0) + (q.n if q else 0)),
        _pct(s.command_acceptance if s else None),
        _pct(s.intent_accuracy if s else None),
        _pct(text_error),
        _pct(s.slots_overall.precision if s else None),
        _pct(s.slots_overall.recall if s else None),
        _pct(q.no_speech_accuracy if q else None),
        "-" if q is None else str(q.orders_from_non_speech),
        str((s.phantom_orders if s else 0) + (q.phantom_orders if q else 0)),
        _ms(s.latency_p50_ms if s else None),
        _ms(s.latency_p95_ms if s else None),
        "-" if s is None or s.rtf is None else f"{s.rtf:.2f}",
    ]


def markdown(table: Sequence[Row], header: str) -> str:
    lines = [f"# voicegw eval\n\n{header}\n", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(row_cells(row)) + " |" for row in table]
    lines.append(
        "\naccept = command acceptance (intent and every expected line right, nothing extra); "
        "WER for English, CER for Korean, after the scoring normalisation of docs/scoring.md; "
        "no-speech = silence and noise-only clips that ended no_speech; phantom orders = order lines from "
        "any clip that asks for none (silence, noise, talk, FAQ); RTF = processing time / audio time."
    )
    return "\n".join(lines) + "\n"


def results_json(results: Sequence[ClipResult], table: Sequence[Row], meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "meta": meta,
        "summary": [
            {"condition": r.condition, "noise": r.noise, "snr_db": r.snr_db, "lang": r.lang,
             "speech": r.speech.to_dict() if r.speech else None,
             "non_speech": r.non_speech.to_dict() if r.non_speech else None}
            for r in table
        ],
        "clips": [
            {"clip": r.clip.id, "condition": r.condition.label, "lang": r.clip.lang, "store": r.clip.store,
             "reference": r.clip.text, "expected_intent": r.clip.intent,
             "outcome": {**asdict(r.outcome), "lines": list(r.outcome.lines), "readings": list(r.outcome.readings)},
             "score": {**asdict(r.score), "slots": {k: asdict(v) for k, v in r.score.slots.items()}}}
            for r in results
        ],
    }


def plot_snr(table: Sequence[Row], path: Path) -> None:
    """Command acceptance against SNR, one line per noise type and language; clean drawn at the right."""
    try:
        import matplotlib
    except ImportError as err:
        raise SystemExit("the SNR plot needs matplotlib: pip install 'voicegw[qa]'") from err

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    clean = {r.lang: r.speech.command_acceptance for r in table if r.snr_db is None and r.speech}
    snrs = sorted({r.snr_db for r in table if r.snr_db is not None})
    clean_x = (max(snrs) + 6) if snrs else 0
    figure, axis = plt.subplots(figsize=(8, 5))
    series: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    for r in table:
        if r.snr_db is not None and r.speech and r.speech.command_acceptance is not None:
            series[(r.noise, r.lang)].append((r.snr_db, r.speech.command_acceptance))
    for (noise, lang), points in sorted(series.items()):
        points.sort()
        if clean.get(lang) is not None:
            points.append((clean_x, clean[lang]))
        axis.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=f"{noise} ({lang})")
    for lang, value in clean.items():
        if value is not None and not series:
            axis.plot([clean_x], [value], marker="o", label=f"clean ({lang})")
    ticks = [*snrs, clean_x] if snrs else [clean_x]
    axis.set_xticks(ticks, [*(f"{snr:g}" for snr in snrs), "clean"])
    axis.set_xlabel("SNR (dB)")
    axis.set_ylabel("command acceptance")
    axis.set_ylim(0, 1.02)
    axis.grid(True, alpha=0.3)
    axis.legend(fontsize=8, loc="lower right")
    axis.set_title("voicegw: command acceptance against noise")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def write_outputs(out_dir: Path, results: Sequence[ClipResult], table: Sequence[Row], meta: dict[str, Any]) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / "results.json", out_dir / "summary.md", out_dir / "snr.png"]
    written[0].write_text(json.dumps(results_json(results, table, meta), ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    header = ", ".join(f"{k}: {v}" for k, v in meta.items())
    written[1].write_text(markdown(table, header), encoding="utf-8")
    plot_snr(table, written[2])
    return written


def print_gate(console: Console, failures: Sequence[str], passed: str) -> int:
    """Print a release gate's verdict; the exit status (1 when anything failed)."""
    for failure in failures:
        console.print(f"[red]GATE[/red] {failure}")
    if failures:
        return 1
    console.print(f"gate passed: {passed}")
    return 0
