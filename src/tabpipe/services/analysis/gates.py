"""Quality gates: the candidate's test metrics against declared bounds.

Each bound becomes an MLflow ``MetricThreshold`` and is checked by
``mlflow.validate_evaluation_results``, one gate at a time so that every gate
gets its own verdict in reports/gates.json:

- ``min`` / ``max``: an absolute threshold;
- ``min_uplift``: MLflow's ``min_absolute_change`` against the dummy baseline;
- slice gaps: a threshold on the best-minus-worst slice value.

Each of these is judged by its policy (``gates.policy``, or the rule's own): ``point``
compares the estimate with the bound; ``pass_when_evidence`` compares the interval's
pessimistic end (the whole interval must be within the bound); ``fail_when_evidence``
its optimistic end (only an interval wholly beyond the bound fails). The interval is the
test split's bootstrap (services/analysis/uncertainty.py); MLflow's rule still does the comparing.
A policy that needs an interval where none could be computed (too few rows, bootstrap
off) is judged on the estimate, and the gate's note says so. A value that cannot be
computed at all (one class in the test split, every slice too small for a gap) fails,
except under ``fail_when_evidence``, where it is skipped: no evidence either way.

These depend only on data, params and code, so reports/gates.json is the same on
every machine. ``max_drop_vs_champion`` depends on the registry, so it is checked
by the promote stage at promotion time (:func:`champion_gates`): a threshold at the
reference value minus the tolerance (MLflow's change thresholds only express
"better by", not "worse by at most"), against two references:

- the current champion, re-scored on this test split (the same rows, now);
- the best score of any version ever promoted on this test split: the anchor
  that keeps small drops from adding up release after release.
"""

from __future__ import annotations

from dataclasses import dataclass

from tabpipe.records.evaluation import (
    GateKind,
    GateResult,
    GatesReport,
    Interval,
    LeakageCheck,
    MetricsReport,
)
from tabpipe.records.params import GREATER_IS_BETTER, GatePolicy, GatesParams
from tabpipe.repositories.mlflow_store.validation import Threshold, meets_threshold


@dataclass(frozen=True)
class ChampionScore:
    """The current champion's metrics on the candidate's test split, or why there are none."""

    version: str
    test: dict[str, float]
    error: str | None = None


@dataclass(frozen=True)
class PromotedScore:
    """A metric value of a version that once held the champion alias, on this test split."""

    version: str
    value: float


def evaluate_gates(
    gates: GatesParams,
    report: MetricsReport,
    leakage: LeakageCheck | None = None,
    behaviour: tuple[GateResult, ...] = (),
) -> GatesReport:
    """Every declared gate on the test metrics; the leakage gate when it is enforced.

    ``behaviour`` holds the behavioural checks' gates, measured with the model (see
    ``services/analysis/behaviour.py``).
    """
    results: list[GateResult] = []
    intervals = {interval.metric: interval for interval in report.intervals}
    uplifts = {interval.metric: interval for interval in report.uplift_intervals}
    for rule in gates.rules:
        metric = rule.metric
        better_up = GREATER_IS_BETTER[metric]
        value = report.test.get(metric)
        policy = gates.policy_of(rule)
        spread = _ends(intervals.get(metric))
        if rule.min is not None:
            results.append(
                _check(
                    f"{metric} >= {rule.min:g}",
                    "min",
                    metric,
                    value,
                    Threshold(threshold=rule.min, greater_is_better=True),
                    rule.min,
                    judged=Judged(policy, *spread),
                )
            )
        if rule.max is not None:
            results.append(
                _check(
                    f"{metric} <= {rule.max:g}",
                    "max",
                    metric,
                    value,
                    Threshold(threshold=rule.max, greater_is_better=False),
                    rule.max,
                    judged=Judged(policy, *spread),
                )
            )
        if rule.min_uplift is not None:
            baseline = report.baseline.get(metric)
            bound = (
                None
                if baseline is None
                else baseline + (rule.min_uplift if better_up else -rule.min_uplift)
            )
            # The paired difference's interval, on the metric's scale: baseline + uplift.
            uplift = _ends(uplifts.get(metric))
            shifted = (
                (None, None)
                if baseline is None or uplift[0] is None or uplift[1] is None
                else (baseline + uplift[0], baseline + uplift[1])
            )
            results.append(
                _check(
                    f"{metric} beats the baseline by {rule.min_uplift:g}",
                    "min_uplift",
                    metric,
                    value,
                    Threshold(min_absolute_change=rule.min_uplift, greater_is_better=better_up),
                    bound,
                    reference=baseline,
                    judged=Judged(policy, *shifted),
                )
            )
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
                Threshold(threshold=gap_rule.max_gap, greater_is_better=False),
                gap_rule.max_gap,
                note="" if gap is None else f"best {gap.best}, worst {gap.worst}",
                judged=Judged(
                    gates.policy_of(gap_rule),
                    None if gap is None else gap.low,
                    None if gap is None else gap.high,
                ),
            )
        )
    if gates.fail_on_leakage and leakage is not None:
        results.append(leakage_gate(leakage))
    results.extend(behaviour)
    passed = all(result.passed is not False for result in results)
    return GatesReport(
        model_sha256=report.model_sha256,
        passed=passed,
        enforced=gates.enforce,
        gates=tuple(results),
    )


def leakage_gate(leakage: LeakageCheck) -> GateResult:
    """Passed when no feature reaches the leakage threshold (see services/analysis/leakage.py)."""
    scores = [item.score for item in leakage.top_features]
    if leakage.linear_score is not None:
        scores.append(leakage.linear_score)
    return GateResult(
        name=f"no feature predicts the target alone ({leakage.metric} < {leakage.threshold:g})",
        kind="no_leakage",
        metric=leakage.metric,
        value=max(scores) if scores else None,
        bound=leakage.threshold,
        passed=not leakage.suspects,
        note="suspects: " + ", ".join(leakage.suspects) if leakage.suspects else "",
    )


def champion_gates(
    gates: GatesParams,
    candidate: dict[str, float],
    champion: ChampionScore | None,
    best_promoted: dict[str, PromotedScore],
) -> tuple[GateResult, ...]:
    """``max_drop_vs_champion`` of every rule, against the champion and the anchor.

    A champion that cannot score this test split (its input columns changed, say)
    fails the gate: which model is better cannot be known, so only an explicit
    promotion (``tabpipe promote --version N``) may replace it.
    """
    results: list[GateResult] = []
    for rule in gates.rules:
        if rule.max_drop_vs_champion is None:
            continue
        metric, tolerance = rule.metric, rule.max_drop_vs_champion
        value = candidate.get(metric)
        name = f"{metric} within {tolerance:g} of the champion"
        if champion is None:
            results.append(_skipped(name, "max_drop_vs_champion", metric, value, "no champion yet"))
        elif champion.error is not None or metric not in champion.test:
            reason = champion.error or f"{metric} could not be computed"
            results.append(
                GateResult(
                    name=name, kind="max_drop_vs_champion", metric=metric, value=value,
                    bound=None, reference=None, passed=False,
                    note=f"champion v{champion.version} cannot be compared: {reason}",
                )
            )  # fmt: skip
        else:
            results.append(
                _tolerance_gate(
                    name, "max_drop_vs_champion", metric, value, tolerance, champion.test[metric],
                    f"champion v{champion.version}, re-scored on this test split",
                )
            )  # fmt: skip
        best = best_promoted.get(metric)
        anchor_name = f"{metric} within {tolerance:g} of the best promoted"
        if best is None:
            results.append(
                _skipped(
                    anchor_name, "max_drop_vs_best", metric, value,
                    "no version promoted on this test split yet",
                )
            )  # fmt: skip
        else:
            results.append(
                _tolerance_gate(
                    anchor_name, "max_drop_vs_best", metric, value, tolerance, best.value,
                    f"v{best.version}, the best promoted on this test split",
                )
            )  # fmt: skip
    return tuple(results)


def _skipped(name: str, kind: GateKind, metric: str, value: float | None, note: str) -> GateResult:
    return GateResult(
        name=name, kind=kind, metric=metric, value=value, bound=None, reference=None,
        passed=None, note=note,
    )  # fmt: skip


def _tolerance_gate(
    name: str,
    kind: GateKind,
    metric: str,
    value: float | None,
    tolerance: float,
    reference: float,
    note: str,
) -> GateResult:
    better_up = GREATER_IS_BETTER[metric]
    bound = reference - tolerance if better_up else reference + tolerance
    return _check(
        name,
        kind,
        metric,
        value,
        Threshold(threshold=bound, greater_is_better=better_up),
        bound,
        reference=reference,
        note=note,
    )


@dataclass(frozen=True)
class Judged:
    """How a gate is decided: its policy and the interval of its value (if any)."""

    policy: GatePolicy = "point"
    low: float | None = None
    high: float | None = None

    def value_to_judge(self, value: float, *, greater_is_better: bool) -> tuple[float, str]:
        """The value the policy compares with the bound, and a note when it is not the estimate.

        ``pass_when_evidence`` takes the interval's pessimistic end, ``fail_when_evidence``
        its optimistic end; without an interval both fall back to the estimate.
        """
        if self.policy == "point":
            return value, ""
        if self.low is None or self.high is None:
            return value, "no interval on these rows: judged on the estimate"
        pessimistic = self.low if greater_is_better else self.high
        optimistic = self.high if greater_is_better else self.low
        if self.policy == "pass_when_evidence":
            return pessimistic, "judged on the interval's worse end"
        return optimistic, "judged on the interval's better end"


def _ends(interval: Interval | None) -> tuple[float | None, float | None]:
    return (None, None) if interval is None else (interval.low, interval.high)


def _check(
    name: str,
    kind: GateKind,
    metric: str,
    value: float | None,
    threshold: Threshold,
    bound: float | None,
    *,
    reference: float | None = None,
    note: str = "",
    judged: Judged | None = None,
) -> GateResult:
    judged = judged or Judged()
    if value is None:
        # No value is no evidence either way: a failure unless the policy fails on evidence.
        tolerant = judged.policy == "fail_when_evidence"
        return GateResult(
            name=name, kind=kind, metric=metric, value=None, bound=bound, reference=reference,
            passed=None if tolerant else False,
            note=f"{metric} could not be computed on the test split"
            + ("; no evidence against it (fail_when_evidence): skipped" if tolerant else ""),
            policy=judged.policy, low=judged.low, high=judged.high,
        )  # fmt: skip
    compared, how = judged.value_to_judge(value, greater_is_better=threshold.greater_is_better)
    passed = meets_threshold(metric, compared, threshold, reference=reference)
    return GateResult(
        name=name, kind=kind, metric=metric, value=value, bound=bound, reference=reference,
        passed=passed, note="; ".join(part for part in (note, how) if part),
        policy=judged.policy, low=judged.low, high=judged.high,
    )  # fmt: skip
