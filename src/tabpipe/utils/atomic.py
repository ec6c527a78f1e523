"""Atomic file writes: a crash or a failed check never leaves a half-written output.

Each writer fills a temporary file in the destination's folder (same filesystem),
then renames it over the destination, which POSIX guarantees to be atomic.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tabpipe.errors import OutputWriteError
from tabpipe.utils.numbers import stable_tree
from tabpipe.utils.processes import alive

# What the file system says when an output cannot be written, whoever tries.
_CANNOT_WRITE = {
    errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EFBIG,
    errno.EISDIR,  # the output's name is a folder
    errno.ENOTDIR, errno.EEXIST,  # a file stands where a folder of its path must be
}  # fmt: skip


def _shown(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    return str(path)


def cannot_write(destination: Path, exc: OSError) -> OutputWriteError:
    """The error for an output the file system refuses, naming it and the cause."""
    cause = exc.strerror or type(exc).__name__
    if exc.errno in {errno.ENOTDIR, errno.EEXIST}:
        cause = f"a file stands where a folder of its path must be ({cause})"
    folder = _shown(destination.parent)
    error = OutputWriteError(
        f"cannot write {_shown(destination)}: {cause} (errno {exc.errno}). Check that "
        f"{folder}/ is writable by this user (ls -ld {folder}) and that its disk has room, "
        "then rerun; the previous version of the output, if any, is unchanged."
    )
    error.__cause__ = exc
    return error


@contextlib.contextmanager
def _refused_as(destination: Path, *, body: bool = True) -> Iterator[None]:
    """OSErrors of the file system refusing a write become :class:`OutputWriteError`.

    In a writer's ``body`` only those about the destination's folder do: an input that
    cannot be read is not this output's problem.
    """
    try:
        yield
    except OSError as exc:
        if exc.errno in _CANNOT_WRITE and (not body or _about(exc, destination.parent)):
            raise cannot_write(destination, exc) from exc
        raise


def _about(exc: OSError, folder: Path) -> bool:
    """Whether the failed call touched ``folder`` (an error reading an input is not ours)."""
    if exc.filename is None:
        return True
    return Path(os.fsdecode(exc.filename)).resolve().is_relative_to(folder.resolve())


def sweep_stale_temporaries(destination: Path) -> list[Path]:
    """Remove what a killed writer of ``destination`` left (its ``.tmp``/``.old`` siblings).

    The temporary names carry the writer's pid; only those of processes that no longer
    exist are removed, so a writer running now is never disturbed.
    """
    pattern = re.compile(rf"^\.{re.escape(destination.name)}\.(\d+)\.[0-9a-f]{{12}}\.(tmp|old)$")
    removed = []
    with contextlib.suppress(OSError):
        for sibling in destination.parent.iterdir():
            found = pattern.match(sibling.name)
            if found is None or alive(int(found.group(1))):
                continue
            if sibling.is_dir() and not sibling.is_symlink():
                shutil.rmtree(sibling, ignore_errors=True)
            else:
                sibling.unlink(missing_ok=True)
            removed.append(sibling)
    return removed


def ensure_writable(*destinations: Path) -> None:
    """Refuse at once (:class:`OutputWriteError`) an output that could not be written later.

    A stage calls this before its long work, so a read-only folder costs seconds, not a
    fit or a notebook run. It writes and removes an empty probe where the writer will
    write: the output's folder and, for a folder output, inside it. A full disk still
    shows only when the output is written (and then nothing earlier is lost).
    """
    for destination in destinations:
        folders = [destination.parent, *([destination] if destination.is_dir() else [])]
        for folder in folders:
            probe = folder / f".{destination.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp"
            with _refused_as(destination, body=False):
                folder.mkdir(parents=True, exist_ok=True)
                probe.touch()
                probe.unlink()


@contextlib.contextmanager
def atomic_path(destination: Path) -> Iterator[Path]:
    """Yield a temporary path (not yet created) that replaces ``destination`` on success.

    On error it vanishes, and ``destination`` is as it was.
    """
    # A fresh name the writer creates itself, so the file gets the usual permissions
    # (mkstemp would make it private to the user).
    tmp = destination.with_name(f".{destination.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp")
    with _refused_as(destination, body=False):
        destination.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale_temporaries(destination)
    old = destination.with_name(f"{tmp.name[:-4]}.old")
    try:
        with _refused_as(destination):
            yield tmp
            if _is_partitioned_dataset(destination):  # the Dask engine's output of this path
                destination.replace(old)
            tmp.replace(destination)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        shutil.rmtree(old, ignore_errors=True)


def _is_partitioned_dataset(path: Path) -> bool:
    """A folder that holds only Parquet parts (``part.NNNNN.parquet``): the Dask engine's.

    Only such a folder is replaced by a file of the same name; any other folder at an
    output path is the user's and is refused (exit 9), never removed.
    """
    if not path.is_dir():
        return False
    entries = list(path.iterdir())
    return bool(entries) and all(
        entry.is_file() and entry.name.startswith("part.") and entry.suffix == ".parquet"
        for entry in entries
    )


def write_text_atomic(destination: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``destination`` through a temporary file and a rename."""
    with atomic_path(destination) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(destination: Path, payload: Any) -> None:
    """Stable, human-diffable JSON (sorted keys off: field order is meaningful).

    Every float is written at the stated precision (``utils.numbers``), so the bytes do
    not depend on the CPU that computed it.
    """
    text = json.dumps(stable_tree(payload), indent=2, ensure_ascii=False)
    write_text_atomic(destination, text + "\n")


@contextlib.contextmanager
def atomic_dir(destination: Path) -> Iterator[Path]:
    """Yield an empty temporary folder; on success it replaces ``destination`` as a whole.

    Nothing from an earlier run survives (a plot of another task, a notebook since
    removed), and a failure leaves the previous folder as it was. The swap is two
    renames: the old folder is moved aside first, then removed.
    """
    token = f"{os.getpid()}.{uuid.uuid4().hex[:12]}"
    tmp = destination.with_name(f".{destination.name}.{token}.tmp")
    old = destination.with_name(f".{destination.name}.{token}.old")
    with _refused_as(destination, body=False):
        destination.parent.mkdir(parents=True, exist_ok=True)
        sweep_stale_temporaries(destination)
        tmp.mkdir()
    try:
        with _refused_as(destination):
            yield tmp
            if destination.exists():
                destination.replace(old)
            try:
                tmp.replace(destination)
            except OSError:
                if old.exists():
                    old.replace(destination)  # the previous folder, back where it was
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        else:  # a single file the folder replaced (e.g. the pandas engine's output)
            old.unlink(missing_ok=True)
