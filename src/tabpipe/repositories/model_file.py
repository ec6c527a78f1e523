"""The fitted pipeline as a DVC output, in skops format with an explicit list of trusted types.

skops refuses to load any type it was not told to trust, so a tampered model file
fails loudly instead of running code, which a pickle would not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import skops.io as sio

from tabpipe.errors import DataReadError
from tabpipe.repositories.trusted_types import SKOPS_TRUSTED_TYPES
from tabpipe.utils.atomic import atomic_path


def save_model(model: Any, destination: Path) -> None:
    with atomic_path(destination) as tmp:
        sio.dump(model, tmp)


def load_model(path: Path) -> Any:
    if not path.is_file():
        msg = f"{path}: no trained model. Run the train stage first (`dvc repro train`)."
        raise DataReadError(msg)
    untrusted = set(sio.get_untrusted_types(file=path)) - set(SKOPS_TRUSTED_TYPES)
    if untrusted:
        msg = (
            f"{path}: holds types that are not on the trusted list: "
            f"{', '.join(sorted(untrusted))}. "
            "Refusing to load it."
        )
        raise DataReadError(msg)
    return sio.load(path, trusted=SKOPS_TRUSTED_TYPES)
