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
    base: pa.DataFrameSchema,
    *,
    target: str,
    task: Task,
    batch: bool = False,
    whole_columns: bool = True,
) -> pa.DataFrameSchema:
    """The schema file plus the rules that depend on the params, not on the dataset.

    A training dataset needs two classes; a ``batch`` (monitoring) may hold one, as a
    day of real traffic often does, and rows without a target (labels arrive late). In
    training data the target keeps the nullability the schema file declares: ingest
    applies ``ingest.missing_target`` to a nullable one before validating.
    ``whole_columns=False`` leaves out the checks that
    only hold for a whole column (not all missing, two classes), for a schema that
    validates one partition: the Dask engine checks those on the merged counts.
    """
    if target not in base.columns:
        msg = (
            f"data.target '{target}' is not a column of the schema file "
            f"(columns: {', '.join(map(str, base.columns))})."
        )
        raise ParamsError(msg)
    updates: dict[str, dict[str, object]] = {}
    for name, column in base.columns.items():
        checks = [*column.checks]
        if whole_columns:
            checks.append(pa.Check(_has_a_value, name=NOT_ALL_MISSING, ignore_na=False))
        if name == target and task == "classification" and not batch and whole_columns:
            checks.append(pa.Check(_has_two_classes, name=AT_LEAST_TWO_CLASSES))
        updates[name] = {"checks": checks}
        if name == target and batch:
            updates[name]["nullable"] = True
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
_PER_COLUMN_CHECKS = {
    "column missing from the data (column_in_dataframe)",
    "column not declared in the schema (column_in_schema)",
}
_READABLE = {
    "column_in_dataframe": "column missing from the data (column_in_dataframe)",
    "column_in_schema": "column not declared in the schema (column_in_schema)",
    NOT_ALL_MISSING: "every value is missing (not_all_missing)",
    AT_LEAST_TWO_CLASSES: "the target has fewer than two classes (target_has_at_least_two_classes)",
    "not_nullable": "missing values in a non-nullable column (not_nullable)",
}


def whole_column_failures(
    n_rows: int, n_missing: dict[str, int], classes: int | None, *, target: str
) -> list[CheckFailure]:
    """The whole-column checks of :func:`build_schema`, on counts merged over partitions."""
    failures = [
        CheckFailure(column=name, check=_readable_check(NOT_ALL_MISSING), n_failures=1, examples=())
        for name, missing in n_missing.items()
        if n_rows and missing == n_rows
    ]
    if classes is not None and classes < MIN_CLASSES:
        failures.append(
            CheckFailure(
                column=target,
                check=_readable_check(AT_LEAST_TWO_CLASSES),
                n_failures=1,
                examples=(),
            )
        )
    return failures


def merge_reports(reports: list[ValidationReport], *, source: str, n_rows: int) -> ValidationReport:
    """One report for the partitions of a dataset: failures of the same check added up.

    A check about the columns themselves (a column missing or undeclared) fails in every
    partition alike and counts once; examples keep the first distinct values found.
    """
    merged: dict[tuple[str | None, str], CheckFailure] = {}
    for report in reports:
        for failure in report.failures:
            key = (failure.column, failure.check)
            seen = merged.get(key)
            if seen is None:
                merged[key] = failure
                continue
            once = failure.check in _PER_COLUMN_CHECKS
            merged[key] = CheckFailure(
                column=failure.column,
                check=failure.check,
                n_failures=seen.n_failures if once else seen.n_failures + failure.n_failures,
                examples=tuple(dict.fromkeys([*seen.examples, *failure.examples]))[:20],
            )
    failures = tuple(merged.values())
    return ValidationReport(
        source_path=source,
        passed=not failures,
        n_rows=n_rows,
        failures=failures,
        rows_without_target=sum(report.rows_without_target for report in reports),
    )


def _readable_check(check: str) -> str:
    """pandera's check names are terse; say what they mean and keep the name to search for."""
    if check.startswith("isin([") and len(check) > _MAX_CHECK_NAME:
        n_allowed = check.count("', '") + 1
        return f"isin(<{n_allowed} allowed values, see the schema file>)"
    return _READABLE.get(check, check)
