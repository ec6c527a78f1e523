"""Target leakage: features that predict the target almost perfectly on their own.

A feature computed from the target (its log, a component of a count that sums to it, a
status written after the outcome) makes a model look excellent and fail in production.
Each feature is scored alone, fitted on the train split and scored on the validation
split, with the metric a user reads as "how well it predicts": ROC AUC for
classification (one-vs-rest, macro, for several classes), R² for regression.

- A numeric feature: a small decision tree on that column (scikit-learn; missing values
  are routed by the tree itself), so a non-monotonic relation counts too; for regression
  also an isotonic fit, so any monotone function of the target (its log) scores exactly.
- A categorical feature: scikit-learn's ``TargetEncoder`` fitted on train, its encoding of
  the validation rows used as the prediction (the per-category target mean or class share).
- Regression also fits one linear model on all numeric features together: a target that
  is the sum of two columns is found although neither column alone comes near it. The
  columns it needs (dropping one takes the score below the threshold) are the suspects.

Rows are sampled (``max_rows`` per split) so the check costs about the same at any size.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import TargetEncoder
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from tabpipe.records.evaluation import FeatureScore, LeakageCheck
from tabpipe.services.modelling.features import FeatureColumns

MAX_ROWS = 20_000
TOP_FEATURES = 5
_LEAVES = 64
_LINEAR_CANDIDATES = 10  # columns of the linear model tried one by one for being needed


def check_leakage(
    train: pd.DataFrame,
    val: pd.DataFrame,
    columns: FeatureColumns,
    *,
    target: str,
    classification: bool,
    threshold: float,
    seed: int,
    max_rows: int = MAX_ROWS,
) -> LeakageCheck:
    """Score every feature alone (and, for regression, the numeric ones together)."""
    train = _sample(train, max_rows, seed)
    val = _sample(val, max_rows, seed)
    y_train, y_val = train[target], val[target]
    if classification:
        y_train, y_val = y_train.astype(str), y_val.astype(str)
    scores = []
    for column in columns.all:
        score = _single_feature_score(
            train[column],
            y_train,
            val[column],
            y_val,
            categorical=column in columns.categorical,
            classification=classification,
            seed=seed,
        )
        if score is not None:
            scores.append(FeatureScore(feature=column, score=round(score, 6)))
    scores.sort(key=lambda item: (-item.score, item.feature))
    suspects = [item.feature for item in scores if item.score >= threshold]
    linear = None
    if not classification and columns.numeric:
        linear, needed = _linear_leak(train, val, columns.numeric, target, threshold)
        suspects += [column for column in needed if column not in suspects]
    return LeakageCheck(
        metric="roc_auc" if classification else "r2",
        threshold=threshold,
        top_features=tuple(scores[:TOP_FEATURES]),
        linear_score=None if linear is None else round(linear, 6),
        suspects=tuple(suspects),
    )


def _sample(frame: pd.DataFrame, max_rows: int, seed: int) -> pd.DataFrame:
    return frame if len(frame) <= max_rows else frame.sample(n=max_rows, random_state=seed)


def _single_feature_score(
    x_train: pd.Series,
    y_train: pd.Series,
    x_val: pd.Series,
    y_val: pd.Series,
    *,
    categorical: bool,
    classification: bool,
    seed: int,
) -> float | None:
    """The validation score of a model that sees this one column (None: not computable)."""
    if x_train.notna().sum() == 0 or (classification and y_train.nunique() < 2):  # noqa: PLR2004
        return None
    if categorical:
        encoder = TargetEncoder(
            target_type=encoder_target_type(y_train, classification=classification),
            random_state=seed,
        )
        encoder.fit(_as_text(x_train), y_train if classification else y_train.astype(float))
        encoded = encoder.transform(_as_text(x_val))
        if classification:
            classes = [str(c) for c in encoder.classes_]
            return _auc(y_val, _as_probabilities(encoded, len(classes)), classes)
        return _r2(y_val, encoded[:, 0])
    try:
        numbers_train = x_train.astype("float64").to_frame()
        numbers_val = x_val.astype("float64").to_frame()
    except (TypeError, ValueError):
        return None
    leaf = max(5, len(x_train) // 1000)
    if classification:
        tree = DecisionTreeClassifier(
            max_leaf_nodes=_LEAVES, min_samples_leaf=leaf, random_state=seed
        )
        tree.fit(numbers_train, y_train)
        classes = [str(c) for c in tree.classes_]
        return _auc(y_val, tree.predict_proba(numbers_val), classes)
    regressor = DecisionTreeRegressor(
        max_leaf_nodes=_LEAVES, min_samples_leaf=leaf, random_state=seed
    )
    regressor.fit(numbers_train, y_train.astype(float))
    scores = [
        _r2(y_val, regressor.predict(numbers_val)),
        _monotone_r2(x_train, y_train, x_val, y_val),
    ]
    known = [score for score in scores if score is not None]
    return max(known) if known else None


def encoder_target_type(y_train: pd.Series, *, classification: bool) -> str:
    """The ``TargetEncoder`` target type the task decides, never guessed from the values.

    Regression is ``continuous`` whatever the target's dtype (an integer count, a decimal
    price); classification is ``binary`` for up to two classes (labels as text, so
    integer-coded and boolean classes alike), ``multiclass`` above.
    """
    if not classification:
        return "continuous"
    return "multiclass" if y_train.nunique() > 2 else "binary"  # noqa: PLR2004


def _monotone_r2(
    x_train: pd.Series, y_train: pd.Series, x_val: pd.Series, y_val: pd.Series
) -> float | None:
    """R² of the best monotone function of the feature.

    A log or a rescaling of the target fits exactly, where a small tree only
    approximates its tail.
    """
    seen = x_train.notna()
    if seen.sum() < 2:  # noqa: PLR2004
        return None
    isotonic = IsotonicRegression(increasing="auto", out_of_bounds="clip")
    with warnings.catch_warnings():  # a feature unrelated to the target: the direction is moot
        warnings.filterwarnings("ignore", message="Confidence interval of the Spearman")
        isotonic.fit(x_train[seen].astype(float), y_train[seen].astype(float))
    fallback = float(y_train.astype(float).mean())
    values = x_val.astype(float)
    predicted = np.full(len(values), fallback)
    known = values.notna().to_numpy()
    predicted[known] = isotonic.predict(values[known])
    return _r2(y_val, predicted)


def _as_text(values: pd.Series) -> pd.DataFrame:
    return values.astype("object").where(values.notna(), "<missing>").astype(str).to_frame()


def _as_probabilities(encoded: np.ndarray, n_classes: int) -> np.ndarray:
    if n_classes == 2:  # noqa: PLR2004 - one column: the positive class's share
        share = np.clip(encoded[:, 0], 0.0, 1.0)
        return np.column_stack([1.0 - share, share])
    clipped = np.clip(encoded, 1e-12, None)
    normalised: np.ndarray = clipped / clipped.sum(axis=1, keepdims=True)
    return normalised


def _auc(y_val: pd.Series, proba: np.ndarray, classes: list[str]) -> float | None:
    present = set(y_val.unique())
    if len(present) < 2 or not present <= set(classes):  # noqa: PLR2004
        return None
    if len(classes) == 2:  # noqa: PLR2004
        return float(roc_auc_score(y_val == classes[1], proba[:, 1]))
    return float(roc_auc_score(y_val, proba, multi_class="ovr", average="macro", labels=classes))


def _r2(y_val: pd.Series, predicted: np.ndarray) -> float | None:
    truth = y_val.astype(float).to_numpy()
    if len(truth) < 2 or np.all(truth == truth[0]):  # noqa: PLR2004
        return None
    return float(r2_score(truth, predicted))


def _linear_fit(
    train: pd.DataFrame, val: pd.DataFrame, numeric: Iterable[str], target: str
) -> tuple[float | None, Any]:
    """Validation R² of one linear model on ``numeric`` (median-imputed), and the model."""
    chosen = list(numeric)
    if not chosen:
        return None, None
    model = make_pipeline(
        SimpleImputer(strategy="median", keep_empty_features=True), LinearRegression()
    )
    try:
        model.fit(train[chosen].astype("float64"), train[target].astype(float))
        predicted = model.predict(val[chosen].astype("float64"))
    except (TypeError, ValueError):
        return None, None
    return _r2(val[target], predicted), model


def _linear_leak(
    train: pd.DataFrame, val: pd.DataFrame, numeric: tuple[str, ...], target: str, threshold: float
) -> tuple[float | None, list[str]]:
    """The numeric columns' joint linear R², and the columns it cannot do without."""
    score, model = _linear_fit(train, val, numeric, target)
    if score is None or score < threshold:
        return score, []
    spread = train[list(numeric)].astype("float64").std().fillna(0.0).to_numpy()
    weight = np.abs(model[-1].coef_) * spread
    ranked = [numeric[i] for i in np.argsort(-weight)[:_LINEAR_CANDIDATES]]
    needed = [
        column
        for column in ranked
        if (_linear_fit(train, val, [c for c in numeric if c != column], target)[0] or 0.0)
        < threshold
    ]
    return score, needed or ranked[:2]
