"""The split stage in memory (``engine: pandas``): the validated frame split and written whole."""

from __future__ import annotations

from pathlib import Path

from loguru import logger

from tabpipe.records.dataset import SplitSummary
from tabpipe.records.params import Params
from tabpipe.repositories.datasets import read_frame, write_splits
from tabpipe.services.data.split_rows import (
    check_parts,
    record_split,
    split_dataset,
    summarise_split,
)


def split_in_memory(params: Params, root: Path = Path()) -> SplitSummary:
    """Read the validated data, split it, write the parts and the summary."""
    frame = read_frame(root / params.paths.validated)
    logger.info("split: {} rows from {}", len(frame), params.paths.validated)
    task, target, method = params.data.task, params.data.target, params.split_method
    parts = split_dataset(frame, params.split, target=target, task=task, method=method)
    summary = summarise_split(parts, params.split, target=target, task=task, method=method)
    check_parts(summary, task=task)
    write_splits(
        {name: part.reset_index(drop=True) for name, part in parts.items()},
        root / params.paths.split_dir,
    )
    return record_split(summary, params, root)
