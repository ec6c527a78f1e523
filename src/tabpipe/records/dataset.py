"""Summaries of datasets that stages hand to each other and to reports."""

from __future__ import annotations

from pydantic import Field

from tabpipe.records.base import Measured
from tabpipe.records.params import Task
from tabpipe.records.validation import ValidationReport


class ColumnSummary(Measured):
    """One column of a validated dataset: its dtype, missing values and distinct values."""

    name: str
    dtype: str
    n_missing: int = Field(ge=0)
    n_unique: int = Field(ge=0)


class TargetSummary(Measured):
    """Class counts for classification; location and spread for regression."""

    column: str
    class_counts: dict[str, int] | None = None
    mean: float | None = None
    std: float | None = None
    minimum: float | None = None
    maximum: float | None = None


class DatasetSummary(Measured):
    """What a validated dataset holds: read by split, train, reports and the model card."""

    name: str
    task: Task
    source_path: str
    source_sha256: str
    n_rows: int = Field(ge=0)
    n_columns: int = Field(ge=0)
    columns: tuple[ColumnSummary, ...]
    target: TargetSummary
    duplicate_rows: int = Field(ge=0, description="Rows equal to an earlier row.")
    duplicates_dropped: bool
    content_sha256: str = Field(description="Digest of the validated values (frame_sha256).")
    rows_without_target: int = Field(
        0, ge=0, description="Raw rows left out because their target is missing."
    )


class SplitPart(Measured):
    """One part of the split (train, val or test): size, share, target summary and digest."""

    name: str
    n_rows: int = Field(ge=0)
    fraction: float = Field(ge=0, le=1)
    target: TargetSummary
    content_sha256: str


class SplitSummary(Measured):
    """How the validated rows were divided; the basis for leakage and balance checks."""

    seed: int
    method: str = Field("shuffle", description="shuffle (scikit-learn) or hash (seeded row hash).")
    stratified: bool
    group_column: str | None = None
    parts: tuple[SplitPart, ...]


class IngestResult(Measured):
    """What ingest produced, on either engine: the dataset's summary and the validation report."""

    summary: DatasetSummary
    report: ValidationReport
