"""The evaluation curves as images for MLflow, drawn by scikit-learn's Display classes."""

from __future__ import annotations

from typing import Any

import matplotlib as mpl

mpl.use("Agg")  # no display: figures are only written to files

import matplotlib.pyplot as plt
from sklearn.calibration import CalibrationDisplay
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    PrecisionRecallDisplay,
    PredictionErrorDisplay,
    RocCurveDisplay,
)

from tabpipe.records.params import Task
from tabpipe.services.metrics import Predictions


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
        is_positive = predictions.y_true.to_numpy() == predictions.positive_class
        scores = predictions.positive_scores
        figures["roc_curve.png"] = RocCurveDisplay.from_predictions(is_positive, scores).figure_
        figures["precision_recall_curve.png"] = PrecisionRecallDisplay.from_predictions(
            is_positive, scores
        ).figure_
        figures["calibration_curve.png"] = CalibrationDisplay.from_predictions(
            is_positive, scores, n_bins=10, strategy="quantile"
        ).figure_
    return figures


def close(figure: Any) -> None:
    """Release a figure once it is logged (matplotlib keeps every open figure in memory)."""
    plt.close(figure)
