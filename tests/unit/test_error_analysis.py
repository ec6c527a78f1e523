"""Error analysis: score deciles that add up to the metrics, and the worst rows first."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from tabpipe.services.analysis.error_analysis import error_analysis, row_losses
from tabpipe.services.analysis.metrics import Predictions


def _binary(seed: int, n_rows: int) -> Predictions:
    rng = np.random.default_rng(seed)
    truth = np.where(rng.random(n_rows) < 0.3, "yes", "no")
    positive = np.clip(rng.random(n_rows) * 0.6 + 0.4 * (truth == "yes"), 0.0, 1.0)
    proba = np.column_stack([1 - positive, positive])
    return Predictions(
        y_true=pd.Series(truth),
        y_pred=np.where(positive >= 0.5, "yes", "no").astype(object),
        proba=proba,
        classes=("no", "yes"),
        positive_class="yes",
    )


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n_rows=st.integers(1, 400))
def test_decile_losses_weighted_by_size_give_the_log_loss(seed: int, n_rows: int) -> None:
    predictions = _binary(seed, n_rows)
    analysis = error_analysis(predictions, pd.DataFrame({"x": np.arange(n_rows)}))
    sizes = [d.n_rows for d in analysis.deciles]
    assert sum(sizes) == n_rows
    assert max(sizes) - min(sizes) <= 1
    assert len(analysis.deciles) == min(10, n_rows)
    weighted = sum(d.mean_loss * d.n_rows for d in analysis.deciles) / n_rows
    expected = skm.log_loss(predictions.y_true, predictions.proba, labels=["no", "yes"])
    # deciles are written at 8 significant digits
    assert weighted == pytest.approx(expected, rel=1e-7)
    highs = [d.score_high for d in analysis.deciles]
    assert highs == sorted(highs)
    positives = sum(d.actual * d.n_rows for d in analysis.deciles)
    assert positives == pytest.approx(float((predictions.y_true == "yes").sum()))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n_rows=st.integers(1, 300))
def test_regression_deciles_average_to_the_mae_and_worst_rows_come_first(
    seed: int, n_rows: int
) -> None:
    rng = np.random.default_rng(seed)
    truth = rng.normal(size=n_rows)
    predicted = truth + rng.normal(scale=0.5, size=n_rows)
    predictions = Predictions(
        y_true=pd.Series(truth),
        y_pred=predicted,
        proba=None,
        classes=(),
        positive_class=None,
    )
    features = pd.DataFrame({"a": np.arange(n_rows), "b": ["t"] * n_rows})
    analysis = error_analysis(predictions, features, n_worst=5)
    weighted = sum(d.mean_loss * d.n_rows for d in analysis.deciles) / n_rows
    expected = skm.mean_absolute_error(truth, predicted)
    assert weighted == pytest.approx(expected, rel=1e-7)  # deciles: 8 significant digits
    losses = [w.loss for w in analysis.worst]
    assert losses == sorted(losses, reverse=True)
    assert losses[0] == pytest.approx(float(np.abs(truth - predicted).max()))
    for worst in analysis.worst:
        assert worst.features == {"a": worst.row, "b": "t"}
        assert worst.actual == pytest.approx(truth[worst.row])


def test_worst_classification_rows_name_the_probability_of_the_actual_class() -> None:
    predictions = Predictions(
        y_true=pd.Series(["a", "b", "c", "a"]),
        y_pred=np.array(["a", "a", "c", "b"], dtype=object),
        proba=np.array([[0.8, 0.1, 0.1], [0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.05, 0.9, 0.05]]),
        classes=("a", "b", "c"),
        positive_class=None,
    )
    features = pd.DataFrame({"x": [1.0, np.nan, 3.0, 4.0], "flag": [True, False, True, None]})
    analysis = error_analysis(predictions, features, n_worst=2)
    assert analysis.score == "confidence (highest class probability)"
    assert [w.row for w in analysis.worst] == [3, 1]
    assert analysis.worst[0].score == pytest.approx(0.05)
    assert analysis.worst[0].predicted == "b"
    assert analysis.worst[1].features == {"x": None, "flag": False}
    assert row_losses(predictions)[3] == pytest.approx(-np.log(0.05))
    # multiclass deciles: "actual" is the accuracy of the group
    assert sum(d.actual * d.n_rows for d in analysis.deciles) == pytest.approx(2.0)
