"""Time the drift measurement at the Adult size and at about 1,000,000 rows.

With and without sampling (`drift.max_rows`).

The 1M-row batch is drawn from the validated Adult rows with replacement, with small
seeded noise on the numeric columns so that rows are not all duplicates. Nothing is
written; timings are printed.

Usage: python scripts/bench_drift.py [ROWS]   (after `make train`)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from tabpipe.repositories.datasets import read_frame, split_path
from tabpipe.repositories.model_file import load_model
from tabpipe.repositories.params_file import load_params
from tabpipe.services.stages.drift import measure_drift, scorer_for


def resampled(frame: pd.DataFrame, rows: int, seed: int = 0) -> pd.DataFrame:
    """``rows`` rows drawn with replacement, numeric columns lightly jittered (seeded)."""
    rng = np.random.default_rng(seed)
    big = frame.sample(n=rows, replace=True, random_state=seed).reset_index(drop=True)
    for column in big.select_dtypes("number").columns:
        spread = float(big[column].std()) * 0.01
        noisy = big[column] + rng.normal(scale=spread, size=rows)
        big[column] = (
            noisy.round().clip(frame[column].min(), frame[column].max()).astype(big[column].dtype)
        )
    return big


def main(rows: int = 1_000_000) -> None:
    """Time the drift measurement with and without sampling; print the timings."""
    params = load_params(Path("params.yaml"))
    paths = params.paths
    scorer = scorer_for(load_model(paths.model), params)
    train = read_frame(split_path(paths.split_dir, "train"))
    test = read_frame(split_path(paths.split_dir, "test"))
    reference = scorer.score(train)

    def timed(current: pd.DataFrame, max_rows: int, label: str) -> None:
        started = time.perf_counter()
        scored = scorer.score(current)
        scoring = time.perf_counter() - started
        settings = params.drift.model_copy(update={"max_rows": max_rows})
        started = time.perf_counter()
        report = measure_drift(reference, scored, settings, reference_name="r", current_name="c")
        drift = time.perf_counter() - started
        print(  # noqa: T201
            f"{label}: {len(current)} rows, compared {report.report.current_rows}: "
            f"scoring {scoring:.1f} s, drift report {drift:.1f} s, "
            f"share {report.report.drifted_share:.2f}"
        )

    timed(test, params.drift.max_rows, "Adult test split")
    big = resampled(pd.concat([train, test], ignore_index=True), rows)
    timed(big, params.drift.max_rows, f"{rows} rows, sampled to {params.drift.max_rows}")
    timed(big, rows + 1, f"{rows} rows, not sampled")


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:]))
