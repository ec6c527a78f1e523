"""What `tabpipe ab plan` and `tabpipe ab analyse` print: the numbers, then the verdict."""

from __future__ import annotations

from tabpipe.records.ab_test import AbAnalysis, AbMetricResult, AbPlan


def describe_plan(plan: AbPlan) -> str:
    """The minimum units per arm and in total."""
    arms = ", ".join(f"{name} {count:,}" for name, count in plan.per_arm.items())
    return (
        f"experiment {plan.experiment_id}: to detect a change of "
        f"{plan.minimum_detectable_effect:g} in {plan.metric} (alpha {plan.alpha:g}, two-sided, "
        f"power {plan.power:g})\n"
        f"  minimum units per arm: {arms}\n"
        f"  units to enrol: {plan.total:,}"
    )


def _metric_lines(result: AbMetricResult, control: str, treatment: str) -> list[str]:
    relative = "" if result.relative_effect is None else f" ({result.relative_effect:+.1%})"
    direction = "higher" if result.greater_is_better else "lower"
    return [
        f"{result.metric} ({result.kind}, {direction} is better):",
        f"  {control}: {result.mean[control]:.4g} over {result.n[control]:,} units",
        f"  {treatment}: {result.mean[treatment]:.4g} over {result.n[treatment]:,} units",
        f"  effect {result.effect:+.4g}{relative}, interval [{result.interval_low:+.4g}, "
        f"{result.interval_high:+.4g}], {result.test} p = {result.p_value:.3g}",
    ]


def describe_analysis(analysis: AbAnalysis) -> str:
    """Each metric's effect, the sample checks, and the verdict."""
    a = analysis
    needed = ", ".join(f"{name} {count:,}" for name, count in a.minimum_sample_size.items())
    lines = [
        f"experiment {a.experiment_id} on {a.results}: {a.treatment} against {a.control} "
        f"({1 - a.alpha:.0%} intervals)",
        *_metric_lines(a.primary, a.control, a.treatment),
        *(line for g in a.guardrails for line in _metric_lines(g, a.control, a.treatment)),
        f"minimum sample size per arm: {needed} "
        f"({'reached' if a.sample_size_reached else 'NOT reached'})",
        f"sample ratio check: chi-square p = {a.sample_ratio_p_value:.3g}",
        *(f"warning: {w}" for w in a.warnings),
        f"verdict: {a.verdict} ({a.reason})",
    ]
    return "\n".join(lines)
