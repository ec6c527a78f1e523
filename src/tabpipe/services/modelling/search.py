"""The train stage's hyperparameter search: a grid over the model spec, scored on validation."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from loguru import logger
from pydantic import ValidationError
from sklearn.model_selection import GridSearchCV, PredefinedSplit

from tabpipe.errors import ParamsError
from tabpipe.records.params import (
    GREATER_IS_BETTER,
    ModelSpec,
    Params,
)
from tabpipe.services.analysis.metrics import oriented_scorer
from tabpipe.services.modelling.estimators import build_pipeline
from tabpipe.services.modelling.features import FeatureColumns


def search_hyperparameters(
    params: Params, columns: FeatureColumns, train: pd.DataFrame, val: pd.DataFrame
) -> dict[str, Any]:
    """Score each grid point on the validation split; return the best point."""
    if params.train.search is None:
        msg = "train.search: no grid to search (set train.search.grid)"
        raise ParamsError(msg)
    grid = params.train.search.grid
    spec = params.train.model
    unknown = set(grid) - set(type(spec).model_fields) | ({"kind"} & set(grid))
    if unknown:
        allowed = ", ".join(sorted(set(type(spec).model_fields) - {"kind"}))
        msg = (
            f"train.search.grid: {', '.join(sorted(unknown))} is not a parameter of "
            f"{spec.kind} (allowed: {allowed})"
        )
        raise ParamsError(msg)
    for key, values in grid.items():  # every value must be valid for the spec, before fitting
        for value in values:
            with_overrides(spec, {key: value})
    task, target, metric = params.data.task, params.data.target, params.primary_metric
    sign = 1.0 if GREATER_IS_BETTER[metric] else -1.0
    score = oriented_scorer(
        metric, task=task, target=target, positive_class=params.data.positive_class
    )

    both = pd.concat([train, val], ignore_index=True)
    folds = PredefinedSplit(np.r_[np.full(len(train), -1), np.zeros(len(val), dtype=int)])
    search = GridSearchCV(
        build_pipeline(
            spec,
            task=task,
            columns=columns,
            seed=params.train.seed,
            n_threads=params.train.n_threads,
        ),
        param_grid={f"model__{key}": values for key, values in grid.items()},
        scoring=score,
        cv=folds,
        refit=False,
        error_score="raise",
    )
    search.fit(both[columns.all], both[target])
    best = {key.removeprefix("model__"): value for key, value in search.best_params_.items()}
    logger.info(
        "train: search picked {} ({} {:.4f} on val)", best, metric, sign * search.best_score_
    )
    return best


def with_overrides(spec: ModelSpec, overrides: dict[str, Any]) -> ModelSpec:
    """The model spec with one grid point's values, validated like params.yaml."""
    try:
        return type(spec).model_validate({**spec.model_dump(), **overrides})
    except ValidationError as exc:
        msg = f"train.search.grid: {exc.errors(include_url=False)[0]['msg']} ({overrides})"
        raise ParamsError(msg) from exc
