"""The ingest stage on the Dask engine: raw blocks -> validated Parquet parts, merged summary.

Each block of the raw file is one task on the cluster: read as pandas reads it,
normalised and validated by the same functions as the pandas engine (the schema
minus its whole-column checks), written as one Parquet part, and summarised in
counts that merge exactly: rows, missing cells, distinct values, class counts or
moments of the target, and the 64-bit hash of every row. The client merges them
block by block as they finish, so no process ever holds the table:

- the validation report is the blocks' reports added up, plus the whole-column
  checks (not all missing, two classes) and ``unique`` columns across blocks;
- the digest is :func:`tabpipe.utils.hashing.frame_sha256` of the rows in order,
  the same value the pandas engine gives the same table;
- duplicates are rows whose hash repeats (8 bytes a row on the client).
"""

from __future__ import annotations

import hashlib
import lzma
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from loguru import logger

from tabpipe.errors import DataReadError, DataValidationError, TabpipeError
from tabpipe.records.dataset import ColumnSummary, DatasetSummary, IngestResult, TargetSummary
from tabpipe.records.params import Params
from tabpipe.records.validation import CheckFailure, ValidationReport
from tabpipe.repositories.cluster import dask_client
from tabpipe.repositories.datasets import write_record
from tabpipe.repositories.partitioned import (
    RawBlock,
    new_dataset,
    raw_blocks,
    read_block,
    write_part,
)
from tabpipe.repositories.schema_file import load_schema
from tabpipe.services.data.dataset_checks import DatasetCounts, check_dataset_counts
from tabpipe.services.data.preparation import ingest_frame, target_hint
from tabpipe.services.data.summaries import Moments, target_from_moments
from tabpipe.services.data.validation import build_schema, merge_reports, whole_column_failures
from tabpipe.utils.hashing import path_sha256

if TYPE_CHECKING:
    import pandera.pandas as pa

    from tabpipe.records.params import DataParams, IngestParams


@dataclass
class BlockCounts:
    """What one block tells the merged summary; also the running total on the client."""

    n_rows: int = 0
    dtypes: dict[str, str] = field(default_factory=dict)
    n_missing: dict[str, int] = field(default_factory=dict)
    distinct: dict[str, np.ndarray] = field(default_factory=dict)
    class_counts: dict[str, int] | None = None
    moments: Moments | None = None
    row_hashes: list[np.ndarray] = field(default_factory=list)
    unique_hashes: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def add(self, other: BlockCounts) -> None:
        """Fold a later block into this total (row hashes kept in block order)."""
        self.n_rows += other.n_rows
        self.dtypes = self.dtypes or other.dtypes
        for name, missing in other.n_missing.items():
            self.n_missing[name] = self.n_missing.get(name, 0) + missing
        for name, values in other.distinct.items():
            known = self.distinct.get(name)
            self.distinct[name] = values if known is None else _union(known, values)
        if other.class_counts is not None:
            total = self.class_counts or {}
            for label, count in other.class_counts.items():
                total[label] = total.get(label, 0) + count
            self.class_counts = total
        if other.moments is not None:
            self.moments = (
                other.moments if self.moments is None else self.moments.merge(other.moments)
            )
        self.row_hashes += other.row_hashes
        for name, hashes in other.unique_hashes.items():
            self.unique_hashes.setdefault(name, []).extend(hashes)


def _union(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    try:
        return np.union1d(left, right)
    except TypeError:  # mixed types in an object column: compare as text
        return np.union1d(left.astype(str), right.astype(str))


@dataclass(frozen=True)
class BlockOutcome:
    """A block's result: its counts when valid, else its report or the error that stopped it."""

    index: int
    counts: BlockCounts | None = None
    report: ValidationReport | None = None
    error: TabpipeError | None = None


def ingest_block(
    block: RawBlock,
    data_bytes: bytes | None,
    *,
    schema: pa.DataFrameSchema,
    data: DataParams,
    ingest: IngestParams,
    folder: Path,
    unique_columns: tuple[str, ...],
    batch: bool = False,
) -> BlockOutcome:
    """One task on a worker: read, normalise, validate, write the part, count.

    ``batch=True`` for a new batch, which may come without the columns
    ``data.drop_columns`` removes and with rows (or no column) of unknown target, as the
    pandas engine's ``load_batch``.
    """
    try:
        raw = read_block(block, data_bytes, delimiter=data.delimiter, encoding=data.encoding)
    except UnicodeDecodeError as exc:
        msg = (
            f"{block.describe()}: cannot be decoded as {data.encoding} ({exc.reason}). Set "
            "data.encoding in params.yaml (e.g. latin-1) or re-encode the file."
        )
        return BlockOutcome(block.index, error=DataReadError(msg))
    except (pd.errors.ParserError, pd.errors.EmptyDataError, OSError, EOFError) as exc:
        first = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        msg = f"{block.describe()}: cannot be read ({first}). Check data.delimiter and quoting."
        return BlockOutcome(block.index, error=DataReadError(msg))
    try:
        frame, report = ingest_frame(raw, schema, data=data, ingest=ingest, batch=batch)
    except DataValidationError as exc:
        if exc.report is None:
            return BlockOutcome(block.index, error=DataReadError(str(exc)))
        return BlockOutcome(block.index, report=exc.report)
    except TabpipeError as exc:
        return BlockOutcome(block.index, error=exc)
    write_part(frame, folder, block.index)
    return BlockOutcome(block.index, counts=count_block(frame, data, unique_columns), report=report)


def count_block(
    frame: pd.DataFrame, data: DataParams, unique_columns: tuple[str, ...]
) -> BlockCounts:
    """The mergeable counts of one validated block (a batch to score may have no target)."""
    target = frame[data.target] if data.target in frame.columns else None
    classification = data.task == "classification"
    return BlockCounts(
        n_rows=len(frame),
        dtypes={str(name): str(dtype) for name, dtype in frame.dtypes.items()},
        n_missing={str(name): int(n) for name, n in frame.isna().sum().items()},
        distinct={str(name): _distinct(frame[name]) for name in frame.columns},
        class_counts={str(k): int(v) for k, v in target.value_counts().items()}
        if classification and target is not None
        else None,
        moments=None if classification or target is None else Moments.of(target),
        row_hashes=[pd.util.hash_pandas_object(frame, index=False).to_numpy()],
        unique_hashes={
            name: [pd.util.hash_pandas_object(frame[name].dropna(), index=False).to_numpy()]
            for name in unique_columns
        },
    )


def _distinct(series: pd.Series) -> np.ndarray:
    values = series.dropna()
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
    return np.asarray(pd.unique(values))


def ingest_on_dask(params: Params, root: Path = Path()) -> IngestResult:
    """The ingest stage on a Dask cluster; the same outputs and errors as the pandas engine."""
    data = params.data
    raw_path = root / data.raw_path
    base = load_schema(root / data.schema_path)
    schema = build_schema(base, target=data.target, task=data.task, whole_columns=False)
    unique_columns = tuple(str(name) for name, column in base.columns.items() if column.unique)
    blocks = raw_blocks(
        raw_path,
        file_format=data.format,
        blocksize=params.dask.blocksize,
        rows_per_partition=params.dask.rows_per_partition,
    )
    logger.info("ingest: reading {} in {} block(s) on Dask", raw_path, len(blocks))
    report_path = root / params.paths.validation_report
    destination = root / params.paths.validated
    with dask_client(params.dask, stage="ingest") as client, new_dataset(destination) as folder:
        outcomes = run_blocks(client, blocks, schema, params, folder, unique_columns)
        total, report = merge_outcomes(outcomes, params)
        if not report.passed:
            write_record(report, report_path)
            declared = data.target in base.columns and bool(base.columns[data.target].nullable)
            message = (
                f"{data.raw_path}: {len(report.failures)} check(s) failed on {report.n_rows} "
                f"rows (schema {data.schema_path}):\n"
                f"{report.describe(params.ingest.max_failure_examples)}\n"
                + target_hint(report, data, params.ingest, declared_nullable=declared)
                + "Fix the data, or review the schema file if the data is right."
            )
            raise DataValidationError(message, report=report, report_path=report_path)
        check_dataset_counts(
            DatasetCounts(total.n_rows, total.n_missing, total.class_counts), params
        )
        write_record(report, report_path)
        summary = _summary(
            total,
            params,
            source_sha256=path_sha256(raw_path),
            rows_without_target=report.rows_without_target,
        )
    duplicates = summary.duplicate_rows
    if duplicates:
        logger.warning("ingest: {} duplicate rows kept (ingest.duplicates)", duplicates)
    write_record(summary, root / params.paths.dataset_summary)
    logger.info(
        "ingest: {} valid rows -> {} ({} parts; summary {})",
        summary.n_rows,
        params.paths.validated,
        len(blocks),
        params.paths.dataset_summary,
    )
    return IngestResult(summary=summary, report=report)


def run_blocks(
    client: Any,
    blocks: list[tuple[RawBlock, object]],
    schema: pa.DataFrameSchema,
    params: Params,
    folder: Path,
    unique_columns: tuple[str, ...],
    *,
    stage: str = "ingest",
    batch: bool = False,
) -> list[BlockOutcome]:
    """Every block validated and written as a part on the cluster, outcomes in block order."""
    from dask.delayed import delayed  # noqa: PLC0415
    from distributed import as_completed  # noqa: PLC0415

    task = delayed(ingest_block, pure=False)
    futures = client.compute(
        [
            task(
                block,
                data_bytes,
                schema=schema,
                data=params.data,
                ingest=params.ingest,
                folder=folder,
                unique_columns=unique_columns,
                batch=batch,
            )
            for block, data_bytes in blocks
        ]
    )
    outcomes = []
    for done, future in enumerate(as_completed(futures), start=1):
        try:
            outcomes.append(future.result())
        except (EOFError, OSError, zlib.error, lzma.LZMAError) as exc:  # reading the bytes
            source = params.data.raw_path
            msg = (
                f"{source}: cannot be decompressed or read ({exc}). The file is corrupt or "
                "truncated, or its suffix does not match its compression."
            )
            raise DataReadError(msg) from exc
        future.release()
        if done % max(1, len(blocks) // 10) == 0 or done == len(blocks):
            logger.info("{}: {}/{} blocks validated", stage, done, len(blocks))
    return sorted(outcomes, key=lambda outcome: outcome.index)


def merge_outcomes(
    outcomes: list[BlockOutcome], params: Params
) -> tuple[BlockCounts, ValidationReport]:
    """The blocks' counts added up and their reports merged (the first read error raised)."""
    errors = [outcome.error for outcome in outcomes if outcome.error is not None]
    if errors:
        raise errors[0]
    data = params.data
    total = BlockCounts()
    for outcome in outcomes:
        if outcome.counts is not None:
            total.add(outcome.counts)
    n_rows = sum(outcome.report.n_rows if outcome.report is not None else 0 for outcome in outcomes)
    if n_rows == 0:
        msg = f"{data.raw_path}: has a header but no data rows."
        raise DataReadError(msg)
    report = merge_reports(
        [outcome.report for outcome in outcomes if outcome.report is not None],
        source=str(data.raw_path),
        n_rows=n_rows,
    )
    if report.passed:
        classes = None if total.class_counts is None else len(total.class_counts)
        extra = whole_column_failures(total.n_rows, total.n_missing, classes, target=data.target)
        extra += _repeated_values(total)
        if extra:
            report = ValidationReport(
                source_path=report.source_path,
                passed=False,
                n_rows=n_rows,
                failures=tuple(extra),
                rows_without_target=report.rows_without_target,
            )
    return total, report


def _repeated_values(total: BlockCounts) -> list[CheckFailure]:
    """``unique: true`` across blocks (pandera checks it within each block)."""
    failures = []
    for name, pieces in total.unique_hashes.items():
        hashes = np.concatenate(pieces) if pieces else np.empty(0, dtype=np.uint64)
        repeated = len(hashes) - len(np.unique(hashes))
        if repeated:
            failures.append(
                CheckFailure(
                    column=name, check="field_uniqueness", n_failures=repeated, examples=()
                )
            )
    return failures


def _summary(
    total: BlockCounts, params: Params, *, source_sha256: str, rows_without_target: int
) -> DatasetSummary:
    data = params.data
    hashes = np.concatenate(total.row_hashes)
    if total.class_counts is not None:
        target = TargetSummary(
            column=data.target, class_counts=dict(sorted(total.class_counts.items()))
        )
    else:
        target = target_from_moments(data.target, total.moments or Moments())
    return DatasetSummary(
        name=data.name,
        task=data.task,
        source_path=str(data.raw_path),
        source_sha256=source_sha256,
        n_rows=total.n_rows,
        n_columns=len(total.dtypes),
        columns=tuple(
            ColumnSummary(
                name=name,
                dtype=dtype,
                n_missing=total.n_missing[name],
                n_unique=len(total.distinct[name]),
            )
            for name, dtype in total.dtypes.items()
        ),
        target=target,
        duplicate_rows=int(len(hashes) - len(np.unique(hashes))),
        duplicates_dropped=False,
        content_sha256=rows_sha256(total),
        rows_without_target=rows_without_target,
    )


def rows_sha256(total: BlockCounts) -> str:
    """``frame_sha256`` of the blocks' rows in order, from their row hashes."""
    digest = hashlib.sha256()
    digest.update("\x1f".join(total.dtypes).encode())
    for hashes in total.row_hashes:
        digest.update(hashes.tobytes())
    return digest.hexdigest()
