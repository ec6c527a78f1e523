"""Sizing and reading an A/B test of two models, on statsmodels' and SciPy's statistics.

- :func:`plan`: the minimum units per arm from a power calculation: two independent
  proportions (normal approximation, statsmodels' ``samplesize_proportions_2indep_onetail``,
  the formula of Fleiss and of most online calculators) or two means (Welch's t,
  statsmodels' ``TTestIndPower``), for the traffic split of the arms.
- :func:`analyse`: one row per unit with its arm and outcomes. Before any effect is
  read, the data must be sound: every unit logged under the arm the assignment hash
  gives it, one row per unit, no missing outcome, and arm counts that match the
  traffic split (a sample ratio mismatch means broken logging or assignment, and
  voids the comparison). Proportions: Wald z-test and interval of the difference;
  means: Welch's t-test and interval.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.power import TTestIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    samplesize_proportions_2indep_onetail,
    test_proportions_2indep,
)

from tabpipe.errors import DataValidationError
from tabpipe.records.ab_test import (
    AbAnalysis,
    AbExperiment,
    AbMetric,
    AbMetricResult,
    AbPlan,
    Verdict,
)
from tabpipe.services.usage.ab_assignment import assign_arms

SAMPLE_RATIO_ALPHA = 0.001  # the usual bar for a sample ratio mismatch: rare by chance
SHOWN = 3


def plan(experiment: AbExperiment) -> AbPlan:
    """Minimum units per arm to detect ``metric.minimum_detectable_effect`` (two-sided)."""
    metric, control, treatment = experiment.metric, experiment.control, experiment.treatment
    if metric.kind == "proportion":
        # statsmodels: nobs1 is the treatment's count, nobs2 = ratio * nobs1 the control's.
        treated = samplesize_proportions_2indep_onetail(
            metric.minimum_detectable_effect,
            metric.baseline,
            experiment.power,
            ratio=control.weight / treatment.weight,
            alpha=experiment.alpha,
            alternative="two-sided",
        )
        sizes = {treatment.name: treated, control.name: treated * control.weight / treatment.weight}
    else:
        std = metric.std if metric.std is not None else 1.0  # validated: means have one
        controls = TTestIndPower().solve_power(
            effect_size=metric.minimum_detectable_effect / std,
            alpha=experiment.alpha,
            power=experiment.power,
            ratio=treatment.weight / control.weight,
            alternative="two-sided",
        )
        sizes = {
            control.name: controls,
            treatment.name: controls * treatment.weight / control.weight,
        }
    per_arm = {arm.name: math.ceil(float(sizes[arm.name]) - 1e-9) for arm in experiment.arms}
    total = max(math.ceil(per_arm[arm.name] / arm.weight - 1e-9) for arm in experiment.arms)
    return AbPlan(
        experiment_id=experiment.id,
        metric=metric.name,
        minimum_detectable_effect=metric.minimum_detectable_effect,
        alpha=experiment.alpha,
        power=experiment.power,
        per_arm=per_arm,
        total=total,
    )


def analyse(experiment: AbExperiment, outcomes: pd.DataFrame, source: str) -> AbAnalysis:
    """Check the logged outcomes, then the effect on every metric and the verdict.

    Raises DataValidationError (exit 3) naming the column, rows and fix when the data
    cannot support an analysis.
    """
    metrics = (experiment.metric, *experiment.guardrails)
    _check_outcomes(experiment, outcomes, metrics, source)
    control, treatment = experiment.control.name, experiment.treatment.name
    arms = outcomes[experiment.arm_column]
    counts = [int((arms == arm.name).sum()) for arm in experiment.arms]
    expected = [arm.weight * len(outcomes) for arm in experiment.arms]
    ratio_p = float(stats.chisquare(counts, expected).pvalue)
    verdict: Verdict
    primary = _metric_result(experiment, outcomes, experiment.metric)
    guardrails = tuple(_metric_result(experiment, outcomes, g) for g in experiment.guardrails)
    needed = plan(experiment).per_arm
    reached = all(
        count >= needed[arm.name] for arm, count in zip(experiment.arms, counts, strict=True)
    )
    warnings = [
        f"guardrail {g.metric} is worse in {treatment} (p = {g.p_value:.3g})"
        for g in guardrails
        if g.p_value < experiment.alpha and _better(g) is False
    ]
    if ratio_p < SAMPLE_RATIO_ALPHA:
        verdict, reason = (
            "invalid",
            (
                f"sample ratio mismatch: {control} {counts[0]}, {treatment} {counts[1]} units for "
                f"a {experiment.control.weight:g}/{experiment.treatment.weight:g} split "
                f"(chi-square p = {ratio_p:.2g} < {SAMPLE_RATIO_ALPHA:g}): units are lost or "
                "misassigned; fix the logging before reading any effect"
            ),
        )
    elif not reached:
        have = ", ".join(f"{a.name} {c}" for a, c in zip(experiment.arms, counts, strict=True))
        need = ", ".join(f"{name} {n}" for name, n in needed.items())
        verdict, reason = (
            "not enough data yet",
            (
                f"units per arm: {have}; the power calculation needs {need}: keep the test running "
                "(reading it early inflates false positives)"
            ),
        )
    elif primary.p_value >= experiment.alpha:
        verdict, reason = (
            "no evidence",
            (f"p = {primary.p_value:.3g} >= alpha {experiment.alpha:g}"),
        )
    elif _better(primary):
        verdict, reason = (
            "treatment better",
            (f"p = {primary.p_value:.3g} < alpha {experiment.alpha:g}"),
        )
    else:
        verdict, reason = (
            "treatment worse",
            (f"p = {primary.p_value:.3g} < alpha {experiment.alpha:g}"),
        )
    return AbAnalysis(
        experiment_id=experiment.id,
        results=source,
        control=control,
        treatment=treatment,
        primary=primary,
        guardrails=guardrails,
        minimum_sample_size=needed,
        sample_size_reached=reached,
        sample_ratio_p_value=ratio_p,
        alpha=experiment.alpha,
        verdict=verdict,
        reason=reason,
        warnings=tuple(warnings),
    )


def _better(result: AbMetricResult) -> bool:
    return (result.effect > 0) == result.greater_is_better and result.effect != 0


def _check_outcomes(
    experiment: AbExperiment, outcomes: pd.DataFrame, metrics: tuple[AbMetric, ...], source: str
) -> None:
    unit, arm = experiment.unit, experiment.arm_column
    needed = [unit, arm, *(m.name for m in metrics)]
    missing = [column for column in needed if column not in outcomes.columns]
    if missing:
        msg = (
            f"{source}: missing column(s) {', '.join(missing)} (columns: "
            f"{', '.join(map(str, outcomes.columns))}); the experiment's unit, arm_column and "
            "metric names must be its columns"
        )
        raise DataValidationError(msg)
    for column in (unit, arm, *(m.name for m in metrics)):
        empty = np.flatnonzero(outcomes[column].isna().to_numpy())
        if len(empty):
            msg = (
                f"{source}: {len(empty)} row(s) without a value in '{column}' (first at data "
                f"row {', '.join(str(i + 1) for i in empty[:SHOWN])}): log every unit's outcome"
            )
            raise DataValidationError(msg)
    names = {a.name for a in experiment.arms}
    unknown = sorted(set(outcomes[arm]) - names)
    if unknown:
        msg = (
            f"{source}: '{arm}' holds {', '.join(map(repr, unknown[:SHOWN]))}, not an arm of "
            f"experiment {experiment.id} ({', '.join(sorted(names))})"
        )
        raise DataValidationError(msg)
    repeated = outcomes[unit][outcomes[unit].duplicated()].unique()
    if len(repeated):
        msg = (
            f"{source}: {len(repeated)} unit(s) appear on more than one row (e.g. "
            f"{', '.join(map(str, repeated[:SHOWN]))}): give one row per unit, its outcomes "
            "aggregated over the test"
        )
        raise DataValidationError(msg)
    for metric in metrics:
        values = pd.to_numeric(outcomes[metric.name], errors="coerce")
        if values.isna().any() or (metric.kind == "proportion" and not values.isin([0, 1]).all()):
            kind = "0 or 1" if metric.kind == "proportion" else "numbers"
            msg = f"{source}: '{metric.name}' must hold {kind} ({metric.kind} metric)"
            raise DataValidationError(msg)
    assigned = np.asarray(assign_arms(experiment, outcomes[unit].astype(str)), dtype=object)
    wrong = np.flatnonzero(assigned != outcomes[arm].astype(str).to_numpy(dtype=object))
    if len(wrong):
        examples = ", ".join(
            f"{outcomes[unit].iloc[i]} logged {outcomes[arm].iloc[i]}, assigned {assigned[i]}"
            for i in wrong[:SHOWN]
        )
        msg = (
            f"{source}: {len(wrong)} unit(s) were logged under another arm than the "
            f"assignment of experiment {experiment.id} gives them ({examples}): the service "
            "does not use `tabpipe ab assign`'s hash, or the experiment id differs; the "
            "comparison would be biased"
        )
        raise DataValidationError(msg)


def _metric_result(
    experiment: AbExperiment, outcomes: pd.DataFrame, metric: AbMetric
) -> AbMetricResult:
    arms = outcomes[experiment.arm_column]
    control = pd.to_numeric(outcomes[metric.name][arms == experiment.control.name]).to_numpy(float)
    treated = pd.to_numeric(outcomes[metric.name][arms == experiment.treatment.name]).to_numpy(
        float
    )
    if len(control) < 2 or len(treated) < 2:  # noqa: PLR2004 - a variance needs two units
        msg = f"{metric.name}: each arm needs at least 2 units to compare"
        raise DataValidationError(msg)
    effect = float(treated.mean() - control.mean())
    if metric.kind == "proportion":
        counts = (int(treated.sum()), len(treated), int(control.sum()), len(control))
        test = test_proportions_2indep(*counts, method="wald", compare="diff")
        low, high = confint_proportions_2indep(
            *counts, method="wald", compare="diff", alpha=experiment.alpha
        )
        p_value, name = float(test.pvalue), "two-proportion Wald z-test"
    else:
        welch = stats.ttest_ind(treated, control, equal_var=False)
        interval = welch.confidence_interval(1 - experiment.alpha)
        low, high = interval.low, interval.high
        p_value, name = float(welch.pvalue), "Welch's t-test"
    if not math.isfinite(p_value):  # no variance at all (every outcome equal)
        p_value = 1.0 if effect == 0 else 0.0
    return AbMetricResult(
        metric=metric.name,
        kind=metric.kind,
        greater_is_better=metric.greater_is_better,
        n={experiment.control.name: len(control), experiment.treatment.name: len(treated)},
        mean={
            experiment.control.name: float(control.mean()),
            experiment.treatment.name: float(treated.mean()),
        },
        effect=effect,
        relative_effect=effect / float(control.mean()) if control.mean() != 0 else None,
        interval_low=float(low),
        interval_high=float(high),
        p_value=p_value,
        test=name,
    )
