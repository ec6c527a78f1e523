"""MLflow: the tracking store, the pipeline's run, the logged model and the registry.

Everything that talks to MLflow lives here, so services stay testable on plain
data and ``import mlflow`` (about a second) is paid only by the stages that log.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, Literal

import mlflow
import pandas as pd
from loguru import logger
from mlflow.data.pandas_dataset import from_pandas
from mlflow.entities import Metric, RunStatus
from mlflow.exceptions import MlflowException
from mlflow.models import MetricThreshold, Model, ModelSignature, infer_signature
from mlflow.models.evaluation import EvaluationResult
from mlflow.models.evaluation.validation import ModelValidationFailedException
from mlflow.tracking import MlflowClient
from mlflow.types.schema import AnyType, ColSpec, Schema
from pydantic import BaseModel

from tabpipe.errors import DataReadError, TabpipeError, TrackingError, TrackingUnavailableError
from tabpipe.repositories.model_file import load_model
from tabpipe.repositories.trusted_types import SKOPS_TRUSTED_TYPES
from tabpipe.utils.hashing import frame_sha256
from tabpipe.utils.processes import alive
from tabpipe.utils.text import shorten

DEFAULT_DB = "mlflow.db"
DEFAULT_ARTIFACTS = "mlartifacts"
_MODEL_REQUIREMENTS = ("scikit-learn", "skops", "numpy", "pandas", "scipy")


@dataclass(frozen=True)
class TrackingStore:
    """Where MLflow tracks: a tracking URI and, for the local default, its artifact folder."""

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


def store_exists(tracking: TrackingStore) -> bool:
    """False for the default SQLite store before any run created it (a server: assumed)."""
    prefix = "sqlite:///"
    if tracking.uri.startswith(prefix):
        return Path(tracking.uri.removeprefix(prefix)).is_file()
    return True


# MLflow's own defaults retry an unreachable server for about four minutes (7 retries,
# backoff factor 2, 120 s timeout), and a frozen one (accepts, never answers) for longer;
# a pipeline stage should say what is wrong sooner. With these, a request to a server that
# refuses connections fails in about 3 s and one to a frozen server in about 20 s
# (3 tries of 5 s plus backoff). Each can be overridden in the environment (.env.example).
HTTP_RETRY_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "5",
}
# Once the server failed, the run is closed with one short try (it may be back).
_LAST_TRY = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "2"}
_UNREACHABLE_PREFIX = "API request to "  # how mlflow.utils.rest_utils words a failed request


def bound_http_retries() -> None:
    """Apply the bounded retry defaults where the environment does not set its own."""
    for name, value in HTTP_RETRY_DEFAULTS.items():
        os.environ.setdefault(name, value)


def _unavailable_message(uri: str, detail: str) -> str:
    retries = os.environ.get("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "?")
    timeout = os.environ.get("MLFLOW_HTTP_REQUEST_TIMEOUT", "?")
    return (
        f"MLflow tracking server {uri} did not answer after {retries} retries "
        f"(timeout {timeout} s each). Check that the server is running and reachable from "
        "here, and that MLFLOW_TRACKING_URI is right (unset it to use the local mlflow.db); "
        "then rerun the stage (see docs/runbook.md, 'The tracking server does not answer'). "
        f"Detail: {shorten(_first_line(detail), 200)}"
    )


def _as_unavailable(exc: BaseException) -> TrackingUnavailableError | None:
    """The tabpipe error for an MLflow request that got no answer, else None."""
    if isinstance(exc, MlflowException) and exc.message.startswith(_UNREACHABLE_PREFIX):
        message = _unavailable_message(mlflow.get_tracking_uri(), exc.message)
        # Every later call (closing the run, MLflow's exit handler) gets one short try.
        os.environ.update(_LAST_TRY)
        unavailable = TrackingUnavailableError(message)
        unavailable.__cause__ = exc
        return unavailable
    return None


class _ServerGuard(contextlib.ContextDecorator):
    """Every call into MLflow: a server that stopped answering becomes one clear error."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: BaseException | None, trace: object) -> Literal[False]:
        unavailable = None if exc is None else _as_unavailable(exc)
        if unavailable is not None:
            raise unavailable
        return False


_reaching_server = _ServerGuard()


# The MLflow UI opens an experiment by its kind: without one, MLflow 3 shows the GenAI
# overview (traces, prompts). The note is the experiment's description in the UI.
EXPERIMENT_TAGS = {
    "mlflow.experimentKind": "custom_model_development",
    "mlflow.note.content": (
        "Runs of the tabpipe pipeline. Each `train` run (named after the DVC experiment or "
        "the git commit) holds the parameters, the dataset lineage, the model and its "
        "train / validation / test metrics; its `evaluate`, `drift`, `report` and `promote` "
        "runs are nested under it. Compare training runs by `test_<primary metric>`; the "
        "registered model shows which version is `champion` and `challenger`."
    ),
}
REGISTERED_MODEL_DESCRIPTION = (
    "Registered by tabpipe's promote stage. `champion` is production: it moves only from a "
    "run on a clean commit that passed every gate and beat the champion, or by "
    "`tabpipe promote --version N` / `tabpipe compare --promote`. `challenger` is the model "
    "of the latest experiment or uncommitted run. Each version's description is its model card."
)


def connect(tracking: TrackingStore, experiment_name: str) -> str:
    """Point MLflow at the store and return the experiment id (created when missing)."""
    found = open_store(tracking, experiment_name)
    with _store_errors(tracking):
        if found is None:
            return str(
                mlflow.create_experiment(
                    experiment_name,
                    artifact_location=tracking.artifact_location,
                    tags=EXPERIMENT_TAGS,
                )
            )
        experiment_id, tags = found
        missing = {k: v for k, v in EXPERIMENT_TAGS.items() if k not in tags}
        for key, value in missing.items():  # stores made before; a user's own tags stay
            MlflowClient().set_experiment_tag(experiment_id, key, value)
    return experiment_id


def open_store(tracking: TrackingStore, experiment_name: str) -> tuple[str, dict[str, str]] | None:
    """Point MLflow at the store to read it: the experiment's id and tags, None when missing.

    Creates, tags and changes nothing (``tabpipe status`` only looks).
    """
    bound_http_retries()
    mlflow.set_tracking_uri(tracking.uri)
    with _store_errors(tracking):
        experiment = mlflow.get_experiment_by_name(experiment_name)
    if experiment is None:
        return None
    return str(experiment.experiment_id), dict(experiment.tags)


@contextlib.contextmanager
def _store_errors(tracking: TrackingStore) -> Iterator[None]:
    """MLflow's errors on reaching the store as tabpipe's: unavailable server, unusable store."""
    try:
        yield
    except MlflowException as exc:
        if tracking.uri.startswith(("http://", "https://")):
            message = _unavailable_message(tracking.uri, exc.message)
            os.environ.update(_LAST_TRY)
            raise TrackingUnavailableError(message) from exc
        msg = f"MLflow tracking store {tracking.uri} is not usable: {exc.message}"
        raise TrackingError(msg) from exc


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _end_run(status: int, *, server_lost: bool) -> None:
    """Close the active run; after a lost server, with one short try and no second error."""
    if not server_lost:
        mlflow.end_run(RunStatus.to_string(status))
        return
    with contextlib.suppress(Exception):
        mlflow.end_run(RunStatus.to_string(status))


OWNER_PID, OWNER_HOST, STAGE_TAG = "tabpipe.pid", "tabpipe.host", "tabpipe.stage"
MODEL_SHA_TAG, MODEL_URI_TAG = "tabpipe.model_sha256", "tabpipe.model_uri"
PARENT_TAG = "mlflow.parentRunId"  # MLflow's own tag: the UI nests the run under its parent


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
    with _reaching_server:
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
        unavailable = _as_unavailable(exc)
        _end_run(RunStatus.FAILED, server_lost=unavailable is not None)
        if unavailable is not None:
            raise unavailable from exc
        raise
    with _reaching_server:
        mlflow.end_run(RunStatus.to_string(RunStatus.FINISHED))


@dataclass(frozen=True)
class TrainingRunRef:
    """The MLflow run that logged a model file, found by the file's sha256."""

    run_id: str
    experiment_id: str
    model_uri: str
    metric_names: frozenset[str]


@_reaching_server
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


@_reaching_server
def add_metrics_to_finished_run(run_id: str, metrics: Mapping[str, float]) -> None:
    """Log metrics to a run without reopening it: its status and end time stay as they are."""
    stamp = int(time.time() * 1000)
    MlflowClient().log_batch(
        run_id, metrics=[Metric(key, float(value), stamp, 0) for key, value in metrics.items()]
    )


@_reaching_server
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


@_reaching_server
def log_dataset(frame: pd.DataFrame, *, name: str, source: Path, target: str, context: str) -> str:
    """Dataset lineage: the source, the row count, a digest of every row, and the schema.

    MLflow's own digest hashes a sample, and its schema inference reads category columns
    value by value (19 s for 700,000 Adult rows here); the schema follows from the
    dtypes, which a few rows share with the whole frame, and the digest is tabpipe's
    ``frame_sha256`` of all rows (0.04 s for the same frame).
    """
    dataset = from_pandas(
        frame, source=str(source), targets=target, name=name, digest=frame_sha256(frame)[:16]
    )
    dataset.schema = infer_signature(frame.head(_SCHEMA_ROWS)).inputs  # a cached_property
    mlflow.log_input(dataset, context=context)
    return str(dataset.digest)


_SCHEMA_ROWS = 1000  # rows MLflow infers the dataset's schema from (dtypes decide it)


@_reaching_server
def log_partitioned_dataset(
    sample: pd.DataFrame,
    *,
    name: str,
    source: Path,
    digest: str,
    n_rows: int,
    context: str,
) -> str:
    """Lineage of a partitioned dataset (engine: dask) that no process holds whole.

    MLflow's ``MetaDataset``: the source, the digest of every row (computed where the
    parts were written) and the schema of a sample; the true row count as a tag.
    """
    from mlflow.data.dataset_source_registry import resolve_dataset_source  # noqa: PLC0415
    from mlflow.data.meta_dataset import MetaDataset  # noqa: PLC0415

    dataset = MetaDataset(  # type: ignore[abstract]  # MLflow's class lacks only a profile
        resolve_dataset_source(str(source)),
        name=name,
        digest=digest[:16],
        schema=infer_signature(sample.head(_SCHEMA_ROWS)).inputs,
    )
    mlflow.log_input(dataset, context=context, tags={"n_rows": str(n_rows)})
    return str(dataset.digest)


def model_signature(model: Any, optional: Iterable[str] = ()) -> ModelSignature:
    """What the registered model takes and returns, as a caller sends and reads it.

    Inputs: every feature column by name, of MLflow's ``Any`` type, so that what callers
    naturally send is accepted as it is: integers or floats for a number (CSV rows, JSON),
    pandas categories (the Parquet splits), text, and nulls. MLflow's typed columns would
    refuse int64 for a double column and categories for a string column; the fitted
    pipeline itself converts and rejects values it cannot read. A column the schema
    declares nullable is optional (``optional``); every other one must be present.

    Outputs: a classifier returns one probability per class (pyfunc ``predict_proba``),
    the columns named after the classes in order; a regressor its prediction.
    """
    optional = set(optional)
    inputs = Schema(
        [
            ColSpec(AnyType(), str(name), required=str(name) not in optional)
            for name in model.feature_names_in_
        ]
    )
    classes = getattr(model, "classes_", None)
    if classes is None:
        outputs = Schema([ColSpec("double", "prediction")])
    else:
        outputs = Schema([ColSpec("double", str(label)) for label in classes])
    return ModelSignature(inputs=inputs, outputs=outputs)


@_reaching_server
def log_sklearn_model(
    model: Any,
    example: pd.DataFrame,
    optional: Iterable[str] = (),
    metadata: Mapping[str, Any] | None = None,
) -> str:
    """Log the fitted pipeline in MLflow's skops format with a signature and pinned requirements.

    Through pyfunc (``mlflow.pyfunc.load_model``, ``mlflow models serve``) a classifier
    answers with class probabilities; see :func:`model_signature`.
    """
    info = mlflow.sklearn.log_model(
        model,
        name="model",
        signature=model_signature(model, optional),
        input_example=example,
        pip_requirements=[f"{name}=={version(name)}" for name in _MODEL_REQUIREMENTS],
        serialization_format="skops",
        skops_trusted_types=SKOPS_TRUSTED_TYPES,
        metadata=dict(metadata) if metadata else None,
        pyfunc_predict_fn="predict"
        if getattr(model, "classes_", None) is None
        else "predict_proba",
    )
    return str(info.model_uri)


@dataclass(frozen=True)
class RegisteredVersion:
    """One version of a registered model, with the tags tabpipe records on it."""

    version: str
    run_id: str
    tags: dict[str, str]
    aliases: tuple[str, ...]

    @property
    def model_sha256(self) -> str | None:
        """The sha256 of the model file this version holds (tabpipe's tag)."""
        return self.tags.get(MODEL_SHA_TAG)


def _version(found: Any) -> RegisteredVersion:
    return RegisteredVersion(
        version=str(found.version),
        run_id=str(found.run_id or ""),
        tags=dict(found.tags or {}),
        aliases=tuple(found.aliases or ()),
    )


@_reaching_server
def version_by_alias(model_name: str, alias: str) -> RegisteredVersion | None:
    """The version an alias points at, or None when the alias (or the model) does not exist."""
    try:
        found = MlflowClient().get_model_version_by_alias(model_name, alias)
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST" or "not found" in exc.message.lower():
            return None
        raise
    return _version(found)


@_reaching_server
def model_versions(model_name: str) -> list[RegisteredVersion]:
    """Every version of the model, oldest first (none when the name is not registered)."""
    found = MlflowClient().search_model_versions(f"name = '{model_name}'")
    return sorted((_version(v) for v in found), key=lambda v: int(v.version))


@_reaching_server
def registered_run_ids() -> set[str]:
    """Runs whose model is a registered version: their records are never changed."""
    return {str(v.run_id) for v in MlflowClient().search_model_versions() if v.run_id}


@_reaching_server
def register_version(
    *,
    model_uri: str,
    run_id: str,
    model_name: str,
    tags: Mapping[str, str],
    describe: Callable[[str], str],
) -> str:
    """A new version of ``model_name`` from the model logged in ``run_id``.

    ``describe`` gives the version's description from its number ('' for none).
    """
    printed = io.StringIO()  # MLflow prints its own lines to stderr: pass them to the log
    with contextlib.redirect_stderr(printed):
        registered = mlflow.register_model(
            model_uri, model_name, tags={**tags, "tabpipe.run_id": run_id}
        )
    for line in filter(None, (text.strip() for text in printed.getvalue().splitlines())):
        logger.info("mlflow: {}", line)
    version = str(registered.version)
    client = MlflowClient()
    if not client.get_registered_model(model_name).description:
        client.update_registered_model(model_name, description=REGISTERED_MODEL_DESCRIPTION)
    if description := describe(version):
        client.update_model_version(model_name, version, description=description)
    logger.info("registered {} version {}", model_name, version)
    return version


@_reaching_server
def set_alias(model_name: str, alias: str, version: str) -> None:
    """Point ``alias`` of ``model_name`` at ``version`` (MLflow moves it atomically)."""
    MlflowClient().set_registered_model_alias(model_name, alias, version)
    logger.info("{} version {} is now '{}'", model_name, version, alias)


@_reaching_server
def set_version_tags(model_name: str, version: str, tags: Mapping[str, str]) -> None:
    """Set tags on one registered version."""
    client = MlflowClient()
    for key, value in tags.items():
        client.set_model_version_tag(model_name, version, key, value)


@_reaching_server
def load_version_model(model_name: str, version: str) -> Any:
    """A registered version, loaded with tabpipe's own list of trusted types.

    MLflow's sklearn flavour would trust the types the artifact itself lists in its
    MLmodel file, so a tampered registry entry could name any type and have it built.
    The skops file is downloaded and loaded like the pipeline's own model file, and a
    version that is not skops (a pickle) is refused.
    """
    uri = f"models:/{model_name}/{version}"
    with tempfile.TemporaryDirectory() as folder:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=folder))
        flavor = Model.load(str(local)).flavors.get("sklearn")
        if not isinstance(flavor, dict) or flavor.get("serialization_format") != "skops":
            msg = f"{uri}: not a skops-serialised scikit-learn model; refusing to load it"
            raise DataReadError(msg)
        return load_model(local / str(flavor["pickled_model"]))


@_reaching_server
def log_metrics(metrics: Mapping[str, float], prefix: str = "") -> None:
    """Log metrics to the active run, each name prefixed with ``prefix``."""
    mlflow.log_metrics({f"{prefix}{name}": value for name, value in metrics.items()})


@_reaching_server
def log_artifact(path: Path, folder: str | None = None) -> None:
    """Upload a file to the active run (under ``folder``); an absent file is skipped."""
    if path.exists():
        mlflow.log_artifact(str(path), artifact_path=folder)


@_reaching_server
def log_record(record: BaseModel, artifact_file: str) -> None:
    """A pydantic record as an indented JSON artifact of the active run."""
    mlflow.log_text(record.model_dump_json(indent=2) + "\n", artifact_file)


@_reaching_server
def set_tags(tags: Mapping[str, str]) -> None:
    """Set tags on the active run."""
    mlflow.set_tags(dict(tags))


@_reaching_server
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


@_reaching_server
def log_params_flat(params: Mapping[str, Any]) -> None:
    """Log nested params as dotted MLflow params (see :func:`flatten`)."""
    mlflow.log_params(flatten(params))


@_reaching_server
def log_figure(figure: Any, artifact_file: str) -> None:
    """Log a matplotlib figure to the active run as an image artifact."""
    mlflow.log_figure(figure, artifact_file)


REFERENCE_ARTIFACT = "reference/train.parquet"


@_reaching_server
def log_reference(frame: pd.DataFrame) -> None:
    """The training data a model saw, for drift checks long after the split files changed."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(REFERENCE_ARTIFACT).name
        frame.to_parquet(path, index=False)
        mlflow.log_artifact(str(path), artifact_path=str(Path(REFERENCE_ARTIFACT).parent))


@_reaching_server
def load_reference(run_id: str) -> pd.DataFrame:
    """The training data a run kept for monitoring (see :func:`log_reference`)."""
    local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=REFERENCE_ARTIFACT)
    return pd.read_parquet(local)


@_reaching_server
def start_monitoring_run(
    experiment_name: str, tracking: TrackingStore, tags: Mapping[str, str]
) -> str:
    """Start the run of one ``tabpipe monitor`` call; :func:`end_run` closes it."""
    experiment_id = connect(tracking, experiment_name)
    run = mlflow.start_run(experiment_id=experiment_id, run_name="monitor", tags=dict(tags))
    return str(run.info.run_id)


@_reaching_server
def end_run() -> None:
    """Close the active run as FINISHED."""
    mlflow.end_run()


@dataclass(frozen=True)
class Threshold:
    """A bound on one metric, in the terms of MLflow's ``MetricThreshold``."""

    greater_is_better: bool
    threshold: float | None = None
    min_absolute_change: float | None = None


def meets_threshold(
    metric: str, value: float, bound: Threshold, *, reference: float | None = None
) -> bool:
    """MLflow's own model-validation rule for one metric (``validate_evaluation_results``).

    ``reference`` is the baseline's value, which ``min_absolute_change`` is measured from.
    Pure computation: nothing is logged or read from a store.
    """
    threshold = MetricThreshold(
        threshold=bound.threshold,
        min_absolute_change=bound.min_absolute_change,
        greater_is_better=bound.greater_is_better,
    )
    baseline = None if reference is None else EvaluationResult({metric: reference}, {})
    try:
        mlflow.validate_evaluation_results(
            {metric: threshold}, EvaluationResult({metric: value}, {}), baseline
        )
    except ModelValidationFailedException:
        return False
    return True
