"""Bootstrap intervals for gates: the fast resampled metrics equal scikit-learn's, and the
intervals and gap intervals behave as intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tabpipe.services.analysis.metrics import Predictions, compute_metrics
from tabpipe.services.analysis.uncertainty import (
    resampled_values,
    resamples,
    slice_gap_interval,
    weighted_metric,
)

CLASSIFICATION = ("accuracy", "log_loss", "balanced_accuracy", "brier", "precision", "recall", "f1")
REGRESSION = ("mae", "rmse", "mape", "r2")


def _classifier(seed: int, n_rows: int, n_classes: int) -> Predictions:
    rng = np.random.default_rng(seed)
    classes = tuple(f"c{i}" for i in range(n_classes))
    raw = rng.dirichlet(np.ones(n_classes), size=n_rows)
    raw[rng.random(n_rows) < 0.05, 0] = 0.0  # a few exact zeros: log loss clips them
    proba = raw / raw.sum(axis=1, keepdims=True)
    y = rng.choice(
        classes, size=n_rows, p=np.linspace(1, 3, n_classes) / np.linspace(1, 3, n_classes).sum()
    )
    labels = np.asarray(classes, dtype=object)[proba.argmax(axis=1)]
    return Predictions(
        y_true=pd.Series(y, dtype=object),
        y_pred=labels,
        proba=proba,
        classes=classes,
        positive_class=classes[-1] if n_classes == 2 else None,
    )


def _regressor(seed: int, n_rows: int) -> Predictions:
    rng = np.random.default_rng(seed)
    y = np.round(rng.normal(6.5, 2.0, n_rows), 2)
    return Predictions(
        y_true=pd.Series(y),
        y_pred=y + rng.normal(0, 1.0, n_rows),
        proba=None,
        classes=(),
        positive_class=None,
    )


@given(
    seed=st.integers(0, 10_000),
    n_rows=st.integers(5, 120),
    n_classes=st.sampled_from([2, 3, 5]),
)
def test_weighted_classification_metrics_equal_scikit_learn_on_the_resampled_rows(
    seed: int, n_rows: int, n_classes: int
) -> None:
    predictions = _classifier(seed, n_rows, n_classes)
    rows = next(resamples(n_rows, 1, seed))
    counts = np.bincount(rows, minlength=n_rows).astype(np.float64)
    expected = compute_metrics(predictions.take(rows), task="classification", names=CLASSIFICATION)
    for metric in CLASSIFICATION:
        function = weighted_metric(predictions, metric, task="classification")
        if function is None:
            assert metric in {"brier", "precision", "recall", "f1"}
            assert n_classes > 2
            continue
        assert function(counts) == pytest.approx(expected[metric], rel=1e-9, abs=1e-12), metric


@given(seed=st.integers(0, 10_000), n_rows=st.integers(3, 120))
def test_weighted_regression_metrics_equal_scikit_learn_on_the_resampled_rows(
    seed: int, n_rows: int
) -> None:
    predictions = _regressor(seed, n_rows)
    rows = next(resamples(n_rows, 1, seed))
    counts = np.bincount(rows, minlength=n_rows).astype(np.float64)
    expected = compute_metrics(predictions.take(rows), task="regression")
    for metric in REGRESSION:
        function = weighted_metric(predictions, metric, task="regression")
        assert function is not None
        assert function(counts) == pytest.approx(expected[metric], rel=1e-9, abs=1e-12), metric


def test_resampled_values_are_seeded_and_bracket_the_estimate() -> None:
    predictions = _classifier(3, 2000, 2)
    metrics = ["roc_auc", "log_loss", "pr_auc"]
    first = resampled_values(predictions, metrics, task="classification", n_resamples=200, seed=1)
    again = resampled_values(predictions, metrics, task="classification", n_resamples=200, seed=1)
    point = compute_metrics(predictions, task="classification", names=metrics)
    for metric in metrics:
        np.testing.assert_array_equal(first[metric], again[metric])
        low, high = np.quantile(first[metric], [0.025, 0.975])
        assert low < point[metric] < high


def test_a_gap_interval_is_wide_for_small_slices_and_narrow_for_large_ones() -> None:
    def gap_interval(n_rows: int) -> tuple[float, float]:
        parts = [_classifier(seed, n_rows, 2) for seed in (1, 2)]
        bounds = slice_gap_interval(
            parts, "accuracy", task="classification", n_resamples=300, seed=0, confidence=0.95
        )
        assert bounds is not None
        return bounds

    small, large = gap_interval(60), gap_interval(6000)
    assert small[1] - small[0] > 3 * (large[1] - large[0])
    assert slice_gap_interval(
        [_classifier(1, 50, 2)], "accuracy", task="classification", n_resamples=10, seed=0,
        confidence=0.95,
    ) is None  # fmt: skip
