from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tabpipe.errors import DataValidationError, ParamsError
from tabpipe.records.params import SplitParams
from tabpipe.services.data.split_rows import split_dataset, summarise_split


def _frame(n_rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(size=n_rows),
            "group": rng.integers(0, max(n_rows // 5, 3), size=n_rows),
            "y": rng.choice(["a", "b"], size=n_rows, p=[0.8, 0.2]),
        }
    )


@st.composite
def fractions(draw: st.DrawFn) -> tuple[float, float, float]:
    train = draw(st.floats(min_value=0.3, max_value=0.8))
    val = draw(st.floats(min_value=0.05, max_value=(1 - train) - 0.05))
    return train, val, 1 - train - val


@given(
    parts=fractions(),
    seed=st.integers(min_value=0, max_value=2**31),
    n_rows=st.integers(min_value=60, max_value=400),
    grouped=st.booleans(),
)
def test_splits_partition_the_rows_for_any_valid_params(
    parts: tuple[float, float, float], seed: int, n_rows: int, grouped: bool
) -> None:
    train, val, test = parts
    params = SplitParams(
        train=train, val=val, test=test, seed=seed, group_column="group" if grouped else None
    )
    frame = _frame(n_rows, seed=seed % 1000)
    splits = split_dataset(frame, params, target="y", task="classification")
    indices = [set(part.index) for part in splits.values()]
    assert sum(len(index) for index in indices) == n_rows
    assert set().union(*indices) == set(frame.index)
    assert all(len(part) > 0 for part in splits.values())
    if grouped:
        groups = [set(part["group"]) for part in splits.values()]
        assert all(a.isdisjoint(b) for i, a in enumerate(groups) for b in groups[i + 1 :])
    else:
        for name, fraction in zip(("train", "val", "test"), parts, strict=True):
            assert abs(len(splits[name]) / n_rows - fraction) <= 2 / n_rows + 1e-9


def test_split_is_stratified_by_target() -> None:
    frame = _frame(2000)
    splits = split_dataset(frame, SplitParams(), target="y", task="classification")
    overall = (frame["y"] == "b").mean()
    for part in splits.values():
        assert abs((part["y"] == "b").mean() - overall) < 0.005


def test_no_group_crosses_splits() -> None:
    frame = _frame(1000)
    splits = split_dataset(
        frame, SplitParams(group_column="group"), target="y", task="classification"
    )
    groups = [set(part["group"]) for part in splits.values()]
    assert groups[0].isdisjoint(groups[1])
    assert groups[0].isdisjoint(groups[2])
    assert groups[1].isdisjoint(groups[2])


def test_same_seed_same_split_other_seed_other_split() -> None:
    frame = _frame(500)
    first = split_dataset(frame, SplitParams(seed=1), target="y", task="classification")
    again = split_dataset(frame, SplitParams(seed=1), target="y", task="classification")
    other = split_dataset(frame, SplitParams(seed=2), target="y", task="classification")
    assert list(first["test"].index) == list(again["test"].index)
    assert list(first["test"].index) != list(other["test"].index)


def test_regression_targets_are_not_stratified() -> None:
    frame = _frame(300).assign(y=np.linspace(0, 1, 300))
    splits = split_dataset(frame, SplitParams(), target="y", task="regression")
    summary = summarise_split(splits, SplitParams(), target="y", task="regression")
    assert not summary.stratified
    assert summary.parts[0].target.mean is not None


def test_unknown_group_column_is_a_params_error() -> None:
    with pytest.raises(ParamsError, match=r"split\.group_column 'customer'"):
        split_dataset(
            _frame(100), SplitParams(group_column="customer"), target="y", task="classification"
        )


def test_a_class_too_small_to_stratify_is_a_clear_error() -> None:
    frame = _frame(100).assign(y=["a"] * 99 + ["b"])
    with pytest.raises(DataValidationError, match=r"split\.stratify: false"):
        split_dataset(frame, SplitParams(), target="y", task="classification")


def test_summary_counts_and_digests_each_part() -> None:
    frame = _frame(400)
    splits = split_dataset(frame, SplitParams(), target="y", task="classification")
    summary = summarise_split(splits, SplitParams(), target="y", task="classification")
    assert [part.name for part in summary.parts] == ["train", "val", "test"]
    assert sum(part.n_rows for part in summary.parts) == 400
    assert len({part.content_sha256 for part in summary.parts}) == 3
    counts = summary.parts[0].target.class_counts
    assert counts is not None
    assert sum(counts.values()) == summary.parts[0].n_rows
