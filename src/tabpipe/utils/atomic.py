"""Atomic file writes: a crash or a failed check never leaves a half-written output.

Each writer fills a temporary file in the destination's folder (same filesystem),
then renames it over the destination, which POSIX guarantees to be atomic.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(destination: Path) -> Iterator[Path]:
    """Yield a temporary path (not yet created); on success it replaces ``destination``,
    on error it vanishes."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    # A fresh name the writer creates itself, so the file gets the usual permissions
    # (mkstemp would make it private to the user).
    tmp = destination.with_name(f".{destination.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        yield tmp
        tmp.replace(destination)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(destination: Path, text: str) -> None:
    with atomic_path(destination) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(destination: Path, payload: Any) -> None:
    """Stable, human-diffable JSON (sorted keys off: field order is meaningful)."""
    write_text_atomic(destination, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")


@contextlib.contextmanager
def atomic_dir(destination: Path) -> Iterator[Path]:
    """Yield an empty temporary folder; on success it replaces ``destination`` as a whole.

    Nothing from an earlier run survives (a plot of another task, a notebook since
    removed), and a failure leaves the previous folder as it was. The swap is two
    renames: the old folder is moved aside first, then removed.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    token = f"{os.getpid()}.{uuid.uuid4().hex[:12]}"
    tmp = destination.with_name(f".{destination.name}.{token}.tmp")
    old = destination.with_name(f".{destination.name}.{token}.old")
    tmp.mkdir()
    try:
        yield tmp
        if destination.exists():
            destination.replace(old)
        tmp.replace(destination)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
