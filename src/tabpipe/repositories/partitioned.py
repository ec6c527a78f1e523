"""Partitioned datasets (engine: dask): raw files read in blocks, Parquet parts written by workers.

A partitioned dataset is a folder of ``part.NNNNN.parquet`` files, numbered in row
order, so ``pandas.read_parquet(folder)`` and ``dask.dataframe.read_parquet(folder)``
both read its rows in the order they were written. The folder keeps the name the
pandas engine gives its single file (``validated.parquet``, ``train.parquet``), so
every path in params.yaml and dvc.yaml means the same data on both engines.

Paths must be visible to every worker: a LocalCluster shares this machine's disk; a
remote cluster needs the project on a shared file system (docs/scaling.md).
"""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from tabpipe.errors import DataReadError
from tabpipe.records.params import FileFormat
from tabpipe.repositories.raw_data import SUFFIXES, detected_compression
from tabpipe.utils.atomic import atomic_dir

PART_GLOB = "part.*.parquet"


def part_name(index: int) -> str:
    """The file name of part ``index`` (zero-padded, so names sort in row order)."""
    return f"part.{index:05d}.parquet"


def write_part(frame: pd.DataFrame, folder: Path, index: int) -> None:
    """One part of a partitioned dataset (called on a worker, inside an atomic folder)."""
    frame.to_parquet(folder / part_name(index), index=False, engine="pyarrow", compression="zstd")


@contextmanager
def new_dataset(destination: Path, subfolders: tuple[str, ...] = ()) -> Iterator[Path]:
    """A temporary folder the workers write parts into; it replaces ``destination`` whole.

    Only once the block exits without error (utils.atomic.atomic_dir); ``subfolders``
    are created in it first (the split's ``train.parquet``, ``val.parquet``, ...).
    """
    with atomic_dir(destination) as folder:
        for name in subfolders:
            (folder / name).mkdir()
        yield folder


@contextmanager
def scratch_folder(parent: Path) -> Iterator[Path]:
    """A private folder under ``parent`` that workers write parts into, removed afterwards.

    Folders created on the way to ``parent`` are removed too when nothing else was
    written into them (a failed run leaves no empty output folder behind).
    """
    created = [path for path in (parent, *parent.parents) if not path.exists()]
    parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=".scratch-", dir=parent))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        for path in created:  # the deepest first; stop at the first one still holding files
            try:
                path.rmdir()
            except OSError:
                break


def lazy_frame(dataset: Path) -> Any:
    """A partitioned dataset as a Dask DataFrame (read by the workers, one part each)."""
    import dask.dataframe as dd  # noqa: PLC0415

    return dd.read_parquet(str(dataset))


def part_files(dataset: Path) -> list[Path]:
    """The parts of a partitioned dataset in row order (a single file is its own part)."""
    if dataset.is_file():
        return [dataset]
    if not dataset.is_dir():
        msg = f"{dataset}: not found. Run the stage that produces it first (`dvc repro`)."
        raise DataReadError(msg)
    return sorted(dataset.glob(PART_GLOB)) or sorted(dataset.glob("*.parquet"))


def read_part(path: Path) -> pd.DataFrame:
    """One Parquet part (called on a worker)."""
    return pd.read_parquet(path, engine="pyarrow")


def count_rows(dataset: Path) -> int:
    """Rows of a Parquet file or partitioned folder, from the files' metadata only."""
    return sum(pq.ParquetFile(part).metadata.num_rows for part in part_files(dataset))


def read_sample(dataset: Path, n_rows: int, seed: int) -> pd.DataFrame:
    """At most about ``n_rows`` rows, drawn with a seeded share from every part in turn.

    Memory stays bounded by one part plus the sample; the draw depends on the seed and
    the data only. The whole dataset when it holds no more than ``n_rows`` rows.
    """
    total = count_rows(dataset)
    if total <= n_rows:
        return pd.read_parquet(dataset, engine="pyarrow")
    share = n_rows / total
    rng = np.random.default_rng(seed)
    pieces = []
    for part in part_files(dataset):
        frame = read_part(part)
        pieces.append(frame[rng.random(len(frame)) < share])
    return pd.concat(pieces, ignore_index=True)


@dataclass(frozen=True)
class RawBlock:
    """One block of a raw file: a picklable recipe a worker turns into a pandas frame."""

    path: str
    file_format: FileFormat
    index: int
    header: bytes = b""  # CSV: the header line, prepended to every block but the first
    row_groups: tuple[int, ...] = ()  # Parquet: the row groups of ``path``

    def describe(self) -> str:
        """Where the block lies, for messages."""
        return f"{self.path} (block {self.index + 1})"


def raw_blocks(
    path: Path,
    *,
    file_format: FileFormat,
    blocksize: str,
    rows_per_partition: int,
) -> list[tuple[RawBlock, object]]:
    """The blocks a raw file (or a folder of Parquet files) is read in, in row order.

    Each comes with its bytes as a ``dask.delayed`` value (CSV) or None (Parquet, read
    by the worker from its row groups).

    Plain CSV is cut at line ends every ``blocksize`` bytes; a compressed CSV cannot be
    cut and is one block; Parquet row groups are grouped up to ``rows_per_partition``.
    """
    _check_raw(path)
    if file_format == "parquet":
        return _parquet_blocks(path, rows_per_partition)
    from dask.bytes.core import read_bytes  # noqa: PLC0415

    compression = detected_compression(path)
    named = SUFFIXES.get(path.suffix.lower())
    sample, blocks = read_bytes(
        str(path),
        delimiter=b"\n",
        blocksize=None if compression else blocksize,
        sample="64 KiB",
        compression=compression or named,
    )
    header = bytes(sample).split(b"\n", 1)[0] + b"\n"
    return [
        (RawBlock(str(path), "csv", index, header=header if index else b""), block)
        for index, block in enumerate(blocks[0])
    ]


def raw_columns(path: Path, *, file_format: FileFormat, delimiter: str, encoding: str) -> list[str]:
    """The column names of a raw file (its header), without reading its rows."""
    _check_raw(path)
    if file_format == "parquet":
        first = path if path.is_file() else sorted(path.glob("*.parquet"))[0]
        return [str(name) for name in pq.read_schema(first).names]
    header = pd.read_csv(
        path, sep=delimiter, encoding=encoding, nrows=0, compression=detected_compression(path)
    )
    return [str(name) for name in header.columns]


def _check_raw(path: Path) -> None:
    if not path.exists():
        msg = f"{path}: file not found. Check data.raw_path in params.yaml."
        raise DataReadError(msg)
    if path.is_file() and path.stat().st_size == 0:
        msg = f"{path}: file is empty (0 bytes)."
        raise DataReadError(msg)
    if path.is_dir() and not any(path.glob("*.parquet")):
        msg = f"{path}: a folder without .parquet files. Check data.raw_path in params.yaml."
        raise DataReadError(msg)


def _parquet_blocks(path: Path, rows_per_partition: int) -> list[tuple[RawBlock, object]]:
    blocks: list[RawBlock] = []
    for file in [path] if path.is_file() else sorted(path.glob("*.parquet")):
        try:
            metadata = pq.ParquetFile(file).metadata
        except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
            msg = f"{file}: not a readable Parquet file ({exc}). Check data.format in params.yaml."
            raise DataReadError(msg) from exc
        group: list[int] = []
        rows = 0
        for index in range(metadata.num_row_groups):
            group.append(index)
            rows += metadata.row_group(index).num_rows
            if rows >= rows_per_partition:
                blocks.append(RawBlock(str(file), "parquet", len(blocks), row_groups=tuple(group)))
                group, rows = [], 0
        if group:
            blocks.append(RawBlock(str(file), "parquet", len(blocks), row_groups=tuple(group)))
    return [(block, None) for block in blocks]


def read_block(
    block: RawBlock, data: bytes | None, *, delimiter: str, encoding: str
) -> pd.DataFrame:
    """A raw block as pandas infers it, like the pandas engine reads the whole file.

    ``data`` is the block's bytes (CSV; dask passes the computed block). Raises pandas'
    and pyarrow's own errors; the caller names the block.
    """
    if block.file_format == "parquet":
        table = pq.ParquetFile(block.path).read_row_groups(list(block.row_groups))
        frame: pd.DataFrame = table.to_pandas()
        return frame
    buffer = io.BytesIO(block.header + (data or b""))
    return pd.read_csv(buffer, sep=delimiter, encoding=encoding, low_memory=False)
