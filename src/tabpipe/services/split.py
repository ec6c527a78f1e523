"""The split stage: validated data -> train / validation / test, seeded and leak-free.

scikit-learn does the assignment (``train_test_split`` stratified on the target,
or ``GroupShuffleSplit`` when a group column is set); this module only chains
two draws so that three parts come out with the declared fractions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from loguru import logger
from sklearn.model_selection import GroupShuffleSplit, train_test_split

from tabpipe.errors import DataValidationError, ParamsError
from tabpipe.records.dataset import SplitPart, SplitSummary
from tabpipe.records.params import Params, SplitParams, Task
from tabpipe.repositories.datasets import read_frame, write_record, write_splits
from tabpipe.services.summaries import summarise_target
from tabpipe.utils.hashing import frame_sha256


def split_dataset(
    frame: pd.DataFrame, params: SplitParams, *, target: str, task: Task
) -> dict[str, pd.DataFrame]:
    """Partition the rows of ``frame`` (index preserved) into train, val and test."""
    if params.group_column is not None and params.group_column not in frame.columns:
        msg = f"split.group_column '{params.group_column}' is not a column of the data."
        raise ParamsError(msg)
    rest, test = _draw(frame, params.test, params, target=target, task=task)
    val_share_of_rest = params.val / (params.train + params.val)
    train, val = _draw(rest, val_share_of_rest, params, target=target, task=task)
    return {"train": train, "val": val, "test": test}


def _draw(
    frame: pd.DataFrame, share: float, params: SplitParams, *, target: str, task: Task
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``frame`` in two, the second part holding about ``share`` of it."""
    try:
        if params.group_column is not None:
            splitter = GroupShuffleSplit(n_splits=1, test_size=share, random_state=params.seed)
            keep, held = next(splitter.split(frame, groups=frame[params.group_column]))
            return frame.iloc[np.sort(keep)], frame.iloc[np.sort(held)]
        stratify = frame[target] if params.stratify and task == "classification" else None
        kept, held_out = train_test_split(
            frame, test_size=share, random_state=params.seed, stratify=stratify
        )
    except ValueError as exc:
        msg = (
            f"cannot split {len(frame)} rows with fractions train={params.train}, "
            f"val={params.val}, test={params.test}: {exc}. "
            "Use more data, other fractions, or split.stratify: false."
        )
        raise DataValidationError(msg) from exc
    return kept, held_out


def summarise_split(
    parts: dict[str, pd.DataFrame], params: SplitParams, *, target: str, task: Task
) -> SplitSummary:
    """The split summary: each part's size, share, target summary and digest."""
    total = sum(len(part) for part in parts.values())
    return SplitSummary(
        seed=params.seed,
        stratified=params.stratify and task == "classification" and params.group_column is None,
        group_column=params.group_column,
        parts=tuple(
            SplitPart(
                name=name,
                n_rows=len(part),
                fraction=len(part) / total if total else 0.0,
                target=summarise_target(part[target], task=task),
                content_sha256=frame_sha256(part),
            )
            for name, part in parts.items()
        ),
    )


def run_split(params: Params, root: Path = Path()) -> SplitSummary:
    """The split stage: read the validated data, split it, write the parts and the summary.

    Reads ``paths.validated``; splits by seeded shuffling (stratified on the target, or
    by group); writes the three Parquet parts as one folder (``paths.split_dir``) and the
    summary (``paths.split_summary``).
    """
    frame = read_frame(root / params.paths.validated)
    logger.info("split: {} rows from {}", len(frame), params.paths.validated)
    parts = split_dataset(frame, params.split, target=params.data.target, task=params.data.task)
    summary = summarise_split(parts, params.split, target=params.data.target, task=params.data.task)
    write_splits(
        {name: part.reset_index(drop=True) for name, part in parts.items()},
        root / params.paths.split_dir,
    )
    write_record(summary, root / params.paths.split_summary)
    logger.info(
        "split: {} -> {}",
        ", ".join(f"{part.name}={part.n_rows}" for part in summary.parts),
        params.paths.split_dir,
    )
    return summary
