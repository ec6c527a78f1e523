"""The decision threshold of a binary classifier: chosen on validation, shipped in the model.

scikit-learn computes the curve (``precision_recall_curve``) and applies the threshold
(``FixedThresholdClassifier`` around the fitted pipeline, frozen with
``FrozenEstimator`` so nothing is refitted). The policy only picks a point on the curve:
``TunedThresholdClassifierCV`` maximises one score, but cannot express "the most recall
with precision at least 0.9", so every policy reads the same curve here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import precision_recall_curve
from sklearn.model_selection import FixedThresholdClassifier

from tabpipe.errors import ParamsError
from tabpipe.records.params import ThresholdParams

DEFAULT = 0.5
MAX_POINTS = 200
Rows = list[dict[str, float]]


@dataclass(frozen=True)
class ThresholdChoice:
    """The threshold, the policy that chose it, and what it achieved where it was chosen."""

    value: float
    policy: str
    precision: float
    recall: float


def _curve(
    is_positive: npt.NDArray[np.bool_], scores: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    precision, recall, thresholds = precision_recall_curve(is_positive, scores)
    return precision[:-1], recall[:-1], thresholds  # one point per threshold


def describe_policy(settings: ThresholdParams) -> str:
    """The policy in words: ``max F1``, ``precision >= 0.9``, ``fixed 0.5``."""
    if settings.policy == "max_f_beta":
        return f"max F{settings.beta:g}"
    if settings.policy == "min_precision":
        return f"most recall with precision >= {settings.value:g}"
    if settings.policy == "min_recall":
        return f"most precision with recall >= {settings.value:g}"
    return f"fixed {settings.value if settings.value is not None else DEFAULT:g}"


def choose_threshold(
    is_positive: npt.NDArray[np.bool_], scores: npt.NDArray[np.float64], settings: ThresholdParams
) -> ThresholdChoice:
    """The threshold the policy picks on these rows (the validation split).

    Raises ParamsError when no threshold reaches a min_precision / min_recall floor.
    """
    precision, recall, thresholds = _curve(is_positive, scores)
    policy = describe_policy(settings)
    if settings.policy == "fixed":
        value = settings.value if settings.value is not None else DEFAULT
        labels = scores >= value
        hits = float((labels & is_positive).sum())
        return ThresholdChoice(
            value=value,
            policy=policy,
            precision=hits / labels.sum() if labels.any() else 0.0,
            recall=hits / is_positive.sum() if is_positive.any() else 0.0,
        )
    if settings.policy == "max_f_beta":
        b2 = settings.beta**2
        with np.errstate(divide="ignore", invalid="ignore"):
            f_beta = np.nan_to_num((1 + b2) * precision * recall / (b2 * precision + recall))
        best = int(np.argmax(f_beta))
    else:
        floor = float(settings.value or 0.0)
        reached = precision >= floor if settings.policy == "min_precision" else recall >= floor
        if not reached.any():
            side = "precision" if settings.policy == "min_precision" else "recall"
            best_seen = float((precision if side == "precision" else recall).max())
            msg = (
                f"evaluate.threshold: no threshold reaches {side} {floor:g} on the validation "
                f"split (the best is {best_seen:.4f}); lower evaluate.threshold.value"
            )
            raise ParamsError(msg)
        goal = recall if settings.policy == "min_precision" else precision
        candidates = np.flatnonzero(reached)
        best = int(candidates[np.argmax(goal[candidates])])
    return ThresholdChoice(
        value=float(thresholds[best]),
        policy=policy,
        precision=float(precision[best]),
        recall=float(recall[best]),
    )


def with_threshold(model: Any, threshold: float, positive: str, rows: Any, labels: Any) -> Any:
    """``model`` (fitted, left as it is) labelling by ``P(positive) >= threshold``."""
    return FixedThresholdClassifier(
        FrozenEstimator(model),
        threshold=threshold,
        pos_label=positive,
        response_method="predict_proba",
    ).fit(rows, labels)


def model_threshold(model: Any) -> tuple[float, str] | None:
    """The threshold and positive class a model labels with (None: the most probable class)."""
    threshold = getattr(model, "threshold", None)
    positive = getattr(model, "pos_label", None)
    if isinstance(threshold, float | int) and not isinstance(threshold, bool) and positive:
        return float(threshold), str(positive)
    return None


def threshold_table(is_positive: npt.NDArray[np.bool_], scores: npt.NDArray[np.float64]) -> Rows:
    """Precision, recall and F1 at each threshold (thinned), for a DVC plot and the report."""
    precision, recall, thresholds = _curve(is_positive, scores)
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
    picks = np.unique(np.linspace(0, len(thresholds) - 1, MAX_POINTS).round().astype(int))
    return [
        {
            "threshold": float(thresholds[i]),
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
        }
        for i in picks
    ]
