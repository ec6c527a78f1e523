"""A/B test files: the experiment's definition (YAML) and the outcomes logged per unit."""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path

import pandas as pd
import pyarrow as pa
from pydantic import ValidationError

from tabpipe.errors import DataReadError, ParamsError
from tabpipe.records.ab_test import AbExperiment
from tabpipe.repositories.params_file import describe_errors, read_yaml_file


def load_experiment(path: Path) -> AbExperiment:
    """An A/B test definition, validated; every problem named by its key (exit 2)."""
    raw = read_yaml_file(path, "A/B test definition not found (see ab/README.md for its keys)")
    try:
        return AbExperiment.model_validate(raw)
    except ValidationError as exc:
        msg = f"{path}: invalid A/B test definition\n{describe_errors(exc, AbExperiment)}"
        raise ParamsError(msg) from exc


def read_outcomes(path: Path, experiment: AbExperiment) -> pd.DataFrame:
    """Logged outcomes (CSV or Parquet), the unit and arm columns read as text.

    Read as text so that a unit id such as ``00123`` keeps the digits it was hashed with.
    """
    if not path.is_file():
        msg = f"{path}: results file not found"
        raise DataReadError(msg)
    text: dict[Hashable, str] = {experiment.unit: "string", experiment.arm_column: "string"}
    try:
        if path.suffix.lower() == ".parquet":
            frame = pd.read_parquet(path)
            present = {column: kind for column, kind in text.items() if column in frame.columns}
            return frame.astype(present)
        return pd.read_csv(path, dtype=text, low_memory=False)
    except (pa.ArrowException, OSError, ValueError, pd.errors.ParserError) as exc:
        first = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        kind = "Parquet" if path.suffix.lower() == ".parquet" else "CSV"
        msg = f"{path}: cannot be read as {kind} ({first})"
        raise DataReadError(msg) from exc
