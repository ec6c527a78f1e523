"""Summaries of a target column, shared by ingest (the whole dataset) and split (each part)."""

from __future__ import annotations

import pandas as pd

from tabpipe.records.dataset import TargetSummary
from tabpipe.records.params import Task


def summarise_target(target: pd.Series, *, task: Task) -> TargetSummary:
    """Class counts (classification) or location and spread (regression) of a target."""
    name = str(target.name)
    if task == "classification":
        counts = target.value_counts(dropna=True, sort=False).sort_index()
        return TargetSummary(
            column=name, class_counts={str(k): int(v) for k, v in counts.items() if v > 0}
        )
    values = pd.to_numeric(target, errors="coerce")
    return TargetSummary(
        column=name,
        mean=float(values.mean()),
        std=float(values.std()),
        minimum=float(values.min()),
        maximum=float(values.max()),
    )
