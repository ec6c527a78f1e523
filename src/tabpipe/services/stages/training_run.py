"""The training run of a model: opened by evaluate, the first stage to score the model.

The train stage writes files only (the model, models/model.json); it imports no MLflow.
The MLflow run that shows what was trained (params, dataset lineage, learning curve,
threshold, search trials as child runs, the model with its signature, the monitoring
reference) is logged from those files by the first evaluation of the model, in the same
process as the evaluation's own run, so one experiment pays for MLflow in two processes
(evaluate, promote) instead of five. A model gets one training run: the run is found
by the model file's sha256, so a later evaluation (changed gates) or a model restored
from DVC's run cache does not log it twice.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
from loguru import logger

from tabpipe.records.dataset import SplitSummary
from tabpipe.records.evaluation import ModelSummary
from tabpipe.records.params import Params
from tabpipe.repositories import mlflow_store as store
from tabpipe.repositories.datasets import read_record, split_path
from tabpipe.repositories.schema_file import load_schema
from tabpipe.utils.project import git_state, project_root

REFERENCE_MAX_ROWS = 100_000  # training rows kept in the run for `tabpipe monitor`


def run_name(experiment: str, tags: dict[str, str]) -> str:
    """The DVC experiment's name, else ``train <commit>`` (``+changes`` for a dirty tree)."""
    if experiment:
        return experiment
    commit = tags.get("git.commit", "")
    if not commit:
        return "train"
    return f"train {commit[:8]}" + ("+changes" if tags.get("git.dirty") == "true" else "")


def log_training_run(
    params: Params,
    root: Path,
    model: Any,
    splits: dict[str, pd.DataFrame],
    summary: ModelSummary,
) -> None:
    """Log the training run of ``summary``'s model unless the store already holds one."""
    project = project_root(root)
    tracking = store.tracking_store(project)
    experiment_id = store.connect(tracking, params.mlflow.experiment_name)
    store.sweep_stale_runs(experiment_id)
    if store.find_training_run(experiment_id, summary.model_sha256) is not None:
        return
    logger.info(
        "evaluate: logging the training run of model {} to {} (experiment '{}')",
        summary.model_sha256[:12],
        tracking.uri,
        params.mlflow.experiment_name,
    )
    experiment = os.environ.get("DVC_EXP_NAME", "")
    tags = {
        **git_state(project),
        "dvc.experiment": experiment,
        "dataset": params.data.name,
        "task": params.data.task,
    }
    if summary.leakage is not None and summary.leakage.suspects:
        tags["tabpipe.leakage_suspects"] = ", ".join(summary.leakage.suspects)
    with store.stage_run(
        experiment_id=experiment_id, stage="train", run_name=run_name(experiment, tags), tags=tags
    ):
        store.log_params_flat(
            {
                "data": {
                    "name": params.data.name,
                    "target": params.data.target,
                    "task": params.data.task,
                    "positive_class": params.data.positive_class,
                },
                "train": params.train.model_dump(mode="json"),
                "evaluate": {"primary_metric": params.primary_metric},
            }
        )
        _log_lineage(params, root, splits)
        _log_fit(summary, params.primary_metric)
        reference = splits["train"]
        if len(reference) > REFERENCE_MAX_ROWS:
            reference = reference.sample(n=REFERENCE_MAX_ROWS, random_state=params.train.seed)
        store.log_reference(reference)
        schema = load_schema(root / params.data.schema_path)
        optional = [name for name, column in schema.columns.items() if column.nullable]
        model_uri = store.log_sklearn_model(
            model,
            splits["train"][list(summary.features)].head(5),
            optional=optional,
            metadata=None
            if summary.decision_threshold is None
            else {
                "decision_threshold": summary.decision_threshold,
                "threshold_policy": summary.threshold_policy,
            },
        )
        # Set last: a run carries the model's digest only once its model is logged.
        store.set_tags({store.MODEL_URI_TAG: model_uri, store.MODEL_SHA_TAG: summary.model_sha256})


def _log_lineage(params: Params, root: Path, splits: dict[str, pd.DataFrame]) -> None:
    """Dataset lineage of the train and validation splits in the current run.

    On Dask the splits are partitioned and read here as a sample: the lineage takes the
    row counts and digests the split stage recorded.
    """
    parts = {}
    if params.engine == "dask":
        recorded = read_record(root / params.paths.split_summary, SplitSummary)
        parts = {part.name: part for part in recorded.parts}
    for name in ("train", "val"):
        context = {"train": "training", "val": "validation"}[name]
        source = split_path(params.paths.split_dir, name)
        dataset_name = f"{params.data.name}-{name}"
        if name in parts:
            store.log_partitioned_dataset(
                splits[name],
                name=dataset_name,
                source=source,
                digest=parts[name].content_sha256,
                n_rows=parts[name].n_rows,
                context=context,
            )
        else:
            store.log_dataset(
                splits[name],
                name=dataset_name,
                source=source,
                target=params.data.target,
                context=context,
            )


def _log_fit(summary: ModelSummary, metric: str) -> None:
    """Iterations, learning curve, threshold and search (trials as child runs) on the run."""
    if summary.learning_curve:
        store.log_metric_steps(summary.learning_curve)
    if summary.decision_threshold is not None:
        store.log_params_flat(
            {
                "decision_threshold": summary.decision_threshold,
                "threshold_policy": summary.threshold_policy,
            }
        )
    if summary.n_iter is not None:
        store.log_metrics({"n_iter": float(summary.n_iter)})
    if summary.best_params:
        store.set_tags({f"search.best.{k}": str(v) for k, v in summary.best_params.items()})
    found = summary.search
    if found is None:
        return
    store.set_tags({"search.sampler": found.sampler, "search.best_trial": str(found.best_trial)})
    store.log_metrics(
        {"search.trials": float(len(found.trials)), "search.best_value": found.best_value}
    )
    for trial in found.trials:
        store.log_child_run(
            run_name=f"trial {trial.number}",
            stage="train.trial",
            params={"trial": trial.params},
            metrics={} if trial.value is None else {f"val_{metric}": trial.value},
            tags={"optuna.trial": str(trial.number), "optuna.state": trial.state},
        )
