"""Runs: one per stage, nested under the training run, and what each logs."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import mlflow
from loguru import logger
from mlflow.entities import Metric, Param, RunStatus
from mlflow.tracking import MlflowClient

from tabpipe.errors import TabpipeError, TrackingUnavailableError
from tabpipe.repositories.mlflow_store.connection import (
    MODEL_SHA_TAG,
    MODEL_URI_TAG,
    OWNER_HOST,
    OWNER_PID,
    PARENT_TAG,
    STAGE_TAG,
    as_unavailable,
    connect,
    reaching_server,
)
from tabpipe.repositories.mlflow_store.location import TrackingStore
from tabpipe.repositories.mlflow_store.registry import registered_run_ids
from tabpipe.utils.processes import alive


def _end_run(status: int, *, server_lost: bool) -> None:
    """Close the active run; after a lost server, with one short try and no second error."""
    if not server_lost:
        mlflow.end_run(RunStatus.to_string(status))
        return
    with contextlib.suppress(Exception):
        mlflow.end_run(RunStatus.to_string(status))


def owner_tags() -> dict[str, str]:
    """Who runs a run: the next stage closes it if this process dies (see sweep_stale_runs)."""
    return {OWNER_PID: str(os.getpid()), OWNER_HOST: os.uname().nodename}


@contextlib.contextmanager
def stage_run(
    *,
    experiment_id: str,
    stage: str,
    parent_run_id: str | None = None,
    run_name: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """A new run owned by this process, always closed with an honest status.

    Every stage logs to a run of its own (a child of the training run when there is
    one), so no stage ever reopens a run another process finished. A verdict (failed
    gate, drift) is the run doing its job: FINISHED. A crash is FAILED, an interrupt
    KILLED. The owner's pid and host are set in the creating call, so a process killed
    at any moment leaves a run that the next stage can close.
    """
    all_tags = {**owner_tags(), STAGE_TAG: stage, **(tags or {})}
    if parent_run_id is not None:
        all_tags[PARENT_TAG] = parent_run_id
    with reaching_server:
        run = mlflow.start_run(
            experiment_id=experiment_id, run_name=run_name or stage, tags=all_tags
        )
    try:
        yield run.info.run_id
    except TabpipeError as exc:
        lost = isinstance(exc, TrackingUnavailableError)
        _end_run(RunStatus.FINISHED if exc.verdict else RunStatus.FAILED, server_lost=lost)
        raise
    except KeyboardInterrupt:
        _end_run(RunStatus.KILLED, server_lost=False)
        raise
    except BaseException as exc:
        unavailable = as_unavailable(exc)
        _end_run(RunStatus.FAILED, server_lost=unavailable is not None)
        if unavailable is not None:
            raise unavailable from exc
        raise
    with reaching_server:
        mlflow.end_run(RunStatus.to_string(RunStatus.FINISHED))


@dataclass(frozen=True)
class TrainingRunRef:
    """The MLflow run that logged a model file, found by the file's sha256."""

    run_id: str
    experiment_id: str
    model_uri: str
    metric_names: frozenset[str]


@reaching_server
def find_training_run(experiment_id: str, model_sha256: str) -> TrainingRunRef | None:
    """The newest finished run that logged the model with these bytes, if the store has one."""
    found = MlflowClient().search_runs(
        [experiment_id],
        filter_string=(
            f"tags.`{MODEL_SHA_TAG}` = '{model_sha256}' and tags.`{STAGE_TAG}` = 'train' "
            "and attributes.status = 'FINISHED'"
        ),
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if not found:
        return None
    run = found[0]
    return TrainingRunRef(
        run_id=run.info.run_id,
        experiment_id=run.info.experiment_id,
        model_uri=run.data.tags.get(MODEL_URI_TAG, ""),
        metric_names=frozenset(run.data.metrics),
    )


@reaching_server
def find_child_run(
    experiment_id: str, parent_run_id: str, stage: str, tags: Mapping[str, str]
) -> str | None:
    """The id of a finished ``stage`` run under ``parent_run_id`` carrying ``tags``, if any."""
    wanted = [f"tags.`{PARENT_TAG}` = '{parent_run_id}'", f"tags.`{STAGE_TAG}` = '{stage}'"]
    wanted += [f"tags.`{key}` = '{value}'" for key, value in tags.items()]
    found = MlflowClient().search_runs(
        [experiment_id],
        filter_string=" and ".join([*wanted, "attributes.status = 'FINISHED'"]),
        max_results=1,
    )
    return str(found[0].info.run_id) if found else None


@dataclass(frozen=True)
class ModelStageRun:
    """A stage's own run about one model, and the training run it is nested under (if any)."""

    run_id: str
    training: TrainingRunRef | None


@contextlib.contextmanager
def model_stage_run(
    tracking: TrackingStore,
    experiment_name: str,
    *,
    stage: str,
    model_sha256: str,
    tags: Mapping[str, str] | None = None,
) -> Iterator[ModelStageRun]:
    """A stage's own run about one model file, nested under the run that trained it.

    Connects, closes runs of dead processes, and finds the training run by the model's
    sha256; without one (a model restored from DVC's cache into another store) the
    stage's run stands alone, and a warning says how to link it.
    """
    experiment_id = connect(tracking, experiment_name)
    sweep_stale_runs(experiment_id)
    training = find_training_run(experiment_id, model_sha256)
    if training is None:
        logger.warning(
            "{}: no finished run in {} logged this model (sha256 {}); this run stands on "
            "its own. To link it, retrain: dvc repro --force train",
            stage,
            tracking.uri,
            model_sha256[:12],
        )
    with stage_run(
        experiment_id=experiment_id,
        stage=stage,
        parent_run_id=None if training is None else training.run_id,
        tags={MODEL_SHA_TAG: model_sha256, **(tags or {})},
    ) as run_id:
        yield ModelStageRun(run_id=run_id, training=training)


@reaching_server
def add_metrics_to_finished_run(run_id: str, metrics: Mapping[str, float]) -> None:
    """Log metrics to a run without reopening it: its status and end time stay as they are."""
    stamp = int(time.time() * 1000)
    MlflowClient().log_batch(
        run_id, metrics=[Metric(key, float(value), stamp, 0) for key, value in metrics.items()]
    )


@reaching_server
def log_child_run(
    *,
    run_name: str,
    stage: str,
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
    tags: Mapping[str, str] | None = None,
) -> str:
    """A finished run nested under the active run (a search trial), logged in one batch.

    The active run stays active: the child is created, logged and closed with the
    client, so a trial is recorded once it is done and never left RUNNING.
    """
    parent = mlflow.active_run()
    if parent is None:
        msg = "log_child_run needs an active run to nest under"
        raise TabpipeError(msg)
    client = MlflowClient()
    all_tags = {STAGE_TAG: stage, PARENT_TAG: parent.info.run_id, **(tags or {})}
    run = client.create_run(parent.info.experiment_id, run_name=run_name, tags=all_tags)
    stamp = int(time.time() * 1000)
    client.log_batch(
        run.info.run_id,
        metrics=[Metric(key, float(value), stamp, 0) for key, value in metrics.items()],
        params=[Param(key, value) for key, value in flatten(params).items()],
    )
    client.set_terminated(run.info.run_id, status="FINISHED")
    return str(run.info.run_id)


@reaching_server
def log_metric_steps(curves: Mapping[str, Iterable[float]]) -> None:
    """Per-step values (a learning curve) on the active run: MLflow draws them by step."""
    run = mlflow.active_run()
    if run is None:
        return
    stamp = int(time.time() * 1000)
    metrics = [
        Metric(key, float(value), stamp, step)
        for key, values in curves.items()
        for step, value in enumerate(values)
    ]
    client = MlflowClient()
    for start in range(0, len(metrics), 1000):  # MLflow's batch limit
        client.log_batch(run.info.run_id, metrics=metrics[start : start + 1000])


@reaching_server
def log_metrics(metrics: Mapping[str, float], prefix: str = "") -> None:
    """Log metrics to the active run, each name prefixed with ``prefix``."""
    mlflow.log_metrics({f"{prefix}{name}": value for name, value in metrics.items()})


@reaching_server
def set_tags(tags: Mapping[str, str]) -> None:
    """Set tags on the active run."""
    mlflow.set_tags(dict(tags))


@reaching_server
def sweep_stale_runs(experiment_id: str) -> int:
    """Runs left RUNNING by a process of this host that no longer exists become FAILED.

    Only RUNNING runs with a tabpipe owner are considered, so a FINISHED run is never
    touched, and a run whose model is registered is skipped whatever its status.
    """
    client = MlflowClient()
    running = client.search_runs(
        [experiment_id], filter_string="attributes.status = 'RUNNING'", max_results=1000
    )
    orphans = [
        run
        for run in running
        if run.data.tags.get(OWNER_PID) is not None
        and run.data.tags.get(OWNER_HOST) == os.uname().nodename
        and not alive(int(run.data.tags[OWNER_PID]))
    ]
    if not orphans:
        return 0
    protected = registered_run_ids()
    stale = 0
    for run in orphans:
        if run.info.run_id in protected:
            continue
        client.set_terminated(run.info.run_id, status="FAILED")
        stale += 1
    if stale:
        logger.warning("marked {} RUNNING run(s) of dead processes as FAILED", stale)
    return stale


@reaching_server
def log_params_flat(params: Mapping[str, Any]) -> None:
    """Log nested params as dotted MLflow params (see :func:`flatten`)."""
    mlflow.log_params(flatten(params))


@reaching_server
def start_monitoring_run(
    experiment_name: str, tracking: TrackingStore, tags: Mapping[str, str]
) -> str:
    """Start the run of one ``tabpipe monitor`` call; :func:`end_run` closes it."""
    experiment_id = connect(tracking, experiment_name)
    run = mlflow.start_run(experiment_id=experiment_id, run_name="monitor", tags=dict(tags))
    return str(run.info.run_id)


@reaching_server
def end_run() -> None:
    """Close the active run as FINISHED."""
    mlflow.end_run()


def flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested params as MLflow keys: ``{"train": {"seed": 1}} -> {"train.seed": "1"}``."""
    flat: dict[str, str] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat |= flatten(value, prefix=f"{name}.")
        else:
            flat[name] = str(value)
    return flat
