"""Content digests that identify data by what it holds, not where it lies."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def frame_sha256(frame: pd.DataFrame) -> str:
    """Digest of the values and column names, independent of the file format and of the index.

    Two files with the same rows in the same order have the same digest, whether
    they are CSV or Parquet, so lineage survives a format change.
    """
    import pandas as pd  # noqa: PLC0415 - a frame's digest needs pandas; a file's does not

    digest = hashlib.sha256()
    digest.update("\x1f".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def path_sha256(path: Path) -> str:
    """:func:`file_sha256` of a file; of a folder, a digest of its files' names and digests."""
    if path.is_file():
        return file_sha256(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(f"{file.relative_to(path)}\x1f{file_sha256(file)}\n".encode())
    return digest.hexdigest()
