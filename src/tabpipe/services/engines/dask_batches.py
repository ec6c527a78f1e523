"""A new batch on the Dask engine (``tabpipe monitor``): validated and scored by partition.

The batch goes through ingest's block tasks (the same normalisation and schema, labels
optional, into a scratch folder of parts beside the monitoring reports), then the
champion scores every part on the cluster. The client keeps only what is bounded or
small: the predictions (a label, the class probabilities and the truth per row, for
exact metrics), the row count and digest, and a seeded sample of ``drift.max_rows``
rows for Evidently.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from loguru import logger

from tabpipe.errors import DataValidationError
from tabpipe.records.params import FileFormat, Params
from tabpipe.repositories.cluster import dask_client
from tabpipe.repositories.partitioned import (
    part_files,
    raw_blocks,
    raw_columns,
    read_part,
    read_sample,
    scratch_folder,
)
from tabpipe.repositories.raw_data import format_of
from tabpipe.repositories.schema_file import load_schema
from tabpipe.services.analysis.metrics import Predictions, predict
from tabpipe.services.data.preparation import labelled_rows
from tabpipe.services.data.validation import build_schema, whole_column_failures
from tabpipe.services.engines.dask_ingest import merge_outcomes, rows_sha256, run_blocks


@dataclass(frozen=True)
class ScannedBatch:
    """What monitoring needs of a batch no process holds whole."""

    sample: pd.DataFrame
    n_rows: int
    sha256: str
    predictions: Predictions | None


def score_part(
    part: Path, model: Any, *, target: str, task: str, positive: str | None
) -> Predictions | None:
    """One task on a worker: the champion's predictions for one part's labelled rows.

    Rows whose label has not arrived are not scored (None: the part has none labelled).
    """
    labelled = labelled_rows(read_part(part), target)
    if labelled.empty:
        return None
    return predict(model, labelled, target, task=task, positive_class=positive)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ValidatedParts:
    """A batch validated block by block into Parquet parts, in the order of its rows."""

    parts: list[Path]
    n_rows: int
    sha256: str
    labelled: bool


def batch_columns(batch_path: Path, params: Params) -> list[str]:
    """A batch's column names as ingest will see them (stripped, dropped columns left out).

    Read from the file's header alone, so a wrong column name is reported before any
    block is validated on the cluster.
    """
    data = params.data
    file_format: FileFormat = "parquet" if batch_path.is_dir() else format_of(batch_path)
    names = raw_columns(
        batch_path, file_format=file_format, delimiter=data.delimiter, encoding=data.encoding
    )
    return [name.strip() for name in names if name.strip() not in data.drop_columns]


def validate_parts(
    client: Any, batch_path: Path, params: Params, folder: Path, *, stage: str, root: Path = Path()
) -> ValidatedParts:
    """Normalise and validate a batch on the cluster into ``folder``; DataValidationError as ingest.

    The target is optional (a batch to score has none); every other schema check applies.
    """
    data = params.data
    file_format: FileFormat = "parquet" if batch_path.is_dir() else format_of(batch_path)
    columns = raw_columns(
        batch_path, file_format=file_format, delimiter=data.delimiter, encoding=data.encoding
    )
    labelled = data.target in {name.strip() for name in columns}
    schema = build_schema(
        load_schema(root / data.schema_path),
        target=data.target,
        task=data.task,
        batch=True,
        whole_columns=False,
    )
    if not labelled:
        schema = schema.remove_columns([data.target])
    batch_params = params.model_copy(
        update={"data": data.model_copy(update={"raw_path": batch_path, "format": file_format})}
    )
    blocks = raw_blocks(
        batch_path,
        file_format=file_format,
        blocksize=params.dask.blocksize,
        rows_per_partition=params.dask.rows_per_partition,
    )
    outcomes = run_blocks(client, blocks, schema, batch_params, folder, (), stage=stage, batch=True)
    total, report = merge_outcomes(outcomes, batch_params)
    extra = whole_column_failures(total.n_rows, total.n_missing, None, target=data.target)
    if not report.passed or extra:
        failed = report.model_copy(update={"passed": False, "failures": (*report.failures, *extra)})
        msg = (
            f"{batch_path}: {len(failed.failures)} check(s) failed on {failed.n_rows} rows "
            f"(schema {data.schema_path}):\n"
            f"{failed.describe(params.ingest.max_failure_examples)}\n"
            "Fix the data, or review the schema file if the data is right."
        )
        raise DataValidationError(msg, report=failed)
    return ValidatedParts(
        parts=part_files(folder), n_rows=total.n_rows, sha256=rows_sha256(total), labelled=labelled
    )


def scan_batch(batch_path: Path, model: Any, params: Params, root: Path = Path()) -> ScannedBatch:
    """Validate, count and score a batch on the cluster; DataValidationError as ingest."""
    data = params.data
    with (
        dask_client(params.dask, stage="monitor") as client,
        scratch_folder(root / params.paths.monitoring_dir) as folder,
    ):
        validated = validate_parts(client, batch_path, params, folder, stage="monitor", root=root)
        predictions = None
        if validated.labelled:
            logger.info("monitor: scoring {} parts on the cluster", len(validated.parts))
            shared = client.scatter(model, broadcast=True)  # sent once, not once per part
            futures = [
                client.submit(
                    score_part, part, shared, target=data.target, task=data.task,
                    positive=data.positive_class, pure=False,
                )
                for part in validated.parts
            ]  # fmt: skip
            scored = [
                piece for piece in (future.result() for future in futures) if piece is not None
            ]
            predictions = _concatenated(scored) if scored else None
        sample = read_sample(folder, params.drift.max_rows, params.drift.seed)
    return ScannedBatch(
        sample=sample, n_rows=validated.n_rows, sha256=validated.sha256, predictions=predictions
    )


def _concatenated(pieces: list[Predictions]) -> Predictions:
    first = pieces[0]
    return Predictions(
        y_true=pd.concat([piece.y_true for piece in pieces], ignore_index=True),
        y_pred=np.concatenate([piece.y_pred for piece in pieces]),
        proba=None
        if first.proba is None
        else np.concatenate([piece.proba for piece in pieces if piece.proba is not None]),
        classes=first.classes,
        positive_class=first.positive_class,
    )
