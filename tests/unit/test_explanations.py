"""Permutation importance and partial dependence: the model's reliance, measured honestly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from tabpipe.records.params import Params
from tabpipe.services.analysis import explanations
from tabpipe.services.analysis.explanations import (
    batched_permutation_importance,
    partial_dependences,
    permutation_importances,
)
from tabpipe.services.analysis.figures import close, explanation_figures
from tabpipe.services.analysis.metrics import oriented_scorer
from tests.helpers import with_overrides


def _frame(n_rows: int = 1500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=n_rows)
    return pd.DataFrame(
        {
            "signal": signal,
            "noise": rng.normal(size=n_rows),
            "count": rng.integers(0, 5, size=n_rows),  # an integer column
            "colour": rng.choice(["red", "blue"], size=n_rows),
            "y": 3 * signal + rng.normal(scale=0.5, size=n_rows),
        }
    )


def _pipeline(estimator: object) -> Pipeline:
    encode = ColumnTransformer([("colour", OneHotEncoder(), ["colour"])], remainder="passthrough")
    return Pipeline([("encode", encode), ("model", estimator)])


def _regression_params(adult_params: Params) -> Params:
    return with_overrides(
        adult_params,
        data={"target": "y", "task": "regression", "positive_class": None},
        evaluate={"primary_metric": "rmse", "importance_repeats": 4, "slice_columns": []},
        gates={"rules": [], "slice_gaps": [], "behaviour": []},
        train={"model": {"kind": "ridge"}},
    )


def test_the_feature_the_target_is_made_of_ranks_first_and_noise_near_zero(
    adult_params: Params,
) -> None:
    frame = _frame()
    params = _regression_params(adult_params)
    features = frame.drop(columns="y")
    model = _pipeline(LinearRegression()).fit(features, frame["y"])
    found = permutation_importances(model, _frame(seed=1), params)
    assert next(item.feature for item in found) == "signal"
    by_name = {item.feature: item for item in found}
    assert by_name["signal"].mean > 1.0  # shuffling it roughly triples the RMSE
    assert abs(by_name["noise"].mean) < 0.05
    assert all(item.std >= 0 for item in found)
    assert set(by_name) == {"signal", "noise", "count", "colour"}


def test_importance_can_be_switched_off(adult_params: Params) -> None:
    params = with_overrides(_regression_params(adult_params), evaluate={"importance_repeats": 0})
    frame = _frame()
    model = _pipeline(LinearRegression()).fit(frame.drop(columns="y"), frame["y"])
    assert permutation_importances(model, frame, params) == ()


def test_partial_dependence_follows_a_linear_relation_and_adds_ice_rows(
    adult_params: Params,
) -> None:
    frame = _frame()
    params = _regression_params(adult_params)
    model = _pipeline(LinearRegression()).fit(frame.drop(columns="y"), frame["y"])
    importance = permutation_importances(model, frame, params)
    dependence = partial_dependences(model, frame, importance, params)
    rows = pd.DataFrame(dependence)
    average = rows[(rows["feature"] == "signal") & (rows["curve"] == "prediction")]
    slope = np.polyfit(average["value"].astype(float), average["prediction"], 1)[0]
    assert slope == pytest.approx(3, abs=0.2)
    assert rows["curve"].str.contains(" row ").any()  # ICE lines beside the average
    figures = explanation_figures(importance, dependence, metric="rmse")
    assert set(figures) == {"permutation_importance.png", "partial_dependence.png"}
    for figure in figures.values():
        close(figure)


def test_a_binary_classifiers_dependence_is_the_positive_class_probability(
    adult_params: Params,
) -> None:
    frame = _frame().assign(label=lambda f: np.where(f["y"] > 0, "high", "low"))
    params = with_overrides(
        adult_params,
        data={"target": "label", "positive_class": "high"},
        evaluate={"importance_repeats": 3, "slice_columns": []},
        gates={"rules": [], "slice_gaps": [], "behaviour": []},
    )
    features = frame.drop(columns=["y", "label"])
    model = _pipeline(LogisticRegression()).fit(features, frame["label"])
    test = _frame(seed=2).assign(label=lambda f: np.where(f["y"] > 0, "high", "low"))
    importance = permutation_importances(model, test.drop(columns="y"), params)
    assert importance[0].feature == "signal"
    rows = pd.DataFrame(partial_dependences(model, test.drop(columns="y"), importance, params))
    average = rows[(rows["feature"] == "signal") & (rows["curve"] == "P(high)")]
    assert average["prediction"].is_monotonic_increasing


@pytest.mark.parametrize(
    ("task", "metric", "batch_rows"),
    [("regression", "rmse", 200_000), ("classification", "log_loss", 1_000),
     ("classification", "roc_auc", 1)],
)  # fmt: skip
def test_batched_permutation_importance_equals_scikit_learns_one_copy_at_a_time(
    task: str, metric: str, batch_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(explanations, "BATCH_ROWS", batch_rows)  # one copy per call, or many
    frame = _frame(n_rows=400)
    if task == "classification":
        frame["y"] = np.where(frame["y"] > 0, "high", "low")
    features, y = frame.drop(columns="y"), frame["y"]
    estimator = LinearRegression() if task == "regression" else LogisticRegression()
    model = _pipeline(estimator).fit(features, y)
    positive = None if task == "regression" else "high"
    scorer = oriented_scorer(metric, task=task, target="y", positive_class=positive)  # type: ignore[arg-type]
    batched = batched_permutation_importance(model, features, y, scorer, repeats=3, seed=7)
    one_by_one = permutation_importance(
        model, features, y, scoring=scorer, n_repeats=3, random_state=7, n_jobs=1
    )
    np.testing.assert_allclose(batched.importances, one_by_one.importances, rtol=1e-12, atol=1e-12)
    assert np.abs(batched.importances_mean).max() > 0  # the test can tell a wrong pairing


def test_batched_permutation_importance_refuses_a_second_pass_with_other_permutations(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Scores are only handed back to the very permutations they were computed for."""
    frame = _frame(n_rows=200)
    features, y = frame.drop(columns="y"), frame["y"]
    model = _pipeline(LinearRegression()).fit(features, y)
    scorer = oriented_scorer("rmse", task="regression", target="y", positive_class=None)
    seeds = iter([7, 8])  # the second pass draws other permutations than the first

    def drifting(*args: object, **kwargs: object) -> object:
        return permutation_importance(*args, **{**kwargs, "random_state": next(seeds)})

    monkeypatch.setattr(explanations, "permutation_importance", drifting)
    with pytest.raises(RuntimeError, match="differs between the two passes"):
        batched_permutation_importance(model, features, y, scorer, repeats=2, seed=7)
