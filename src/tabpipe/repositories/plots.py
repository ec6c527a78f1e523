"""Curve data for DVC plots: one JSON (or CSV) file per curve, the folder written afresh."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from tabpipe.utils.atomic import atomic_dir, write_json_atomic, write_text_atomic

# Tables DVC's confusion template reads as CSV; every other curve is a JSON list of points.
CSV_TABLES = frozenset({"confusion"})


def plot_file(folder: Path, stem: str) -> Path:
    """Where one curve's table goes in ``folder``: CSV for the confusion matrix, else JSON."""
    return folder / (f"{stem}.csv" if stem in CSV_TABLES else f"{stem}.json")


def write_plots(tables: dict[str, list[dict[str, Any]]], folder: Path) -> None:
    """Replace the whole folder: no curve of an earlier task or model kind survives."""
    with atomic_dir(folder) as fresh:
        for stem, rows in tables.items():
            if stem in CSV_TABLES:
                write_text_atomic(plot_file(fresh, stem), pd.DataFrame(rows).to_csv(index=False))
            else:
                write_json_atomic(plot_file(fresh, stem), rows)
