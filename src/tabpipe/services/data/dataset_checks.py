"""The dataset as a whole: the bounds no column check can express, and its summary."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from tabpipe.errors import DataValidationError
from tabpipe.records.dataset import ColumnSummary, DatasetSummary
from tabpipe.records.params import DataParams, Params
from tabpipe.services.data.summaries import summarise_target
from tabpipe.utils.hashing import frame_sha256

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
