"""Properties that hold for every input: checked on many generated ones (hypothesis)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.pandas import column, data_frames, range_indexes
from ruamel.yaml import YAML
from sklearn.metrics import roc_auc_score

from tabpipe.records.params import Params
from tabpipe.repositories.params_file import load_yaml12, parse_params
from tabpipe.services.analysis.metrics import resampled_roc_auc
from tabpipe.services.data.normalise import normalise_frame
from tabpipe.utils.hashing import frame_sha256

TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=8)


@given(
    labels=st.lists(st.booleans(), min_size=2, max_size=60),
    data=st.data(),
)
def test_the_fast_roc_auc_equals_scikit_learns_for_any_scores_ties_included(
    labels: list[bool], data: st.DataObject
) -> None:
    scores = data.draw(
        st.lists(
            st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]) | st.floats(0, 1),
            min_size=len(labels),
            max_size=len(labels),
        )
    )
    is_positive, values = np.array(labels), np.array(scores, dtype=float)
    (fast,) = resampled_roc_auc(is_positive, values, [np.arange(len(labels))])
    if is_positive.all() or not is_positive.any():
        assert np.isnan(fast)  # one class only: undefined
    else:
        assert fast == pytest.approx(roc_auc_score(is_positive, values), abs=1e-12)


@given(
    frame=data_frames(
        [column("name", dtype=object, elements=TEXT | st.none()), column("n", dtype=float)],
        index=range_indexes(max_size=20),
    ),
    markers=st.lists(st.sampled_from(["?", "NA", "-", "n/a"]), max_size=2),
)
def test_normalising_twice_changes_nothing_more(frame: pd.DataFrame, markers: list[str]) -> None:
    once = normalise_frame(frame, missing_values=markers)
    twice = normalise_frame(once, missing_values=markers)
    pd.testing.assert_frame_equal(once, twice)


@given(
    frame=data_frames(
        [column("a", dtype=int), column("b", dtype=float), column("c", elements=TEXT)],
        index=range_indexes(max_size=15),
    ),
    offset=st.integers(-1000, 1000),
)
def test_a_frames_digest_ignores_its_index_but_not_its_values(
    frame: pd.DataFrame, offset: int
) -> None:
    moved = frame.set_axis(frame.index + offset)
    assert frame_sha256(moved) == frame_sha256(frame)
    if len(frame):
        changed = frame.assign(a=frame["a"] + 1)
        assert frame_sha256(changed) != frame_sha256(frame)


@given(
    learning_rate=st.floats(min_value=1e-4, max_value=1, allow_nan=False),
    seed=st.integers(0, 2**31),
    positive=st.sampled_from(["Yes", "No", "on", "Off", "y", "true", "null", "1e3", ">50K"]),
)
def test_params_round_trip_through_yaml_as_dvc_writes_them(
    adult_params: Params, learning_rate: float, seed: int, positive: str
) -> None:
    """Dumped by ruamel.yaml (what `dvc exp run -S` rewrites params.yaml with: YAML 1.2,
    quotes only where 1.2 needs them, so Yes goes unquoted) and read back, every value is
    what it was."""
    raw = adult_params.model_dump(mode="json")
    raw["train"]["model"]["learning_rate"] = learning_rate
    raw["train"]["seed"] = seed
    raw["data"]["positive_class"] = positive
    text = io.StringIO()
    YAML().dump(raw, text)
    again = parse_params(load_yaml12(text.getvalue()))
    assert again.train.model.model_dump()["learning_rate"] == learning_rate
    assert again.train.seed == seed
    assert again.data.positive_class == positive
    assert again == parse_params(raw)
