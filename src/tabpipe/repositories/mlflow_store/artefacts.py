"""What a run keeps besides numbers: datasets, the logged model, files, figures, the reference."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping
from importlib.metadata import version
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.data.pandas_dataset import from_pandas
from mlflow.models import ModelSignature, infer_signature
from mlflow.types.schema import AnyType, ColSpec, Schema
from pydantic import BaseModel

from tabpipe.repositories.mlflow_store.connection import (
    reaching_server,
)
from tabpipe.repositories.trusted_types import SKOPS_TRUSTED_TYPES
from tabpipe.utils.hashing import frame_sha256

_MODEL_REQUIREMENTS = ("scikit-learn", "skops", "numpy", "pandas", "scipy")


@reaching_server
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


@reaching_server
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


@reaching_server
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


@reaching_server
def log_artifact(path: Path, folder: str | None = None) -> None:
    """Upload a file to the active run (under ``folder``); an absent file is skipped."""
    if path.exists():
        mlflow.log_artifact(str(path), artifact_path=folder)


@reaching_server
def log_record(record: BaseModel, artifact_file: str) -> None:
    """A pydantic record as an indented JSON artifact of the active run."""
    mlflow.log_text(record.model_dump_json(indent=2) + "\n", artifact_file)


@reaching_server
def log_figure(figure: Any, artifact_file: str) -> None:
    """Log a matplotlib figure to the active run as an image artifact."""
    mlflow.log_figure(figure, artifact_file)


REFERENCE_ARTIFACT = "reference/train.parquet"


@reaching_server
def log_reference(frame: pd.DataFrame) -> None:
    """The training data a model saw, for drift checks long after the split files changed."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(REFERENCE_ARTIFACT).name
        frame.to_parquet(path, index=False)
        mlflow.log_artifact(str(path), artifact_path=str(Path(REFERENCE_ARTIFACT).parent))


@reaching_server
def load_reference(run_id: str) -> pd.DataFrame:
    """The training data a run kept for monitoring (see :func:`log_reference`)."""
    local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=REFERENCE_ARTIFACT)
    return pd.read_parquet(local)
