"""The report stage: check the notebooks, run them on the pipeline's outputs, log the HTML.

Notebooks get their inputs only through papermill parameters built here from
``params.yaml``, so they never hard-code a path or a column the pipeline knows.
"""

from __future__ import annotations

import multiprocessing
import shutil
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from loguru import logger

from tabpipe.errors import NotebookError, StaleOutputsError
from tabpipe.records.dataset import DatasetSummary, SplitSummary
from tabpipe.records.drift import DriftReport
from tabpipe.records.evaluation import GatesReport, MetricsReport, ModelSummary
from tabpipe.records.notebooks import ExecutedNotebook
from tabpipe.records.params import Params
from tabpipe.repositories import mlflow_store as store
from tabpipe.repositories.datasets import read_record
from tabpipe.services.model_card import CardInputs, render_model_card
from tabpipe.services.notebook_rules import raise_on_violations
from tabpipe.services.notebook_run import (
    execute_notebook,
    new_scratch_folder,
    sweep_scratch_folders,
)
from tabpipe.utils.atomic import atomic_dir, write_text_atomic
from tabpipe.utils.processes import die_with_parent
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
        "model_summary_path": str(paths.model_summary),
        "metrics_path": str(paths.metrics),
        "gates_path": str(paths.gates),
        "plots_dir": str(paths.plots_dir),
        "drift_summary_path": str(paths.drift_dir / "drift.json"),
    }


def card_inputs(params: Params, root: Path) -> CardInputs:
    paths = params.paths
    drift_file = root / paths.drift_dir / "drift.json"
    return CardInputs(
        dataset=read_record(root / paths.dataset_summary, DatasetSummary),
        split=read_record(root / paths.split_summary, SplitSummary),
        model=read_record(root / paths.model_summary, ModelSummary),
        metrics=read_record(root / paths.metrics, MetricsReport),
        gates=read_record(root / paths.gates, GatesReport),
        drift=read_record(drift_file, DriftReport) if drift_file.is_file() else None,
    )


def run_report(params: Params, root: Path = Path()) -> list[ExecutedNotebook]:
    """Lint, execute every notebook, then write the model card; log all of it to MLflow.

    The notebooks run into a fresh folder that replaces the previous one only when
    every notebook ran; the card is written after them, so a failed notebook leaves
    the last good card and HTML as they were.
    """
    raise_on_violations([root / path for path in params.report.notebooks], params.report.rules)
    inputs = card_inputs(params, root)
    outputs = [inputs.model.model_sha256, inputs.metrics.model_sha256, inputs.gates.model_sha256]
    if inputs.drift is not None:
        outputs.append(inputs.drift.model_sha256 or inputs.model.model_sha256)
    if len(set(outputs)) > 1:
        msg = (
            "the model summary, metrics, gates and drift files describe different models: "
            "they come from different runs. Run `dvc repro` to bring them in line."
        )
        raise StaleOutputsError(msg)
    card = render_model_card(params, inputs)
    final = root / params.paths.notebooks_dir
    with atomic_dir(final) as fresh:
        executed = [
            notebook.model_copy(
                update={
                    "executed": final / notebook.executed.name,
                    "html": final / notebook.html.name,
                }
            )
            for notebook in execute_all(params, root, fresh)
        ]
    write_text_atomic(root / params.paths.model_card, card)
    logger.info("report: model card -> {}", params.paths.model_card)
    _log_to_mlflow(executed, params, root, inputs.model.model_sha256)
    return executed


def execute_all(params: Params, root: Path, out_dir: Path) -> list[ExecutedNotebook]:
    """Run the notebooks, several at once in separate processes; raise after all have finished.

    Separate processes, not threads: jupyter_client's sessions are not thread-safe.
    Every notebook runs to the end even when another fails, so one report names every
    failing notebook.
    """
    values = notebook_parameters(params)
    report = params.report
    sources = [root / source for source in report.notebooks]
    workers = min(report.max_parallel, len(sources))
    if stale := sweep_scratch_folders():
        logger.info("report: removed {} scratch folder(s) of killed runs", stale)
    scratch = new_scratch_folder()
    options = {
        "kernel_name": report.kernel_name,
        "cell_timeout_s": report.cell_timeout_s,
        "cwd": root,
        "failed_dir": root / params.paths.notebooks_dir,
        "scratch": scratch,
    }
    try:
        if workers <= 1:
            outcomes = [_outcome(source, out_dir, values, options) for source in sources]
        else:
            outcomes = _in_workers(sources, workers, out_dir, values, options)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    failures = [outcome for outcome in outcomes if isinstance(outcome, NotebookError)]
    if failures:
        raise NotebookError("\n".join(str(failure) for failure in failures))
    return [outcome for outcome in outcomes if isinstance(outcome, ExecutedNotebook)]


def _in_workers(
    sources: list[Path],
    workers: int,
    out_dir: Path,
    values: dict[str, Any],
    options: dict[str, Any],
) -> list[ExecutedNotebook | NotebookError]:
    """Each notebook in a worker process that dies with this one (see ``die_with_parent``)."""
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=die_with_parent) as pool:
        futures = {
            source: pool.submit(_outcome, source, out_dir, values, options) for source in sources
        }
        outcomes: list[ExecutedNotebook | NotebookError] = []
        for source, future in futures.items():
            try:
                outcomes.append(future.result())
            except BrokenProcessPool:
                outcomes.append(
                    NotebookError(
                        f"notebook {source}: did not finish, because a worker process of "
                        "the report died (killed, or out of memory); no output of it was "
                        "kept. Rerun the report stage (`dvc repro report`)."
                    )
                )
    return outcomes


def _outcome(
    source: Path, out_dir: Path, values: dict[str, Any], options: dict[str, Any]
) -> ExecutedNotebook | NotebookError:
    try:
        return execute_notebook(source, out_dir, values, **options)
    except NotebookError as exc:
        return exc


def _log_to_mlflow(
    executed: list[ExecutedNotebook], params: Params, root: Path, model_sha256: str
) -> None:
    tracking = store.tracking_store(project_root(root))
    with store.model_stage_run(
        tracking, params.mlflow.experiment_name, stage="report", model_sha256=model_sha256
    ) as run:
        store.log_artifact(root / params.paths.model_card)
        for notebook in executed:
            store.log_artifact(notebook.html, folder="notebooks")
        store.log_metrics({"report_seconds": sum(n.seconds for n in executed)})
    logger.info("report: card and {} HTML file(s) logged to run {}", len(executed), run.run_id)
