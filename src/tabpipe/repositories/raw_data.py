"""Reading raw files (CSV, compressed CSV, Parquet) with one clear error per way they break."""

from __future__ import annotations

import bz2
import csv
import gzip
import lzma
import zlib
from pathlib import Path
from typing import Literal

import pandas as pd
import pyarrow as pa
from loguru import logger

from tabpipe.errors import DataReadError
from tabpipe.records.params import FileFormat


def read_raw(
    path: Path,
    *,
    file_format: FileFormat,
    delimiter: str = ",",
    encoding: str = "utf-8",
) -> pd.DataFrame:
    """Read a raw table as pandas infers it; typing and checks are the schema's job."""
    if not path.exists():
        msg = f"{path}: file not found. Check data.raw_path in params.yaml."
        raise DataReadError(msg)
    if path.is_dir() and file_format == "parquet":  # a folder of Parquet files, as Dask writes
        return _read_parquet(path)
    if not path.is_file():
        msg = f"{path}: is not a file. Check data.raw_path in params.yaml."
        raise DataReadError(msg)
    if path.stat().st_size == 0:
        msg = f"{path}: file is empty (0 bytes)."
        raise DataReadError(msg)
    frame = (
        _read_parquet(path)
        if file_format == "parquet"
        else _read_csv(path, delimiter=delimiter, encoding=encoding)
    )
    if frame.shape[1] == 0:
        msg = f"{path}: no columns found."
        raise DataReadError(msg)
    if frame.shape[0] == 0:
        msg = f"{path}: has a header ({frame.shape[1]} columns) but no data rows."
        raise DataReadError(msg)
    return frame


Compression = Literal["gzip", "bz2", "zip", "xz", "zstd"]
# The first bytes of each compressed format pandas reads.
MAGIC: dict[bytes, Compression] = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bz2",
    b"PK\x03\x04": "zip",
    b"\xfd7zXZ\x00": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
}
SUFFIXES: dict[str, Compression] = {
    ".gz": "gzip",
    ".bz2": "bz2",
    ".zip": "zip",
    ".xz": "xz",
    ".zst": "zstd",
}


def detected_compression(path: Path) -> Compression | None:
    """The compression the file's first bytes show (None: plain text)."""
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(b"PAR1"):
        msg = f"{path}: holds Parquet data, not CSV. Set data.format: parquet in params.yaml."
        raise DataReadError(msg)
    return next((kind for magic, kind in MAGIC.items() if head.startswith(magic)), None)


def _read_csv(path: Path, *, delimiter: str, encoding: str) -> pd.DataFrame:
    compression = detected_compression(path)
    named = SUFFIXES.get(path.suffix.lower())
    if compression != named:
        logger.warning(
            "{}: the name says {} but the content is {}: reading it as {}",
            path,
            named or "plain text",
            compression or "plain text",
            compression or "plain text",
        )
    try:
        return pd.read_csv(
            path,
            sep=delimiter,
            encoding=encoding,
            compression=compression,
            low_memory=False,
            quoting=csv.QUOTE_MINIMAL,
        )
    except UnicodeDecodeError as exc:
        line, offset = _first_undecodable(path, compression, encoding)
        msg = (
            f"{path}: cannot be decoded as {encoding}: line {line}, byte {offset} of the "
            f"{'decompressed ' if compression else ''}file. Set data.encoding in params.yaml "
            "(e.g. latin-1) or re-encode the file."
        )
        raise DataReadError(msg) from exc
    except (gzip.BadGzipFile, zlib.error, EOFError, OSError) as exc:
        msg = (
            f"{path}: cannot be decompressed ({exc}). "
            "The file is corrupt or truncated, or its suffix does not match its compression."
        )
        raise DataReadError(msg) from exc
    except pd.errors.EmptyDataError as exc:
        msg = f"{path}: no columns to parse (the file holds only whitespace)."
        raise DataReadError(msg) from exc
    except pd.errors.ParserError as exc:
        first = str(exc).strip().splitlines()[-1]
        msg = f"{path}: malformed CSV ({first}). Check data.delimiter and quoting."
        raise DataReadError(msg) from exc


def _first_undecodable(
    path: Path, compression: Compression | None, encoding: str
) -> tuple[int, int]:
    """Line (1-based) and byte offset of the first byte ``encoding`` cannot decode."""
    if compression == "gzip":
        content = gzip.decompress(path.read_bytes())
    elif compression == "bz2":
        content = bz2.decompress(path.read_bytes())
    elif compression == "xz":
        content = lzma.decompress(path.read_bytes())
    else:
        content = path.read_bytes()
    try:
        content.decode(encoding)
    except UnicodeDecodeError as exc:
        return content.count(b"\n", 0, exc.start) + 1, exc.start
    return 0, 0


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        msg = f"{path}: not a readable Parquet file ({exc}). Check data.format in params.yaml."
        raise DataReadError(msg) from exc


def format_of(path: Path) -> FileFormat:
    """A file's format by its suffix: Parquet for ``.parquet``, else CSV (plain or compressed)."""
    return "parquet" if path.suffix == ".parquet" else "csv"
