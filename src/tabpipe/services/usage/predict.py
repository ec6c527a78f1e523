"""Batch prediction: a new batch scored by a registered model, written with its provenance.

The batch is validated like the training data (the target is optional), the model comes
from the registry through tabpipe's own trusted-type check, and every output row says
which model version and run scored it. Rows are scored in chunks, so the memory the
predictions need does not grow with the batch.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from loguru import logger

from tabpipe.errors import ParamsError, TrackingError
from tabpipe.records.params import Params
from tabpipe.repositories import mlflow_store as store
from tabpipe.repositories.cluster import dask_client
from tabpipe.repositories.datasets import table_format, write_table, write_table_pieces
from tabpipe.repositories.partitioned import part_files, read_part, scratch_folder, write_part
from tabpipe.services.analysis.metrics import predicted_labels
from tabpipe.services.analysis.thresholds import model_threshold
from tabpipe.services.data.batches import load_batch
from tabpipe.services.engines.dask_batches import batch_columns, validate_parts
from tabpipe.services.usage.registry_view import numbered_version
from tabpipe.utils.hashing import frame_sha256
from tabpipe.utils.progress import with_progress
from tabpipe.utils.project import project_root

CHUNK_ROWS = 100_000
ROW_COLUMN, PREDICTION_COLUMN, THRESHOLD_COLUMN = "row", "prediction", "decision_threshold"
RESERVED = {ROW_COLUMN, PREDICTION_COLUMN, THRESHOLD_COLUMN, "model_name", "model_version",
            "model_run_id"}  # fmt: skip


@dataclass(frozen=True)
class PredictionOutcome:
    """Where the predictions went, how many rows, and which registered version made them."""

    output: Path
    n_rows: int
    model_name: str
    version: str
    run_id: str


def run_predict(
    batch_path: Path,
    output: Path,
    params: Params,
    *,
    alias: str | None = None,
    version: str | None = None,
    keys: Sequence[str] = (),
    root: Path = Path(),
) -> PredictionOutcome:
    """Score a batch with a registered version and write the predictions.

    Reads and validates ``batch_path`` (exit 3 on bad data, nothing written); loads the
    version ``alias`` points at (default ``mlflow.champion_alias``) or ``version``;
    scores it in chunks; writes ``output`` (Parquet, or CSV by suffix) whole, with the
    row's position, the ``keys`` columns, the prediction, one probability per class for
    a classifier, the decision threshold and the model's name, version and run; logs a
    ``predict`` run nested under the model's run with the batch's digest and row count.
    """
    table_format(output)  # a name we cannot write is a usage error, before any work
    if alias is not None and version is not None:
        msg = "--alias and --version: give one of them"
        raise ParamsError(msg)
    registry = params.mlflow
    if params.engine == "dask":
        _check_keys(keys, batch_columns(batch_path, params), batch_path)  # before the cluster
        experiment_id, chosen, model = _registered_model(params, root, alias, version)
        n_rows, digest = _predict_on_dask(batch_path, output, params, model, chosen, keys, root)
    else:
        batch = load_batch(batch_path, params, root)  # bad data: exit 3 before the store
        _check_keys(keys, [str(c) for c in batch.columns], batch_path)
        experiment_id, chosen, model = _registered_model(params, root, alias, version)
        logger.info(
            "predict: {} rows from {} with {} v{}",
            len(batch),
            batch_path,
            registry.registered_model_name,
            chosen.version,
        )
        starts = range(0, len(batch), CHUNK_ROWS)
        scored = pd.concat(
            [
                _score(model, batch.iloc[start : start + CHUNK_ROWS], params)
                for start in with_progress(
                    starts, total=len(starts), label=f"predict: chunk of {CHUNK_ROWS:,} rows"
                )
            ]
            or [_score(model, batch, params)],
            ignore_index=True,
        )
        frame = pd.concat(
            [
                pd.DataFrame({ROW_COLUMN: np.arange(len(batch))}),
                batch[list(keys)].reset_index(drop=True),
                scored,
            ],
            axis=1,
        )
        write_table(_with_provenance(frame, registry.registered_model_name, chosen), root / output)
        n_rows, digest = len(batch), frame_sha256(batch)
    with store.stage_run(
        experiment_id=experiment_id,
        stage="predict",
        parent_run_id=chosen.run_id or None,
        tags={
            store.MODEL_SHA_TAG: chosen.model_sha256 or "unknown",
            "tabpipe.model_version": chosen.version,
            "tabpipe.batch_sha256": digest,
            "tabpipe.batch": str(batch_path),
        },
    ):
        store.log_metrics({"n_rows": float(n_rows)})
    return PredictionOutcome(
        output=output,
        n_rows=n_rows,
        model_name=registry.registered_model_name,
        version=chosen.version,
        run_id=chosen.run_id,
    )


def _registered_model(
    params: Params, root: Path, alias: str | None, version: str | None
) -> tuple[str, store.RegisteredVersion, Any]:
    """The experiment id, the version chosen (``version``, else ``alias``) and its model."""
    registry = params.mlflow
    experiment_id = store.connect(
        store.tracking_store(project_root(root)), registry.experiment_name
    )
    chosen = _version(registry.registered_model_name, alias or registry.champion_alias, version)
    return (
        experiment_id,
        chosen,
        store.load_version_model(registry.registered_model_name, chosen.version),
    )


def _check_keys(keys: Sequence[str], columns: list[str], batch_path: Path) -> None:
    missing = [key for key in keys if key not in columns]
    if missing:
        msg = (
            f"--key: {', '.join(missing)} not a column of {batch_path} "
            f"(its columns: {', '.join(columns)})"
        )
        raise ParamsError(msg)
    taken = [key for key in keys if key in RESERVED or key.startswith("proba_")]
    if taken:
        msg = f"--key: {', '.join(taken)} would clash with an output column of the same name"
        raise ParamsError(msg)


def _with_provenance(
    frame: pd.DataFrame, name: str, chosen: store.RegisteredVersion
) -> pd.DataFrame:
    return frame.assign(model_name=name, model_version=chosen.version, model_run_id=chosen.run_id)


def score_part_to_file(
    part: Path, model: Any, params: Params, keys: tuple[str, ...], folder: Path, index: int
) -> int:
    """One task on a worker: the predictions of one validated part, as part ``index``."""
    frame = read_part(part)
    scored = pd.concat(
        [frame[list(keys)].reset_index(drop=True), _score(model, frame, params)], axis=1
    )
    write_part(scored, folder, index)
    return len(frame)


def _predict_on_dask(
    batch_path: Path,
    output: Path,
    params: Params,
    model: Any,
    chosen: store.RegisteredVersion,
    keys: Sequence[str],
    root: Path,
) -> tuple[int, str]:
    """Validate and score the batch by partition on the cluster; stream the output file.

    Only one part's predictions are in this process at a time; the scratch folder beside
    the output is removed whatever happens. Returns the row count and the batch digest.
    """
    name = params.mlflow.registered_model_name
    with (
        dask_client(params.dask, stage="predict") as client,
        scratch_folder((root / output).parent) as folder,
    ):
        validated = validate_parts(client, batch_path, params, folder, stage="predict", root=root)
        _check_keys(keys, list(pq.read_schema(validated.parts[0]).names), batch_path)
        logger.info(
            "predict: {} rows from {} with {} v{}: scoring {} parts on the cluster",
            validated.n_rows, batch_path, name, chosen.version, len(validated.parts),
        )  # fmt: skip
        cluster: Any = client  # distributed's Client is not annotated
        shared = cluster.scatter(model, broadcast=True)  # sent once, not once per part
        with scratch_folder(folder) as scored_folder:  # beside the validated parts
            futures = [
                cluster.submit(
                    score_part_to_file, part, shared, params, tuple(keys), scored_folder, index,
                    pure=False,
                )
                for index, part in enumerate(validated.parts)
            ]  # fmt: skip
            counts = [int(future.result()) for future in futures]
            scored = part_files(scored_folder)  # in part order, one per validated part
            write_table_pieces(_numbered_pieces(scored, counts, name, chosen), root / output)
    return validated.n_rows, validated.sha256


def _numbered_pieces(
    scored: list[Path], counts: list[int], name: str, chosen: store.RegisteredVersion
) -> Iterator[pd.DataFrame]:
    """The scored parts in order, rows numbered across parts, with the model's provenance."""
    offset = 0
    for path, count in zip(scored, counts, strict=True):
        piece = read_part(path)
        piece.insert(0, ROW_COLUMN, np.arange(offset, offset + count))
        offset += count
        yield _with_provenance(piece, name, chosen)


def served_model_uri(params: Params, root: Path = Path(), alias: str | None = None) -> str:
    """``models:/NAME@ALIAS`` for MLflow's scoring server, once the store holds that alias.

    `make serve` asks for it first, so that a missing store or champion (exit 8), or a
    damaged or untrusted artifact (exit 3), is one line instead of MLflow's traceback from
    inside the server.
    """
    registry = params.mlflow
    tracking = store.tracking_store(project_root(root))
    if not store.store_exists(tracking):
        msg = f"no MLflow store at {tracking.uri} yet: run `make train` first"
        raise TrackingError(msg)
    store.connect(tracking, registry.experiment_name)
    chosen = alias or registry.champion_alias
    name = registry.registered_model_name
    served = store.version_by_alias(name, chosen)
    if served is None:
        msg = f"no '{chosen}' version of model '{name}' in {tracking.uri}: run `make train` first"
        raise TrackingError(msg)
    store.load_version_model(name, served.version)  # a damaged artifact: one line, exit 3
    return f"models:/{name}@{chosen}"


def _version(name: str, alias: str, version: str | None) -> store.RegisteredVersion:
    if version is not None:
        return numbered_version(name, version)
    chosen = store.version_by_alias(name, alias)
    if chosen is None:
        msg = f"no '{alias}' version of model '{name}': run `make train` first (or pick --version)"
        raise TrackingError(msg)
    return chosen


def _score(model: Any, rows: pd.DataFrame, params: Params) -> pd.DataFrame:
    """The prediction, and for a classifier one probability per class and the threshold."""
    features = rows[list(model.feature_names_in_)]
    if params.data.task == "regression":
        return pd.DataFrame({PREDICTION_COLUMN: np.asarray(model.predict(features), float)})
    classes = [str(label) for label in model.classes_]
    proba = np.asarray(model.predict_proba(features), dtype=float)
    scored = pd.DataFrame({PREDICTION_COLUMN: predicted_labels(model, proba)})
    for index, label in enumerate(classes):
        scored[f"proba_{label}"] = proba[:, index]
    # The threshold the label came from: the model's own (binary), none for the most
    # probable of several classes.
    chosen = model_threshold(model)
    two = len(classes) == 2  # noqa: PLR2004
    scored[THRESHOLD_COLUMN] = chosen[0] if chosen is not None else (0.5 if two else np.nan)
    return scored
