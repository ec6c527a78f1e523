"""Behavioural checks: a change that must not matter, and a change that must push one way."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from tabpipe.errors import ParamsError
from tabpipe.records.params import BehaviourCheck, Params
from tabpipe.services.analysis.behaviour import behaviour_gates
from tabpipe.services.params.checks import behaviour_problems
from tests.helpers import with_overrides


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    """``income`` rises with ``x``; ``colour`` is noise the model may pick up a little."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=2000)
    colour = pd.Categorical(rng.choice(["red", "blue"], size=2000))
    y = np.where(x + rng.normal(scale=0.5, size=2000) > 0, "rich", "poor")
    return pd.DataFrame({"x": x, "colour": colour}), pd.Series(y)


@pytest.fixture(scope="module")
def model(data: tuple[pd.DataFrame, pd.Series]) -> object:
    features, target = data
    encode = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["colour"]), remainder="passthrough"
    )
    return make_pipeline(encode, LogisticRegression()).fit(features, target)


def _gates(model: object, features: pd.DataFrame, *checks: BehaviourCheck) -> list[float]:
    gates = behaviour_gates(
        model, features, checks, task="classification", positive_class="rich", seed=0
    )
    return [gate.value or 0.0 for gate in gates]


def test_a_push_in_the_direction_the_model_learnt_breaks_nothing(
    model: object, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    up = BehaviourCheck(kind="directional", column="x", shift=1.0, direction="up")
    down = BehaviourCheck(kind="directional", column="x", shift=1.0, direction="down")
    assert _gates(model, data[0], up, down) == [0.0, 1.0]


def test_changing_a_noise_column_rarely_flips_the_label_and_the_gate_says_how_often(
    model: object, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    check = BehaviourCheck(
        kind="invariance", column="colour", value="red", max_violation_share=0.05
    )
    (gate,) = behaviour_gates(
        model, data[0], (check,), task="classification", positive_class="rich", seed=0
    )
    assert gate.passed is True
    assert gate.value is not None
    assert gate.value < 0.05
    assert gate.name == "prediction unchanged when colour = 'red'"
    unseen = BehaviourCheck(kind="invariance", column="colour", value="green")
    assert _gates(model, data[0], unseen)[0] < 0.05  # a category the model never saw


def test_a_regressor_is_judged_on_its_prediction_within_the_tolerance(
    data: tuple[pd.DataFrame, pd.Series],
) -> None:
    features = data[0][["x"]].assign(z=1.0)
    model = LinearRegression().fit(features, 3 * features["x"])
    loose = BehaviourCheck(kind="invariance", column="z", shift=1.0, tolerance=0.1)
    moved = BehaviourCheck(kind="invariance", column="x", shift=1.0, tolerance=0.1)
    gates = behaviour_gates(
        model, features, (loose, moved), task="regression", positive_class=None, seed=0
    )
    assert [gate.passed for gate in gates] == [True, False]


@pytest.mark.parametrize(
    ("check", "message"),
    [
        ({"kind": "invariance", "column": "race"}, "set exactly one of value, shift"),
        ({"kind": "invariance", "column": "age", "value": 1, "shift": 1}, "exactly one"),
        ({"kind": "directional", "column": "age", "shift": 1}, "direction goes with"),
        ({"kind": "invariance", "column": "race", "value": "x", "direction": "up"}, "direction"),
    ],
)
def test_a_check_needs_one_change_and_a_direction_only_when_directional(
    adult_params: Params, check: dict[str, object], message: str
) -> None:
    with pytest.raises(ParamsError, match=message):
        with_overrides(adult_params, gates={"behaviour": [check]})


def test_a_change_that_does_not_fit_the_column_or_the_task_is_a_params_error(
    adult_params: Params,
) -> None:
    checks = [
        {"kind": "invariance", "column": "race", "shift": 1.0},
        {"kind": "invariance", "column": "age", "value": "old"},
        {"kind": "directional", "column": "age", "shift": 1.0, "direction": "up"},
    ]
    params = with_overrides(adult_params, gates={"behaviour": checks})
    columns: dict[str, dict[str, object]] = {
        "race": {"dtype": "category"},
        "age": {"dtype": "int64"},
    }
    binary: dict[str, dict[str, object]] = {
        **columns,
        "income": {"dtype": "category", "isin": ["<=50K", ">50K"]},
    }
    assert behaviour_problems(params.gates, params.data, binary) == [
        "gates.behaviour.0.shift: 'race' is not numeric (dtype category); set value instead",
        "gates.behaviour.1.value: 'age' is numeric: give a number",
    ]
    three: dict[str, dict[str, object]] = {
        **columns,
        "income": {"dtype": "category", "isin": ["low", "mid", "high"]},
    }
    assert behaviour_problems(params.gates, params.data, three)[-1].startswith(
        "gates.behaviour.2.kind: a directional check follows one score, and 'income' has 3"
    )
