"""From a validated model spec in params.yaml to an unfitted scikit-learn pipeline."""

from __future__ import annotations

from typing import Any

from sklearn.base import BaseEstimator
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline

from tabpipe.records.params import (
    HistGradientBoostingSpec,
    LogisticRegressionSpec,
    ModelSpec,
    RandomForestSpec,
    RidgeSpec,
    Task,
    XGBoostSpec,
)
from tabpipe.services.boosting import build_xgboost
from tabpipe.services.modelling.features import (
    HGB_MAX_CATEGORIES,
    FeatureColumns,
    categorical_mask,
    linear_preprocessor,
    tree_preprocessor,
)


def hyperparameters(spec: ModelSpec, task: Task) -> dict[str, Any]:
    """The spec's fields that are the estimator's own keyword arguments.

    ``class_weight`` is a classifier's argument only (params validation refuses it
    for regression, where the regressors would not take it).
    """
    return spec.model_dump(exclude={"kind", "class_weight"} if task == "regression" else {"kind"})


def build_estimator(
    spec: ModelSpec, *, task: Task, columns: FeatureColumns, seed: int, n_threads: int = 1
) -> Any:
    """The unfitted scikit-learn estimator a model spec names, seeded, for the task."""
    if isinstance(spec, XGBoostSpec):
        return build_xgboost(spec, task=task, columns=columns, seed=seed, n_threads=n_threads)
    params = hyperparameters(spec, task)
    if isinstance(spec, HistGradientBoostingSpec):
        hgb = (
            HistGradientBoostingClassifier
            if task == "classification"
            else HistGradientBoostingRegressor
        )
        # Early stopping is driven by our validation split (see services.train), not by a
        # random internal holdout: HistGradientBoosting only scores X_val when it is passed.
        return hgb(**params, categorical_features=categorical_mask(columns), random_state=seed)
    if isinstance(spec, LogisticRegressionSpec):
        return LogisticRegression(**params, random_state=seed)
    if isinstance(spec, RandomForestSpec):
        forest = RandomForestClassifier if task == "classification" else RandomForestRegressor
        return forest(**params, random_state=seed)
    return Ridge(**params, random_state=seed)


def build_pipeline(
    spec: ModelSpec, *, task: Task, columns: FeatureColumns, seed: int, n_threads: int = 1
) -> Pipeline:
    """Schema-driven preprocessing (trees or linear) followed by the estimator, unfitted."""
    preprocessor = (
        linear_preprocessor(columns)
        if isinstance(spec, LogisticRegressionSpec | RidgeSpec)
        else tree_preprocessor(
            columns,
            max_categories=HGB_MAX_CATEGORIES
            if isinstance(spec, HistGradientBoostingSpec)
            else None,
        )
    )
    estimator: BaseEstimator = build_estimator(
        spec, task=task, columns=columns, seed=seed, n_threads=n_threads
    )
    return Pipeline([("preprocess", preprocessor), ("model", estimator)])
