"""The evaluation curves as images for MLflow, drawn by scikit-learn's Display classes."""

from __future__ import annotations

from typing import Any

import matplotlib as mpl

mpl.use("Agg")  # no display: figures are only written to files

import matplotlib.pyplot as plt
import numpy as np
from sklearn.calibration import CalibrationDisplay
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    PrecisionRecallDisplay,
    PredictionErrorDisplay,
    RocCurveDisplay,
)

from tabpipe.records.evaluation import ErrorAnalysis, FeatureImportance
from tabpipe.records.params import Task
from tabpipe.services.analysis.metrics import Predictions


def evaluation_figures(predictions: Predictions, *, task: Task) -> dict[str, Any]:
    """Image name -> matplotlib Figure. The caller logs and closes them."""
    figures: dict[str, Any] = {}
    if task == "regression":
        for kind in ("actual_vs_predicted", "residual_vs_predicted"):
            display = PredictionErrorDisplay.from_predictions(
                predictions.y_true.to_numpy(dtype=float),
                predictions.y_pred.astype(float),
                kind=kind,
                subsample=2000,
                random_state=0,
            )
            figures[f"{kind}.png"] = display.figure_
        return figures
    display = ConfusionMatrixDisplay.from_predictions(
        predictions.y_true, predictions.y_pred, labels=list(predictions.classes), colorbar=False
    )
    figures["confusion_matrix.png"] = display.figure_
    if predictions.positive_class is not None:
        # The labels themselves with pos_label, so the figures name the class (">50K"),
        # not "Positive label: True".
        labels, positive = predictions.y_true.to_numpy(), predictions.positive_class
        scores = predictions.positive_scores
        figures["roc_curve.png"] = RocCurveDisplay.from_predictions(
            labels, scores, pos_label=positive
        ).figure_
        figures["precision_recall_curve.png"] = PrecisionRecallDisplay.from_predictions(
            labels, scores, pos_label=positive
        ).figure_
        figures["calibration_curve.png"] = CalibrationDisplay.from_predictions(
            labels, scores, n_bins=10, strategy="quantile", pos_label=positive
        ).figure_
    return figures


def explanation_figures(
    importance: tuple[FeatureImportance, ...],
    partial_dependence: list[dict[str, Any]],
    *,
    metric: str,
) -> dict[str, Any]:
    """Permutation importance with its spread, and partial dependence with ICE lines."""
    if not importance:
        return {}
    figures: dict[str, Any] = {}
    shown = list(reversed(importance[:20]))
    figure, ax = plt.subplots(figsize=(7, 0.3 * len(shown) + 1.2))
    ax.barh(
        [item.feature for item in shown],
        [item.mean for item in shown],
        xerr=[item.std for item in shown],
        color="tab:blue",
    )
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_xlabel(f"worsening of {metric} when shuffled (test split)")
    ax.set_title("Permutation importance")
    figure.tight_layout()
    figures["permutation_importance.png"] = figure
    features = list(dict.fromkeys(row["feature"] for row in partial_dependence))
    if features:
        figure, axes = plt.subplots(1, len(features), figsize=(4 * len(features), 3.2))
        for ax, feature in zip(np.atleast_1d(axes), features, strict=True):
            rows = [row for row in partial_dependence if row["feature"] == feature]
            for curve in dict.fromkeys(row["curve"] for row in rows):
                points = [row for row in rows if row["curve"] == curve]
                individual = " row " in curve
                ax.plot(
                    [
                        str(p["value"]) if isinstance(p["value"], str) else p["value"]
                        for p in points
                    ],
                    [p["prediction"] for p in points],
                    color="grey" if individual else "tab:orange",
                    alpha=0.3 if individual else 1.0,
                    linewidth=0.8 if individual else 2.0,
                    label=None if individual else curve,
                )
            ax.set_xlabel(feature)
            ax.tick_params(axis="x", labelrotation=45)
        np.atleast_1d(axes)[0].legend(fontsize="small")
        figure.suptitle("Partial dependence (average) and ICE (grey: single rows)")
        figure.tight_layout()
        figures["partial_dependence.png"] = figure
    return figures


def threshold_figure(rows: list[dict[str, float]], chosen: float | None) -> Any:
    """Precision, recall and F1 against the threshold (test split), the chosen one marked."""
    figure, ax = plt.subplots(figsize=(6, 3.5))
    thresholds = [row["threshold"] for row in rows]
    for name in ("precision", "recall", "f1"):
        ax.plot(thresholds, [row[name] for row in rows], label=name)
    if chosen is not None:
        ax.axvline(chosen, color="black", linestyle="--", label=f"threshold {chosen:.3f}")
    ax.set_xlabel("threshold on P(positive)")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize="small")
    ax.set_title("Precision, recall and F1 by threshold (test split)")
    figure.tight_layout()
    return figure


def error_figure(errors: ErrorAnalysis) -> Any:
    """Score against outcome, and mean loss, by decile of the model's score (test split)."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4))
    deciles = [d.decile for d in errors.deciles]
    left.plot(deciles, [d.mean_score for d in errors.deciles], marker="o", label="mean score")
    left.plot(deciles, [d.actual for d in errors.deciles], marker="s", label="actual")
    left.set_xlabel(f"decile of {errors.score}")
    left.legend(fontsize="small")
    left.set_title("Score against outcome")
    right.bar(deciles, [d.mean_loss for d in errors.deciles], color="tab:orange")
    right.set_xlabel(f"decile of {errors.score}")
    right.set_ylabel(f"mean {errors.loss}")
    right.set_title("Where the loss concentrates")
    figure.tight_layout()
    return figure


def close(figure: Any) -> None:
    """Release a figure once it is logged (matplotlib keeps every open figure in memory)."""
    plt.close(figure)
