"""The ingest stage: raw file -> normalised, validated Parquet and a DatasetModel summary.

Nothing is written to the validated-data path unless every check passed; the
validation report is written either way, for CI and for the person fixing the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd
import pandera.pandas as pa
from loguru import logger

from tabpipe.errors import DataReadError, DataValidationError
from tabpipe.models.dataset import ColumnSummary, DatasetModel
from tabpipe.models.params import DataParams, IngestParams, Params
from tabpipe.models.validation import ValidationReport
from tabpipe.repositories.datasets import write_frame, write_model
from tabpipe.repositories.raw_data import read_raw
from tabpipe.repositories.schema_file import load_schema
from tabpipe.services.normalise import normalise_frame
from tabpipe.services.summaries import summarise_target
from tabpipe.services.validation import build_schema, validate_frame
from tabpipe.utils.hashing import file_sha256, frame_sha256


@dataclass(frozen=True)
class IngestResult:
    frame: pd.DataFrame
    summary: DatasetModel
    report: ValidationReport


def run_ingest(params: Params, root: Path = Path()) -> IngestResult:
    """Read, normalise, validate and write; raise DataValidationError on any failed check."""
    data = params.data
    raw_path = root / data.raw_path
    schema = build_schema(load_schema(root / data.schema_path), target=data.target, task=data.task)
    logger.info("ingest: reading {}", raw_path)
    raw = read_raw(
        raw_path, file_format=data.format, delimiter=data.delimiter, encoding=data.encoding
    )
    logger.info("ingest: read {} rows x {} columns", *raw.shape)
    report_path = root / params.paths.validation_report
    try:
        frame, report = ingest_frame(raw, schema, data=data, ingest=params.ingest)
    except DataValidationError as exc:
        if exc.report is not None:
            write_model(exc.report, report_path)
            exc.report_path = report_path
        raise
    write_model(report, report_path)
    duplicates = int(frame.duplicated().sum())
    if duplicates:
        action = "dropped" if params.ingest.duplicates == "drop" else "kept (ingest.duplicates)"
        logger.warning("ingest: {} duplicate rows {}", duplicates, action)
        if params.ingest.duplicates == "drop":
            frame = frame.drop_duplicates(ignore_index=True)
    summary = summarise_dataset(
        frame,
        data=data,
        source_sha256=file_sha256(raw_path),
        duplicate_rows=duplicates,
        duplicates_dropped=params.ingest.duplicates == "drop",
    )
    write_frame(frame, root / params.paths.validated)
    write_model(summary, root / params.paths.dataset_summary)
    logger.info(
        "ingest: {} valid rows -> {} (summary {})",
        len(frame),
        params.paths.validated,
        params.paths.dataset_summary,
    )
    return IngestResult(frame=frame, summary=summary, report=report)


def ingest_frame(
    raw: pd.DataFrame,
    schema: pa.DataFrameSchema,
    *,
    data: DataParams,
    ingest: IngestParams,
) -> tuple[pd.DataFrame, ValidationReport]:
    """The pure part of ingest: valid data, or DataValidationError naming every failure."""
    frame = normalise_frame(raw, missing_values=data.missing_values, drop_columns=data.drop_columns)
    _check_delimiter(frame, schema, data)
    validated, report = validate_frame(frame, schema, source=str(data.raw_path))
    if validated is None:
        message = (
            f"{data.raw_path}: {len(report.failures)} check(s) failed on {len(frame)} rows "
            f"(schema {data.schema_path}):\n{report.describe(ingest.max_failure_examples)}\n"
            "Fix the data, or review the schema file if the data is right."
        )
        raise DataValidationError(message, report=report)
    return validated, report


def _check_delimiter(frame: pd.DataFrame, schema: pa.DataFrameSchema, data: DataParams) -> None:
    """A wrong delimiter reads every line as one column; say so instead of listing columns."""
    if frame.shape[1] == 1 and len(schema.columns) > 1:
        header = str(frame.columns[0])
        msg = (
            f"{data.raw_path}: read a single column '{header[:60]}' but the schema declares "
            f"{len(schema.columns)}. Is data.delimiter ({data.delimiter!r}) right for this file?"
        )
        raise DataReadError(msg)


def summarise_dataset(
    frame: pd.DataFrame,
    *,
    data: DataParams,
    source_sha256: str,
    duplicate_rows: int,
    duplicates_dropped: bool,
) -> DatasetModel:
    columns = tuple(
        ColumnSummary(
            name=str(name),
            dtype=str(frame[name].dtype),
            n_missing=int(frame[name].isna().sum()),
            n_unique=int(frame[name].nunique(dropna=True)),
        )
        for name in frame.columns
    )
    return DatasetModel(
        name=data.name,
        task=data.task,
        source_path=str(data.raw_path),
        source_sha256=source_sha256,
        n_rows=len(frame),
        n_columns=frame.shape[1],
        columns=columns,
        target=summarise_target(frame[data.target], task=data.task),
        duplicate_rows=duplicate_rows,
        duplicates_dropped=duplicates_dropped,
        content_sha256=frame_sha256(frame),
    )


def load_batch(path: Path, params: Params, root: Path = Path()) -> pd.DataFrame:
    """A new batch (monitoring, drift) read and validated like the training data.

    Labels are optional: monitoring data often has none yet, so a batch without the
    target column is validated against the schema without it.
    """
    data = params.data
    base = load_schema(root / data.schema_path)
    raw = read_raw(
        path,
        file_format=_format_of(path),
        delimiter=data.delimiter,
        encoding=data.encoding,
    )
    frame = normalise_frame(raw, missing_values=data.missing_values, drop_columns=data.drop_columns)
    labelled = data.target in frame.columns
    schema = build_schema(base, target=data.target, task=data.task)
    if not labelled:
        schema = schema.remove_columns([data.target])
    batch_data = data.model_copy(update={"raw_path": path})
    _check_delimiter(frame, schema, batch_data)
    validated, report = validate_frame(frame, schema, source=str(path))
    if validated is None:
        message = (
            f"{path}: {len(report.failures)} check(s) failed on {len(frame)} rows "
            f"(schema {data.schema_path}):\n{report.describe(params.ingest.max_failure_examples)}"
        )
        raise DataValidationError(message, report=report)
    return validated


def _format_of(path: Path) -> Literal["csv", "parquet"]:
    """A batch may come in another format than the training file: go by its suffix."""
    return "parquet" if path.suffix == ".parquet" else "csv"
