"""How sure one test split lets us be: percentile bootstrap intervals for metrics and gates.

- :func:`resampled_values`: every asked metric on the same seeded resamples of the test
  rows (drawn lazily, one pass), so the model's and the baseline's values pair up and an
  uplift's interval is that of the paired difference (:func:`gate_intervals`).
- :func:`slice_gap_interval`: each slice resampled on its own (the slices are separate
  samples of their groups), the best-minus-worst gap taken per draw. The percentile
  interval of a maximum minus a minimum leans high when slices are close: a gap gate
  judged by its interval errs towards seeing a gap rather than hiding one.

scikit-learn and SciPy have the pieces (``scipy.stats.bootstrap`` takes one statistic of
independent samples); none resamples predictions once for many metrics and a paired
baseline, so the draws are made here. Metrics that are sums over rows are computed from
each resample's row counts (:func:`weighted_metric`, equal to scikit-learn's on the
resampled rows: tests/unit/test_uncertainty.py); the others are scikit-learn's own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt
from loguru import logger

from tabpipe.records.evaluation import Interval
from tabpipe.records.params import Params, Task
from tabpipe.services.analysis.metrics import Predictions, auc_resampler, compute_metrics
from tabpipe.utils.progress import with_progress

FloatArray = npt.NDArray[np.float64]


def resamples(n_rows: int, n_resamples: int, seed: int) -> Iterator[npt.NDArray[np.int64]]:
    """Row positions of each resample, drawn lazily in a fixed order (the same for a seed).

    Lazily: all resamples at once would hold n_resamples x n_rows indices in memory
    (600 MB for 500 x 150,000).
    """
    rng = np.random.default_rng(seed)
    for _ in range(n_resamples):
        yield rng.integers(0, n_rows, size=n_rows)


def resampled_values(
    predictions: Predictions,
    metrics: Iterable[str],
    *,
    task: Task,
    n_resamples: int,
    seed: int,
    label: str = "bootstrap",
) -> dict[str, FloatArray]:
    """Each metric on every resample of ``predictions`` (NaN where undefined on one).

    A resample is a count per row (how often it was drawn). Metrics that are sums over
    rows, or ratios of such sums, are computed from the counts in O(rows)
    (:func:`weighted_metric`, equal to scikit-learn's on the resampled rows); any
    other metric is scikit-learn's on the resampled rows themselves.
    """
    wanted = list(dict.fromkeys(metrics))
    values = {metric: np.full(n_resamples, np.nan) for metric in wanted}
    n_rows = len(predictions.y_true)
    if not wanted or n_rows == 0:
        return values
    fast = {metric: weighted_metric(predictions, metric, task=task) for metric in wanted}
    auc = None
    if "roc_auc" in wanted and predictions.positive_class is not None:
        is_positive = predictions.y_true.to_numpy() == predictions.positive_class
        auc = auc_resampler(is_positive, predictions.positive_scores)
    generic = [m for m in wanted if fast[m] is None and not (m == "roc_auc" and auc)]
    draws = with_progress(
        resamples(n_rows, n_resamples, seed),
        total=n_resamples,
        label=f"{label} of {', '.join(wanted)}, resample",
    )
    for index, rows in enumerate(draws):
        counts = np.bincount(rows, minlength=n_rows).astype(np.float64)
        for metric, function in fast.items():
            if function is not None:
                values[metric][index] = function(counts)
        if auc is not None:
            values["roc_auc"][index] = auc(rows)
        if generic:
            found = compute_metrics(predictions.take(rows), task=task, names=generic)
            for metric, value in found.items():
                values[metric][index] = value
    return values


WeightedMetric = Callable[[FloatArray], float]


def _mean(per_row: FloatArray) -> WeightedMetric:
    return lambda counts: float(counts @ per_row / counts.sum())


def weighted_metric(predictions: Predictions, metric: str, *, task: Task) -> WeightedMetric | None:
    """``metric`` of rows weighted by counts, as scikit-learn computes it on repeated rows.

    Defined for the metrics that are sums over rows or ratios of such sums (log loss,
    accuracy, balanced accuracy, binary Brier, precision, recall and F1; MAE, RMSE, MAPE,
    R²); None for the rest (ROC and PR AUC, macro averages), which are resampled as rows.
    NaN where the resample leaves the metric undefined.
    """
    if task == "regression":
        return _weighted_regression(predictions, metric)
    if predictions.proba is None:
        return None
    y_true = predictions.y_true.to_numpy(dtype=object)
    correct = (predictions.y_pred == y_true).astype(np.float64)
    positive = predictions.positive_class
    builders: dict[str, Callable[[], WeightedMetric | None]] = {
        "accuracy": lambda: _mean(correct),
        "log_loss": lambda: _weighted_log_loss(predictions, y_true),
        "balanced_accuracy": lambda: _weighted_balanced_accuracy(predictions, y_true, correct),
    }
    if positive is not None:
        actual = (y_true == positive).astype(np.float64)
        labelled = (predictions.y_pred == positive).astype(np.float64)
        builders["brier"] = lambda: _mean((predictions.positive_scores - actual) ** 2)
        for name in ("precision", "recall", "f1"):
            builders[name] = partial(_weighted_binary, name, actual, labelled)
    build = builders.get(metric)
    return None if build is None else build()


def _weighted_log_loss(predictions: Predictions, y_true: npt.NDArray[Any]) -> WeightedMetric | None:
    """Mean of -log p(actual class), clipped to [eps, 1 - eps] as scikit-learn does."""
    position = {label: i for i, label in enumerate(predictions.classes)}
    index = np.asarray([position.get(label, -1) for label in y_true])
    if predictions.proba is None or (index < 0).any():
        return None
    eps = np.finfo(np.float64).eps
    chosen = predictions.proba[np.arange(len(index)), index]
    return _mean(-np.log(np.clip(chosen, eps, 1 - eps)))


def _weighted_balanced_accuracy(
    predictions: Predictions, y_true: npt.NDArray[Any], correct: FloatArray
) -> WeightedMetric:
    """Mean recall over the classes the resample holds (scikit-learn drops absent ones)."""
    members = [(y_true == label).astype(np.float64) for label in predictions.classes]

    def balanced(counts: FloatArray) -> float:
        recalls = [
            float(counts @ (member * correct) / total)
            for member in members
            if (total := float(counts @ member)) > 0
        ]
        return float(np.mean(recalls)) if recalls else float("nan")

    return balanced


def _weighted_binary(metric: str, actual: FloatArray, labelled: FloatArray) -> WeightedMetric:
    """Precision, recall or F1 of the positive class (0 where undefined, as zero_division=0)."""

    def score(counts: FloatArray) -> float:
        tp = float(counts @ (actual * labelled))
        predicted, positives = float(counts @ labelled), float(counts @ actual)
        if metric == "precision":
            return tp / predicted if predicted else 0.0
        if metric == "recall":
            return tp / positives if positives else 0.0
        return 2 * tp / (predicted + positives) if predicted + positives else 0.0

    return score


def _weighted_regression(predictions: Predictions, metric: str) -> WeightedMetric | None:
    y = predictions.y_true.to_numpy(dtype=np.float64)
    error = y - predictions.y_pred.astype(np.float64)
    if metric == "mae":
        return _mean(np.abs(error))
    if metric == "rmse":
        squared = _mean(error**2)
        return lambda counts: float(np.sqrt(squared(counts)))
    if metric == "mape":
        return _mean(np.abs(error) / np.maximum(np.abs(y), np.finfo(np.float64).eps))
    if metric == "r2":

        def r2(counts: FloatArray) -> float:
            total = counts.sum()
            centre = float(counts @ y / total)
            spread = float(counts @ (y - centre) ** 2)
            residual = float(counts @ error**2)
            if spread == 0:  # scikit-learn's force_finite: 1 for a perfect fit, else 0
                return 1.0 if residual == 0 else 0.0
            return 1.0 - residual / spread

        return r2
    return None


def percentile_interval(values: FloatArray, confidence: float) -> tuple[float, float] | None:
    """The two-sided percentile interval of the finite values (None when there are none)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None
    alpha = (1 - confidence) / 2
    low, high = np.quantile(finite, [alpha, 1 - alpha])
    return float(low), float(high)


def slice_gap_interval(
    parts: list[Predictions],
    metric: str,
    *,
    task: Task,
    n_resamples: int,
    seed: int,
    confidence: float,
) -> tuple[float, float] | None:
    """Interval of the best-minus-worst ``metric`` over ``parts`` (the slices the gap spans).

    Each slice is resampled with its own seed; a draw where fewer than two slices have
    the metric defined is skipped.
    """
    if len(parts) < 2:  # noqa: PLR2004 - a gap needs two slices
        return None
    per_slice = np.vstack(
        [
            resampled_values(
                part,
                [metric],
                task=task,
                n_resamples=n_resamples,
                seed=seed + index,
                label=f"bootstrap of slice {index + 1}/{len(parts)}",
            )[metric]
            for index, part in enumerate(parts)
        ]
    )
    defined = np.isfinite(per_slice).sum(axis=0) >= 2  # noqa: PLR2004
    if not defined.any():
        return None
    kept = per_slice[:, defined]
    gaps = np.nanmax(kept, axis=0) - np.nanmin(kept, axis=0)
    return percentile_interval(gaps, confidence)


@dataclass(frozen=True)
class GateIntervals:
    """Bootstrap intervals on the test split: of metrics, and of uplifts over the baseline."""

    metrics: tuple[Interval, ...] = ()
    uplifts: tuple[Interval, ...] = ()


def gate_intervals(test: Predictions, baseline: Predictions, params: Params) -> GateIntervals:
    """Intervals of the primary metric and every gated one, and of each gated uplift.

    One seeded set of resampled test rows serves the model and the baseline, so an
    uplift's interval is that of the paired difference (services/analysis/uncertainty.py).
    """
    n_resamples, confidence = params.evaluate.bootstrap_samples, params.evaluate.confidence
    if not n_resamples:
        return GateIntervals()
    rules = params.gates.rules
    bounded = [r.metric for r in rules if r.min is not None or r.max is not None]
    uplifted = [r.metric for r in rules if r.min_uplift is not None]
    wanted = list(dict.fromkeys([params.primary_metric, *bounded, *uplifted]))
    task, seed = params.data.task, params.train.seed
    logger.info(
        "evaluate: intervals of {}, {} bootstrap resamples of {} test rows",
        ", ".join(wanted),
        n_resamples,
        len(test.y_true),
    )
    model = resampled_values(test, wanted, task=task, n_resamples=n_resamples, seed=seed)
    prior = resampled_values(
        baseline, uplifted, task=task, n_resamples=n_resamples, seed=seed, label="baseline"
    )

    def interval(metric: str, values: FloatArray) -> Interval | None:
        bounds = percentile_interval(values, confidence)
        if bounds is None:
            return None
        return Interval(
            metric=metric,
            low=bounds[0],
            high=bounds[1],
            confidence=confidence,
            n_resamples=n_resamples,
        )

    metrics = [interval(metric, model[metric]) for metric in wanted]
    uplifts = [interval(metric, model[metric] - prior[metric]) for metric in uplifted]
    return GateIntervals(
        metrics=tuple(i for i in metrics if i is not None),
        uplifts=tuple(i for i in uplifts if i is not None),
    )
