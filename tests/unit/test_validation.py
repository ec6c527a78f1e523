from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
import pytest

from tabpipe.errors import ParamsError
from tabpipe.services.data.validation import build_schema, validate_frame

BASE = pa.DataFrameSchema(
    {
        "age": pa.Column("int64", pa.Check.in_range(0, 120)),
        "job": pa.Column("category", pa.Check.isin(["a", "b"]), nullable=True),
        "label": pa.Column("category", pa.Check.isin(["no", "yes"])),
    },
    coerce=True,
    strict=True,
)


def _schema() -> pa.DataFrameSchema:
    return build_schema(BASE, target="label", task="classification")


def test_valid_frame_is_returned_in_schema_order_with_schema_dtypes() -> None:
    frame = pd.DataFrame({"label": ["no", "yes"], "job": ["a", None], "age": ["30", "41"]})
    validated, report = validate_frame(frame, _schema(), source="x.csv")
    assert report.passed
    assert validated is not None
    assert list(validated.columns) == ["age", "job", "label"]
    assert validated["age"].dtype == "int64"


def test_every_failure_is_reported_at_once() -> None:
    frame = pd.DataFrame(
        {"age": [30, 200, -1], "job": ["a", "zzz", "b"], "label": ["no", "yes", "maybe"]}
    )
    validated, report = validate_frame(frame, _schema(), source="x.csv")
    assert validated is None
    failed = {(failure.column, failure.check) for failure in report.failures}
    assert ("age", "in_range(0, 120)") in failed
    assert ("job", "isin(['a', 'b'])") in failed
    assert ("label", "isin(['no', 'yes'])") in failed
    age = next(failure for failure in report.failures if failure.column == "age")
    assert age.n_failures == 2
    assert set(age.examples) == {"200", "-1"}


def test_a_failed_type_cast_hides_its_follow_on_range_errors() -> None:
    frame = pd.DataFrame({"age": ["30", "old"], "job": ["a", "b"], "label": ["no", "yes"]})
    _, report = validate_frame(frame, _schema(), source="x.csv")
    checks = [failure.check for failure in report.failures if failure.column == "age"]
    assert checks == ["coerce_dtype('int64')"]
    assert report.failures[0].examples == ("old",)


def test_missing_and_extra_columns_are_named() -> None:
    frame = pd.DataFrame({"age": [30, 31], "label": ["no", "yes"], "extra": [1, 2]})
    _, report = validate_frame(frame, _schema(), source="x.csv")
    text = report.describe()
    assert "column missing from the data (column_in_dataframe): job" in text
    assert "column not declared in the schema (column_in_schema): extra" in text


def test_an_entirely_missing_nullable_column_fails() -> None:
    frame = pd.DataFrame({"age": [30, 31], "job": [None, None], "label": ["no", "yes"]})
    _, report = validate_frame(frame, _schema(), source="x.csv")
    assert [(f.column, f.check) for f in report.failures] == [
        ("job", "every value is missing (not_all_missing)")
    ]


def test_a_target_with_one_class_fails_for_classification_only() -> None:
    frame = pd.DataFrame({"age": [30, 31], "job": ["a", "b"], "label": ["no", "no"]})
    _, report = validate_frame(frame, _schema(), source="x.csv")
    assert report.failures[0].column == "label"
    assert "fewer than two classes" in report.failures[0].check
    regression = build_schema(BASE, target="label", task="regression")
    validated, _ = validate_frame(frame, regression, source="x.csv")
    assert validated is not None


def test_the_target_keeps_the_nullability_the_schema_declares() -> None:
    """Missing targets of a nullable target are ingest.missing_target's to decide
    (tests/unit/test_ingest_bad_input.py); a non-nullable one fails validation."""
    frame = pd.DataFrame(
        {"age": [30, 31, 32], "job": ["a", "b", "a"], "label": ["no", None, "yes"]}
    )
    strict = build_schema(BASE, target="label", task="classification")
    _, report = validate_frame(frame, strict, source="x.csv")
    assert any("not_nullable" in failure.check for failure in report.failures)
    nullable_target = BASE.update_column("label", nullable=True)
    schema = build_schema(nullable_target, target="label", task="classification")
    validated, _ = validate_frame(frame, schema, source="x.csv")
    assert validated is not None
    batch = build_schema(BASE, target="label", task="classification", batch=True)
    assert batch.columns["label"].nullable  # labels of a batch may arrive later


def test_a_target_absent_from_the_schema_is_a_params_error() -> None:
    with pytest.raises(ParamsError, match=r"data\.target 'income' is not a column of the schema"):
        build_schema(BASE, target="income", task="classification")
