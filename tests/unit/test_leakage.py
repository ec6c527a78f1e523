"""Features that predict the target almost perfectly on their own are named, others are not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tabpipe.errors import ParamsError
from tabpipe.records.evaluation import LeakageCheck, MetricsReport
from tabpipe.records.params import Params
from tabpipe.services.analysis.gates import evaluate_gates
from tabpipe.services.analysis.leakage import check_leakage
from tabpipe.services.modelling.features import FeatureColumns
from tests.helpers import with_overrides

THRESHOLD = 0.99


def _columns(frame: pd.DataFrame, target: str) -> FeatureColumns:
    categorical = tuple(
        c for c in frame.columns if c != target and not pd.api.types.is_numeric_dtype(frame[c])
    )
    numeric = tuple(c for c in frame.columns if c != target and c not in categorical)
    return FeatureColumns(categorical=categorical, numeric=numeric)


def _check(frame: pd.DataFrame, target: str, *, classification: bool) -> LeakageCheck:
    """The leakage check with the first half of ``frame`` as train, the rest as validation."""
    half = len(frame) // 2
    return check_leakage(
        frame.iloc[:half],
        frame.iloc[half:],
        _columns(frame, target),
        target=target,
        classification=classification,
        threshold=THRESHOLD,
        seed=0,
    )


def test_the_adult_features_are_not_suspects(adult_splits: dict[str, pd.DataFrame]) -> None:
    result = check_leakage(
        adult_splits["train"],
        adult_splits["val"],
        _columns(adult_splits["train"], "income"),
        target="income",
        classification=True,
        threshold=THRESHOLD,
        seed=0,
    )
    assert result.suspects == ()
    assert result.top_features[0].score < 0.9
    assert "no feature predicts the target alone" in result.describe()


def test_a_category_written_after_the_outcome_is_a_suspect(
    adult_splits: dict[str, pd.DataFrame],
) -> None:
    frame = adult_splits["train"].head(4000)
    leaked = frame.assign(status=frame["income"].astype(str).map({"<=50K": "no", ">50K": "yes"}))
    assert _check(leaked, "income", classification=True).suspects == ("status",)


def test_the_log_of_a_regression_target_is_a_suspect() -> None:
    rng = np.random.default_rng(1)
    wage = np.exp(rng.normal(3, 0.6, 4000))
    frame = pd.DataFrame(
        {"age": rng.integers(18, 65, 4000).astype(float), "log_wage": np.log(wage), "wage": wage}
    )
    assert _check(frame, "wage", classification=False).suspects == ("log_wage",)


def test_two_counts_that_sum_to_the_target_are_suspects_although_neither_is_alone() -> None:
    rng = np.random.default_rng(2)
    temperature = rng.normal(20, 8, 6000)
    casual = rng.poisson(np.clip(5 + temperature, 1, None)).astype(float)
    registered = rng.poisson(np.clip(60 + 3 * temperature, 1, None)).astype(float)
    frame = pd.DataFrame(
        {"temperature": temperature, "casual": casual, "registered": registered}
    ).assign(count=casual + registered)
    result = _check(frame, "count", classification=False)
    assert all(item.score < THRESHOLD for item in result.top_features)  # none alone
    assert set(result.suspects) == {"casual", "registered"}
    assert result.linear_score is not None
    assert result.linear_score > THRESHOLD


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    scale=st.floats(-1e3, 1e3).filter(lambda v: abs(v) > 1e-3),
    n_rows=st.integers(200, 1500),
)
def test_any_feature_that_is_a_linear_function_of_the_target_is_named(
    seed: int, scale: float, n_rows: int
) -> None:
    rng = np.random.default_rng(seed)
    target = rng.lognormal(2, 1, n_rows)
    frame = pd.DataFrame(
        {"noise": rng.normal(size=n_rows), "copy": scale * target + 7.0, "y": target}
    )
    suspects = _check(frame, "y", classification=False).suspects
    assert "copy" in suspects
    assert "noise" not in suspects


def test_the_gate_fails_only_when_enforced(
    adult_params: Params, adult_splits: dict[str, pd.DataFrame]
) -> None:
    frame = adult_splits["train"].head(4000)
    leaked = frame.assign(status=frame["income"].astype(str))
    check = _check(leaked, "income", classification=True)
    report = MetricsReport(
        model_sha256="a" * 64, test_sha256="b" * 64, task="classification",
        primary_metric="roc_auc", test={"roc_auc": 0.95}, baseline={"roc_auc": 0.5},
        uplift={"roc_auc": 0.45}, train={}, val={},
    )  # fmt: skip
    quiet = with_overrides(adult_params, gates={"rules": [], "slice_gaps": []})
    assert evaluate_gates(quiet.gates, report, leakage=check).passed is True
    enforced = with_overrides(
        adult_params, gates={"rules": [], "slice_gaps": [], "fail_on_leakage": True}
    )
    verdict = evaluate_gates(enforced.gates, report, leakage=check)
    assert verdict.passed is False
    assert verdict.failed[0].kind == "no_leakage"
    assert "suspects: status" in verdict.failed[0].describe()


@pytest.mark.parametrize("threshold", [0.4, 1.5])
def test_the_threshold_is_bounded(adult_params: Params, threshold: float) -> None:
    with pytest.raises(ParamsError, match=r"train\.leakage\.max_single_feature_score"):
        with_overrides(adult_params, train={"leakage": {"max_single_feature_score": threshold}})


# Every task and target dtype a user may bring, crossed with every column kind: the check
# scores each column without raising, flags a copy of the target and passes noise.
_TARGETS = {
    "binary_text": lambda rng, n: rng.choice(["no", "yes"], n),
    "binary_yes_no": lambda rng, n: rng.choice(["No", "Yes"], n, p=[0.97, 0.03]),
    "binary_int_coded": lambda rng, n: rng.integers(0, 2, n),
    "binary_bool": lambda rng, n: rng.integers(0, 2, n).astype(bool),
    "multiclass_text": lambda rng, n: rng.choice(["a", "b", "c", "d"], n),
    "multiclass_int_coded": lambda rng, n: rng.integers(1, 6, n),
    "regression_int": lambda rng, n: rng.integers(0, 1000, n),
    "regression_decimal": lambda rng, n: np.round(rng.normal(6.5, 1.2, n), 2),
}


def _leaking(kind: str, y: pd.Series) -> pd.Series:
    """A column of ``kind`` that is a function of the target (so a leak)."""
    codes = y.astype(str).astype("category").cat.codes
    if kind == "categorical" and (pd.api.types.is_float_dtype(y) or y.nunique() > 100):
        # A continuous target as 50 bands: each category's mean nearly is the target.
        return "band_" + pd.qcut(y, 50, labels=False, duplicates="drop").astype(str)
    if kind == "categorical":
        return "level_" + y.astype(str)
    if kind == "boolean":
        return codes == codes.max()
    return y.astype(float) * 3.0 + 1.0 if pd.api.types.is_numeric_dtype(y) else codes * 2.0


def _noise(kind: str, rng: np.random.Generator, n: int) -> pd.Series:
    if kind == "categorical":
        return pd.Series(rng.choice(["red", "green", "blue"], n))
    if kind == "boolean":
        return pd.Series(rng.integers(0, 2, n).astype(bool))
    return pd.Series(rng.normal(size=n))


@pytest.mark.parametrize("kind", ["numeric", "categorical", "boolean"])
@pytest.mark.parametrize("target_kind", list(_TARGETS))
def test_every_task_and_column_kind_is_scored_and_a_copy_of_the_target_is_found(
    target_kind: str, kind: str
) -> None:
    rng = np.random.default_rng(7)
    n = 1200
    y = pd.Series(_TARGETS[target_kind](rng, n))
    classification = not target_kind.startswith("regression")
    frame = pd.DataFrame(
        {
            "noise": _noise(kind, rng, n),
            "copy": _leaking(kind, y),
            "constant": "same",
            "identifier": [f"id{i}" for i in range(n)],
            "target": y,
        }
    )
    if kind == "boolean" and not classification:
        frame = frame.drop(columns="copy")  # a yes/no column cannot carry a continuous target
    result = _check(frame, "target", classification=classification)
    scored = {item.feature for item in result.top_features}
    assert "noise" in scored
    assert "noise" not in result.suspects
    assert "identifier" not in result.suspects
    if "copy" in frame.columns and not (kind == "boolean" and target_kind.startswith("multi")):
        assert "copy" in result.suspects, result.describe()
    assert result.metric == ("roc_auc" if classification else "r2")


def test_the_encoder_target_type_follows_the_task_not_the_values() -> None:
    from tabpipe.services.analysis.leakage import encoder_target_type

    decimals = pd.Series([6.03, 6.67, 5.1, 7.2])
    assert encoder_target_type(decimals, classification=False) == "continuous"
    assert encoder_target_type(pd.Series([0, 1, 1, 0]), classification=False) == "continuous"
    assert encoder_target_type(pd.Series(["1", "2", "3"]), classification=True) == "multiclass"
    assert encoder_target_type(pd.Series(["No", "Yes"]), classification=True) == "binary"
