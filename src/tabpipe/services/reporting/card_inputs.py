"""What a model card is written from: the pipeline's outputs, the schema, the software."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tabpipe.records.dataset import DatasetSummary, SplitSummary
from tabpipe.records.drift import DriftReport
from tabpipe.records.evaluation import GatesReport, MetricsReport, ModelSummary
from tabpipe.utils.text import fmt_number


@dataclass(frozen=True)
class CardInputs:
    """The pipeline outputs a card is written from (drift may be absent)."""

    dataset: DatasetSummary
    split: SplitSummary
    model: ModelSummary
    metrics: MetricsReport
    gates: GatesReport
    drift: DriftReport | None
    schema: dict[str, dict[str, Any]] = field(default_factory=dict)  # the schema file's columns
    software: dict[str, str] = field(default_factory=dict)  # package: version


def shown_number(value: float | None) -> str:
    """A metric value for a table cell: four significant digits, or n/a."""
    return fmt_number(value, missing="n/a")
