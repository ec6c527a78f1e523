"""Reading raw files (CSV, compressed CSV, Parquet) with one clear error per way they break."""

from __future__ import annotations

import csv
import gzip
import zlib
from pathlib import Path

import pandas as pd
import pyarrow as pa

from tabpipe.errors import DataReadError
from tabpipe.models.params import FileFormat


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


def _read_csv(path: Path, *, delimiter: str, encoding: str) -> pd.DataFrame:
    try:
        return pd.read_csv(
            path,
            sep=delimiter,
            encoding=encoding,
            compression="infer",
            low_memory=False,
            quoting=csv.QUOTE_MINIMAL,
        )
    except UnicodeDecodeError as exc:
        msg = (
            f"{path}: cannot be decoded as {encoding} (byte {exc.start}). "
            "Set data.encoding in params.yaml (e.g. latin-1) or re-encode the file."
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


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        msg = f"{path}: not a readable Parquet file ({exc}). Check data.format in params.yaml."
        raise DataReadError(msg) from exc
