"""XGBoost as a scikit-learn step: string labels, validation-split early stopping.

XGBoost's scikit-learn classifier takes labels 0..k-1 only; :class:`EncodedLabelClassifier`
encodes the target (scikit-learn's ``LabelEncoder``, classes in sorted order as every
other kind has them) and decodes predictions, so the fitted pipeline answers in the
data's own labels. Its ``fit`` takes the validation split as ``X_val``/``y_val``, the
keywords HistGradientBoosting uses, which drive XGBoost's early stopping.

The model on disk is a plain ``xgboost.XGBClassifier``/``XGBRegressor`` inside the
scikit-learn pipeline (skops, trusted types listed in repositories/trusted_types.py),
whichever engine trained it: a model trained on a Dask cluster loads and predicts
without one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.class_weight import compute_sample_weight

from tabpipe.records.params import Task, XGBoostSpec
from tabpipe.services.modelling.features import FeatureColumns


def xgboost_params(
    spec: XGBoostSpec, *, columns: FeatureColumns, seed: int, n_threads: int
) -> dict[str, Any]:
    """Keyword arguments of XGBoost's estimators for a spec (both engines use the same)."""
    return {
        "n_estimators": spec.n_estimators,
        "learning_rate": spec.learning_rate,
        "max_depth": spec.max_depth,
        "max_leaves": spec.max_leaves,
        "min_child_weight": spec.min_child_weight,
        "reg_lambda": spec.reg_lambda,
        "subsample": spec.subsample,
        "colsample_bytree": spec.colsample_bytree,
        "max_bin": spec.max_bin,
        "tree_method": "hist",
        # The tree preprocessor puts ordinal-coded categories first, numbers after.
        "feature_types": ["c"] * len(columns.categorical) + ["q"] * len(columns.numeric),
        "enable_categorical": True,
        "early_stopping_rounds": spec.n_iter_no_change if spec.early_stopping else None,
        "random_state": seed,
        "n_jobs": n_threads,
    }


def build_xgboost(
    spec: XGBoostSpec, *, task: Task, columns: FeatureColumns, seed: int, n_threads: int
) -> BaseEstimator:
    """The unfitted XGBoost step for the task (classifiers wrapped to take any labels)."""
    import xgboost  # noqa: PLC0415 - only runs that train XGBoost pay for it

    kwargs = xgboost_params(spec, columns=columns, seed=seed, n_threads=n_threads)
    if task == "classification":
        return EncodedLabelClassifier(xgboost.XGBClassifier(**kwargs), spec.class_weight)
    return ValidatedRegressor(xgboost.XGBRegressor(**kwargs))


def _fit_with_progress(model: Any, x: Any, y: Any, **fit_params: Any) -> None:
    """Fit, logging every few rounds; the callback is not kept in the fitted model."""
    from tabpipe.services.modelling.boosting_progress import RoundLogger  # noqa: PLC0415

    model.set_params(callbacks=[RoundLogger()])
    try:
        model.fit(x, y, **fit_params)
    finally:
        model.set_params(callbacks=None)


def _eval_set(estimator: Any, x_val: Any, y_val: Any) -> dict[str, Any]:
    """``eval_set`` for XGBoost's fit when early stopping is on (it needs one)."""
    if x_val is None or getattr(estimator, "early_stopping_rounds", None) is None:
        return {}
    return {"eval_set": [(x_val, y_val)], "verbose": False}


class EncodedLabelClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A classifier that needs labels 0..k-1, fitted and answering in the data's labels."""

    def __init__(self, estimator: Any, class_weight: str | None = None) -> None:
        self.estimator = estimator
        self.class_weight = class_weight

    def fit(self, X: Any, y: Any, X_val: Any = None, y_val: Any = None) -> EncodedLabelClassifier:
        """Encode the labels, fit, keep the classes; ``X_val``/``y_val`` stop early.

        ``class_weight='balanced'`` becomes per-row sample weights (scikit-learn's
        ``compute_sample_weight``), as scikit-learn's own classifiers apply it.
        """
        encoder = LabelEncoder().fit(np.asarray(y))
        codes = encoder.transform(np.asarray(y))
        val_codes = None if y_val is None else encoder.transform(np.asarray(y_val))
        model = clone(self.estimator)
        weights = (
            {"sample_weight": compute_sample_weight(self.class_weight, codes)}
            if self.class_weight is not None
            else {}
        )
        _fit_with_progress(model, X, codes, **weights, **_eval_set(model, X_val, val_codes))
        self.estimator_, self.classes_ = model, encoder.classes_
        return self

    @classmethod
    def from_fitted(
        cls,
        model: Any,
        classes: np.ndarray,
        *,
        template: Any | None = None,
        class_weight: str | None = None,
    ) -> EncodedLabelClassifier:
        """Wrap an already fitted classifier whose outputs are codes into ``classes``."""
        wrapper = cls(template if template is not None else model, class_weight)
        wrapper.estimator_ = model
        wrapper.classes_ = np.asarray(classes)
        return wrapper

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        return np.asarray(self.estimator_.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class, as a label of the data."""
        return np.asarray(self.classes_[np.argmax(self.predict_proba(X), axis=1)])

    @property
    def best_iteration(self) -> int | None:
        """Boosting rounds kept by early stopping (None without it)."""
        return _best_iteration(self.estimator_)


class ValidatedRegressor(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """A regressor whose ``fit`` takes the validation split as ``X_val``/``y_val``."""

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator

    def fit(self, X: Any, y: Any, X_val: Any = None, y_val: Any = None) -> ValidatedRegressor:
        """Fit; ``X_val``/``y_val`` stop early."""
        model = clone(self.estimator)
        _fit_with_progress(model, X, np.asarray(y, dtype=float), **_eval_set(model, X_val, y_val))
        self.estimator_ = model
        return self

    @classmethod
    def from_fitted(cls, model: Any, *, template: Any | None = None) -> ValidatedRegressor:
        """Wrap an already fitted regressor."""
        wrapper = cls(template if template is not None else model)
        wrapper.estimator_ = model
        return wrapper

    def predict(self, X: Any) -> np.ndarray:
        """The predicted values."""
        return np.asarray(self.estimator_.predict(X), dtype=float)

    @property
    def best_iteration(self) -> int | None:
        """Boosting rounds kept by early stopping (None without it)."""
        return _best_iteration(self.estimator_)


def _best_iteration(model: Any) -> int | None:
    try:
        return int(model.best_iteration) + 1
    except AttributeError:  # no early stopping: every round is kept
        return None


def validation_curve(learner: Any) -> dict[str, tuple[float, ...]]:
    """The validation loss per round an XGBoost learner recorded (its first metric).

    Empty when it was fitted without an evaluation set (XGBoost raises XGBoostError, a
    ValueError, then). Read from the learner itself: a saved model file does not keep it.
    """
    try:
        recorded = learner.evals_result()
    except ValueError:
        return {}
    for values in recorded.get("validation_0", {}).values():
        return {"val_loss": tuple(round(float(value), 6) for value in values)}
    return {}


def is_boosting_wrapper(model: Any) -> bool:
    """Whether ``model`` is one of this module's wrappers (it reports ``best_iteration``)."""
    return isinstance(model, EncodedLabelClassifier | ValidatedRegressor)


def as_frame(features: Any) -> pd.DataFrame:
    """Features as a frame (the preprocessor's output may be an array)."""
    return features if isinstance(features, pd.DataFrame) else pd.DataFrame(features)
