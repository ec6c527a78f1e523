"""MLflow: the tracking store, the pipeline's run, the logged model and the registry.

Everything that talks to MLflow lives here, so services stay testable on plain
data and ``import mlflow`` (about a second) is paid only by the stages that log.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from loguru import logger
from mlflow.data.pandas_dataset import from_pandas
from mlflow.entities import RunStatus
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from tabpipe.errors import ExitCode, TabpipeError, TrackingError
from tabpipe.repositories.trusted_types import SKOPS_TRUSTED_TYPES

DEFAULT_DB = "mlflow.db"
DEFAULT_ARTIFACTS = "mlartifacts"
_MODEL_REQUIREMENTS = ("scikit-learn", "skops", "numpy", "pandas", "scipy")


@dataclass(frozen=True)
class TrackingStore:
    uri: str
    artifact_location: str | None


def tracking_store(root: Path) -> TrackingStore:
    """``MLFLOW_TRACKING_URI`` if set; else SQLite at the project root, artifacts beside it."""
    configured = os.environ.get("MLFLOW_TRACKING_URI")
    if configured:
        return TrackingStore(uri=configured, artifact_location=None)
    return TrackingStore(
        uri=f"sqlite:///{root / DEFAULT_DB}",
        artifact_location=(root / DEFAULT_ARTIFACTS).as_uri(),
    )


# MLflow's own defaults retry an unreachable server for about four minutes (7 retries,
# backoff factor 2, 120 s timeout); a pipeline stage should say what is wrong sooner.
# Each can be overridden in the environment (see .env.example).
HTTP_RETRY_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}


def bound_http_retries() -> None:
    """Apply the bounded retry defaults where the environment does not set its own."""
    for name, value in HTTP_RETRY_DEFAULTS.items():
        os.environ.setdefault(name, value)


def connect(store: TrackingStore, experiment_name: str) -> str:
    """Point MLflow at the store and return the experiment id (created when missing)."""
    bound_http_retries()
    mlflow.set_tracking_uri(store.uri)
    try:
        experiment = mlflow.get_experiment_by_name(experiment_name)
        if experiment is not None:
            return str(experiment.experiment_id)
        return str(
            mlflow.create_experiment(experiment_name, artifact_location=store.artifact_location)
        )
    except MlflowException as exc:
        if store.uri.startswith(("http://", "https://")):
            retries = os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]
            msg = (
                f"MLflow tracking server {store.uri} did not answer after {retries} retries. "
                "Check that the server is running and reachable from here, and that "
                "MLFLOW_TRACKING_URI is right (unset it to use the local mlflow.db); "
                "see docs/runbook.md. "
                f"Detail: {_first_line(exc.message)}"
            )
        else:
            msg = f"MLflow tracking store {store.uri} is not usable: {exc.message}"
        raise TrackingError(msg) from exc


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


@contextlib.contextmanager
def pipeline_run(
    *,
    experiment_id: str,
    run_id: str | None = None,
    run_name: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """Start (or resume) the pipeline's run and always close it with an honest status.

    A gate or drift verdict is the run doing its job: FINISHED. A crash is FAILED,
    an interrupt KILLED, so no run is left RUNNING by a stage that stopped. A new run
    is created with ``tags`` in the same call, so a process killed at any moment leaves
    a run that carries its owner's pid (see :func:`mark_stale_runs_failed`).
    """
    run = mlflow.start_run(
        run_id=run_id,
        experiment_id=experiment_id,
        run_name=run_name,
        tags=dict(tags) if tags else None,
    )
    try:
        yield run.info.run_id
    except TabpipeError as exc:
        verdict = exc.exit_code in {ExitCode.GATE_FAILED, ExitCode.DRIFT_DETECTED}
        mlflow.end_run(RunStatus.to_string(RunStatus.FINISHED if verdict else RunStatus.FAILED))
        raise
    except KeyboardInterrupt:
        mlflow.end_run(RunStatus.to_string(RunStatus.KILLED))
        raise
    except BaseException:
        mlflow.end_run(RunStatus.to_string(RunStatus.FAILED))
        raise
    mlflow.end_run(RunStatus.to_string(RunStatus.FINISHED))


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


def log_dataset(frame: pd.DataFrame, *, name: str, source: Path, target: str, context: str) -> str:
    """Dataset lineage: MLflow computes the digest and records the schema and source."""
    dataset = from_pandas(frame, source=str(source), targets=target, name=name)
    mlflow.log_input(dataset, context=context)
    return str(dataset.digest)


def log_sklearn_model(model: Any, example: pd.DataFrame) -> str:
    """Log the fitted pipeline in MLflow's skops format with a signature and pinned requirements."""
    # Strings for categories, floats for integers: what a caller may send, missing values included.
    example = example.astype(
        dict.fromkeys(example.select_dtypes("category").columns, object)
        | dict.fromkeys(example.select_dtypes("integer").columns, "float64")
    )
    signature = infer_signature(example, model.predict(example))
    info = mlflow.sklearn.log_model(
        model,
        name="model",
        signature=signature,
        input_example=example,
        pip_requirements=[f"{name}=={version(name)}" for name in _MODEL_REQUIREMENTS],
        serialization_format="skops",
        skops_trusted_types=SKOPS_TRUSTED_TYPES,
    )
    return str(info.model_uri)


@dataclass(frozen=True)
class Champion:
    version: str
    run_id: str
    metrics: dict[str, float]


def current_champion(model_name: str, alias: str) -> Champion | None:
    client = MlflowClient()
    try:
        found = client.get_model_version_by_alias(model_name, alias)
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST" or "not found" in exc.message.lower():
            return None
        raise
    run = client.get_run(found.run_id) if found.run_id else None
    return Champion(
        version=str(found.version),
        run_id=str(found.run_id),
        metrics=dict(run.data.metrics) if run else {},
    )


def register_champion(
    *, model_uri: str, run_id: str, model_name: str, alias: str, previous: Champion | None
) -> str:
    """Register a new version, move the alias to it, and record who replaced whom."""
    client = MlflowClient()
    registered = mlflow.register_model(model_uri, model_name, tags={"tabpipe.run_id": run_id})
    new_version = str(registered.version)
    if previous is not None:
        client.set_model_version_tag(model_name, new_version, "replaced_version", previous.version)
        client.set_model_version_tag(
            model_name, previous.version, "replaced_by_version", new_version
        )
    client.set_registered_model_alias(model_name, alias, new_version)
    logger.info("registered {} version {} as '{}'", model_name, new_version, alias)
    return new_version


def describe_model_version(model_name: str, version: str, description: str) -> None:
    """Shown on the version's page in the registry UI (the model card)."""
    MlflowClient().update_model_version(model_name, version, description=description)


def log_metrics(metrics: Mapping[str, float], prefix: str = "") -> None:
    mlflow.log_metrics({f"{prefix}{name}": value for name, value in metrics.items()})


def log_artifact(path: Path, folder: str | None = None) -> None:
    if path.exists():
        mlflow.log_artifact(str(path), artifact_path=folder)


def set_tags(tags: Mapping[str, str]) -> None:
    mlflow.set_tags(dict(tags))


def mark_stale_runs_failed(experiment_id: str) -> int:
    """Runs left RUNNING by a process that no longer exists (killed stage) become FAILED."""
    client = MlflowClient()
    stale = 0
    for run in client.search_runs(
        [experiment_id], filter_string="attributes.status = 'RUNNING'", max_results=1000
    ):
        pid = run.data.tags.get("tabpipe.pid")
        host = run.data.tags.get("tabpipe.host")
        if pid is None or host != os.uname().nodename or _alive(int(pid)):
            continue
        client.set_terminated(run.info.run_id, status="FAILED")
        stale += 1
    return stale


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def log_params_flat(params: Mapping[str, Any]) -> None:
    mlflow.log_params(flatten(params))


def log_figure(figure: Any, artifact_file: str) -> None:
    mlflow.log_figure(figure, artifact_file)


REFERENCE_ARTIFACT = "reference/train.parquet"


def log_reference(frame: pd.DataFrame) -> None:
    """The training data a model saw, for drift checks long after the split files changed."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(REFERENCE_ARTIFACT).name
        frame.to_parquet(path, index=False)
        mlflow.log_artifact(str(path), artifact_path=str(Path(REFERENCE_ARTIFACT).parent))


def load_reference(run_id: str) -> pd.DataFrame:
    local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=REFERENCE_ARTIFACT)
    return pd.read_parquet(local)


def load_champion_model(model_name: str, alias: str) -> Any:
    """The registered champion, loaded by MLflow with the skops trusted types it was saved with."""
    return mlflow.sklearn.load_model(f"models:/{model_name}@{alias}")


def start_monitoring_run(
    experiment_name: str, store: TrackingStore, tags: Mapping[str, str]
) -> str:
    experiment_id = connect(store, experiment_name)
    run = mlflow.start_run(experiment_id=experiment_id, run_name="monitor", tags=dict(tags))
    return str(run.info.run_id)


def end_run() -> None:
    mlflow.end_run()
