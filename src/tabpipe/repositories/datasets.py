"""Validated datasets and their summaries on disk: Parquet for frames, JSON for records."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel, ValidationError

from tabpipe.errors import DataReadError, ParamsError
from tabpipe.utils.atomic import atomic_dir, atomic_path, write_text_atomic

if TYPE_CHECKING:  # imported where frames are read or written: a record needs neither
    import pandas as pd
    import pyarrow.parquet as pq

ModelT = TypeVar("ModelT", bound=BaseModel)


SPLIT_NAMES = ("train", "val", "test")


def split_path(split_dir: Path, name: str) -> Path:
    """Where the split stage writes one part: ``<split_dir>/<name>.parquet``."""
    return split_dir / f"{name}.parquet"


def write_frame(frame: pd.DataFrame, destination: Path) -> None:
    """Parquet keeps dtypes (categories included) so downstream stages need no re-parsing."""
    with atomic_path(destination) as tmp:
        frame.to_parquet(tmp, index=False, engine="pyarrow", compression="zstd")


TABLE_SUFFIXES = {".parquet": "parquet", ".csv": "csv"}


def table_format(destination: Path) -> str:
    """``parquet`` or ``csv`` by the name's suffix; any other name is a usage error."""
    found = TABLE_SUFFIXES.get(destination.suffix.lower())
    if found is None:
        msg = (
            f"{destination}: name the output file .parquet or .csv "
            f"(got '{destination.suffix or 'no suffix'}')"
        )
        raise ParamsError(msg)
    return found


def write_table(frame: pd.DataFrame, destination: Path) -> None:
    """A result table as Parquet, or CSV when its name ends in .csv, replacing it whole."""
    if table_format(destination) == "parquet":
        write_frame(frame, destination)
        return
    with atomic_path(destination) as tmp:
        frame.to_csv(tmp, index=False)


def write_table_pieces(pieces: Iterable[pd.DataFrame], destination: Path) -> int:
    """Pieces of one table (same columns) written in order as one file; returns the rows.

    The file replaces ``destination`` only once every piece is written, and only one
    piece is in memory at a time (Parquet row groups, or CSV appended after one header).
    """
    import pyarrow as pa  # noqa: PLC0415 - only where tables are written
    import pyarrow.parquet as pq  # noqa: PLC0415

    rows = 0
    parquet = table_format(destination) == "parquet"
    with atomic_path(destination) as tmp:
        writer: pq.ParquetWriter | None = None
        try:
            for index, piece in enumerate(pieces):
                rows += len(piece)
                if not parquet:
                    piece.to_csv(
                        tmp, index=False, mode="w" if index == 0 else "a", header=index == 0
                    )
                    continue
                table = pa.Table.from_pandas(piece, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema, compression="zstd")
                writer.write_table(table.cast(writer.schema))
        finally:
            if writer is not None:
                writer.close()
    return rows


def write_splits(parts: Mapping[str, pd.DataFrame], split_dir: Path) -> None:
    """The parts as one set: a folder that replaces ``split_dir`` only once all are written."""
    with atomic_dir(split_dir) as folder:
        for name, part in parts.items():
            write_frame(part, split_path(folder, name))


def read_frame(path: Path) -> pd.DataFrame:
    """A Parquet output of an earlier stage; a missing file says which stage to run.

    A folder is a partitioned dataset (engine: dask): its parts are read in order.
    """
    import pandas as pd  # noqa: PLC0415 - only where frames are read
    import pyarrow.parquet as pq  # noqa: PLC0415

    if path.is_dir():
        parts = sorted(path.glob("part.*.parquet"))
        return pq.read_table(parts).to_pandas() if parts else pd.read_parquet(path)
    if not path.is_file():
        msg = f"{path}: not found. Run the stage that produces it first (`dvc repro`)."
        raise DataReadError(msg)
    return pd.read_parquet(path, engine="pyarrow")


def read_split(
    split_dir: Path, name: str, *, max_rows: int | None = None, seed: int = 0
) -> pd.DataFrame:
    """One part of the split; with ``max_rows``, a seeded sample of at most about that many.

    The Dask engine bounds what a single process reads this way (a partitioned part
    can outgrow memory); the pandas engine reads parts whole.
    """
    path = split_path(split_dir, name)
    if max_rows is None:
        return read_frame(path)
    from tabpipe.repositories.partitioned import read_sample  # noqa: PLC0415

    return read_sample(path, max_rows, seed)


def write_record(model: BaseModel, destination: Path) -> None:
    """A record as indented JSON (field order kept), replacing ``destination`` whole."""
    write_text_atomic(destination, model.model_dump_json(indent=2) + "\n")


def read_record(path: Path, model_type: type[ModelT]) -> ModelT:
    """A record written by :func:`write_record`, validated; a stale or edited file says so."""
    if not path.is_file():
        msg = f"{path}: not found. Run the stage that produces it first (`dvc repro`)."
        raise DataReadError(msg)
    try:
        return model_type.model_validate_json(path.read_text(encoding="utf-8"))
    except ValidationError as exc:
        msg = (
            f"{path}: not a valid {model_type.__name__} ({exc.error_count()} error(s)). "
            "It was written by another version or edited by hand: rerun its stage."
        )
        raise DataReadError(msg) from exc
