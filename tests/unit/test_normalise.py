from __future__ import annotations

import pandas as pd

from tabpipe.services.data.normalise import normalise_frame


def test_strips_whitespace_from_names_and_text_values() -> None:
    raw = pd.DataFrame({" age": [39, 50], " workclass ": [" State-gov", "Private  "]})
    frame = normalise_frame(raw, missing_values=())
    assert list(frame.columns) == ["age", "workclass"]
    assert frame["workclass"].tolist() == ["State-gov", "Private"]


def test_missing_markers_and_blank_text_become_na() -> None:
    raw = pd.DataFrame({"occupation": [" ?", "Sales", "   ", "n/a"]})
    frame = normalise_frame(raw, missing_values=("?", "n/a"))
    assert frame["occupation"].isna().tolist() == [True, False, True, True]


def test_numbers_in_a_mixed_column_are_left_for_the_schema() -> None:
    raw = pd.DataFrame({"age": [39, " 40 ", "abc"]}, dtype=object)
    frame = normalise_frame(raw, missing_values=("?",))
    assert frame["age"].tolist() == [39, "40", "abc"]


def test_declared_columns_are_dropped_and_absent_ones_ignored() -> None:
    raw = pd.DataFrame({"Unnamed: 0": [0, 1], "age": [39, 50]})
    frame = normalise_frame(raw, missing_values=(), drop_columns=("Unnamed: 0", "not-there"))
    assert list(frame.columns) == ["age"]


def test_numeric_columns_are_untouched() -> None:
    raw = pd.DataFrame({"hours": [40.0, float("nan")]})
    frame = normalise_frame(raw, missing_values=("?",))
    pd.testing.assert_frame_equal(frame, raw)
