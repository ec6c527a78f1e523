"""The data sections of ``params.yaml``: the dataset, how ingest treats it, the split, the paths."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from tabpipe.records.base import FrozenModel, PathField, StrTuple

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
    positive_class: str | None = Field(
        None,
        description="Binary classification: the class whose probability is scored "
        "(default: the last class in sorted order, scikit-learn's convention). Classes "
        "are compared as text: 1 means the class 1, true the class True.",
    )
    schema_path: PathField = Field(description="pandera schema (YAML) of the normalised data.")

    @field_validator("positive_class", mode="before")
    @classmethod
    def _class_as_text(cls, value: object) -> object:
        """An integer-coded or boolean class written unquoted (1, true) names that class."""
        return str(value) if isinstance(value, int) else value  # bool is an int: True


class IngestParams(FrozenModel):
    """Policies for the ingest stage."""

    duplicates: Literal["keep", "drop"] = Field(
        "keep", description="Duplicate rows are always counted; 'drop' also removes them."
    )
    max_failure_examples: int = Field(
        5, ge=1, le=100, description="Failure cases shown per check in the console message."
    )
    missing_target: Literal["drop", "fail"] = Field(
        "drop",
        description="Rows without a target value, when the schema declares the target "
        "nullable: 'drop' leaves them out (counted in the dataset summary and the "
        "validation report, never trained or evaluated on), 'fail' stops ingest naming "
        "them. A target the schema declares non-nullable fails validation either way. "
        "Batches (predict, monitor, compare) may always hold rows without a target.",
    )
    min_rows: int | None = Field(
        None,
        ge=1,
        description="Fewest valid rows accepted (default: enough for every split part to get "
        "10 rows, i.e. 10 / the smallest of split.train, split.val, split.test). For "
        "classification every class also needs 1 / that fraction rows, to appear in "
        "every part.",
    )
    max_missing_share: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Largest share of missing cells in the whole dataset (after the "
        "schema's per-column nullability), e.g. 0.5: at most half the cells missing.",
    )


class SplitParams(FrozenModel):
    """Train / validation / test fractions and how rows are assigned."""

    train: float = Field(0.7, gt=0, lt=1)
    val: float = Field(0.15, gt=0, lt=1)
    test: float = Field(0.15, gt=0, lt=1)
    seed: int = Field(42, ge=0)
    method: Literal["auto", "shuffle", "hash"] = Field(
        "auto",
        description="shuffle: scikit-learn's seeded shuffle (exactly stratified), needs the "
        "whole table in one process; hash: each row's part comes from a seeded hash of the "
        "row (of split.group_column when set), so it does not depend on row order or "
        "partitioning and is stratified in expectation; auto: shuffle on the pandas "
        "engine, hash on the dask engine.",
    )
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
    model: PathField = Path("models/model.skops")
    model_summary: PathField = Path("models/model.json")
    metrics: PathField = Path("reports/metrics.json")
    plots_dir: PathField = Path("reports/plots")
    gates: PathField = Path("reports/gates.json")
    scores: PathField = Field(
        Path("reports/scores.json"),
        description="The DVC metric: primary metric, its interval and the gate verdict, "
        "the columns of `dvc exp show` (everything else is in metrics and gates).",
    )
    gates_summary: PathField = Path("reports/gates.md")
    promotion: PathField = Field(
        Path("reports/promotion.json"),
        description="This clone's record of its last promote (git-ignored, not a DVC output: "
        "it names registry versions of one store).",
    )
    drift_dir: PathField = Path("reports/drift")
    monitoring_dir: PathField = Path("reports/monitoring")
    eda_dir: PathField = Path("reports/eda")
    notebooks_dir: PathField = Path("reports/notebooks")
    model_card: PathField = Path("reports/model_card.md")

    @property
    def drift_summary(self) -> Path:
        """The drift stage's record (dvc.yaml spells it ``${paths.drift_dir}/drift.json``)."""
        return self.drift_dir / DRIFT_SUMMARY

    @property
    def drift_page(self) -> Path:
        """Evidently's HTML page of the drift stage (``${paths.drift_dir}/drift.html``)."""
        return self.drift_dir / DRIFT_PAGE


DRIFT_SUMMARY, DRIFT_PAGE = "drift.json", "drift.html"  # in drift_dir and in each monitoring run
