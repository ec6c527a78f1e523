"""Which rows go to train, validation and test: seeded, leak-free, the same on both engines.

Two methods (``split.method``). **shuffle**: scikit-learn does the assignment
(``train_test_split`` stratified on the target, or ``GroupShuffleSplit`` when a
group column is set); this module only chains two draws so that three parts come
out with the declared fractions. **hash**: a row's part comes from a seeded 64-bit
hash of its values (of its group's value when ``split.group_column`` is set), read
as a number in [0, 1): the same row lands in the same part whatever the row order,
the file or the partitioning, which is what lets the Dask engine split partitions
independently, and both engines give the same membership. Identical rows share a
part (no duplicate straddles train and test); the fractions and class shares are
met in expectation, and the summary records the realised ones.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from loguru import logger

from tabpipe.errors import DataValidationError, ParamsError
from tabpipe.records.dataset import SplitPart, SplitSummary
from tabpipe.records.params import Params, SplitParams, Task
from tabpipe.repositories.datasets import SPLIT_NAMES, write_record
from tabpipe.services.data.summaries import summarise_target
from tabpipe.utils.hashing import frame_sha256


def split_dataset(
    frame: pd.DataFrame,
    params: SplitParams,
    *,
    target: str,
    task: Task,
    method: Literal["shuffle", "hash"] = "shuffle",
) -> dict[str, pd.DataFrame]:
    """Partition the rows of ``frame`` (index preserved) into train, val and test."""
    if params.group_column is not None and params.group_column not in frame.columns:
        msg = f"split.group_column '{params.group_column}' is not a column of the data."
        raise ParamsError(msg)
    if method == "hash":
        assigned = hash_parts(frame, params)
        return {name: frame[assigned == name] for name in SPLIT_NAMES}
    rest, test = _draw(frame, params.test, params, target=target, task=task)
    val_share_of_rest = params.val / (params.train + params.val)
    train, val = _draw(rest, val_share_of_rest, params, target=target, task=task)
    return {"train": train, "val": val, "test": test}


def _draw(
    frame: pd.DataFrame, share: float, params: SplitParams, *, target: str, task: Task
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``frame`` in two, the second part holding about ``share`` of it."""
    # scikit-learn (about a second to import) only where a shuffled split is drawn.
    from sklearn.model_selection import GroupShuffleSplit, train_test_split  # noqa: PLC0415

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


def hash_parts(frame: pd.DataFrame, params: SplitParams) -> np.ndarray:
    """Each row's part ("train", "val" or "test") from a seeded hash of the row or its group."""
    keys = frame[[params.group_column]] if params.group_column is not None else frame
    hashes = pd.util.hash_pandas_object(keys, index=False, hash_key=_hash_key(params.seed))
    position = (hashes.to_numpy() >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    return np.where(
        position < params.test,
        "test",
        np.where(position < params.test + params.val, "val", "train"),
    )


def _hash_key(seed: int) -> str:
    """pandas' row hash takes a 16-character key: derived from the seed."""
    return hashlib.sha256(f"tabpipe-split-{seed}".encode()).hexdigest()[:16]


def check_parts(summary: SplitSummary, *, task: Task) -> None:
    """Every part holds rows, and (classification) every class: else metrics mean nothing."""
    problems = [f"'{part.name}' has no rows" for part in summary.parts if part.n_rows == 0]
    if task == "classification":
        classes = {label for part in summary.parts for label in (part.target.class_counts or {})}
        for part in summary.parts:
            absent = sorted(classes - set(part.target.class_counts or {}))
            if absent and part.n_rows:
                problems.append(f"'{part.name}' holds no row of class(es) {', '.join(absent)}")
    if problems:
        msg = (
            f"the split ({summary.method}, seed {summary.seed}) left {'; '.join(problems)}. "
            "Use more data, larger split fractions"
            + (
                ", or split.method: shuffle (exact stratification)"
                if summary.method == "hash"
                else ""
            )
            + "."
        )
        raise DataValidationError(msg)


def summarise_split(
    parts: dict[str, pd.DataFrame],
    params: SplitParams,
    *,
    target: str,
    task: Task,
    method: Literal["shuffle", "hash"] = "shuffle",
) -> SplitSummary:
    """The split summary: each part's size, share, target summary and digest."""
    total = sum(len(part) for part in parts.values())
    return SplitSummary(
        seed=params.seed,
        method=method,
        stratified=method == "shuffle"
        and params.stratify
        and task == "classification"
        and params.group_column is None,
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


def record_split(summary: SplitSummary, params: Params, root: Path) -> SplitSummary:
    """Write the split summary once the parts are written, and say where they went."""
    write_record(summary, root / params.paths.split_summary)
    logger.info(
        "split: {} -> {}",
        ", ".join(f"{part.name}={part.n_rows}" for part in summary.parts),
        params.paths.split_dir,
    )
    return summary
