"""DVC's lock file, read only to say whether it is whole: a conflict or a cut is named."""

from __future__ import annotations

from pathlib import Path

from tabpipe.errors import ParamsError
from tabpipe.repositories.params_file import read_yaml_file


def check_lock_file(path: Path) -> bool:
    """Whether DVC's lock file ``path`` exists; a ParamsError if it cannot be read as one.

    A merge conflict or a file cut short (an editor or a copy that stopped half-way) is
    named here, before ``dvc repro`` would stop on it with YAML's own error.
    """
    if not path.is_file():
        return False
    remedy = (
        f"Keep one side (`git checkout --theirs {path.name}`), restore it (`git checkout "
        f"{path.name}`) or delete it, then `dvc repro`: it reruns the stages the file does "
        "not match and writes it anew."
    )
    raw = read_yaml_file(path, "not found", remedy)
    if not isinstance(raw, dict) or not isinstance(raw.get("stages"), dict):
        msg = f"{path}: not a DVC lock file (no 'stages' mapping). {remedy}"
        raise ParamsError(msg)
    return True
