"""An experiment's results from its exposures and the exposed sessions' turns (pure).

Each exposed session counts once, in the variant it was assigned, and its metrics come from its
turns from the moment of exposure on (the turn that showed the varied reply included):

| metric          | the session, from its exposure on                                  |
|-----------------|--------------------------------------------------------------------|
| conversion      | placed an order                                                    |
| answered        | said anything after the varied reply                               |
| handoff         | was handed to a person                                             |
| abandoned       | ended abandoned (analytics/sessions.py)                            |
| not_understood  | had a turn the bot did not understand                              |

Per-session proportions keep the sessions independent, which the two-proportion tests need.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from voicegw.analytics.records import ExposureRecord, TurnRecord
from voicegw.analytics.sessions import outcome_of
from voicegw.experiments.config import HIGHER_IS_BETTER, Experiment
from voicegw.experiments.stats import (
    Comparison,
    Verdict,
    compare,
    decide,
    proportion,
    required_sample,
    sample_ratio_check,
)

Measure = Callable[[ExposureRecord, Sequence[TurnRecord], datetime], bool]

MEASURES: dict[str, Measure] = {
    "conversion": lambda e, turns, until: any(t.order_id for t in turns),
    "answered": lambda e, turns, until: any(t.at > e.at for t in turns),
    "handoff": lambda e, turns, until: any(t.handoff for t in turns),
    "abandoned": lambda e, turns, until: bool(turns) and outcome_of(turns, until) == "abandoned",
    "not_understood": lambda e, turns, until: any(t.status == "not_understood" for t in turns),
}


@dataclass(frozen=True)
class Arm:
    name: str
    weight: float
    sessions: int
    successes: int


def experiment_results(
    experiment: Experiment, exposures: Sequence[ExposureRecord], turns: Sequence[TurnRecord], until: str,
    phase: str | None = None,
) -> dict[str, object]:
    """The report's JSON for one experiment in one phase (default: its current one)."""
    phase = phase or experiment.phase
    mine = [e for e in exposures if e.experiment == experiment.id and e.phase == phase]
    by_session: dict[tuple[str, str], list[TurnRecord]] = defaultdict(list)
    for t in turns:
        by_session[(t.store, t.session)].append(t)
    end = datetime.fromisoformat(until)

    def after(e: ExposureRecord) -> list[TurnRecord]:
        return sorted((t for t in by_session.get((e.store, e.session), ()) if t.at >= e.at), key=lambda t: t.at)

    followed = [(e, after(e)) for e in mine]
    outcomes = {metric: [(e, MEASURES[metric](e, ts, end)) for e, ts in followed]
                for metric in {experiment.metric, *experiment.guardrails}}
    arms = _arms(experiment, outcomes[experiment.metric])
    sizes = required_sample(experiment.baseline, experiment.lift, experiment.alpha, experiment.power, experiment.lift)
    min_n = experiment.min_per_variant or sizes.sequential_per_variant
    srm = sample_ratio_check([a.sessions for a in arms], [a.weight for a in arms])
    alpha = experiment.alpha / (len(arms) - 1)  # Bonferroni: every treatment is tested against the control
    comparisons = {a.name: _compare(arms[0], a, alpha, experiment.lift) for a in arms[1:]}
    higher = HIGHER_IS_BETTER[experiment.metric]
    verdicts = {arm.name: decide(comparisons[arm.name], (arms[0].sessions, arm.sessions), min_n, srm, higher)
                for arm in arms[1:]}
    return {
        "id": experiment.id, "reply": experiment.reply, "phase": phase, "metric": experiment.metric,
        "status": experiment.status, "description": experiment.description,
        "started": min((e.at for e in mine), default=None),
        "phases": dict(Counter(e.phase for e in exposures if e.experiment == experiment.id)),
        "variants": [_variant_json(a, experiment.alpha) for a in arms],
        "comparisons": [_comparison_json(name, arms[0].name, c) for name, c in comparisons.items() if c],
        "guardrails": [g for metric in experiment.guardrails if metric != experiment.metric
                       for g in _guardrail(experiment, metric, outcomes[metric], alpha)],
        "srm": {"chi2": srm.chi2, "p_value": srm.p_value, "alert": srm.alert},
        "min_per_variant": min_n,
        "sample_plan": {"baseline": experiment.baseline, "lift": experiment.lift, "power": experiment.power,
                        "fixed_per_variant": sizes.fixed_per_variant,
                        "sequential_per_variant": sizes.sequential_per_variant},
        "verdict": _overall(verdicts, comparisons, higher),
        "daily": _daily(experiment, outcomes[experiment.metric], alpha),
    }


def _arms(experiment: Experiment, outcomes: Sequence[tuple[ExposureRecord, bool]]) -> list[Arm]:
    return [
        Arm(v.name, v.weight, sum(e.variant == v.name for e, _ in outcomes),
            sum(e.variant == v.name and hit for e, hit in outcomes))
        for v in experiment.variants
    ]


def _compare(control: Arm, treatment: Arm, alpha: float, tau: float) -> Comparison | None:
    if not control.sessions or not treatment.sessions:
        return None
    return compare((control.successes, control.sessions), (treatment.successes, treatment.sessions), alpha, tau)


def _variant_json(arm: Arm, alpha: float) -> dict[str, object]:
    p = proportion(arm.successes, arm.sessions, alpha)
    return {"name": arm.name, "weight": arm.weight, "sessions": arm.sessions, "successes": arm.successes,
            "rate": p.rate, "ci": list(p.ci) if p.ci else None}


def _comparison_json(name: str, control: str, c: Comparison) -> dict[str, object]:
    return {"variant": name, "control": control, "diff": c.diff, "ci": list(c.ci), "p_value": c.p_value,
            "seq_ci": list(c.seq_ci), "seq_p_value": c.seq_p_value, "significant": c.significant}


def _guardrail(experiment: Experiment, metric: str, outcomes: Sequence[tuple[ExposureRecord, bool]],
               alpha: float) -> list[dict[str, object]]:
    arms = _arms(experiment, outcomes)
    rows = []
    for arm in arms[1:]:
        c = _compare(arms[0], arm, alpha, experiment.lift)
        if c is None:
            continue
        worse = c.significant and (c.diff > 0) != HIGHER_IS_BETTER[metric]
        rows.append({"metric": metric, "variant": arm.name, "control_rate": arms[0].successes / arms[0].sessions,
                     "variant_rate": arm.successes / arm.sessions, "diff": c.diff, "seq_ci": list(c.seq_ci),
                     "significant": c.significant, "worse": worse})
    return rows


def _overall(verdicts: Mapping[str, Verdict], comparisons: Mapping[str, Comparison | None],
             higher: bool) -> dict[str, object]:
    """One verdict for the experiment: a broken split or a small sample first, then the best
    treatment found better, else one found worse, else keep running."""
    for decision in ("srm_alert", "insufficient_sample"):
        hit = next(((n, v) for n, v in verdicts.items() if v.decision == decision), None)
        if hit:
            return {"decision": decision, "variant": None, "why": hit[1].why}
    better = [n for n, v in verdicts.items() if v.decision == "treatment_better"]
    if better:
        best = max(better, key=lambda n: comparisons[n].diff * (1 if higher else -1))  # type: ignore[union-attr]
        return {"decision": "treatment_better", "variant": best, "why": verdicts[best].why}
    worse = next((n for n, v in verdicts.items() if v.decision == "treatment_worse"), None)
    if worse:
        return {"decision": "treatment_worse", "variant": worse, "why": verdicts[worse].why}
    verdict = next(iter(verdicts.values()))
    return {"decision": verdict.decision, "variant": None, "why": verdict.why}


def _daily(experiment: Experiment, outcomes: Sequence[tuple[ExposureRecord, bool]], alpha: float) -> list[dict[str, object]]:
    """The first treatment against the control, cumulative over the sessions exposed by each day's end."""
    days = sorted({e.at[:10] for e, _ in outcomes})
    control, treatment = experiment.variants[0].name, experiment.variants[1].name
    rows = []
    for day in days:
        upto = [(e, hit) for e, hit in outcomes if e.at[:10] <= day]
        arms = {a.name: a for a in _arms(experiment, upto)}
        c = _compare(arms[control], arms[treatment], alpha, experiment.lift)
        rows.append({"day": day, "sessions": {name: a.sessions for name, a in arms.items()},
                     "diff": c.diff if c else None, "seq_ci": list(c.seq_ci) if c else None})
    return rows
