"""Where the model errs: metrics by predicted-score decile and the worst test rows.

Each row gets a loss, the same one the metrics average: the log loss of the actual class
for classification (``-log P(actual)``, whose mean is scikit-learn's ``log_loss``), the
absolute error for regression (whose mean is the MAE). Rows are ranked by the model's
score (P(positive) for a binary model, the highest class probability for a multiclass
one, the predicted value for regression) and cut into ten groups of equal size.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from tabpipe.records.evaluation import (
    ErrorAnalysis,
    FeatureValue,
    ScoreDecile,
    WorstPrediction,
)
from tabpipe.services.analysis.metrics import FloatArray, Predictions

N_DECILES = 10
N_WORST = 10
PROBABILITY_FLOOR = 1e-15  # scikit-learn's log_loss clips probabilities the same way


def row_losses(predictions: Predictions) -> FloatArray:
    """Per-row loss: ``-log P(actual class)`` for classifiers, ``|error|`` for regression."""
    if predictions.proba is None:
        actual = predictions.y_true.to_numpy(dtype=float)
        errors: FloatArray = np.abs(actual - predictions.y_pred.astype(float))
        return errors
    return -np.log(np.clip(actual_class_probability(predictions), PROBABILITY_FLOOR, 1.0))


def actual_class_probability(predictions: Predictions) -> FloatArray:
    """The probability the model gave to each row's actual class (0 for an unseen class)."""
    if predictions.proba is None:
        msg = "only a classifier gives probabilities"
        raise ValueError(msg)
    index = {label: position for position, label in enumerate(predictions.classes)}
    columns = np.asarray([index.get(str(label), -1) for label in predictions.y_true], dtype=int)
    rows = np.arange(len(columns))
    chosen = predictions.proba[rows, np.maximum(columns, 0)]
    return np.where(columns >= 0, chosen, 0.0)


def ranking_score(predictions: Predictions) -> tuple[FloatArray, str]:
    """What the deciles rank rows by, and its name for readers."""
    if predictions.proba is None:
        return predictions.y_pred.astype(float), "predicted value"
    if predictions.positive_class is not None:
        return predictions.positive_scores, f"P({predictions.positive_class})"
    return predictions.proba.max(axis=1), "confidence (highest class probability)"


def score_deciles(predictions: Predictions) -> tuple[ScoreDecile, ...]:
    """Rows ranked by score, cut into (up to) ten groups of equal size, lowest scores first.

    Ties are broken by row order, so every group has ``n // 10`` or ``n // 10 + 1`` rows
    and the groups' mean losses, weighted by their sizes, give the overall mean loss.
    """
    scores, _ = ranking_score(predictions)
    n = len(scores)
    if n == 0:
        return ()
    losses = row_losses(predictions)
    order = np.argsort(scores, kind="stable")
    groups = np.array_split(order, min(N_DECILES, n))
    actual = _actual_values(predictions)
    return tuple(
        ScoreDecile(
            decile=number,
            n_rows=len(rows),
            score_low=float(scores[rows].min()),
            score_high=float(scores[rows].max()),
            mean_score=float(scores[rows].mean()),
            actual=float(actual[rows].mean()),
            mean_loss=float(losses[rows].mean()),
        )
        for number, rows in enumerate(groups, start=1)
    )


def _actual_values(predictions: Predictions) -> FloatArray:
    """Per row: 1.0 for the positive class (binary), 1.0 when right (multiclass), the target."""
    if predictions.proba is None:
        return predictions.y_true.to_numpy(dtype=float)
    truth = predictions.y_true.astype(str).to_numpy()
    hits = truth == (
        predictions.positive_class
        if predictions.positive_class is not None
        else predictions.y_pred.astype(str)
    )
    values: FloatArray = hits.astype(float)
    return values


def worst_predictions(
    predictions: Predictions, features: pd.DataFrame, n: int = N_WORST
) -> tuple[WorstPrediction, ...]:
    """The ``n`` rows of largest loss, worst first (ties: the earlier row), with features."""
    losses = row_losses(predictions)
    order = np.argsort(-losses, kind="stable")[:n]
    score = (
        actual_class_probability(predictions)
        if predictions.proba is not None
        else predictions.y_pred.astype(float)
    )
    truth = predictions.y_true.to_numpy()
    return tuple(
        WorstPrediction(
            row=int(position),
            actual=_plain(truth[position]),
            predicted=_plain(predictions.y_pred[position]),
            score=float(score[position]),
            loss=float(losses[position]),
            features={
                str(name): _feature_value(value)
                for name, value in features.iloc[int(position)].items()
            },
        )
        for position in order
    )


def error_analysis(
    predictions: Predictions, features: pd.DataFrame, *, n_worst: int = N_WORST
) -> ErrorAnalysis:
    """Score deciles and worst rows of the test split (``features``: its rows, same order)."""
    _, score_name = ranking_score(predictions)
    loss = "absolute error" if predictions.proba is None else "log loss of the actual class"
    return ErrorAnalysis(
        score=score_name,
        loss=loss,
        deciles=score_deciles(predictions),
        worst=worst_predictions(predictions, features, n_worst),
    )


def _plain(value: Any) -> str | float:
    """A label as text, a regression value as a float."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return float(value)
    return str(value)


def _feature_value(value: Any) -> FeatureValue:
    """A cell as JSON: missing as None, numpy scalars as Python ones, the rest as text."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    return str(value)
