"""From a raw table to validated rows: normalised, checked, and rows without a target handled.

The pure part of ingest, shared by both engines (the Dask engine runs it on every block)
and by batches (predict, monitoring), which keep their rows without a target.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from loguru import logger

from tabpipe.errors import DataReadError, DataValidationError, ParamsError
from tabpipe.records.params import DataParams, IngestParams
from tabpipe.records.validation import ValidationReport
from tabpipe.services.data.normalise import normalise_frame
from tabpipe.services.data.validation import validate_frame


def ingest_frame(
    raw: pd.DataFrame,
    schema: pa.DataFrameSchema,
    *,
    data: DataParams,
    ingest: IngestParams,
    batch: bool = False,
) -> tuple[pd.DataFrame, ValidationReport]:
    """The pure part of ingest: valid data, or DataValidationError naming every failure.

    ``data.raw_path`` names the file in messages. Training data follows
    ``ingest.missing_target`` for rows without a target (:func:`training_schema`,
    :func:`drop_rows_without_target`).
    A new ``batch`` (predict, monitoring) may come without the columns
    ``data.drop_columns`` removes, and keeps its rows without a target.
    """
    frame = normalise_frame(raw, missing_values=data.missing_values, drop_columns=data.drop_columns)
    _check_delimiter(frame, schema, data)
    present = {str(name).strip() for name in raw.columns}
    absent = [name for name in data.drop_columns if name not in present]
    if absent and not batch:
        msg = (
            f"data.drop_columns: {', '.join(repr(n) for n in absent)} not in {data.raw_path} "
            f"(its columns: {', '.join(sorted(present))}); remove them from data.drop_columns"
        )
        raise ParamsError(msg)
    without_target = 0
    declared_nullable = data.target in schema.columns and schema.columns[data.target].nullable
    if not batch:
        schema = training_schema(schema, data=data, ingest=ingest)
        frame, without_target = drop_rows_without_target(frame, schema, data=data)
    validated, report = validate_frame(frame, schema, source=str(data.raw_path))
    report = report.model_copy(update={"rows_without_target": without_target})
    if validated is None:
        message = (
            f"{data.raw_path}: {len(report.failures)} check(s) failed on {len(frame)} rows "
            f"(schema {data.schema_path}):\n{report.describe(ingest.max_failure_examples)}\n"
            + target_hint(report, data, ingest, declared_nullable=declared_nullable)
            + "Fix the data, or review the schema file if the data is right."
        )
        raise DataValidationError(message, report=report)
    return validated, report


def drop_rows_without_target(
    frame: pd.DataFrame, schema: pa.DataFrameSchema, *, data: DataParams
) -> tuple[pd.DataFrame, int]:
    """Training rows without a target value left out, where ``schema`` allows them; how many.

    ``training_schema`` decides whether it does: with ``ingest.missing_target: fail`` (or
    a target the schema file declares non-nullable) the target is not nullable, rows
    without one stay, and validation reports them with every other failure.
    """
    target = data.target
    if target not in frame.columns or target not in schema.columns:
        return frame, 0
    missing = frame[target].isna()
    count = int(missing.sum())
    if count == 0 or not schema.columns[target].nullable:
        return frame, 0
    logger.warning(
        "ingest: {} of {} rows have no '{}' (the target) and are left out "
        "(ingest.missing_target: drop)",
        count,
        len(frame),
        target,
    )
    return frame.loc[~missing].reset_index(drop=True), count


def training_schema(
    schema: pa.DataFrameSchema, *, data: DataParams, ingest: IngestParams
) -> pa.DataFrameSchema:
    """The schema training data is validated with.

    A nullable target stays nullable only under ``ingest.missing_target: drop`` (its
    rows without a value are then left out); under ``fail`` they are validation failures.
    """
    if ingest.missing_target == "fail" and data.target in schema.columns:
        return schema.update_column(data.target, nullable=False)
    return schema


def target_hint(
    report: ValidationReport, data: DataParams, ingest: IngestParams, *, declared_nullable: bool
) -> str:
    """What to do when rows have no target value: a line for the failure message (or "")."""
    if not any(f.column == data.target and "not_nullable" in f.check for f in report.failures):
        return ""
    if declared_nullable:  # missing_target: fail made it strict
        return (
            f"'{data.target}' is the target (data.target) and ingest.missing_target is "
            "'fail': fill in the missing labels, or set ingest.missing_target: drop to leave "
            "those rows out of training and evaluation (they are counted in the dataset "
            "summary).\n"
        )
    return (
        f"'{data.target}' is the target (data.target) and {data.schema_path} declares it "
        f"non-nullable. If rows without a target are expected, set `nullable: true` for "
        f"'{data.target}' there: ingest.missing_target (now '{ingest.missing_target}') then "
        "decides, 'drop' leaves them out and counts them, 'fail' stops ingest.\n"
    )


def _check_delimiter(frame: pd.DataFrame, schema: pa.DataFrameSchema, data: DataParams) -> None:
    """A wrong delimiter reads every line as one column; say so instead of listing columns."""
    if frame.shape[1] == 1 and len(schema.columns) > 1:
        header = str(frame.columns[0])
        msg = (
            f"{data.raw_path}: read a single column '{header[:60]}' but the schema declares "
            f"{len(schema.columns)}. Is data.delimiter ({data.delimiter!r}) right for this file?"
        )
        raise DataReadError(msg)


def labelled_rows(batch: pd.DataFrame, target: str) -> pd.DataFrame:
    """The rows of a batch whose target is known: the only ones a metric can score."""
    if target not in batch.columns:
        return batch.iloc[0:0]
    known = batch[target].notna()
    return batch if bool(known.all()) else batch.loc[known].reset_index(drop=True)
