"""The tracking store: reaching it, and MLflow's errors as tabpipe's."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import mlflow
from loguru import logger
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from tabpipe.errors import TrackingError, TrackingUnavailableError
from tabpipe.repositories.mlflow_store.location import SQLITE_PREFIX, TrackingStore
from tabpipe.utils.text import shorten

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
        f"Detail: {shorten(first_line(detail), 200)}"
    )


def as_unavailable(exc: BaseException) -> TrackingUnavailableError | None:
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
        unavailable = None if exc is None else as_unavailable(exc)
        if unavailable is not None:
            raise unavailable
        return False


reaching_server = _ServerGuard()


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


def connect(tracking: TrackingStore, experiment_name: str) -> str:
    """Point MLflow at the store and return the experiment id (created when missing)."""
    found = open_store(tracking, experiment_name)
    with_write_ahead_log(tracking)
    with store_errors(tracking):
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


def with_write_ahead_log(tracking: TrackingStore) -> None:
    """Put a SQLite store in write-ahead-log mode, once: readers then never block a writer.

    In SQLite's default (rollback journal) mode a reader that keeps a transaction open
    (the MLflow UI of `make ui` on a long page, a database browser) holds a lock that makes
    every write wait, and after MLflow's timeout fail with "database is locked". In WAL
    mode (sqlite.org/wal.html) readers and one writer proceed together. The mode is kept
    in the file; while another connection holds a lock it cannot be switched, and the
    next stage tries again.
    """
    if not tracking.uri.startswith(SQLITE_PREFIX):
        return
    database = Path(tracking.uri.removeprefix(SQLITE_PREFIX))
    if not database.is_file():
        return
    try:
        with contextlib.closing(sqlite3.connect(database, timeout=1)) as connection:
            mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                connection.execute("PRAGMA journal_mode=WAL")
                logger.debug("{}: now in write-ahead-log mode", database)
    except sqlite3.Error as exc:
        logger.debug("{}: journal mode left as it is ({})", database, exc)


def open_store(tracking: TrackingStore, experiment_name: str) -> tuple[str, dict[str, str]] | None:
    """Point MLflow at the store to read it: the experiment's id and tags, None when missing.

    Creates, tags and changes nothing (``tabpipe status`` only looks).
    """
    bound_http_retries()
    mlflow.set_tracking_uri(tracking.uri)
    with store_errors(tracking):
        experiment = mlflow.get_experiment_by_name(experiment_name)
    if experiment is None:
        return None
    return str(experiment.experiment_id), dict(experiment.tags)


@contextlib.contextmanager
def store_errors(tracking: TrackingStore) -> Iterator[None]:
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


def first_line(text: str) -> str:
    """The first non-blank line of an error text (MLflow words some errors over pages)."""
    return text.strip().splitlines()[0] if text.strip() else ""


# The tags runs and versions carry, which stages find each other by.
OWNER_PID, OWNER_HOST, STAGE_TAG = "tabpipe.pid", "tabpipe.host", "tabpipe.stage"
MODEL_SHA_TAG, MODEL_URI_TAG = "tabpipe.model_sha256", "tabpipe.model_uri"
PARENT_TAG = "mlflow.parentRunId"  # MLflow's own tag: the UI nests the run under its parent
