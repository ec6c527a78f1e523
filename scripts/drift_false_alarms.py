"""Measure the drift check's false-alarm rate.

Random resamples of the population it was trained on should not be flagged.

Draws N batches (default 20) of the validated Adult rows that are not in the training
split, each the size of the test split, and runs the same drift measurement as the
`drift` stage (features, target and the model's prediction) against the training split.

Usage: python scripts/drift_false_alarms.py [N] [ROWS]   (after `make train`)
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from tabpipe.repositories.datasets import read_frame, split_path
from tabpipe.repositories.model_file import load_model
from tabpipe.repositories.params_file import load_params
from tabpipe.services.stages.drift import measure_drift, scorer_for


def main(n_batches: int = 20, rows: int = 3000) -> None:
    """Count the drift alarms on random held-out batches; print the rate."""
    params = load_params(Path("params.yaml"))
    paths = params.paths
    scorer = scorer_for(load_model(paths.model), params)
    train = read_frame(split_path(paths.split_dir, "train"))
    held_out = pd.concat(
        [read_frame(split_path(paths.split_dir, name)) for name in ("val", "test")],
        ignore_index=True,
    )
    reference = scorer.score(train)
    alarms = 0
    for seed in range(n_batches):
        batch = held_out.sample(n=rows, replace=True, random_state=1000 + seed)
        current = scorer.score(batch)
        report = measure_drift(
            reference, current, params.drift, reference_name="train", current_name=f"seed {seed}"
        ).report
        alarms += not report.passed
        drifted = ", ".join(c.column for c in report.drifted) or "-"
        print(f"batch {seed:2d}: share {report.drifted_share:.2f} drifted: {drifted}")  # noqa: T201
    print(f"false alarms: {alarms}/{n_batches} ({alarms / n_batches:.0%})")  # noqa: T201


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:]))
