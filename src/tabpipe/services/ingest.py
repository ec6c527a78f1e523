"""The ingest stage: raw file -> normalised, validated Parquet and a DatasetSummary.

Nothing is written to the validated-data path unless every check passed; the
validation report is written either way, for CI and for the person fixing the data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pandera.pandas as pa
from loguru import logger

from tabpipe.errors import DataReadError, DataValidationError, ParamsError
from tabpipe.records.dataset import ColumnSummary, DatasetSummary
from tabpipe.records.params import DataParams, IngestParams, Params
from tabpipe.records.validation import ValidationReport
from tabpipe.repositories.datasets import write_frame, write_record
from tabpipe.repositories.raw_data import format_of, read_raw
from tabpipe.repositories.schema_file import load_schema
from tabpipe.services.normalise import normalise_frame
from tabpipe.services.params_checks import check_against_schema
from tabpipe.services.summaries import summarise_target
from tabpipe.services.validation import build_schema, validate_frame
from tabpipe.utils.hashing import frame_sha256, path_sha256


@dataclass(frozen=True)
class IngestResult:
    """What ingest produced: the dataset's summary and the validation report."""

    summary: DatasetSummary
    report: ValidationReport


def run_ingest(params: Params, root: Path = Path()) -> IngestResult:
    """Read, normalise, validate and write; raise DataValidationError on any failed check.

    On ``engine: dask`` the work runs on a Dask cluster (services/dask_ingest.py).
    """
    check_against_schema(params, root)
    if params.engine == "dask":
        from tabpipe.services.dask_ingest import run_ingest_dask  # noqa: PLC0415

        return IngestResult(*run_ingest_dask(params, root))
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
            write_record(exc.report, report_path)
            exc.report_path = report_path
        raise
    check_dataset_size(frame, params)
    write_record(report, report_path)
    duplicates = int(frame.duplicated().sum())
    if duplicates:
        action = "dropped" if params.ingest.duplicates == "drop" else "kept (ingest.duplicates)"
        logger.warning("ingest: {} duplicate rows {}", duplicates, action)
        if params.ingest.duplicates == "drop":
            frame = frame.drop_duplicates(ignore_index=True)
    summary = summarise_dataset(
        frame,
        data=data,
        source_sha256=path_sha256(raw_path),
        duplicate_rows=duplicates,
        duplicates_dropped=params.ingest.duplicates == "drop",
        rows_without_target=report.rows_without_target,
    )
    write_frame(frame, root / params.paths.validated)
    write_record(summary, root / params.paths.dataset_summary)
    logger.info(
        "ingest: {} valid rows -> {} (summary {})",
        len(frame),
        params.paths.validated,
        params.paths.dataset_summary,
    )
    return IngestResult(summary=summary, report=report)


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


MIN_ROWS_PER_PART = 10


def minimum_rows(params: Params) -> int:
    """``ingest.min_rows``, or the default derived from the split fractions."""
    if params.ingest.min_rows is not None:
        return params.ingest.min_rows
    smallest = min(params.split.train, params.split.val, params.split.test)
    return math.ceil(MIN_ROWS_PER_PART / smallest)


def check_dataset_size(frame: pd.DataFrame, params: Params) -> None:
    """Check the dataset-level bounds the per-column schema cannot express.

    Enough rows (and rows of every class) to split, and not too many missing cells.
    Raises DataValidationError.
    """
    data = params.data
    classes = None
    if data.task == "classification" and data.target in frame.columns:
        classes = {str(k): int(v) for k, v in frame[data.target].value_counts().items()}
    check_dataset_counts(
        DatasetCounts(
            n_rows=len(frame),
            n_missing={str(name): int(n) for name, n in frame.isna().sum().items()},
            class_counts=classes,
        ),
        params,
    )


@dataclass(frozen=True)
class DatasetCounts:
    """The counts the dataset-level checks need: whole frames and merged partitions alike."""

    n_rows: int
    n_missing: dict[str, int]
    class_counts: dict[str, int] | None


def check_dataset_counts(counts: DatasetCounts, params: Params) -> None:
    """:func:`check_dataset_size` on counts. Raises DataValidationError."""
    data, ingest, split = params.data, params.ingest, params.split
    problems = []
    needed = minimum_rows(params)
    smallest = min(split.train, split.val, split.test)
    if counts.n_rows < needed:
        origin = (
            "ingest.min_rows"
            if ingest.min_rows is not None
            else f"{MIN_ROWS_PER_PART} rows for the smallest split fraction, {smallest:g}"
        )
        problems.append(
            f"{counts.n_rows} valid rows, fewer than the {needed} required ({origin}); "
            "use more data, or lower ingest.min_rows if this is intended"
        )
    if counts.class_counts is not None:
        per_class = math.ceil(1 / smallest)
        rare = {k: v for k, v in counts.class_counts.items() if 0 < v < per_class}
        if rare:
            shown = ", ".join(f"'{k}' {v}" for k, v in sorted(rare.items()))
            problems.append(
                f"class(es) with fewer than {per_class} rows, too few to appear in every "
                f"split: {shown}; merge or drop them, or collect more data"
            )
    cells = counts.n_rows * len(counts.n_missing)
    missing = sum(counts.n_missing.values())
    if cells and missing / cells > ingest.max_missing_share:
        worst = sorted(counts.n_missing.items(), key=lambda item: -item[1])[:3]
        shown = ", ".join(f"{name} {n / counts.n_rows:.0%}" for name, n in worst)
        problems.append(
            f"{missing / cells:.1%} of all cells are missing, above ingest.max_missing_share "
            f"({ingest.max_missing_share:g}); most missing: {shown}"
        )
    if problems:
        listed = "\n".join(f"  - {problem}" for problem in problems)
        msg = f"{data.raw_path}: the dataset is not usable as a whole:\n{listed}"
        raise DataValidationError(msg)


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
    rows_without_target: int = 0,
) -> DatasetSummary:
    """The dataset summary of a validated frame: shape, columns, target, digests, duplicates."""
    columns = tuple(
        ColumnSummary(
            name=str(name),
            dtype=str(frame[name].dtype),
            n_missing=int(frame[name].isna().sum()),
            n_unique=int(frame[name].nunique(dropna=True)),
        )
        for name in frame.columns
    )
    return DatasetSummary(
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
        rows_without_target=rows_without_target,
    )


def labelled_rows(batch: pd.DataFrame, target: str) -> pd.DataFrame:
    """The rows of a batch whose target is known: the only ones a metric can score."""
    if target not in batch.columns:
        return batch.iloc[0:0]
    known = batch[target].notna()
    return batch if bool(known.all()) else batch.loc[known].reset_index(drop=True)


def load_batch(path: Path, params: Params, root: Path = Path()) -> pd.DataFrame:
    """A new batch (monitoring, drift) read and validated like the training data.

    Labels are optional: monitoring data often has none yet, so a batch without the
    target column is validated against the schema without it, and a labelled batch may
    hold rows whose label has not arrived (metrics use :func:`labelled_rows`).
    """
    data = params.data
    base = load_schema(root / data.schema_path)
    raw = read_raw(
        path, file_format=format_of(path), delimiter=data.delimiter, encoding=data.encoding
    )
    labelled = data.target in {str(name).strip() for name in raw.columns}
    schema = build_schema(base, target=data.target, task=data.task, batch=True)
    if not labelled:
        schema = schema.remove_columns([data.target])
    validated, _ = ingest_frame(
        raw,
        schema,
        data=data.model_copy(update={"raw_path": path}),
        ingest=params.ingest,
        batch=True,
    )
    return validated
