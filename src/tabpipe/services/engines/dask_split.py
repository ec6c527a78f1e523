"""The split stage on the Dask engine: each validated part split on a worker, by row hash.

The row-hash split (``services.data.split_rows.hash_parts``) decides a row's part from the row
alone, so every validated part is split independently and the result is the one the
pandas engine gives with ``split.method: hash``: the same rows in each part, in the
same order, with the same digests. Part ``i`` of the input becomes part ``i`` of
``train.parquet``, ``val.parquet`` and ``test.parquet`` under ``paths.split_dir``,
which replaces the previous folder only once every part is written.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from loguru import logger

from tabpipe.errors import ParamsError
from tabpipe.records.dataset import SplitPart, SplitSummary, TargetSummary
from tabpipe.records.params import Params, SplitParams, Task
from tabpipe.repositories.cluster import dask_client
from tabpipe.repositories.datasets import SPLIT_NAMES, split_path
from tabpipe.repositories.partitioned import new_dataset, part_files, read_part, write_part
from tabpipe.services.data.split_rows import check_parts, hash_parts, record_split
from tabpipe.services.data.summaries import Moments, target_from_moments


@dataclass(frozen=True)
class PartCounts:
    """One split part of one input part: rows, target counts, row hashes in order."""

    n_rows: int
    class_counts: dict[str, int] | None
    moments: Moments | None
    row_hashes: np.ndarray
    columns: tuple[str, ...]


def split_part(
    source: Path, index: int, *, split: SplitParams, target: str, task: Task, folder: Path
) -> dict[str, PartCounts]:
    """One task on a worker: split one validated part and write its three pieces."""
    frame = read_part(source)
    if split.group_column is not None and split.group_column not in frame.columns:
        msg = f"split.group_column '{split.group_column}' is not a column of the data."
        raise ParamsError(msg)
    assigned = hash_parts(frame, split)
    counts = {}
    for name in SPLIT_NAMES:
        piece = frame[assigned == name].reset_index(drop=True)
        write_part(piece, split_path(folder, name), index)
        values = piece[target]
        classification = task == "classification"
        counts[name] = PartCounts(
            n_rows=len(piece),
            class_counts={str(k): int(v) for k, v in values.value_counts().items() if v}
            if classification
            else None,
            moments=None if classification else Moments.of(values),
            row_hashes=pd.util.hash_pandas_object(piece, index=False).to_numpy(),
            columns=tuple(map(str, piece.columns)),
        )
    return counts


def split_on_dask(params: Params, root: Path = Path()) -> SplitSummary:
    """The split stage on a Dask cluster; the same outputs as ``split.method: hash``."""
    sources = part_files(root / params.paths.validated)
    logger.info("split: {} parts of {} on Dask", len(sources), params.paths.validated)
    destination = root / params.paths.split_dir
    subfolders = tuple(split_path(Path(), name).name for name in SPLIT_NAMES)
    with (
        dask_client(params.dask, stage="split") as client,
        new_dataset(destination, subfolders) as folder,
    ):
        futures = [
            client.submit(
                split_part,
                source,
                index,
                split=params.split,
                target=params.data.target,
                task=params.data.task,
                folder=folder,
                pure=False,
            )
            for index, source in enumerate(sources)
        ]
        results = _gather_in_order(futures)
        summary = _summary(results, params)
        check_parts(summary, task=params.data.task)
    return record_split(summary, params, root)


def _gather_in_order(futures: list[Any]) -> list[dict[str, PartCounts]]:
    results = []
    for done, future in enumerate(futures, start=1):
        results.append(future.result())
        future.release()
        if done % max(1, len(futures) // 10) == 0 or done == len(futures):
            logger.info("split: {}/{} parts split", done, len(futures))
    return results


def _summary(results: list[dict[str, PartCounts]], params: Params) -> SplitSummary:
    data = params.data
    totals = {name: sum(result[name].n_rows for result in results) for name in SPLIT_NAMES}
    everything = sum(totals.values())
    parts = []
    for name in SPLIT_NAMES:
        pieces = [result[name] for result in results]
        digest = hashlib.sha256()
        digest.update("\x1f".join(pieces[0].columns).encode())
        for piece in pieces:
            digest.update(piece.row_hashes.tobytes())
        if data.task == "classification":
            counts: dict[str, int] = {}
            for piece in pieces:
                for label, count in (piece.class_counts or {}).items():
                    counts[label] = counts.get(label, 0) + count
            target = TargetSummary(column=data.target, class_counts=dict(sorted(counts.items())))
        else:
            moments = Moments()
            for piece in pieces:
                moments = moments.merge(piece.moments or Moments())
            target = target_from_moments(data.target, moments)
        parts.append(
            SplitPart(
                name=name,
                n_rows=totals[name],
                fraction=totals[name] / everything if everything else 0.0,
                target=target,
                content_sha256=digest.hexdigest(),
            )
        )
    return SplitSummary(
        seed=params.split.seed,
        method="hash",
        stratified=False,
        group_column=params.split.group_column,
        parts=tuple(parts),
    )
