"""What ``tabpipe compare`` found: champion and challenger on the same labelled rows."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tabpipe.records.base import Measured
from tabpipe.records.evaluation import GateResult

Verdict = Literal["challenger better", "no evidence", "challenger worse"]


class ComparedModel(Measured):
    """One registered version and its score of the primary metric on the batch."""

    version: str
    run_id: str
    alias: str | None = Field(description="The alias it was compared under (None: --challenger).")
    value: float


class DelongSummary(Measured):
    """DeLong's test of the two ROC AUCs (binary classification)."""

    standard_error: float
    z: float
    p_value: float


class SliceDifference(Measured):
    """The primary metric of both models on one slice of the batch."""

    column: str
    value: str
    n_rows: int
    champion: float
    challenger: float
    improvement: float = Field(description="Challenger minus champion, positive = better.")


class Comparison(Measured):
    """The comparison, its test and verdict, and what ``--promote`` did with it."""

    model_name: str
    batch: str
    batch_sha256: str
    n_rows: int
    metric: str
    greater_is_better: bool
    champion: ComparedModel
    challenger: ComparedModel
    improvement: float = Field(
        description="How much better the challenger scores, in the metric's units "
        "(challenger minus champion, sign flipped for error metrics)."
    )
    interval_low: float
    interval_high: float
    confidence: float
    n_resamples: int = Field(description="Paired bootstrap resamples the interval rests on.")
    test: Literal["DeLong", "paired bootstrap"]
    p_value: float
    delong: DelongSummary | None = None
    alpha: float
    min_effect: float
    verdict: Verdict
    reason: str
    slices: tuple[SliceDifference, ...] = ()
    min_slice_size: int
    min_slice_class_size: int = Field(0, description="Binary: rows of each class a slice needs.")
    challenger_gates: tuple[GateResult, ...] = Field(
        (), description="The challenger's absolute gates on the batch (with --promote)."
    )
    promoted: bool = False
    promotion: str = Field("", description="What --promote did, or why it did not.")
