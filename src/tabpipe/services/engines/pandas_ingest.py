"""The ingest stage in memory (``engine: pandas``): one frame read, validated and written whole.

Nothing is written to the validated-data path unless every check passed; the
validation report is written either way, for CI and for the person fixing the data.
"""

from __future__ import annotations

from pathlib import Path

from loguru import logger

from tabpipe.errors import DataValidationError
from tabpipe.records.dataset import IngestResult
from tabpipe.records.params import Params
from tabpipe.repositories.datasets import write_frame, write_record
from tabpipe.repositories.raw_data import read_raw
from tabpipe.repositories.schema_file import load_schema
from tabpipe.services.data.dataset_checks import check_dataset_size, summarise_dataset
from tabpipe.services.data.preparation import ingest_frame
from tabpipe.services.data.validation import build_schema
from tabpipe.utils.hashing import path_sha256


def ingest_in_memory(params: Params, root: Path = Path()) -> IngestResult:
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
