"""Where the tracking store is, and a stamp of its state read without MLflow.

Nothing here imports MLflow, so a stage can learn where it would track, and whether the
store changed since it last looked, before it pays MLflow's import (about two seconds).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DB = "mlflow.db"
DEFAULT_ARTIFACTS = "mlartifacts"
SQLITE_PREFIX = "sqlite:///"
# SQLite's file format (sqlite.org/fileformat.html): bytes 24-27 of the header are the
# file change counter, which every committed write transaction increments.
_HEADER_BYTES, _COUNTER = 100, slice(24, 28)
_SIDE_FILES = ("", "-wal", "-journal")  # a write in progress or in WAL mode lives beside it


@dataclass(frozen=True)
class TrackingStore:
    """Where MLflow tracks: a tracking URI and, for the local default, its artifact folder."""

    uri: str
    artifact_location: str | None


def tracking_store(root: Path) -> TrackingStore:
    """``MLFLOW_TRACKING_URI`` if set; else SQLite at the project root, artifacts beside it."""
    configured = os.environ.get("MLFLOW_TRACKING_URI")
    if configured:
        return TrackingStore(uri=configured, artifact_location=None)
    return TrackingStore(
        uri=f"{SQLITE_PREFIX}{root / DEFAULT_DB}",
        artifact_location=(root / DEFAULT_ARTIFACTS).as_uri(),
    )


def store_exists(tracking: TrackingStore) -> bool:
    """False for the default SQLite store before any run created it (a server: assumed)."""
    if tracking.uri.startswith(SQLITE_PREFIX):
        return Path(tracking.uri.removeprefix(SQLITE_PREFIX)).is_file()
    return True


def store_stamp(tracking: TrackingStore) -> str | None:
    """A stamp that changes with every write to a SQLite store; None where none can be read.

    Size and modification time of the database and of its journal or write-ahead log,
    and the header's change counter. A tracking server gives no such stamp (None): what
    it holds can only be learnt by asking it.
    """
    if not tracking.uri.startswith(SQLITE_PREFIX):
        return None
    database = Path(tracking.uri.removeprefix(SQLITE_PREFIX))
    if not database.is_file():
        return None
    parts = []
    for suffix in _SIDE_FILES:
        path = database.with_name(database.name + suffix)
        if path.exists():
            stat = path.stat()
            parts.append(f"{suffix or 'db'}:{stat.st_ino}:{stat.st_size}:{stat.st_mtime_ns}")
    with database.open("rb") as handle:
        counter = handle.read(_HEADER_BYTES)[_COUNTER].hex()
    return ";".join([*parts, f"counter:{counter}"])
