from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from tabpipe.services.analysis.metrics import (
    Predictions,
    compute_metrics,
    resolve_positive_class,
)


def _binary(n_rows: int = 400, seed: int = 0) -> Predictions:
    rng = np.random.default_rng(seed)
    y = rng.choice(["no", "yes"], size=n_rows, p=[0.7, 0.3])
    score = np.clip((y == "yes") * 0.4 + rng.uniform(0, 0.6, size=n_rows), 0, 1)
    proba = np.column_stack([1 - score, score])
    return Predictions(
        y_true=pd.Series(y),
        y_pred=np.where(score > 0.5, "yes", "no").astype(object),
        proba=proba,
        classes=("no", "yes"),
        positive_class="yes",
    )


def test_binary_metrics_agree_with_scikit_learn_on_the_positive_class() -> None:
    p = _binary()
    metrics = compute_metrics(p, task="classification")
    is_yes = p.y_true == "yes"
    assert metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(is_yes, p.positive_scores))
    assert metrics["recall"] == pytest.approx(skm.recall_score(p.y_true, p.y_pred, pos_label="yes"))
    assert metrics["brier"] == pytest.approx(skm.brier_score_loss(is_yes, p.positive_scores))
    assert set(metrics) == {
        "accuracy", "balanced_accuracy", "precision", "recall", "f1",
        "roc_auc", "pr_auc", "log_loss", "brier",
    }  # fmt: skip


def test_multiclass_metrics_are_macro_averaged() -> None:
    y = np.array(["a", "b", "c"] * 20, dtype=object)
    proba = np.tile(np.array([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.1, 0.2, 0.7]]), (20, 1))
    p = Predictions(
        y_true=pd.Series(y), y_pred=y.copy(), proba=proba, classes=("a", "b", "c"),
        positive_class=None,
    )  # fmt: skip
    metrics = compute_metrics(p, task="classification")
    assert metrics["accuracy"] == 1.0
    assert metrics["f1"] == 1.0
    assert metrics["roc_auc"] == 1.0
    assert 0 < metrics["brier"] < 1


def test_regression_metrics() -> None:
    p = Predictions(
        y_true=pd.Series([1.0, 2.0, 4.0]), y_pred=np.array([1.0, 3.0, 4.0]), proba=None,
        classes=(), positive_class=None,
    )  # fmt: skip
    metrics = compute_metrics(p, task="regression")
    assert metrics["mae"] == pytest.approx(1 / 3)
    assert metrics["rmse"] == pytest.approx(np.sqrt(1 / 3))
    assert set(metrics) == {"rmse", "mae", "r2", "mape"}


def test_a_metric_undefined_on_the_rows_is_left_out() -> None:
    p = _binary()
    only_no = p.take(np.flatnonzero(p.y_true.to_numpy() == "no"))
    metrics = compute_metrics(only_no, task="classification")
    assert "roc_auc" not in metrics
    assert "accuracy" in metrics


def test_positive_class_defaults_to_the_last_sorted_class() -> None:
    assert resolve_positive_class(("<=50K", ">50K"), None) == ">50K"
    assert resolve_positive_class(("no", "yes"), "no") == "no"
    with pytest.raises(ValueError, match="not a class of the target"):
        resolve_positive_class(("no", "yes"), "maybe")


def test_vectorised_resampled_auc_equals_scikit_learn_with_ties() -> None:
    from tabpipe.services.analysis.metrics import resampled_roc_auc

    rng = np.random.default_rng(5)
    is_positive = rng.random(300) < 0.3
    scores = np.round(rng.random(300), 1)  # many ties
    draws = [rng.integers(0, 300, size=300) for _ in range(7)]
    fast = resampled_roc_auc(is_positive, scores, draws)
    slow = [skm.roc_auc_score(is_positive[rows], scores[rows]) for rows in draws]
    np.testing.assert_allclose(fast, slow)
    one_class = resampled_roc_auc(np.zeros(10, dtype=bool), np.arange(10.0), [np.arange(10)])
    assert np.isnan(one_class[0])


def test_group_rates_count_selection_false_positives_and_false_negatives() -> None:
    from tabpipe.services.analysis.metrics import group_rates

    predictions = Predictions(
        y_true=pd.Series(["yes", "yes", "no", "no", "no"]),
        y_pred=np.array(["yes", "no", "yes", "no", "no"], dtype=object),
        proba=np.full((5, 2), 0.5),
        classes=("no", "yes"),
        positive_class="yes",
    )
    assert group_rates(predictions) == {"selection_rate": 0.4, "fpr": 1 / 3, "fnr": 0.5}
    only_negatives = predictions.take(np.array([2, 3, 4]))
    assert "fnr" not in group_rates(only_negatives)  # no positive row: no rate to report


def _on_text_labels(p: Predictions) -> dict[str, float]:
    """scikit-learn's metrics on the text labels themselves (what codes must reproduce);
    one scikit-learn refuses (a third label beside a binary model's two) is left out."""
    labels = list(p.classes)
    y_true, y_pred, proba = p.y_true.to_numpy(dtype=object), p.y_pred, p.proba
    if p.positive_class is not None:
        kwargs: dict[str, Any] = {"pos_label": p.positive_class, "zero_division": 0}
    else:
        kwargs = {"labels": labels, "average": "macro", "zero_division": 0}
    metrics: dict[str, Callable[[], float]] = {
        "accuracy": lambda: skm.accuracy_score(y_true, y_pred),
        "balanced_accuracy": lambda: skm.balanced_accuracy_score(y_true, y_pred),
        "log_loss": lambda: skm.log_loss(y_true, proba, labels=labels),
        "precision": lambda: skm.precision_score(y_true, y_pred, **kwargs),
        "recall": lambda: skm.recall_score(y_true, y_pred, **kwargs),
        "f1": lambda: skm.f1_score(y_true, y_pred, **kwargs),
    }
    found = {}
    for name, metric in metrics.items():
        try:
            found[name] = float(metric())
        except ValueError:
            continue
    return found


@pytest.mark.parametrize("n_classes", [2, 3, 5])
@pytest.mark.parametrize("unseen_label", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_label_metrics_on_codes_equal_scikit_learns_on_the_text_labels(
    n_classes: int, unseen_label: bool, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    classes = tuple(f"class {chr(ord('a') + i)}" for i in range(n_classes))  # sorted, as sklearn
    n_rows = 300
    proba = rng.dirichlet(np.ones(n_classes), size=n_rows)
    y_true = rng.choice(classes, size=n_rows).astype(object)
    if unseen_label:
        y_true[rng.integers(0, n_rows, size=5)] = "a label the model never saw"
    p = Predictions(
        y_true=pd.Series(y_true),
        y_pred=np.asarray(classes, dtype=object)[proba.argmax(axis=1)],
        proba=proba,
        classes=classes,
        positive_class=classes[0] if n_classes == 2 else None,  # not the one sorted last
    )
    found = compute_metrics(p, task="classification")
    expected = _on_text_labels(p)
    assert {k: found[k] for k in expected} == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert {"accuracy", "balanced_accuracy"} <= set(expected)
    assert set(expected) <= set(found)
    assert ("log_loss" in found) is not unseen_label


def test_log_loss_pairs_columns_with_classes_whose_text_does_not_sort_like_the_numbers() -> None:
    """A model of integer classes 1, 2, 10 orders its columns so; their text sorts 1, 10, 2."""
    rng = np.random.default_rng(0)
    numbers = np.array([1, 2, 10])
    proba = rng.dirichlet(np.ones(3), size=200)
    y = rng.choice(numbers, size=200)
    p = Predictions(
        y_true=pd.Series(y).astype(str),
        y_pred=numbers.astype(str).astype(object)[proba.argmax(axis=1)],
        proba=proba,
        classes=("1", "2", "10"),
        positive_class=None,
    )
    found = compute_metrics(p, task="classification")
    assert found["log_loss"] == pytest.approx(skm.log_loss(y, proba, labels=numbers))
