"""Model metrics from scikit-learn, with the conventions tabpipe fixes once.

Binary metrics score the positive class (``data.positive_class``, else the last
class in sorted order, as scikit-learn does); multiclass ones are macro-averaged,
one-vs-rest for the probability metrics.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn import metrics as skm
from sklearn.exceptions import UndefinedMetricWarning

from tabpipe.records.params import GREATER_IS_BETTER, Task
from tabpipe.services.analysis.thresholds import model_threshold

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Predictions:
    """What a model said about a frame: labels (or values) and, for classifiers, probabilities."""

    y_true: pd.Series
    y_pred: npt.NDArray[Any]
    proba: FloatArray | None
    classes: tuple[str, ...]
    positive_class: str | None

    def take(self, rows: npt.NDArray[np.intp]) -> Predictions:
        """The predictions for these row positions (a bootstrap sample or a slice)."""
        return Predictions(
            y_true=self.y_true.iloc[rows],
            y_pred=self.y_pred[rows],
            proba=None if self.proba is None else self.proba[rows],
            classes=self.classes,
            positive_class=self.positive_class,
        )

    @property
    def positive_scores(self) -> FloatArray:
        """Probability of the positive class (binary classification only)."""
        if self.proba is None or self.positive_class is None:
            msg = "positive-class scores exist only for binary classification"
            raise ValueError(msg)
        return self.proba[:, self.classes.index(self.positive_class)]


def predict(
    model: Any, frame: pd.DataFrame, target: str, *, task: Task, positive_class: str | None
) -> Predictions:
    """The model's predictions on ``frame`` (labels and probabilities, or values) with the truth."""
    features = frame.drop(columns=[target])
    y_true = frame[target]
    if task == "regression":
        return Predictions(
            y_true=y_true.astype(float),
            y_pred=np.asarray(model.predict(features), dtype=float),
            proba=None,
            classes=(),
            positive_class=None,
        )
    classes = tuple(str(label) for label in model.classes_)
    proba = np.asarray(model.predict_proba(features), dtype=float)
    y_pred = predicted_labels(model, proba)
    binary = len(classes) == 2  # noqa: PLR2004
    positive = resolve_positive_class(classes, positive_class) if binary else None
    return Predictions(
        y_true=y_true.astype(str),
        y_pred=y_pred,
        proba=proba,
        classes=classes,
        positive_class=positive,
    )


def minority_count(predictions: Predictions) -> int | None:
    """Binary: rows of the rarer actual class (positive or negative); None otherwise."""
    if predictions.positive_class is None:
        return None
    positives = int((predictions.y_true.to_numpy() == predictions.positive_class).sum())
    return min(positives, len(predictions.y_true) - positives)


def predicted_labels(model: Any, proba: FloatArray) -> npt.NDArray[Any]:
    """The labels ``model.predict`` gives, from probabilities already computed.

    A binary model that carries a decision threshold (tabpipe's train stage wraps it in
    FixedThresholdClassifier) labels ``P(positive) >= threshold``; any other classifier
    the most probable class. Saves predicting twice on large splits.
    """
    classes = np.asarray([str(label) for label in model.classes_], dtype=object)
    chosen = model_threshold(model)
    if chosen is not None and len(classes) == 2:  # noqa: PLR2004
        threshold, positive = chosen
        index = int(np.flatnonzero(classes == positive)[0])
        negative = classes[1 - index]
        return np.where(proba[:, index] >= threshold, positive, negative).astype(object)
    labels: npt.NDArray[Any] = classes[proba.argmax(axis=1)]
    return labels


def resolve_positive_class(classes: tuple[str, ...], declared: str | None) -> str:
    """The declared positive class, checked against the model's classes; else the last sorted."""
    if declared is None:
        return sorted(classes)[-1]
    if declared not in classes:
        msg = (
            f"data.positive_class '{declared}' is not a class of the target ({', '.join(classes)})"
        )
        raise ValueError(msg)
    return declared


def compute_metrics(
    predictions: Predictions, *, task: Task, names: Iterable[str] | None = None
) -> dict[str, float]:
    """Every metric of the task (or only ``names``).

    One that is undefined on these rows (ROC AUC when a single class is present) is
    left out rather than reported as NaN.
    """
    functions = _metric_functions(predictions, task)
    wanted = list(functions) if names is None else [name for name in names if name in functions]
    result: dict[str, float] = {}
    for name in wanted:
        try:
            with warnings.catch_warnings():
                # An undefined metric (one class in a slice) is dropped below, not warned about.
                warnings.simplefilter("ignore", UndefinedMetricWarning)
                warnings.simplefilter("ignore", UserWarning)
                value = float(functions[name]())
        except ValueError:
            continue
        if np.isfinite(value):
            result[name] = value
    return result


def _metric_functions(p: Predictions, task: Task) -> dict[str, Callable[[], float]]:
    if task == "regression":
        y, pred = p.y_true.to_numpy(dtype=float), p.y_pred.astype(float)
        return {
            "rmse": lambda: skm.root_mean_squared_error(y, pred),
            "mae": lambda: skm.mean_absolute_error(y, pred),
            "r2": lambda: skm.r2_score(y, pred),
            "mape": lambda: skm.mean_absolute_percentage_error(y, pred),
        }
    if p.proba is None:
        msg = "classification metrics need predicted probabilities"
        raise ValueError(msg)
    proba = p.proba
    # Labels as integer codes (the model's classes first, in order, then any other label
    # seen): every metric here depends only on which rows share a label, and scikit-learn
    # checks and counts integer labels many times faster than text (150,000 rows: seconds).
    y_true, y_pred, labels = _label_codes(p)
    common: dict[str, Callable[[], float]] = {
        "accuracy": lambda: skm.accuracy_score(y_true, y_pred),
        "balanced_accuracy": lambda: skm.balanced_accuracy_score(y_true, y_pred),
        "log_loss": lambda: skm.log_loss(y_true, proba, labels=labels),
    }
    if p.positive_class is not None:
        positive = p.classes.index(p.positive_class)
        scores = p.positive_scores
        is_positive = y_true == positive
        return common | {
            "precision": lambda: skm.precision_score(
                y_true, y_pred, pos_label=positive, zero_division=0
            ),
            "recall": lambda: skm.recall_score(y_true, y_pred, pos_label=positive, zero_division=0),
            "f1": lambda: skm.f1_score(y_true, y_pred, pos_label=positive, zero_division=0),
            "roc_auc": lambda: skm.roc_auc_score(is_positive, scores),
            "pr_auc": lambda: skm.average_precision_score(is_positive, scores),
            "brier": lambda: skm.brier_score_loss(is_positive, scores),
        }
    one_hot = (y_true[:, None] == np.asarray(labels)[None, :]).astype(int)
    return common | {
        "precision": lambda: skm.precision_score(
            y_true, y_pred, labels=labels, average="macro", zero_division=0
        ),
        "recall": lambda: skm.recall_score(
            y_true, y_pred, labels=labels, average="macro", zero_division=0
        ),
        "f1": lambda: skm.f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0),
        "roc_auc": lambda: skm.roc_auc_score(one_hot, proba, average="macro"),
        "pr_auc": lambda: skm.average_precision_score(one_hot, proba, average="macro"),
        "brier": lambda: skm.brier_score_loss(y_true, proba, labels=labels),
    }


def _label_codes(
    p: Predictions,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], list[int]]:
    """The true and predicted labels as codes, and the codes of the model's classes."""
    truth = p.y_true.to_numpy(dtype=object)
    known = list(p.classes)
    seen = set(known)
    for label in (*pd.unique(truth), *pd.unique(p.y_pred)):
        if label not in seen:  # a label the model never predicts: a code of its own
            known.append(label)
            seen.add(label)
    codes = [pd.Categorical(v, categories=known).codes.astype(np.int64) for v in (truth, p.y_pred)]
    return codes[0], codes[1], list(range(len(p.classes)))


def group_rates(predictions: Predictions) -> dict[str, float]:
    """Binary: the rates fairness reviews compare across groups (empty otherwise).

    ``selection_rate``: share labelled positive; ``fpr``: negatives labelled positive;
    ``fnr``: positives labelled negative. A rate with no rows to divide by is left out.
    """
    positive = predictions.positive_class
    if positive is None or len(predictions.y_true) == 0:
        return {}
    actual = predictions.y_true.to_numpy() == positive
    labelled = predictions.y_pred == positive
    rates = {"selection_rate": float(labelled.mean())}
    if (~actual).any():
        rates["fpr"] = float(labelled[~actual].mean())
    if actual.any():
        rates["fnr"] = float((~labelled[actual]).mean())
    return rates


def auc_resampler(
    is_positive: npt.NDArray[np.bool_], scores: FloatArray
) -> Callable[[npt.NDArray[np.int64]], float]:
    """Binary ROC AUC of a resample (row positions drawn with replacement), ranking once.

    Equal to scikit-learn's ``roc_auc_score`` on the resample (ties count one half): the
    scores are sorted into distinct levels once; a resample is then just how many times
    it drew each row, so its AUC is a weighted Mann-Whitney U over the levels, O(rows)
    with no sorting. scikit-learn has no weighted-resample form, and calling it once per
    resample costs seconds for a bootstrap of a few thousand rows. NaN where a resample
    holds one class only.
    """
    levels, level_of_row = np.unique(scores, return_inverse=True)
    n_rows, n_levels = len(scores), len(levels)
    positive = is_positive.astype(np.float64)

    def auc(rows: npt.NDArray[np.int64]) -> float:
        counts = np.bincount(rows, minlength=n_rows).astype(np.float64)
        pos = np.bincount(level_of_row, weights=counts * positive, minlength=n_levels)
        neg = np.bincount(level_of_row, weights=counts * (1.0 - positive), minlength=n_levels)
        below = np.cumsum(neg) - neg  # negatives at strictly lower scores, per level
        n_pos, n_neg = pos.sum(), neg.sum()
        if n_pos == 0 or n_neg == 0:
            return float("nan")
        return float((pos * (below + 0.5 * neg)).sum() / (n_pos * n_neg))

    return auc


def resampled_roc_auc(
    is_positive: npt.NDArray[np.bool_],
    scores: FloatArray,
    draws: Iterable[npt.NDArray[np.int64]],
) -> list[float]:
    """Binary ROC AUC of many resamples (:func:`auc_resampler`); NaN for one-class ones."""
    auc = auc_resampler(is_positive, scores)
    return [auc(rows) for rows in draws]


Scorer = Callable[[Any, pd.DataFrame, pd.Series], float]


@dataclass(frozen=True)
class OrientedScorer:
    """A scikit-learn ``scoring`` callable: ``metric`` of tabpipe's conventions, higher better.

    Error metrics are negated (as scikit-learn's ``neg_*`` scorers are), so a grid search
    maximises it and a permutation's importance is the drop it causes, whatever the metric.
    NaN where the metric is undefined on the rows. ``from_predictions`` scores predictions
    already made (permuted copies predicted together).
    """

    metric: str
    task: Task
    target: str
    positive_class: str | None

    def __call__(self, estimator: Any, features: pd.DataFrame, y: pd.Series) -> float:
        """Predict ``features`` with ``estimator`` and score against ``y``."""
        frame = features.assign(**{self.target: y})
        return self.from_predictions(
            predict(
                estimator, frame, self.target, task=self.task, positive_class=self.positive_class
            )
        )

    def from_predictions(self, predictions: Predictions) -> float:
        """The oriented metric of predictions already made."""
        sign = 1.0 if GREATER_IS_BETTER[self.metric] else -1.0
        found = compute_metrics(predictions, task=self.task, names=[self.metric])
        return sign * found.get(self.metric, np.nan)


def oriented_scorer(
    metric: str, *, task: Task, target: str, positive_class: str | None
) -> OrientedScorer:
    """The :class:`OrientedScorer` of ``metric`` (higher is better, NaN where undefined)."""
    return OrientedScorer(metric=metric, task=task, target=target, positive_class=positive_class)
