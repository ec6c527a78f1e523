"""Why the model predicts what it does: permutation importance and partial dependence.

Both come from scikit-learn's ``sklearn.inspection`` and work for every model kind,
because they only call the fitted pipeline on the test split:

- :func:`permutation_importances`: how much the primary metric drops when one feature's
  values are shuffled (``permutation_importance``), mean and spread over the repeats;
- :func:`partial_dependences`: the average prediction as one feature sweeps its values,
  the others held as they are (``partial_dependence``), for the most important features.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from loguru import logger
from sklearn.inspection import partial_dependence, permutation_importance

from tabpipe.records.evaluation import FeatureImportance
from tabpipe.records.params import Params
from tabpipe.services.analysis.metrics import OrientedScorer, Scorer, oriented_scorer, predict

GRID_POINTS = 20
ICE_ROWS = 20
# Rows a partial dependence averages over: each grid point scores all of them, so the
# cost is grid points x rows per feature; the average of a seeded thousand rows is
# within a fraction of a percentage point of the full test split's.
DEPENDENCE_ROWS = 1_000
TOP_FEATURES = 3
# Rows per predict call when permuted copies are scored together: large enough that the
# pipeline's fixed cost per call vanishes, small enough to bound the stacked copies.
BATCH_ROWS = 200_000
Rows = list[dict[str, Any]]


def inspected_rows(test: pd.DataFrame, params: Params) -> pd.DataFrame:
    """The test rows the explanations use: all of them, or a seeded sample above the limit."""
    limit = params.evaluate.importance_max_rows
    if len(test) <= limit:
        return test
    return test.sample(n=limit, random_state=params.train.seed)


def model_features(model: Any, frame: pd.DataFrame) -> pd.DataFrame:
    """The columns the model was fitted on, in its order."""
    return frame[[str(name) for name in model.feature_names_in_]]


def permutation_importances(
    model: Any, test: pd.DataFrame, params: Params
) -> tuple[FeatureImportance, ...]:
    """Each feature's permutation importance for the primary metric, most important first.

    Positive means the model relies on the feature: shuffling it makes the metric worse
    (for an error metric, larger). Empty when ``evaluate.importance_repeats`` is 0.
    """
    repeats = params.evaluate.importance_repeats
    if repeats == 0:
        return ()
    rows = inspected_rows(test, params)
    features = model_features(model, rows)
    target, metric = params.data.target, params.primary_metric
    logger.info(
        "evaluate: permutation importance of {} features for {}, {} repeats on {} test rows",
        features.shape[1],
        metric,
        repeats,
        len(rows),
    )
    scorer = oriented_scorer(
        metric, task=params.data.task, target=target, positive_class=params.data.positive_class
    )
    result = batched_permutation_importance(
        model, features, rows[target], scorer, repeats=repeats, seed=params.train.seed
    )
    found = [
        FeatureImportance(feature=str(name), mean=float(mean), std=float(std))
        for name, mean, std in zip(
            features.columns, result.importances_mean, result.importances_std, strict=True
        )
    ]
    return tuple(sorted(found, key=lambda item: (-item.mean, item.feature)))


def batched_permutation_importance(
    model: Any,
    features: pd.DataFrame,
    y: pd.Series,
    scorer: OrientedScorer,
    *,
    repeats: int,
    seed: int,
) -> Any:
    """scikit-learn's ``permutation_importance``, its copies scored in a few large batches.

    scikit-learn scores each permuted copy with its own predict call (features x repeats
    calls, each paying the pipeline's fixed cost). Here it runs twice with the same seed:
    first with a scorer that keeps each copy's shuffled column, so scikit-learn draws
    the permutations; then the copies are rebuilt and predicted up to BATCH_ROWS rows
    per call, and scored; then again with a scorer that hands back those scores in
    scikit-learn's own order, so it computes the importances as it always does.
    """
    shuffled: list[pd.Series | None] = []

    def keep(_model: Any, permuted: pd.DataFrame, _y: pd.Series) -> float:
        if not shuffled:  # the first call scores the unshuffled rows: the baseline
            shuffled.append(None)
        else:
            column = features.columns[(len(shuffled) - 1) // repeats]
            shuffled.append(permuted[column].copy())
        return 0.0

    def importances(scoring: Scorer) -> Any:
        return permutation_importance(
            model, features, y, scoring=scoring, n_repeats=repeats, random_state=seed, n_jobs=1
        )

    importances(keep)
    scores: list[float] = []
    per_batch = max(1, BATCH_ROWS // max(len(features), 1))
    for start in range(0, len(shuffled), per_batch):
        copies = [
            features if column is None else features.assign(**{str(column.name): column})
            for column in shuffled[start : start + per_batch]
        ]
        stacked = pd.concat(copies, ignore_index=True)
        batch = predict(
            model, stacked.assign(**{scorer.target: np.tile(y.to_numpy(), len(copies))}),
            scorer.target, task=scorer.task, positive_class=scorer.positive_class,
        )  # fmt: skip
        for index in range(len(copies)):
            rows = np.arange(index * len(features), (index + 1) * len(features))
            scores.append(scorer.from_predictions(batch.take(rows)))

    def replay(_model: Any, permuted: pd.DataFrame, _y: pd.Series) -> float:
        call = len(scores) - len(pending)
        column = shuffled[call]
        if column is not None and not permuted[column.name].equals(column):
            msg = f"permutation {call} of {column.name!r} differs between the two passes"
            raise RuntimeError(msg)  # scikit-learn changed its order of calls: never mismatch
        return pending.pop(0)

    pending = list(scores)
    return importances(replay)


def partial_dependences(
    model: Any,
    test: pd.DataFrame,
    importances: tuple[FeatureImportance, ...],
    params: Params,
) -> Rows:
    """Prediction over a grid of each top feature's values: the average and a few rows' own.

    ``curve`` names the line: ``P(class)`` (classifier) or ``prediction`` (regressor) for
    the average over the inspected rows, and, for one output, ``... row N`` for the
    individual conditional expectation of ICE_ROWS evenly spaced rows. A multiclass
    model gets one average per class.
    """
    top = [item.feature for item in importances[:TOP_FEATURES] if item.mean > 0]
    if not top:
        return []
    inspected = inspected_rows(test, params)
    if len(inspected) > DEPENDENCE_ROWS:
        inspected = inspected.sample(n=DEPENDENCE_ROWS, random_state=params.train.seed)
    logger.info(
        "evaluate: partial dependence of {} on {} test rows, {} grid points each",
        ", ".join(top),
        len(inspected),
        GRID_POINTS,
    )
    features = model_features(model, inspected)
    # scikit-learn's grid needs floats: integer columns would be rounded (and it refuses them).
    integers = [c for c in top if pd.api.types.is_integer_dtype(features[c])]
    features = features.astype(dict.fromkeys(integers, "float64"))
    categorical = [c for c in top if not pd.api.types.is_numeric_dtype(features[c])]
    classes = [str(c) for c in getattr(model, "classes_", [])]
    positive = params.data.positive_class
    rows: Rows = []
    for feature in top:
        # A category's grid is its observed values: scikit-learn cannot sort text with NaN.
        custom = (
            {feature: np.asarray(sorted(features[feature].dropna().unique()), dtype=object)}
            if feature in categorical
            else None
        )
        result = partial_dependence(
            model,
            features,
            [feature],
            categorical_features=categorical or None,
            grid_resolution=GRID_POINTS,
            custom_values=custom,
            kind="both",
            response_method="auto",
        )
        grid = [
            value.item() if hasattr(value, "item") else value for value in result["grid_values"][0]
        ]
        curves = _outputs(np.asarray(result["average"]), classes, positive)
        individual = np.asarray(result["individual"])
        if len(curves) == 1:  # one output: a few rows' own curves (ICE) beside the average
            picks = np.unique(np.linspace(0, individual.shape[1] - 1, ICE_ROWS).astype(int))
            label = next(iter(curves))
            for pick in picks:
                lines = _outputs(individual[:, pick, :], classes, positive)
                curves[f"{label} row {int(pick)}"] = lines[label]
        for curve, values in curves.items():
            rows.extend(
                {
                    "feature": feature,
                    "value": value,
                    "curve": curve,
                    "prediction": float(prediction),
                }
                for value, prediction in zip(grid, values, strict=True)
            )
    return rows


def _outputs(
    average: np.ndarray[Any, Any], classes: list[str], positive: str | None
) -> dict[str, np.ndarray[Any, Any]]:
    """Output label -> averages along the grid (scikit-learn: one row per output)."""
    if not classes:
        return {"prediction": average[0]}
    if len(classes) == 2:  # noqa: PLR2004 - binary: scikit-learn reports the second class
        chosen = positive if positive is not None else sorted(classes)[-1]
        second = average[0] if chosen == classes[1] else 1 - average[0]
        return {f"P({chosen})": second}
    return {f"P({label})": average[i] for i, label in enumerate(classes)}
