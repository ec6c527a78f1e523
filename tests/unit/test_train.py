from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest
from sklearn.datasets import load_diabetes, load_wine

from tabpipe.errors import ParamsError
from tabpipe.records.evaluation import SearchTrial
from tabpipe.records.params import HistGradientBoostingSpec, Params
from tabpipe.services.analysis.metrics import compute_metrics, predict
from tabpipe.services.modelling.estimators import build_pipeline
from tabpipe.services.modelling.features import FeatureColumns, feature_columns, identifier_like
from tabpipe.services.stages.train import fit_model
from tests.helpers import with_overrides


@pytest.fixture(scope="module")
def columns(adult_schema: pa.DataFrameSchema) -> FeatureColumns:
    return feature_columns(adult_schema, target="income")


def test_features_follow_the_schema_dtypes(columns: FeatureColumns) -> None:
    assert "workclass" in columns.categorical
    assert "age" in columns.numeric
    assert "income" not in columns.all


def test_early_stopping_uses_the_validation_split(
    adult_params: Params, columns: FeatureColumns, adult_splits: dict[str, pd.DataFrame]
) -> None:
    fitted = fit_model(adult_params, columns, adult_splits["train"], adult_splits["val"])
    assert fitted.n_iter is not None
    assert fitted.n_iter < adult_params.train.model.max_iter  # type: ignore[union-attr]
    predictions = predict(
        fitted.pipeline,
        adult_splits["test"],
        "income",
        task="classification",
        positive_class=">50K",
    )
    assert compute_metrics(predictions, task="classification")["roc_auc"] > 0.85


@pytest.mark.parametrize(
    "model",
    [{"kind": "hist_gradient_boosting"}, {"kind": "random_forest", "n_estimators": 20}],
)
def test_two_fits_on_the_same_inputs_predict_the_same(
    model: dict[str, Any],
    adult_params: Params,
    columns: FeatureColumns,
    adult_splits: dict[str, pd.DataFrame],
) -> None:
    params = with_overrides(adult_params, train={"model": model})
    first = fit_model(params, columns, adult_splits["train"], adult_splits["val"])
    second = fit_model(params, columns, adult_splits["train"], adult_splits["val"])
    test = adult_splits["test"].drop(columns="income")
    np.testing.assert_array_equal(
        first.pipeline.predict_proba(test), second.pipeline.predict_proba(test)
    )


@pytest.mark.parametrize(
    "model",
    [
        {"kind": "logistic_regression", "C": 0.5},
        {"kind": "random_forest", "n_estimators": 25, "max_depth": 8},
        {"kind": "hist_gradient_boosting", "early_stopping": False, "max_iter": 30},
    ],
)
def test_every_classifier_kind_fits_and_handles_unknown_categories(
    model: dict[str, Any],
    adult_params: Params,
    columns: FeatureColumns,
    adult_splits: dict[str, pd.DataFrame],
) -> None:
    params = with_overrides(adult_params, train={"model": model})
    fitted = fit_model(params, columns, adult_splits["train"], adult_splits["val"])
    unseen = adult_splits["test"].head(20).astype({"workclass": object})
    unseen.loc[unseen.index[0], "workclass"] = "Space-force"
    proba = fitted.pipeline.predict_proba(unseen.drop(columns="income"))
    assert proba.shape == (20, 2)
    assert np.isfinite(proba).all()


def _frame_params(
    adult_params: Params, frame: pd.DataFrame, task: str, model: dict[str, Any]
) -> Params:
    return with_overrides(
        adult_params,
        data={"target": "target", "task": task, "positive_class": None},
        train={"model": model},
        evaluate={"primary_metric": "rmse" if task == "regression" else "roc_auc"},
        gates={"rules": [], "slice_gaps": []},
    )


@pytest.mark.parametrize("kind", ["ridge", "random_forest", "hist_gradient_boosting"])
def test_regression_kinds_fit(kind: str, adult_params: Params) -> None:
    frame = load_diabetes(as_frame=True).frame
    columns = FeatureColumns(categorical=(), numeric=tuple(c for c in frame if c != "target"))
    params = _frame_params(adult_params, frame, "regression", {"kind": kind})
    fitted = fit_model(params, columns, frame.iloc[:300], frame.iloc[300:370])
    predictions = predict(
        fitted.pipeline, frame.iloc[370:], "target", task="regression", positive_class=None
    )
    assert compute_metrics(predictions, task="regression")["r2"] > 0.2


def test_multiclass_fits(adult_params: Params) -> None:
    frame = load_wine(as_frame=True).frame.assign(
        target=lambda f: "class_" + f["target"].astype(str)
    )
    frame = frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
    columns = FeatureColumns(categorical=(), numeric=tuple(c for c in frame if c != "target"))
    params = _frame_params(adult_params, frame, "classification", {"kind": "logistic_regression"})
    fitted = fit_model(params, columns, frame.iloc[:120], frame.iloc[120:150])
    predictions = predict(
        fitted.pipeline, frame.iloc[150:], "target", task="classification", positive_class=None
    )
    assert predictions.positive_class is None
    assert compute_metrics(predictions, task="classification")["accuracy"] > 0.8


def test_search_picks_a_grid_point_scored_on_validation(
    adult_params: Params, columns: FeatureColumns, adult_splits: dict[str, pd.DataFrame]
) -> None:
    params = with_overrides(
        adult_params,
        train={"model": {"kind": "logistic_regression"}, "search": {"space": {"C": [0.001, 1.0]}}},
    )
    seen: list[SearchTrial] = []
    fitted = fit_model(
        params, columns, adult_splits["train"], adult_splits["val"], on_trial=seen.append
    )
    assert fitted.best_params == {"C": 1.0}
    assert fitted.spec.C == 1.0  # type: ignore[union-attr]
    assert fitted.search is not None
    assert sorted(float(str(trial.params["C"])) for trial in fitted.search.trials) == [0.001, 1.0]
    assert seen == list(fitted.search.trials)  # every trial reported as it ended
    best = fitted.search.trials[fitted.search.best_trial]
    assert best.params == {"C": 1.0}
    assert best.value == max(t.value for t in fitted.search.trials if t.value is not None)
    # the model kept is the best trial's fit, scored as the trial was
    predictions = predict(
        fitted.pipeline, adult_splits["val"], "income", task="classification", positive_class=">50K"
    )
    assert compute_metrics(predictions, task="classification")["roc_auc"] == pytest.approx(
        best.value
    )


def test_a_seeded_tpe_search_repeats_its_trials_and_its_model(
    adult_params: Params, columns: FeatureColumns, adult_splits: dict[str, pd.DataFrame]
) -> None:
    params = with_overrides(
        adult_params,
        train={
            "model": {"kind": "logistic_regression"},
            "search": {
                "sampler": "tpe",
                "n_trials": 4,
                "space": {"C": {"low": 1e-4, "high": 10.0, "log": True}},
            },
        },
    )
    train, val = adult_splits["train"].iloc[:4000], adult_splits["val"]
    first = fit_model(params, columns, train, val)
    second = fit_model(params, columns, train, val)
    assert first.search is not None
    assert second.search is not None
    assert len(first.search.trials) == 4
    assert first.search.trials == second.search.trials
    assert len({trial.params["C"] for trial in first.search.trials}) == 4  # sampled, not fixed
    assert all(1e-4 <= float(t.params["C"]) <= 10.0 for t in first.search.trials)  # type: ignore[arg-type]
    test = adult_splits["test"].drop(columns="income")
    np.testing.assert_array_equal(
        first.pipeline.predict_proba(test), second.pipeline.predict_proba(test)
    )
    assert set(first.search.importances) == {"C"}
    assert first.search.importances["C"] == pytest.approx(1.0)


def test_the_median_pruner_stops_trials_that_start_below_the_median(
    adult_params: Params, columns: FeatureColumns, adult_splits: dict[str, pd.DataFrame]
) -> None:
    params = with_overrides(
        adult_params,
        train={
            "model": {"kind": "logistic_regression"},
            "search": {
                "sampler": "random",
                "n_trials": 8,
                "pruner": "median",
                "space": {"C": [1.0, 1e-7]},  # 1e-7: all but no model, far below the median
            },
        },
    )
    fitted = fit_model(params, columns, adult_splits["train"].iloc[:4000], adult_splits["val"])
    assert fitted.search is not None
    pruned = [t for t in fitted.search.trials if t.state == "pruned"]
    assert pruned, fitted.search.trials
    assert all(t.value is None and t.params["C"] == 1e-7 for t in pruned)
    assert fitted.best_params == {"C": 1.0}


@pytest.mark.parametrize(
    ("search", "message"),
    [
        ({"space": {"max_iter": [10]}}, "max_iter is not a parameter of random_forest"),
        ({"space": {"n_estimators": [0]}}, r"search\.space\.n_estimators: 0 is not valid"),
        ({"space": {"n_estimators": {"low": 10, "high": 50}}}, "grid sampler cannot enumerate"),
        ({"sampler": "tpe", "space": {"n_estimators": [10, 50]}}, "needs n_trials or timeout_s"),
        (
            {"sampler": "tpe", "n_trials": 3, "space": {"n_estimators": {"low": 50, "high": 10}}},
            r"n_estimators: low \(50\) must be below high \(10\)",
        ),
        ({"sampler": "tpe", "n_trials": 3, "space": {"n_estimators": 10}}, "give a list"),
        ({"space": {"n_estimators": []}}, "n_estimators lists no values"),
    ],
)
def test_a_bad_search_is_a_params_error_naming_the_key(
    search: dict[str, Any], message: str, adult_params: Params
) -> None:
    with pytest.raises(ParamsError, match=message) as raised:
        with_overrides(adult_params, train={"model": {"kind": "random_forest"}, "search": search})
    assert "Value error" not in str(raised.value)


def test_a_hyperparameter_of_another_kind_is_rejected(adult_params: Params) -> None:
    with pytest.raises(
        ParamsError,
        match=r"train\.model: keys of kind logistic_regression, not of 'hist_gradient_boosting': C",
    ):
        with_overrides(adult_params, train={"model": {"kind": "hist_gradient_boosting", "C": 1.0}})


def test_model_kind_and_metrics_must_fit_the_task(adult_params: Params) -> None:
    with pytest.raises(
        ParamsError, match=r"train\.model\.kind: 'ridge' does not fit task 'classification'"
    ):
        with_overrides(adult_params, train={"model": {"kind": "ridge"}})
    with pytest.raises(ParamsError, match="'rmse' is not a classification metric"):
        with_overrides(adult_params, evaluate={"primary_metric": "rmse"})


def test_a_gate_without_bound_is_rejected(adult_params: Params) -> None:
    with pytest.raises(ParamsError, match="gate on 'roc_auc' sets no bound"):
        with_overrides(adult_params, gates={"rules": [{"metric": "roc_auc"}]})


def test_a_boosted_model_records_its_loss_per_iteration_and_others_none() -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from tabpipe.services.modelling.fitting import learning_curve

    rng = np.random.default_rng(0)
    features = rng.normal(size=(600, 3))
    labels = np.where(features[:, 0] + rng.normal(size=600) > 0, "a", "b")
    boosted = HistGradientBoostingClassifier(
        max_iter=30, early_stopping=True, n_iter_no_change=5, random_state=0
    ).fit(features[:400], labels[:400], X_val=features[400:], y_val=labels[400:])
    curves = learning_curve(Pipeline([("model", boosted)]))
    assert set(curves) == {"train_loss", "val_loss"}
    assert len(curves["val_loss"]) == boosted.n_iter_ + 1  # the initial loss, then each tree
    assert curves["train_loss"][-1] < curves["train_loss"][0]  # training lowers its loss
    linear = LogisticRegression().fit(features, labels)
    assert learning_curve(Pipeline([("model", linear)])) == {}


@pytest.mark.parametrize(
    "model",
    [
        {"kind": "logistic_regression"},
        {"kind": "random_forest", "n_estimators": 30, "max_depth": 6},
        {"kind": "hist_gradient_boosting", "max_iter": 40},
        {"kind": "xgboost", "n_estimators": 40, "max_depth": 4},
    ],
    ids=lambda model: str(model["kind"]),
)
def test_balanced_class_weight_lifts_the_rare_class_for_every_classifier_kind(
    model: dict[str, Any],
    adult_params: Params,
    columns: FeatureColumns,
    adult_splits: dict[str, pd.DataFrame],
) -> None:
    # Adult thinned to about 5% positives: unweighted, the rare class is under-predicted.
    train = adult_splits["train"]
    rare = train[train["income"] == ">50K"].head(600)
    train = pd.concat([train[train["income"] == "<=50K"].head(11_000), rare])
    test = adult_splits["test"]
    rates = []
    for weight in (None, "balanced"):
        params = with_overrides(adult_params, train={"model": {**model, "class_weight": weight}})
        fitted = fit_model(params, columns, train, adult_splits["val"])
        labels = fitted.pipeline.predict(test.drop(columns="income"))
        positives = test["income"].to_numpy() == ">50K"
        rates.append(float((labels[positives] == ">50K").mean()))
    unweighted, balanced = rates
    assert balanced > unweighted + 0.15, rates


def test_class_weight_is_refused_for_regression(adult_params: Params) -> None:
    with pytest.raises(ParamsError, match=r"train\.model\.class_weight: class weights apply"):
        with_overrides(
            adult_params,
            data={"task": "regression", "positive_class": None},
            train={"model": {"kind": "random_forest", "class_weight": "balanced"}},
            evaluate={"primary_metric": "rmse"},
            gates={"rules": [], "slice_gaps": []},
        )


def test_a_category_whose_values_hardly_repeat_is_named_as_an_identifier() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in range(100)],
            "zip": [f"Z{i % 40}" for i in range(100)],  # 40 values in 100 rows: a feature
            "colour": ["red", "blue"] * 50,
        }
    )
    columns = FeatureColumns(categorical=("customer_id", "zip", "colour"), numeric=())
    assert identifier_like(frame, columns) == ["customer_id"]


def test_histgradientboosting_groups_a_category_beyond_255_values() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"store": [f"S{i}" for i in rng.integers(0, 600, 3000)], "x": rng.normal(size=3000)}
    )
    y = (frame["x"] > 0).map({True: "yes", False: "no"})
    columns = FeatureColumns(categorical=("store",), numeric=("x",))
    spec = HistGradientBoostingSpec(max_iter=20)
    model = build_pipeline(spec, task="classification", columns=columns, seed=0)
    model.fit(frame, y)  # 600 store values: more than HistGradientBoosting's 255 bins
    assert model.predict_proba(frame).shape == (3000, 2)
