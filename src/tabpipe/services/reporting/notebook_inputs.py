"""What the notebooks of the eda and report stages receive, and how they run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tabpipe.records.params import Params
from tabpipe.repositories.notebook_runner import NotebookRunOptions


def notebook_parameters(params: Params) -> dict[str, Any]:
    """Every value a notebook may declare in its ``parameters`` cell (paths relative to the root).

    Each notebook receives only the names it declares, so a notebook can be added
    without changing this list as long as it uses these names.
    """
    paths = params.paths
    return {
        "dataset_name": params.data.name,
        "target": params.data.target,
        "task": params.data.task,
        "positive_class": params.data.positive_class,
        "primary_metric": params.primary_metric,
        "slice_columns": list(params.evaluate.slice_columns),
        "min_slice_size": params.evaluate.min_slice_size,
        "min_slice_class_size": params.evaluate.min_slice_class_size,
        "validated_path": str(paths.validated),
        "dataset_summary_path": str(paths.dataset_summary),
        "validation_report_path": str(paths.validation_report),
        "split_dir": str(paths.split_dir),
        "split_summary_path": str(paths.split_summary),
        "model_summary_path": str(paths.model_summary),
        "metrics_path": str(paths.metrics),
        "gates_path": str(paths.gates),
        "plots_dir": str(paths.plots_dir),
        "drift_summary_path": str(paths.drift_summary),
        # engine: dask: notebooks read seeded samples, never a whole partitioned dataset
        "max_rows": params.dask.sample_rows if params.engine == "dask" else None,
    }


def notebook_run_options(
    params: Params, root: Path, header: dict[str, str] | None = None
) -> NotebookRunOptions:
    """How the report stage runs its notebooks (kernel, timeout, parallelism, folders, header)."""
    report = params.report
    return NotebookRunOptions(
        kernel_name=report.kernel_name,
        cell_timeout_s=report.cell_timeout_s,
        max_parallel=report.max_parallel,
        cwd=root,
        failed_dir=root / params.paths.notebooks_dir,
        header=header or {},
        subject=params.data.name,
    )
