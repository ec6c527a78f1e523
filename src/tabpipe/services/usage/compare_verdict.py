"""What a comparison concludes: the paired test's verdict, the slices that moved, the summary."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tabpipe.records.comparison import (
    Comparison,
    SliceDifference,
    Verdict,
)
from tabpipe.records.evaluation import is_small_slice
from tabpipe.records.params import Params
from tabpipe.services.analysis.metrics import Predictions, compute_metrics, minority_count
from tabpipe.services.analysis.paired_tests import improvement


def decide(gain: float, p_value: float, *, alpha: float, min_effect: float) -> tuple[Verdict, str]:
    """The verdict on an improvement ``gain`` (positive: challenger better) and its p-value."""
    if p_value >= alpha:
        return "no evidence", f"p = {p_value:.3g} >= alpha {alpha:g}"
    if gain < 0:
        return (
            "challenger worse",
            f"p = {p_value:.3g} < alpha {alpha:g}, the champion scores better",
        )
    if gain < min_effect:
        return "no evidence", (
            f"p = {p_value:.3g} < alpha {alpha:g}, but the improvement {gain:.4g} is below "
            f"compare.min_effect {min_effect:g}"
        )
    return "challenger better", (
        f"p = {p_value:.3g} < alpha {alpha:g}, improvement {gain:.4g} >= min_effect {min_effect:g}"
    )


def slice_differences(
    params: Params, batch: pd.DataFrame, champion: Predictions, challenger: Predictions
) -> tuple[SliceDifference, ...]:
    """The primary metric of both models per value of each slice column with enough rows.

    Slices under ``evaluate.min_slice_size`` rows, or (binary) with fewer than
    ``evaluate.min_slice_class_size`` rows of one class, are left out: their scores are noise.
    """
    metric, task = params.primary_metric, params.data.task
    found: list[SliceDifference] = []
    for column in params.evaluate.slice_columns:
        if column not in batch.columns:
            continue
        values = batch[column].astype("string").fillna("<missing>").to_numpy()
        for value in sorted(set(values)):
            rows = np.flatnonzero(values == value)
            if is_small_slice(
                len(rows),
                minority_count(champion.take(rows)),
                params.evaluate.min_slice_size,
                params.evaluate.min_slice_class_size,
            ):
                continue
            a = compute_metrics(champion.take(rows), task=task, names=[metric]).get(metric)
            b = compute_metrics(challenger.take(rows), task=task, names=[metric]).get(metric)
            if a is None or b is None:
                continue
            found.append(
                SliceDifference(
                    column=column, value=str(value), n_rows=len(rows), champion=a,
                    challenger=b, improvement=improvement(metric, a, b),
                )
            )  # fmt: skip
    return tuple(found)


def describe(comparison: Comparison) -> str:
    """What a person reads: both scores, the interval, the test, the verdict, the slices."""
    c = comparison
    direction = "higher" if c.greater_is_better else "lower"
    lines = [
        f"compare on {c.batch} ({c.n_rows:,} labelled rows), {c.metric} ({direction} is better)",
        f"  champion   {c.model_name} v{c.champion.version}: {c.champion.value:.4f}",
        f"  challenger {c.model_name} v{c.challenger.version}: {c.challenger.value:.4f}",
        f"  improvement {c.improvement:+.4f}, {c.confidence:.0%} paired bootstrap interval "
        f"[{c.interval_low:+.4f}, {c.interval_high:+.4f}] ({c.n_resamples} resamples)",
    ]
    if c.delong is not None:
        lines.append(f"  DeLong's test: z = {c.delong.z:.3f}, p = {c.delong.p_value:.3g}")
    else:
        lines.append(f"  paired bootstrap test: p = {c.p_value:.3g}")
    lines.append(f"verdict: {c.verdict} ({c.reason})")
    if c.slices:
        lines += [
            "",
            f"{c.metric} by slice (slices of {c.min_slice_size}+ rows"
            + (
                f", binary: {c.min_slice_class_size}+ of each class"
                if c.min_slice_class_size
                else ""
            )
            + "; improvement > 0: challenger better):",
            "",
            "| slice | rows | champion | challenger | improvement |",
            "|---|---:|---:|---:|---:|",
            *(
                f"| {s.column} = {s.value} | {s.n_rows:,} | {s.champion:.4f} | "
                f"{s.challenger:.4f} | {s.improvement:+.4f} |"
                for s in c.slices
            ),
        ]
    if c.promotion:
        lines += ["", f"promotion: {c.promotion}"]
    return "\n".join(lines)
