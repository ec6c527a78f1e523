"""Metrics by slice: every declared slice column's groups, with their sizes and gaps."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tabpipe.errors import ParamsError
from tabpipe.records.evaluation import (
    SliceGap,
    SliceMetrics,
)
from tabpipe.records.params import GREATER_IS_BETTER, Params
from tabpipe.services.analysis.metrics import (
    Predictions,
    compute_metrics,
    group_rates,
    minority_count,
)
from tabpipe.services.analysis.uncertainty import slice_gap_interval


def slice_report(
    frame: pd.DataFrame,
    predictions: Predictions,
    columns: tuple[str, ...],
    gap_metrics: set[str],
    *,
    params: Params,
    gated: set[tuple[str, str]] | None = None,
) -> tuple[tuple[SliceMetrics, ...], tuple[SliceGap, ...]]:
    """Metrics per value of each slice column, and the best-minus-worst gap per metric.

    Slices smaller than ``evaluate.min_slice_size``, or (binary) with fewer than
    ``evaluate.min_slice_class_size`` rows of one class, are reported but left out of
    gaps: their metrics are mostly noise. The gaps named in ``gated`` (column, metric)
    get a bootstrap interval (``evaluate.bootstrap_samples``).
    """
    slices: list[SliceMetrics] = []
    gaps: list[SliceGap] = []
    for column in columns:
        if column not in frame.columns:
            msg = f"evaluate.slice_columns: '{column}' is not a column of the data"
            raise ParamsError(msg)
        values = frame[column].astype("string").fillna("<missing>").to_numpy()
        column_slices = []
        parts: dict[str, Predictions] = {}
        for value in sorted(set(values)):
            rows = np.flatnonzero(values == value)
            part = predictions.take(rows)
            parts[str(value)] = part
            metrics = compute_metrics(part, task=params.data.task) | group_rates(part)
            entry = SliceMetrics(
                column=column,
                value=str(value),
                n_rows=len(rows),
                metrics=metrics,
                n_minority=minority_count(part),
            )
            slices.append(entry)
            if not entry.is_small(
                params.evaluate.min_slice_size, params.evaluate.min_slice_class_size
            ):
                column_slices.append(entry)
        for metric in sorted(gap_metrics):
            scored = [s for s in column_slices if metric in s.metrics]
            if len(scored) < 2:  # noqa: PLR2004 - a gap needs two slices
                continue
            ranked = sorted(
                scored, key=lambda s: s.metrics[metric], reverse=GREATER_IS_BETTER[metric]
            )
            best, worst = ranked[0], ranked[-1]
            bounds = None
            if (column, metric) in (gated or set()) and params.evaluate.bootstrap_samples:
                bounds = slice_gap_interval(
                    [parts[s.value] for s in scored],
                    metric,
                    task=params.data.task,
                    n_resamples=params.evaluate.bootstrap_samples,
                    seed=params.train.seed,
                    confidence=params.evaluate.confidence,
                )
            gaps.append(
                SliceGap(
                    column=column,
                    metric=metric,
                    best=best.value,
                    worst=worst.value,
                    gap=abs(best.metrics[metric] - worst.metrics[metric]),
                    low=None if bounds is None else bounds[0],
                    high=None if bounds is None else bounds[1],
                )
            )
    return tuple(slices), tuple(gaps)
