"""A short account of what the pipeline has produced and where, printed after `make train`."""

from __future__ import annotations

from pathlib import Path

from tabpipe.models.dataset import DatasetModel, SplitSummary
from tabpipe.models.params import Params
from tabpipe.repositories.datasets import read_model


def describe_outputs(params: Params, root: Path = Path()) -> str:
    paths = params.paths
    lines = ["tabpipe outputs:"]
    if (root / paths.dataset_summary).is_file():
        dataset = read_model(root / paths.dataset_summary, DatasetModel)
        lines.append(
            f"  validated data   {paths.validated}  ({dataset.n_rows} rows x "
            f"{dataset.n_columns} columns, {dataset.duplicate_rows} duplicate rows)"
        )
        lines.append(f"  dataset summary  {paths.dataset_summary}")
        lines.append(f"  validation       {paths.validation_report}")
    else:
        lines.append(f"  validated data   missing: run `dvc repro` ({paths.validated})")
    if (root / paths.split_summary).is_file():
        split = read_model(root / paths.split_summary, SplitSummary)
        counts = ", ".join(f"{part.name}={part.n_rows}" for part in split.parts)
        lines.append(f"  splits           {paths.split_dir}/  ({counts})")
        lines.append(f"  split summary    {paths.split_summary}")
    else:
        lines.append(f"  splits           missing: run `dvc repro` ({paths.split_dir})")
    return "\n".join(lines)
