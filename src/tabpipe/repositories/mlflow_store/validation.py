"""MLflow's model-validation rule for one metric against a bound (pure computation)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Threshold:
    """A bound on one metric, in the terms of MLflow's ``MetricThreshold``."""

    greater_is_better: bool
    threshold: float | None = None
    min_absolute_change: float | None = None


def meets_threshold(
    metric: str, value: float, bound: Threshold, *, reference: float | None = None
) -> bool:
    """MLflow's own model-validation rule for one metric (``validate_evaluation_results``).

    ``reference`` is the baseline's value, which ``min_absolute_change`` is measured from.
    Pure computation: nothing is logged or read from a store. MLflow is imported here,
    when a gate is judged, not when the gates module is.
    """
    import mlflow  # noqa: PLC0415
    from mlflow.models import MetricThreshold  # noqa: PLC0415
    from mlflow.models.evaluation import EvaluationResult  # noqa: PLC0415
    from mlflow.models.evaluation.validation import (  # noqa: PLC0415
        ModelValidationFailedException,
    )

    threshold = MetricThreshold(
        threshold=bound.threshold,
        min_absolute_change=bound.min_absolute_change,
        greater_is_better=bound.greater_is_better,
    )
    baseline = None if reference is None else EvaluationResult({metric: reference}, {})
    try:
        mlflow.validate_evaluation_results(
            {metric: threshold}, EvaluationResult({metric: value}, {}), baseline
        )
    except ModelValidationFailedException:
        return False
    return True
