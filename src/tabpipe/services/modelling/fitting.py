"""Fitting one model spec: the pipeline on the train split, early-stopped on validation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from tabpipe.records.evaluation import SearchSummary
from tabpipe.records.params import (
    HistGradientBoostingSpec,
    ModelSpec,
    Params,
    XGBoostSpec,
)
from tabpipe.services.boosting import validation_curve
from tabpipe.services.modelling.estimators import build_pipeline
from tabpipe.services.modelling.features import FeatureColumns


@dataclass(frozen=True)
class FittedModel:
    """A fitted pipeline, the spec it was built from, the search's pick and the iterations kept."""

    pipeline: Pipeline
    spec: ModelSpec
    best_params: dict[str, Any]
    n_iter: int | None
    curves: dict[str, tuple[float, ...]] = field(default_factory=dict)  # loss per iteration
    search: SearchSummary | None = None  # with train.search: every trial and the best


def learning_curve(pipeline: Any) -> dict[str, tuple[float, ...]]:
    """Loss per boosting iteration as the learner recorded it (empty for other models).

    HistGradientBoosting keeps ``train_score_`` and ``validation_score_`` (negated loss)
    when it stops early; XGBoost its ``evals_result()`` on the validation split.
    """
    step = pipeline.named_steps["model"] if hasattr(pipeline, "named_steps") else pipeline
    curves: dict[str, tuple[float, ...]] = {}
    for attribute, name in (("train_score_", "train_loss"), ("validation_score_", "val_loss")):
        scores = getattr(step, attribute, None)
        if scores is not None and len(scores) > 1:
            curves[name] = tuple(round(-float(value), 6) for value in scores)
    inner: Any = getattr(step, "estimator_", None)
    if not curves and inner is not None and hasattr(inner, "evals_result"):
        return validation_curve(inner)
    return curves


def fit_spec(
    spec: ModelSpec,
    params: Params,
    columns: FeatureColumns,
    train: pd.DataFrame,
    val: pd.DataFrame,
    best_params: dict[str, Any] | None = None,
) -> FittedModel:
    """Fit ``spec``'s pipeline on train; the validation split drives early stopping."""
    target, task, seed = params.data.target, params.data.task, params.train.seed
    pipeline = build_pipeline(
        spec, task=task, columns=columns, seed=seed, n_threads=params.train.n_threads
    )
    x_train, y_train = train[columns.all], train[target]
    if isinstance(spec, HistGradientBoostingSpec | XGBoostSpec) and spec.early_stopping:
        preprocess, model = pipeline.named_steps["preprocess"], pipeline.named_steps["model"]
        train_features = preprocess.fit_transform(x_train)
        model.fit(
            train_features,
            y_train,
            X_val=preprocess.transform(val[columns.all]),
            y_val=val[target],
        )
    else:
        pipeline.fit(x_train, y_train)
    fitted_model = pipeline.named_steps["model"]
    n_iter = getattr(fitted_model, "n_iter_", None) or getattr(fitted_model, "best_iteration", None)
    return FittedModel(
        pipeline=pipeline,
        spec=spec,
        best_params=best_params or {},
        n_iter=int(n_iter) if isinstance(n_iter, int | np.integer) else None,
        curves=learning_curve(pipeline),
    )
