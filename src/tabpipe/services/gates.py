"""Quality gates: the candidate's test metrics against declared bounds.

Each bound becomes an MLflow ``MetricThreshold`` and is checked by
``mlflow.validate_evaluation_results``, one gate at a time so that every gate
gets its own verdict in reports/gates.json:

- ``min`` / ``max``: an absolute threshold;
- ``min_uplift``: MLflow's ``min_absolute_change`` against the dummy baseline;
- ``max_drop_vs_champion``: a threshold at the champion's value minus the
  tolerance (MLflow's change thresholds only express "better by", not "worse by
  at most", so the tolerance becomes the threshold);
- slice gaps: a threshold on the best-minus-worst slice value.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlflow import validate_evaluation_results
from mlflow.models import MetricThreshold
from mlflow.models.evaluation import EvaluationResult
from mlflow.models.evaluation.validation import ModelValidationFailedException

from tabpipe.models.evaluation import GateKind, GateResult, GatesReport, MetricsReport
from tabpipe.models.params import GREATER_IS_BETTER, GatesParams


@dataclass(frozen=True)
class ChampionMetrics:
    version: str
    test: dict[str, float]


def evaluate_gates(
    gates: GatesParams, report: MetricsReport, champion: ChampionMetrics | None
) -> GatesReport:
    results: list[GateResult] = []
    for rule in gates.rules:
        metric = rule.metric
        better_up = GREATER_IS_BETTER[metric]
        value = report.test.get(metric)
        if rule.min is not None:
            results.append(
                _check(
                    f"{metric} >= {rule.min:g}",
                    "min",
                    metric,
                    value,
                    MetricThreshold(threshold=rule.min, greater_is_better=True),
                    rule.min,
                )
            )
        if rule.max is not None:
            results.append(
                _check(
                    f"{metric} <= {rule.max:g}",
                    "max",
                    metric,
                    value,
                    MetricThreshold(threshold=rule.max, greater_is_better=False),
                    rule.max,
                )
            )
        if rule.min_uplift is not None:
            baseline = report.baseline.get(metric)
            bound = (
                None
                if baseline is None
                else baseline + (rule.min_uplift if better_up else -rule.min_uplift)
            )
            results.append(
                _check(
                    f"{metric} beats the baseline by {rule.min_uplift:g}",
                    "min_uplift",
                    metric,
                    value,
                    MetricThreshold(
                        min_absolute_change=rule.min_uplift, greater_is_better=better_up
                    ),
                    bound,
                    reference=baseline,
                )
            )
        if rule.max_drop_vs_champion is not None:
            results.append(_champion_gate(metric, value, rule.max_drop_vs_champion, champion))
    for gap_rule in gates.slice_gaps:
        gap = next(
            (
                g
                for g in report.slice_gaps
                if g.column == gap_rule.column and g.metric == gap_rule.metric
            ),
            None,
        )
        results.append(
            _check(
                f"{gap_rule.metric} gap across {gap_rule.column} <= {gap_rule.max_gap:g}",
                "max_slice_gap",
                gap_rule.metric,
                None if gap is None else gap.gap,
                MetricThreshold(threshold=gap_rule.max_gap, greater_is_better=False),
                gap_rule.max_gap,
                note="" if gap is None else f"best {gap.best}, worst {gap.worst}",
            )
        )
    passed = all(result.passed is not False for result in results)
    return GatesReport(
        passed=passed,
        enforced=gates.enforce,
        champion_version=None if champion is None else champion.version,
        gates=tuple(results),
    )


def _champion_gate(
    metric: str, value: float | None, tolerance: float, champion: ChampionMetrics | None
) -> GateResult:
    name = f"{metric} within {tolerance:g} of the champion"
    reference = None if champion is None else champion.test.get(metric)
    if champion is None or reference is None:
        note = (
            "no champion yet"
            if champion is None
            else f"champion v{champion.version} has no {metric}"
        )
        return GateResult(
            name=name,
            kind="max_drop_vs_champion",
            metric=metric,
            value=value,
            bound=None,
            reference=None,
            passed=None,
            note=note,
        )
    better_up = GREATER_IS_BETTER[metric]
    bound = reference - tolerance if better_up else reference + tolerance
    return _check(
        name,
        "max_drop_vs_champion",
        metric,
        value,
        MetricThreshold(threshold=bound, greater_is_better=better_up),
        bound,
        reference=reference,
        note=f"champion v{champion.version}",
    )


def _check(
    name: str,
    kind: GateKind,
    metric: str,
    value: float | None,
    threshold: MetricThreshold,
    bound: float | None,
    *,
    reference: float | None = None,
    note: str = "",
) -> GateResult:
    if value is None:
        return GateResult(
            name=name, kind=kind, metric=metric, value=None, bound=bound, reference=reference,
            passed=False, note=f"{metric} could not be computed on the test split",
        )  # fmt: skip
    baseline = None if reference is None else EvaluationResult({metric: reference}, {})
    try:
        validate_evaluation_results(
            {metric: threshold}, EvaluationResult({metric: value}, {}), baseline
        )
        passed = True
    except ModelValidationFailedException:
        passed = False
    return GateResult(
        name=name, kind=kind, metric=metric, value=value, bound=bound, reference=reference,
        passed=passed, note=note,
    )  # fmt: skip


def gates_markdown(report: GatesReport) -> str:
    verdict = (
        "PASSED" if report.passed else ("FAILED" if report.enforced else "FAILED (not enforced)")
    )
    champion = f"v{report.champion_version}" if report.champion_version else "none yet"
    lines = [f"# Quality gates: {verdict}", "", f"Champion at evaluation: {champion}.", ""]
    return "\n".join(lines + gates_table(report)) + "\n"


def gates_table(report: GatesReport) -> list[str]:
    """One Markdown table row per gate (shared by gates.md and the model card)."""
    lines = ["| gate | value | bound | reference | result |", "|---|---|---|---|---|"]
    for gate in report.gates:
        result = {True: "pass", False: "**FAIL**", None: "skipped"}[gate.passed]
        if gate.note:
            result += f" ({gate.note})"
        cells = (gate.name, _fmt(gate.value), _fmt(gate.bound), _fmt(gate.reference), result)
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"
