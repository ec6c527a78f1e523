"""Where the project root is, wherever a stage runs from.

`dvc exp run --temp` and `--queue` run stages in a copy under `.dvc/tmp/exps/`;
DVC then sets ``DVC_ROOT`` to the original repository, so the MLflow store and
other shared state resolve to the same place as for `dvc repro`.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path


def project_root(start: Path | None = None) -> Path:
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
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return {}
    return {"git.commit": commit, "git.dirty": str(bool(dirty)).lower()}


def file_digest(path: Path) -> str | None:
    if not path.is_file():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()
