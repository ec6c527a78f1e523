"""Summaries of a target column, shared by ingest (the whole dataset) and split (each part)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
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


@dataclass
class Moments:
    """Count, mean and sum of squared deviations: merge exactly (Chan et al.)."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0
    minimum: float = np.inf
    maximum: float = -np.inf

    @classmethod
    def of(cls, values: pd.Series) -> Moments:
        """The moments of one block's values (missing ones ignored)."""
        numbers = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)
        if not len(numbers):
            return cls()
        mean = float(numbers.mean())
        return cls(
            len(numbers),
            mean,
            float(((numbers - mean) ** 2).sum()),
            float(numbers.min()),
            float(numbers.max()),
        )

    def merge(self, other: Moments) -> Moments:
        """The moments of both blocks together."""
        n = self.n + other.n
        if not n:
            return self
        delta = other.mean - self.mean
        return Moments(
            n,
            self.mean + delta * other.n / n,
            self.m2 + other.m2 + delta**2 * self.n * other.n / n,
            min(self.minimum, other.minimum),
            max(self.maximum, other.maximum),
        )


def target_from_moments(column: str, moments: Moments) -> TargetSummary:
    """A regression target's summary from merged moments (what summarise_target gives)."""
    return TargetSummary(
        column=column,
        mean=moments.mean,
        std=float(np.sqrt(moments.m2 / (moments.n - 1))) if moments.n > 1 else float("nan"),
        minimum=moments.minimum,
        maximum=moments.maximum,
    )
