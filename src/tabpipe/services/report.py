"""The report stage: check the notebooks, run them on the pipeline's outputs, log the HTML.

Notebooks get their inputs only through papermill parameters built here from
``params.yaml``, so they never hard-code a path or a column the pipeline knows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loguru import logger

from tabpipe.models.evaluation import TrainingRun
from tabpipe.models.notebooks import ExecutedNotebook
from tabpipe.models.params import Params
from tabpipe.repositories import mlflow_store as store
from tabpipe.repositories.datasets import read_model
from tabpipe.services.notebook_rules import raise_on_violations
from tabpipe.services.notebook_run import execute_notebook
from tabpipe.utils.project import project_root


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
        "validated_path": str(paths.validated),
        "dataset_summary_path": str(paths.dataset_summary),
        "validation_report_path": str(paths.validation_report),
        "split_dir": str(paths.split_dir),
        "split_summary_path": str(paths.split_summary),
        "training_run_path": str(paths.training_run),
        "metrics_path": str(paths.metrics),
        "gates_path": str(paths.gates),
        "plots_dir": str(paths.plots_dir),
        "drift_summary_path": str(paths.drift_dir / "drift.json"),
    }


def run_report(params: Params, root: Path = Path()) -> list[ExecutedNotebook]:
    """Lint, then execute every notebook in order; log the HTML to the pipeline's MLflow run."""
    raise_on_violations([root / path for path in params.report.notebooks], params.report.rules)
    values = notebook_parameters(params)
    executed = [
        execute_notebook(
            root / source,
            root / params.paths.notebooks_dir,
            values,
            kernel_name=params.report.kernel_name,
            cell_timeout_s=params.report.cell_timeout_s,
            cwd=root,
        )
        for source in params.report.notebooks
    ]
    _log_to_mlflow(executed, params, root)
    return executed


def _log_to_mlflow(executed: list[ExecutedNotebook], params: Params, root: Path) -> None:
    run_file = root / params.paths.training_run
    if not run_file.is_file():
        logger.warning("report: no {} yet; HTML not logged to MLflow", params.paths.training_run)
        return
    run = read_model(run_file, TrainingRun)
    store.connect(store.tracking_store(project_root(root)), params.mlflow.experiment_name)
    with store.pipeline_run(experiment_id=run.experiment_id, run_id=run.run_id):
        for notebook in executed:
            store.log_artifact(notebook.html, folder="notebooks")
        store.log_metrics({"report_seconds": sum(n.seconds for n in executed)})
    logger.info("report: {} HTML file(s) logged to MLflow run {}", len(executed), run.run_id)
