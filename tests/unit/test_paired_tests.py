"""The statistics behind `tabpipe compare`: DeLong's test, the paired bootstrap, the verdict."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn import metrics as skm

from tabpipe.services.analysis.metrics import Predictions
from tabpipe.services.analysis.paired_tests import delong_test, improvement, paired_bootstrap
from tabpipe.services.usage.compare_verdict import decide


def _delong_by_definition(
    is_positive: npt.NDArray[np.bool_], a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]
) -> tuple[float, float]:
    """DeLong et al. (1988) written out pair by pair, O(n^2): the difference's z and p."""
    components10, components01 = [], []
    for scores in (a, b):
        pos, neg = scores[is_positive], scores[~is_positive]
        psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
        components10.append(psi.mean(axis=1))  # per positive
        components01.append(psi.mean(axis=0))  # per negative
    s10, s01 = np.cov(np.vstack(components10)), np.cov(np.vstack(components01))
    m, n = int(is_positive.sum()), int((~is_positive).sum())
    covariance = s10 / m + s01 / n
    variance = covariance[0, 0] + covariance[1, 1] - 2 * covariance[0, 1]
    difference = components10[1].mean() - components10[0].mean()
    z = difference / np.sqrt(variance)
    return float(z), float(2 * stats.norm.sf(abs(z)))


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_rows=st.integers(20, 300),
    levels=st.sampled_from([5, 50, 10_000]),  # few levels: many ties
)
def test_delong_matches_its_pairwise_definition_with_and_without_ties(
    seed: int, n_rows: int, levels: int
) -> None:
    rng = np.random.default_rng(seed)
    is_positive = rng.random(n_rows) < 0.4
    is_positive[:2] = [True, False]  # both classes present
    a = np.floor((rng.random(n_rows) + 0.3 * is_positive) * levels) / levels
    b = np.floor((rng.random(n_rows) + 0.6 * is_positive) * levels) / levels
    result = delong_test(is_positive, a, b)
    assert result.auc_champion == pytest.approx(skm.roc_auc_score(is_positive, a))
    assert result.auc_challenger == pytest.approx(skm.roc_auc_score(is_positive, b))
    z, p = _delong_by_definition(is_positive, a, b)
    if np.isfinite(z):
        assert result.z == pytest.approx(z, rel=1e-9, abs=1e-9)
        assert result.p_value == pytest.approx(p, rel=1e-9, abs=1e-12)


def test_delong_sees_no_difference_between_a_model_and_itself() -> None:
    rng = np.random.default_rng(1)
    is_positive = rng.random(500) < 0.3
    scores = rng.random(500) + is_positive
    result = delong_test(is_positive, scores, scores)
    assert (result.z, result.p_value) == (0.0, 1.0)


def test_delong_needs_both_classes() -> None:
    with pytest.raises(ValueError, match="both classes"):
        delong_test(np.ones(10, dtype=bool), np.arange(10.0), np.arange(10.0))


def _binary(scores: npt.NDArray[np.float64], truth: npt.NDArray[np.bool_]) -> Predictions:
    labels = np.where(truth, "yes", "no").astype(object)
    return Predictions(
        y_true=pd.Series(labels),
        y_pred=np.where(scores > 0.5, "yes", "no").astype(object),
        proba=np.column_stack([1 - scores, scores]),
        classes=("no", "yes"),
        positive_class="yes",
    )


def test_the_paired_bootstrap_of_a_model_against_itself_is_exactly_zero() -> None:
    rng = np.random.default_rng(2)
    truth = rng.random(300) < 0.4
    same = _binary(np.clip(rng.random(300) * 0.7 + 0.3 * truth, 0, 1), truth)
    for metric in ("roc_auc", "log_loss", "accuracy"):
        result = paired_bootstrap(
            same, same, metric, task="classification", n_resamples=200, seed=0
        )
        assert set(result.improvements) == {0.0}
        assert result.p_value == 1.0


def test_the_paired_bootstrap_finds_a_clearly_better_challenger_on_any_metric() -> None:
    rng = np.random.default_rng(3)
    truth = rng.random(600) < 0.4
    noise = rng.random(600)
    weak = _binary(np.clip(0.15 * truth + 0.85 * noise, 0, 1), truth)
    strong = _binary(np.clip(0.6 * truth + 0.4 * noise, 0, 1), truth)
    for metric in ("roc_auc", "log_loss", "balanced_accuracy"):
        result = paired_bootstrap(
            weak, strong, metric, task="classification", n_resamples=300, seed=0
        )
        low, high = result.interval(0.95)
        assert 0 < low < high, metric
        assert result.p_value == pytest.approx(1 / 301)  # every resample favours it
        backwards = paired_bootstrap(
            strong, weak, metric, task="classification", n_resamples=300, seed=0
        )
        assert backwards.interval(0.95)[1] < 0, metric


def test_improvement_follows_the_metrics_direction() -> None:
    assert improvement("roc_auc", 0.80, 0.85) == pytest.approx(0.05)
    assert improvement("rmse", 10.0, 8.0) == pytest.approx(2.0)  # a lower error is better
    assert improvement("log_loss", 0.30, 0.35) == pytest.approx(-0.05)


def test_the_paired_bootstrap_orients_regression_errors_so_positive_means_better() -> None:
    rng = np.random.default_rng(4)
    y = rng.normal(size=400)

    def regression(error: float) -> Predictions:
        predicted = y + rng.normal(scale=error, size=400)
        return Predictions(
            y_true=pd.Series(y), y_pred=predicted, proba=None, classes=(), positive_class=None
        )

    result = paired_bootstrap(
        regression(1.0), regression(0.2), "rmse", task="regression", n_resamples=200, seed=0
    )
    assert result.interval(0.95)[0] > 0


@pytest.mark.parametrize(
    ("gain", "p_value", "verdict"),
    [
        (0.02, 0.001, "challenger better"),
        (0.002, 0.001, "no evidence"),  # significant, but below min_effect 0.005
        (0.02, 0.2, "no evidence"),  # large but not significant
        (-0.02, 0.001, "challenger worse"),
        (-0.001, 0.04, "challenger worse"),  # worse needs no minimum effect
        (0.0, 1.0, "no evidence"),
    ],
)
def test_the_verdict_needs_significance_and_the_minimum_effect_to_call_it_better(
    gain: float, p_value: float, verdict: str
) -> None:
    assert decide(gain, p_value, alpha=0.05, min_effect=0.005)[0] == verdict
