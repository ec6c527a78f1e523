"""The decision threshold: chosen on validation by its policy, applied wherever labels are made."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
import pandera.pandas as pa
import pytest
from sklearn import metrics as skm
from sklearn.linear_model import LogisticRegression

from tabpipe.errors import ParamsError
from tabpipe.records.params import Params, ThresholdParams
from tabpipe.services.analysis.metrics import compute_metrics, predict, predicted_labels
from tabpipe.services.analysis.thresholds import (
    choose_threshold,
    model_threshold,
    threshold_table,
    with_threshold,
)
from tabpipe.services.modelling.features import feature_columns
from tabpipe.services.stages.train import decision_threshold, fit_model
from tests.helpers import with_overrides


def _scored(
    n_rows: int = 4000, share: float = 0.03, seed: int = 0
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    """An imbalanced binary target and calibrated-looking scores."""
    rng = np.random.default_rng(seed)
    is_positive = rng.random(n_rows) < share
    logit = np.where(is_positive, 1.0, -2.5) + rng.normal(scale=1.2, size=n_rows)
    return is_positive, 1 / (1 + np.exp(-logit))


def test_max_f_beta_picks_the_threshold_with_the_best_f_beta() -> None:
    is_positive, scores = _scored()
    for beta in (0.5, 1.0, 2.0):
        choice = choose_threshold(
            is_positive, scores, ThresholdParams(policy="max_f_beta", beta=beta)
        )
        # F-beta at every distinct threshold at once: labels as a thresholds x rows grid.
        labelled = scores[None, :] >= np.unique(scores)[:, None]
        tp = (labelled & is_positive).sum(axis=1)
        fp = (labelled & ~is_positive).sum(axis=1)
        fn = is_positive.sum() - tp
        best = float(((1 + beta**2) * tp / ((1 + beta**2) * tp + beta**2 * fn + fp)).max())
        assert skm.fbeta_score(is_positive, scores >= choice.value, beta=beta) == pytest.approx(
            best
        )


def test_min_precision_keeps_the_floor_with_the_most_recall() -> None:
    is_positive, scores = _scored()
    choice = choose_threshold(
        is_positive, scores, ThresholdParams(policy="min_precision", value=0.6)
    )
    labels = scores >= choice.value
    assert skm.precision_score(is_positive, labels) >= 0.6
    lower = np.unique(scores)[np.unique(scores) < choice.value]
    assert all(skm.precision_score(is_positive, scores >= t) < 0.6 for t in lower[-20:])


def test_min_recall_keeps_the_floor_with_the_most_precision() -> None:
    is_positive, scores = _scored()
    choice = choose_threshold(is_positive, scores, ThresholdParams(policy="min_recall", value=0.9))
    assert skm.recall_score(is_positive, scores >= choice.value) >= 0.9
    assert choice.recall >= 0.9


def test_an_unreachable_floor_is_a_params_error() -> None:
    # The negatives score highest: no threshold gives better than 2 of 6 right.
    is_positive = np.array([False, True, False, True, False, False])
    scores = np.array([0.9, 0.1, 0.8, 0.2, 0.7, 0.6])
    with pytest.raises(ParamsError, match=r"no threshold reaches precision 0\.5 .*best is 0\.3333"):
        choose_threshold(is_positive, scores, ThresholdParams(policy="min_precision", value=0.5))


def test_policies_validate_their_value() -> None:
    with pytest.raises(ValueError, match="needs the floor"):
        ThresholdParams(policy="min_recall")
    with pytest.raises(ValueError, match="chooses the threshold itself"):
        ThresholdParams(policy="max_f_beta", value=0.3)
    assert ThresholdParams().is_default


def test_threshold_table_has_precision_recall_and_f1() -> None:
    is_positive, scores = _scored()
    rows = threshold_table(is_positive, scores)
    assert len(rows) <= 200
    assert set(rows[0]) == {"threshold", "precision", "recall", "f1"}
    assert [r["threshold"] for r in rows] == sorted(r["threshold"] for r in rows)


def test_labels_from_probabilities_equal_the_wrapped_models_predict() -> None:
    rng = np.random.default_rng(1)
    features = pd.DataFrame({"x": rng.normal(size=500), "z": rng.normal(size=500)})
    labels = pd.Series(np.where(features["x"] + rng.normal(size=500) > 1.5, "yes", "no"))
    fitted = LogisticRegression().fit(features, labels)
    wrapped = with_threshold(fitted, 0.2, "yes", features, labels)
    assert model_threshold(wrapped) == (0.2, "yes")
    assert model_threshold(fitted) is None
    proba = wrapped.predict_proba(features)
    assert (predicted_labels(wrapped, proba) == wrapped.predict(features)).all()
    assert (predicted_labels(fitted, proba) == fitted.predict(features)).all()
    assert (wrapped.predict(features) == "yes").sum() > (fitted.predict(features) == "yes").sum()


def test_a_tuned_threshold_recovers_recall_on_an_imbalanced_target(
    adult_params: Params, adult_schema: pa.DataFrameSchema, adult_splits: dict[str, pd.DataFrame]
) -> None:
    """A rare positive class: 0.5 finds few positives; max F2 on validation finds more."""
    rare = {
        name: pd.concat(
            [
                frame[frame["income"] == "<=50K"],
                frame[frame["income"] == ">50K"].head(len(frame) // 30),
            ]
        )
        for name, frame in adult_splits.items()
    }
    columns = feature_columns(adult_schema, target="income")
    fitted = fit_model(adult_params, columns, rare["train"], rare["val"])
    results = {}
    for settings in ({"policy": "fixed", "value": 0.5}, {"policy": "max_f_beta", "beta": 2.0}):
        params = with_overrides(adult_params, evaluate={"threshold": settings})
        model, choice = decision_threshold(params, fitted.pipeline, rare["val"], columns)
        assert choice is not None
        predictions = predict(model, rare["test"], "income", task="classification",
                              positive_class=">50K")  # fmt: skip
        results[settings["policy"]] = compute_metrics(predictions, task="classification")
    assert results["max_f_beta"]["recall"] > results["fixed"]["recall"] + 0.1
    assert results["max_f_beta"]["balanced_accuracy"] > results["fixed"]["balanced_accuracy"]
    assert results["max_f_beta"]["roc_auc"] == results["fixed"]["roc_auc"]  # same scores


def test_a_threshold_policy_for_a_multiclass_target_is_refused(
    adult_params: Params, adult_schema: pa.DataFrameSchema, adult_splits: dict[str, pd.DataFrame]
) -> None:
    three = {
        name: frame.assign(income=np.where(frame["age"] < 30, "young", frame["income"]))
        for name, frame in adult_splits.items()
    }
    columns = feature_columns(adult_schema, target="income")
    params = with_overrides(
        adult_params,
        data={"positive_class": None},
        evaluate={"threshold": {"policy": "max_f_beta"}, "primary_metric": "log_loss"},
        gates={"rules": [], "slice_gaps": [], "behaviour": []},
    )
    fitted = fit_model(params, columns, three["train"].head(3000), three["val"].head(1000))
    with pytest.raises(ParamsError, match="has 3 classes; a decision threshold applies to two"):
        decision_threshold(params, fitted.pipeline, three["val"].head(1000), columns)
    default = with_overrides(params, evaluate={"threshold": {"policy": "fixed"}})
    model, choice = decision_threshold(default, fitted.pipeline, three["val"].head(1000), columns)
    assert choice is None
    assert model is fitted.pipeline


def test_regression_refuses_a_threshold(adult_params: Params) -> None:
    with pytest.raises(ParamsError, match="applies to binary classification, not regression"):
        with_overrides(
            adult_params,
            data={"target": "age", "task": "regression", "positive_class": None},
            evaluate={"primary_metric": "rmse", "threshold": {"policy": "max_f_beta"}},
            gates={"rules": [], "slice_gaps": [], "behaviour": []},
            train={"model": {"kind": "ridge"}},
        )
