"""The typed form of ``params.yaml``.

Every section a stage reads is a frozen, strict model, so a bad key or value
fails before any work starts, naming the key path and the allowed values.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from tabpipe.models.base import FrozenModel, PathField, StrTuple

Task = Literal["classification", "regression"]
FileFormat = Literal["csv", "parquet"]


class DataParams(FrozenModel):
    """What the raw dataset is and how to read it: the only place a new dataset is described."""

    name: str = Field(min_length=1, description="Short dataset name used in summaries and runs.")
    raw_path: PathField = Field(description="Raw file, relative to the repository root.")
    format: FileFormat = Field(
        "csv", description="csv (plain or compressed, inferred from the suffix) or parquet."
    )
    delimiter: str = Field(",", min_length=1, max_length=1, description="CSV field separator.")
    encoding: str = Field("utf-8", description="CSV text encoding.")
    missing_values: StrTuple = Field(
        ("?",), description="Markers that mean 'missing', after whitespace is stripped."
    )
    drop_columns: StrTuple = Field(
        (), description="Columns removed before validation (e.g. a stored row index)."
    )
    target: str = Field(min_length=1, description="Column to predict.")
    task: Task = "classification"
    schema_path: PathField = Field(description="pandera schema (YAML) of the normalised data.")


class IngestParams(FrozenModel):
    """Policies for the ingest stage."""

    duplicates: Literal["keep", "drop"] = Field(
        "keep", description="Duplicate rows are always counted; 'drop' also removes them."
    )
    max_failure_examples: int = Field(
        5, ge=1, le=100, description="Failure cases shown per check in the console message."
    )


class SplitParams(FrozenModel):
    """Train / validation / test fractions and how rows are assigned."""

    train: float = Field(0.7, gt=0, lt=1)
    val: float = Field(0.15, gt=0, lt=1)
    test: float = Field(0.15, gt=0, lt=1)
    seed: int = Field(42, ge=0)
    stratify: bool = Field(True, description="Stratify on the target (classification only).")
    group_column: str | None = Field(
        None, description="Rows sharing a value of this column stay in the same split."
    )

    @model_validator(mode="after")
    def _fractions_sum_to_one(self) -> SplitParams:
        total = self.train + self.val + self.test
        if not math.isclose(total, 1.0, abs_tol=1e-9):
            msg = f"train + val + test must sum to 1, got {total:g}"
            raise ValueError(msg)
        return self


class PathsParams(FrozenModel):
    """Where stages write; dvc.yaml reads the same keys, so they are declared once."""

    validated: PathField = Path("data/interim/validated.parquet")
    dataset_summary: PathField = Path("reports/ingest/dataset.json")
    validation_report: PathField = Path("reports/ingest/validation.json")
    split_dir: PathField = Path("data/processed")
    split_summary: PathField = Path("reports/split/summary.json")


class Params(FrozenModel):
    """The whole of ``params.yaml``."""

    data: DataParams
    ingest: IngestParams = IngestParams()
    split: SplitParams = SplitParams()
    paths: PathsParams = PathsParams()
