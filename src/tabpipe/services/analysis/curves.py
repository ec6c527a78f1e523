"""Curve data for DVC plots (JSON/CSV that `dvc plots diff` compares across experiments).

scikit-learn computes every curve; this module only shapes the points into rows
and thins long curves so the files stay small enough to diff.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.metrics import precision_recall_curve, roc_curve

from tabpipe.records.evaluation import FeatureImportance, ModelSummary
from tabpipe.records.params import Task
from tabpipe.services.analysis.metrics import Predictions

MAX_POINTS = 400
Rows = list[dict[str, Any]]


def curve_tables(predictions: Predictions, *, task: Task) -> dict[str, Rows]:
    """File stem -> rows. Binary: ROC, PR, calibration; all classifiers: confusion pairs."""
    if task == "regression":
        actual = predictions.y_true.to_numpy(dtype=float)
        predicted = predictions.y_pred.astype(float)
        rows = _thin(np.arange(len(actual)))
        return {
            "predicted_vs_actual": [
                {"actual": float(actual[i]), "predicted": float(predicted[i])} for i in rows
            ],
            "residuals": [
                {"predicted": float(predicted[i]), "residual": float(actual[i] - predicted[i])}
                for i in rows
            ],
        }
    tables: dict[str, Rows] = {
        "confusion": [
            {"actual": str(a), "predicted": str(p)}
            for a, p in zip(predictions.y_true, predictions.y_pred, strict=True)
        ]
    }
    if predictions.positive_class is None:
        return tables
    is_positive = predictions.y_true.to_numpy() == predictions.positive_class
    scores = predictions.positive_scores
    fpr, tpr, _ = roc_curve(is_positive, scores)
    precision, recall, _ = precision_recall_curve(is_positive, scores)
    observed, expected = calibration_curve(is_positive, scores, n_bins=10, strategy="quantile")
    tables["roc"] = [
        {"fpr": float(fpr[i]), "tpr": float(tpr[i])} for i in _thin(np.arange(len(fpr)))
    ]
    tables["precision_recall"] = [
        {"recall": float(recall[i]), "precision": float(precision[i])}
        for i in _thin(np.arange(len(recall)))
    ]
    tables["calibration"] = [
        {"mean_predicted": float(e), "fraction_positive": float(o)}
        for e, o in zip(expected, observed, strict=True)
    ]
    return tables


def explanation_tables(
    importance: tuple[FeatureImportance, ...], partial_dependence: Rows
) -> dict[str, Rows]:
    """Permutation importance (a DVC bar plot) and partial dependence (for the report)."""
    if not importance:
        return {}
    return {
        "importance": [
            {"feature": item.feature, "importance": item.mean, "std": item.std}
            for item in importance
        ],
        "partial_dependence": partial_dependence,
    }


def training_tables(summary: ModelSummary, *, greater_is_better: bool) -> dict[str, Rows]:
    """What the train stage recorded of its fit: loss per boosting iteration, the search.

    ``search_history`` has one row per completed trial (its validation score and the best
    so far); ``search_importance`` Optuna's importance of each searched hyperparameter.
    """
    tables: dict[str, Rows] = {}
    curves = summary.learning_curve
    if curves:
        length = max(len(values) for values in curves.values())
        tables["learning_curve"] = [
            {"iteration": step, **{name: values[step] for name, values in curves.items()
                                   if step < len(values)}}
            for step in range(length)
        ]  # fmt: skip
    search = summary.search
    if search is not None:
        history: Rows = []
        best: float | None = None
        for trial in search.trials:
            if trial.value is None:  # pruned: no full score
                continue
            better = best is None or (
                trial.value > best if greater_is_better else trial.value < best
            )
            best = trial.value if better else best
            history.append({"trial": trial.number, "value": trial.value, "best": best})
        tables["search_history"] = history
        if search.importances:
            tables["search_importance"] = [
                {"parameter": name, "importance": value}
                for name, value in search.importances.items()
            ]
    return tables


def _thin(index: np.ndarray[Any, Any]) -> list[int]:
    """At most MAX_POINTS evenly spaced indices, first and last kept."""
    if len(index) <= MAX_POINTS:
        return [int(i) for i in index]
    picks = np.unique(np.linspace(0, len(index) - 1, MAX_POINTS).round().astype(int))
    return [int(index[i]) for i in picks]
