"""Statistics for A/B tests of reply texts: rates, the comparison, the split check, the verdict.

Each session is assigned one variant; the primary metric is a per-session proportion (an order
placed, a hand-off to staff). The store owner reads the report every day, so the decision rule
must stay valid under continuous monitoring. A fixed-horizon p-value is valid only when read once
at a sample size planned in advance; read daily and acted on the first day it dips below 0.05, it
declares false winners far more often than 5 % of the time (20-25 % of A/A tests over four
weeks of daily looks, see tests/unit/test_experiment_stats.py).

The verdict therefore comes from the mixture sequential probability ratio test (mSPRT; Johari,
Pekelis and Walsh 2017, "Always valid inference"; Robbins 1970 normal mixture). With
``theta_hat`` the observed difference of rates, ``V`` its estimated variance and a N(0, tau^2)
mixing distribution over the true difference,

    Lambda = sqrt(V / (V + tau^2)) * exp(theta_hat^2 tau^2 / (2 V (V + tau^2))).

Under "no difference" Lambda is a nonnegative supermartingale (a mixture of likelihood ratios,
here in the normal approximation), so by Ville's inequality P(Lambda ever >= 1/alpha) <= alpha:
the report may be read after every session and the chance of ever declaring a false winner stays
below alpha. The matching confidence sequence is the set of differences the test does not reject,
``theta_hat +- sqrt(V (V + tau^2) / tau^2 * (2 log(1/alpha) + log((V + tau^2) / V)))``; it excludes
zero exactly when Lambda >= 1/alpha. ``tau`` is the scale of lifts we care about (default 0.05,
five percentage points): the test is most sensitive to differences of about that size.

:func:`compare` sees one look (cumulative counts), so its ``seq_p_value`` is that look's
``min(1, 1/Lambda)``; the always-valid p-value and interval proper are the running minimum and
the running intersection over looks, which a caller keeping history may take. The rule the report
follows, stop at the first look where the rule rejects, is exactly what Ville's bound covers.

The normal approximation behind V needs a few dozen sessions per arm (and a few successes and
failures), hence the minimum sample in :func:`decide`; a split that does not match the configured
traffic weights (sample ratio mismatch) means assignment or logging is broken, and no comparison
of such arms can be trusted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from scipy.stats import chisquare, norm
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportion_effectsize,
    proportions_ztest,
)

# --- one variant --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proportion:
    """Successes out of trials for one variant, with its Wilson interval."""

    successes: int
    trials: int
    rate: float | None
    """``successes / trials``; None when there are no trials yet."""
    ci: tuple[float, float] | None
    """Wilson score interval at ``1 - alpha`` (stays inside [0, 1] and behaves at 0 or n)."""


def _check_counts(successes: int, trials: int) -> None:
    if trials < 0 or successes < 0 or successes > trials:
        raise ValueError(f"need 0 <= successes <= trials, got {successes} of {trials}")


def _check_alpha(alpha: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")


def proportion(successes: int, trials: int, alpha: float = 0.05) -> Proportion:
    """The rate of one variant and its Wilson interval (None for both when ``trials == 0``)."""
    _check_counts(successes, trials)
    _check_alpha(alpha)
    if trials == 0:
        return Proportion(successes, trials, None, None)
    low, high = proportion_confint(successes, trials, alpha=alpha, method="wilson")
    return Proportion(successes, trials, successes / trials, (float(low), float(high)))


# --- two variants -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """Treatment against control: fixed-horizon numbers to show, always-valid ones to decide."""

    diff: float
    """Treatment rate minus control rate."""
    ci: tuple[float, float]
    """Fixed-horizon (Newcomb) interval for ``diff``; valid only read once at a planned sample."""
    p_value: float
    """Fixed-horizon pooled two-proportion z-test; valid only read once at a planned sample."""
    seq_ci: tuple[float, float]
    """Always-valid confidence sequence for ``diff`` (mSPRT)."""
    seq_p_value: float
    """``min(1, 1/Lambda)`` of the mixture SPRT at this look."""
    significant: bool
    """The always-valid rule rejects "no difference" at alpha (Lambda >= 1/alpha)."""


def _msprt_variance(control: tuple[int, int], treatment: tuple[int, int]) -> float:
    """p1(1-p1)/n1 + p2(1-p2)/n2, each rate kept half a session away from 0 and 1.

    At a rate of exactly 0 or 1 the plug-in variance is 0 and Lambda would blow up on any
    difference; half a session is the smallest nudge that keeps V > 0, and it changes nothing for
    rates strictly inside (0, 1) since those are at least one session away from the edges.
    """
    total = 0.0
    for successes, trials in (control, treatment):
        edge = 0.5 / trials
        rate = min(max(successes / trials, edge), 1.0 - edge)
        total += rate * (1.0 - rate) / trials
    return total


def _log_mixture_lr(theta_hat: float, variance: float, tau: float) -> float:
    """log Lambda; in logs because the exponent grows with n and exp() would overflow."""
    tau2 = tau * tau
    return 0.5 * math.log(variance / (variance + tau2)) + (
        theta_hat * theta_hat * tau2 / (2.0 * variance * (variance + tau2))
    )


def _seq_half_width(variance: float, tau: float, alpha: float) -> float:
    """Half-width of the mSPRT confidence sequence: the |theta_hat| at which Lambda = 1/alpha."""
    tau2 = tau * tau
    return math.sqrt(
        variance * (variance + tau2) / tau2
        * (2.0 * math.log(1.0 / alpha) + math.log((variance + tau2) / variance))
    )


def _pooled_z_p_value(control: tuple[int, int], treatment: tuple[int, int]) -> float:
    pooled = (control[0] + treatment[0]) / (control[1] + treatment[1])
    if pooled in (0.0, 1.0):
        # Every session did the same thing: no evidence of a difference (statsmodels gives nan).
        return 1.0
    _, p_value = proportions_ztest([treatment[0], control[0]], [treatment[1], control[1]])
    return float(p_value)


def compare(
    control: tuple[int, int],
    treatment: tuple[int, int],
    alpha: float = 0.05,
    tau: float = 0.05,
) -> Comparison:
    """Compare ``(successes, trials)`` of treatment against control.

    Raises ValueError when a variant has no trials: there is nothing to compare, and the caller
    checks the sample (:func:`decide` takes ``None`` for that case).
    """
    for name, (successes, trials) in (("control", control), ("treatment", treatment)):
        _check_counts(successes, trials)
        if trials == 0:
            raise ValueError(f"{name} has no trials yet; check the sample before comparing")
    _check_alpha(alpha)
    if tau <= 0.0:
        raise ValueError(f"tau must be positive, got {tau}")

    diff = treatment[0] / treatment[1] - control[0] / control[1]
    low, high = confint_proportions_2indep(
        treatment[0], treatment[1], control[0], control[1],
        method="newcomb", compare="diff", alpha=alpha,
    )
    variance = _msprt_variance(control, treatment)
    log_lr = _log_mixture_lr(diff, variance, tau)
    half = _seq_half_width(variance, tau, alpha)
    return Comparison(
        diff=diff,
        ci=(float(low), float(high)),
        p_value=_pooled_z_p_value(control, treatment),
        # A difference of rates cannot leave [-1, 1]; clipping only drops impossible values.
        seq_ci=(max(-1.0, diff - half), min(1.0, diff + half)),
        seq_p_value=min(1.0, math.exp(-log_lr)),
        significant=log_lr >= math.log(1.0 / alpha),
    )


# --- the split ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SrmCheck:
    """Sample ratio mismatch: do sessions per variant match the configured traffic weights?"""

    chi2: float
    p_value: float
    alert: bool
    """``p_value < threshold``: the split is broken, so no verdict."""


def sample_ratio_check(
    observed: Sequence[int], weights: Sequence[float], threshold: float = 0.001
) -> SrmCheck:
    """Chi-squared goodness of fit of sessions per variant against the weights (any positive scale).

    The threshold is strict (0.001 by default) because the check runs every day on every
    experiment and a real mismatch is usually gross; a loose one would cry wolf.
    """
    if len(observed) != len(weights) or len(observed) < 2:
        raise ValueError("need one weight per variant and at least two variants")
    if any(count < 0 for count in observed):
        raise ValueError(f"session counts must be nonnegative, got {list(observed)}")
    if any(weight <= 0 for weight in weights):
        raise ValueError(f"traffic weights must be positive, got {list(weights)}")
    total = sum(observed)
    if total == 0:
        return SrmCheck(chi2=0.0, p_value=1.0, alert=False)
    weight_sum = float(sum(weights))
    expected = [total * weight / weight_sum for weight in weights]
    chi2, p_value = chisquare(list(observed), f_exp=expected)
    return SrmCheck(chi2=float(chi2), p_value=float(p_value), alert=bool(p_value < threshold))


# --- planning -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SampleSize:
    """Sessions per variant needed to detect a lift with the given power."""

    fixed_per_variant: int
    """Fixed-horizon two-sided test at alpha, read once (Cohen's h, normal power)."""
    sequential_per_variant: int
    """Smallest n at which the always-valid rule, read at n, has the given power."""


def _sequential_has_power(n: int, baseline: float, treated: float, alpha: float,
                          z_power: float, tau: float) -> bool:
    # Power of one read at n: P(theta_hat > half-width) with theta_hat ~ N(lift, V(n)).
    variance = (baseline * (1 - baseline) + treated * (1 - treated)) / n
    lift = abs(treated - baseline)
    return lift - z_power * math.sqrt(variance) >= _seq_half_width(variance, tau, alpha)


def required_sample(
    baseline: float,
    lift: float,
    alpha: float = 0.05,
    power: float = 0.8,
    tau: float = 0.05,
) -> SampleSize:
    """Sessions per variant to detect ``baseline -> baseline + lift`` (lift may be negative)."""
    treated = baseline + lift
    if not (0.0 < baseline < 1.0 and 0.0 < treated < 1.0):
        raise ValueError(f"baseline and baseline + lift must be in (0, 1): {baseline}, {treated}")
    if lift == 0.0:
        raise ValueError("lift must be nonzero")
    _check_alpha(alpha)
    if not 0.0 < power < 1.0:
        raise ValueError(f"power must be in (0, 1), got {power}")
    if tau <= 0.0:
        raise ValueError(f"tau must be positive, got {tau}")

    effect = abs(proportion_effectsize(treated, baseline))
    fixed = NormalIndPower().solve_power(
        effect_size=effect, alpha=alpha, power=power, ratio=1.0, alternative="two-sided"
    )

    z_power = float(norm.ppf(power))

    def enough(n: int) -> bool:
        return _sequential_has_power(n, baseline, treated, alpha, z_power, tau)

    # The margin lift*sqrt(n) grows faster than the half-width (which grows like sqrt(log n) in
    # sigma units), so the condition flips once from false to true: double, then bisect.
    low, high = 1, 2
    if enough(low):
        high = low
    while not enough(high):
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        if enough(middle):
            high = middle
        else:
            low = middle
    return SampleSize(fixed_per_variant=math.ceil(fixed), sequential_per_variant=high)


# --- the verdict --------------------------------------------------------------------------------

Decision = Literal[
    "insufficient_sample", "srm_alert", "keep_running", "treatment_better", "treatment_worse"
]


@dataclass(frozen=True)
class Verdict:
    """What the report says today, and why."""

    decision: Decision
    why: str
    """One sentence for the store owner, with the numbers."""


def _points(value: float) -> str:
    """A rate difference in percentage points, signed: ``+4.2``."""
    return f"{value * 100:+.1f}"


def decide(
    comparison: Comparison | None,
    trials: tuple[int, int],
    min_per_variant: int,
    srm: SrmCheck,
    higher_is_better: bool = True,
) -> Verdict:
    """The day's verdict; ``trials`` is (control, treatment) sessions.

    A broken split is reported first (its numbers mean nothing), then a sample too small for the
    normal approximation, and only then the always-valid rule. ``higher_is_better=False`` is for
    metrics such as the hand-off rate, where the lower rate wins.
    """
    control_n, treatment_n = trials
    if srm.alert:
        return Verdict(
            "srm_alert",
            f"The traffic split looks broken ({control_n} sessions on the current version vs "
            f"{treatment_n} on the new one, p = {srm.p_value:.2g} against the configured split), "
            "so there is no verdict until session assignment is fixed.",
        )
    if min(control_n, treatment_n) < max(min_per_variant, 1):
        return Verdict(
            "insufficient_sample",
            f"Too early to tell: the current version has {control_n} sessions and the new one "
            f"{treatment_n}, and each needs at least {min_per_variant} before any verdict.",
        )
    if comparison is None:
        raise ValueError("a comparison is required once both variants have the minimum sample")

    low, high = comparison.seq_ci
    ranged = (
        f"its rate is {_points(comparison.diff)} points from the current version's "
        f"(plausibly {_points(low)} to {_points(high)} points)"
    )
    if not comparison.significant:
        return Verdict(
            "keep_running",
            f"No clear difference yet: {ranged}, so keep the test running.",
        )
    better = (comparison.diff > 0) == higher_is_better
    if better:
        return Verdict(
            "treatment_better",
            f"The new version is better: {ranged}, a result that holds however often you check.",
        )
    return Verdict(
        "treatment_worse",
        f"The new version is worse: {ranged}, a result that holds however often you check.",
    )
