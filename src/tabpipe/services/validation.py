"""Validating a normalised frame against its pandera schema, lazily.

The committed schema file says what each column is; this module adds the rules
that follow from ``params.yaml`` (the target must be present, non-null and, for
classification, hold at least two classes; no column may be entirely missing)
and turns pandera's failure cases into a :class:`ValidationReport`.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaError, SchemaErrors

from tabpipe.errors import ParamsError
from tabpipe.records.params import Task
from tabpipe.records.validation import CheckFailure, ValidationReport
from tabpipe.utils.text import shorten

NOT_ALL_MISSING = "not_all_missing"
AT_LEAST_TWO_CLASSES = "target_has_at_least_two_classes"
MIN_CLASSES = 2
_MAX_CHECK_NAME = 60


def build_schema(
    base: pa.DataFrameSchema, *, target: str, task: Task, batch: bool = False
) -> pa.DataFrameSchema:
    """The schema file plus the rules that depend on the params, not on the dataset.

    A training dataset needs two classes; a ``batch`` (monitoring) may hold one, as a
    day of real traffic often does.
    """
    if target not in base.columns:
        msg = (
            f"data.target '{target}' is not a column of the schema file "
            f"(columns: {', '.join(map(str, base.columns))})."
        )
        raise ParamsError(msg)
    updates: dict[str, dict[str, object]] = {}
    for name, column in base.columns.items():
        checks = [*column.checks, pa.Check(_has_a_value, name=NOT_ALL_MISSING, ignore_na=False)]
        if name == target and task == "classification" and not batch:
            checks.append(pa.Check(_has_two_classes, name=AT_LEAST_TWO_CLASSES))
        updates[name] = {"checks": checks}
        if name == target:
            updates[name]["nullable"] = False
    return base.update_columns(updates)


def _has_a_value(series: pd.Series) -> bool:
    return bool(series.notna().any())


def _has_two_classes(series: pd.Series) -> bool:
    return bool(series.nunique(dropna=True) >= MIN_CLASSES)


def validate_frame(
    frame: pd.DataFrame, schema: pa.DataFrameSchema, *, source: str
) -> tuple[pd.DataFrame | None, ValidationReport]:
    """Return the validated frame (columns in schema order) and the report of every check.

    The frame is ``None`` exactly when the report did not pass.
    """
    try:
        with warnings.catch_warnings():
            # pandera's own failure-case concatenation trips a pandas FutureWarning.
            warnings.simplefilter("ignore", FutureWarning)
            validated = schema.validate(frame, lazy=True)
    except SchemaErrors as exc:
        failures = summarise_failures(exc.failure_cases)
        return None, ValidationReport(
            source_path=source, passed=False, n_rows=len(frame), failures=failures
        )
    except SchemaError as exc:  # raised instead of SchemaErrors for some frame-level problems
        failure = CheckFailure(
            column=None, check=str(exc.check or "schema"), n_failures=1, examples=(str(exc),)
        )
        return None, ValidationReport(
            source_path=source, passed=False, n_rows=len(frame), failures=(failure,)
        )
    ordered = validated[list(schema.columns)].reset_index(drop=True)
    return ordered, ValidationReport(source_path=source, passed=True, n_rows=len(frame))


def summarise_failures(cases: pd.DataFrame, max_examples: int = 20) -> tuple[CheckFailure, ...]:
    """One entry per (column, check), with distinct example values.

    A column whose dtype coercion failed also fails its value checks with a
    TypeError (comparing text to numbers); those follow-on failures are dropped
    so the user sees the cause, not its echo.
    """
    if cases.empty:
        return ()
    grouped: dict[tuple[str | None, str], list[str]] = {}
    for column, check, value in zip(
        cases["column"], cases["check"], cases["failure_case"], strict=True
    ):
        key = (None if pd.isna(column) else str(column), str(check))
        grouped.setdefault(key, []).append(shorten(str(value)))
    coerce_failed = {column for column, check in grouped if check.startswith("coerce_dtype")}
    return tuple(
        CheckFailure(
            column=column,
            check=_readable_check(check),
            n_failures=len(values),
            examples=()
            if check in _WHOLE_COLUMN_CHECKS
            else tuple(dict.fromkeys(values))[:max_examples],
        )
        for (column, check), values in grouped.items()
        if column not in coerce_failed or check.startswith("coerce_dtype")
    )


_WHOLE_COLUMN_CHECKS = {NOT_ALL_MISSING, AT_LEAST_TWO_CLASSES}
_READABLE = {
    "column_in_dataframe": "column missing from the data (column_in_dataframe)",
    "column_in_schema": "column not declared in the schema (column_in_schema)",
    NOT_ALL_MISSING: "every value is missing (not_all_missing)",
    AT_LEAST_TWO_CLASSES: "the target has fewer than two classes (target_has_at_least_two_classes)",
    "not_nullable": "missing values in a non-nullable column (not_nullable)",
}


def _readable_check(check: str) -> str:
    """pandera's check names are terse; say what they mean and keep the name to search for."""
    if check.startswith("isin([") and len(check) > _MAX_CHECK_NAME:
        n_allowed = check.count("', '") + 1
        return f"isin(<{n_allowed} allowed values, see the schema file>)"
    return _READABLE.get(check, check)
