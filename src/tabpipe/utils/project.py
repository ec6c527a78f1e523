"""Where the project root is, wherever a stage runs from.

`dvc exp run --temp` and `--queue` run stages in a copy under `.dvc/tmp/exps/`;
DVC then sets ``DVC_ROOT`` to the original repository, so the MLflow store and
other shared state resolve to the same place as for `dvc repro`.
"""

from __future__ import annotations

import os
import shutil

# git is run with fixed arguments and never through a shell.
import subprocess  # nosec B404
from pathlib import Path


def project_root(start: Path | None = None) -> Path:
    """The repository root: ``DVC_ROOT`` under DVC, else the nearest folder holding ``.dvc/``."""
    from_dvc = os.environ.get("DVC_ROOT")
    if from_dvc:
        return Path(from_dvc).resolve()
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / ".dvc").is_dir():
            return candidate
    return here


def git_state(cwd: Path) -> dict[str, str]:
    """Commit and dirty flag of the working tree, for run tags; empty outside git."""
    try:
        commit = _git(cwd, "rev-parse", "HEAD")
        dirty = _git(cwd, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return {}
    return {"git.commit": commit, "git.dirty": str(bool(dirty)).lower()}


def uncommitted_changes(cwd: Path) -> list[str] | None:
    """Paths (relative to ``cwd``'s repository) that differ from the last commit.

    Changed, staged, or new and not ignored. None outside a git repository.
    """
    try:
        listed = _git(cwd, "status", "--porcelain=v1", "-z", "--untracked-files=all", strip=False)
    except (OSError, subprocess.CalledProcessError):
        return None
    entries = iter(listed.split("\0"))
    changed = []
    for entry in entries:
        if not entry:
            continue
        status, path = entry[:2], entry[3:]
        if "R" in status or "C" in status:  # a rename or copy is followed by its source path
            next(entries, None)
        changed.append(path)
    return sorted(changed)


def _git(cwd: Path, *args: str, strip: bool = True) -> str:
    git = shutil.which("git")
    if git is None:
        msg = "git is not installed"
        raise OSError(msg)
    run = subprocess.run  # git with fixed arguments, never through a shell
    out = run([git, *args], cwd=cwd, capture_output=True, text=True, check=True).stdout  # nosec B603
    return out.strip() if strip else out
