"""The report stage: check the notebooks, run them on the pipeline's outputs, log the HTML.

Notebooks get their inputs only through papermill parameters built here from
``params.yaml``, so they never hard-code a path or a column the pipeline knows.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from loguru import logger

from tabpipe.errors import NotebookError
from tabpipe.models.dataset import DatasetModel, SplitSummary
from tabpipe.models.drift import DriftReport
from tabpipe.models.evaluation import GatesReport, MetricsReport, PromotionResult, TrainingRun
from tabpipe.models.notebooks import ExecutedNotebook
from tabpipe.models.params import Params
from tabpipe.repositories import mlflow_store as store
from tabpipe.repositories.datasets import read_model
from tabpipe.services.model_card import CardInputs, render_model_card
from tabpipe.services.notebook_rules import raise_on_violations
from tabpipe.services.notebook_run import execute_notebook
from tabpipe.utils.atomic import write_text_atomic
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


def card_inputs(params: Params, root: Path) -> CardInputs:
    paths = params.paths
    drift_file = root / paths.drift_dir / "drift.json"
    return CardInputs(
        dataset=read_model(root / paths.dataset_summary, DatasetModel),
        split=read_model(root / paths.split_summary, SplitSummary),
        training=read_model(root / paths.training_run, TrainingRun),
        metrics=read_model(root / paths.metrics, MetricsReport),
        gates=read_model(root / paths.gates, GatesReport),
        drift=read_model(drift_file, DriftReport) if drift_file.is_file() else None,
        promotion=(
            read_model(root / paths.promotion, PromotionResult)
            if (root / paths.promotion).is_file()
            else None
        ),
    )


def run_report(params: Params, root: Path = Path()) -> list[ExecutedNotebook]:
    """Lint, write the model card, execute every notebook; log all of it to the MLflow run."""
    raise_on_violations([root / path for path in params.report.notebooks], params.report.rules)
    inputs = card_inputs(params, root)
    card = render_model_card(params, inputs)
    write_text_atomic(root / params.paths.model_card, card)
    logger.info("report: model card -> {}", params.paths.model_card)
    executed = execute_all(params, root)
    _log_to_mlflow(executed, card, inputs, params, root)
    return executed


def execute_all(params: Params, root: Path) -> list[ExecutedNotebook]:
    """Run the notebooks, several at once in separate processes; raise after all have finished.

    Separate processes, not threads: jupyter_client's sessions are not thread-safe.
    Every notebook runs to the end even when another fails, so one report names every
    failing notebook.
    """
    values = notebook_parameters(params)
    report = params.report
    sources = [root / source for source in report.notebooks]
    workers = min(report.max_parallel, len(sources))
    options = {
        "kernel_name": report.kernel_name,
        "cell_timeout_s": report.cell_timeout_s,
        "cwd": root,
    }
    out_dir = root / params.paths.notebooks_dir
    if workers <= 1:
        outcomes: list[ExecutedNotebook | NotebookError] = [
            _outcome(source, out_dir, values, options) for source in sources
        ]
    else:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            futures = [
                pool.submit(_outcome, source, out_dir, values, options) for source in sources
            ]
            outcomes = [future.result() for future in futures]
    failures = [outcome for outcome in outcomes if isinstance(outcome, NotebookError)]
    if failures:
        raise NotebookError("\n".join(str(failure) for failure in failures))
    return [outcome for outcome in outcomes if isinstance(outcome, ExecutedNotebook)]


def _outcome(
    source: Path, out_dir: Path, values: dict[str, Any], options: dict[str, Any]
) -> ExecutedNotebook | NotebookError:
    try:
        return execute_notebook(source, out_dir, values, **options)
    except NotebookError as exc:
        return exc


def _log_to_mlflow(
    executed: list[ExecutedNotebook], card: str, inputs: CardInputs, params: Params, root: Path
) -> None:
    run = inputs.training
    store.connect(store.tracking_store(project_root(root)), params.mlflow.experiment_name)
    with store.pipeline_run(experiment_id=run.experiment_id, run_id=run.run_id):
        store.log_artifact(root / params.paths.model_card)
        for notebook in executed:
            store.log_artifact(notebook.html, folder="notebooks")
        store.log_metrics({"report_seconds": sum(n.seconds for n in executed)})
    promotion = inputs.promotion
    if promotion is not None and promotion.version is not None:  # this run's registered model
        store.describe_model_version(promotion.model_name, promotion.version, card)
    logger.info("report: card and {} HTML file(s) logged to run {}", len(executed), run.run_id)
