"""The logged model takes rows as callers send them and answers with class probabilities."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest
from mlflow.models import infer_signature
from sklearn.linear_model import Ridge

from tabpipe.records.params import Params
from tabpipe.repositories import mlflow_store as store
from tabpipe.services.data.normalise import normalise_frame
from tabpipe.services.modelling.estimators import build_pipeline
from tabpipe.services.modelling.features import feature_columns
from tabpipe.utils.hashing import frame_sha256


@pytest.fixture(scope="module")
def served(
    adult_splits: dict[str, pd.DataFrame],
    adult_params: Params,
    adult_schema: pa.DataFrameSchema,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[object, object, list[str]]:
    """A fitted pipeline, logged by tabpipe to a real (SQLite) store and loaded as pyfunc."""
    columns = feature_columns(adult_schema, target="income")
    spec = adult_params.train.model.model_copy(update={"max_iter": 30})
    pipeline = build_pipeline(spec, task="classification", columns=columns, seed=0)
    train = adult_splits["train"]
    pipeline.fit(train[columns.all], train["income"])
    folder = tmp_path_factory.mktemp("store")
    tracking = store.TrackingStore(
        uri=f"sqlite:///{folder / 'mlflow.db'}", artifact_location=str(folder / "artifacts")
    )
    experiment = store.connect(tracking, "signature")
    optional = [name for name, column in adult_schema.columns.items() if column.nullable]
    with store.stage_run(experiment_id=experiment, stage="train"):
        uri = store.log_sklearn_model(pipeline, train[columns.all].head(5), optional=optional)
    return pipeline, mlflow.pyfunc.load_model(uri), optional


def test_the_signature_names_every_feature_and_one_probability_per_class(
    served: tuple[object, object, list[str]],
) -> None:
    pipeline, model, optional = served
    signature = model.metadata.signature  # type: ignore[attr-defined]
    inputs = {spec.name: spec.required for spec in signature.inputs.inputs}
    assert list(inputs) == list(pipeline.feature_names_in_)  # type: ignore[attr-defined]
    assert {name for name, required in inputs.items() if not required} == set(optional)
    assert [spec.name for spec in signature.outputs.inputs] == ["<=50K", ">50K"]


def test_parquet_rows_raw_csv_rows_and_json_records_get_the_pipelines_probabilities(
    served: tuple[object, object, list[str]],
    adult_splits: dict[str, pd.DataFrame],
    adult_raw: pd.DataFrame,
    adult_params: Params,
) -> None:
    pipeline, model, _ = served
    test = adult_splits["test"].drop(columns="income").head(20)  # category dtypes, int64
    expected = pipeline.predict_proba(test)  # type: ignore[attr-defined]
    as_parquet = np.asarray(model.predict(test))  # type: ignore[attr-defined]
    np.testing.assert_allclose(as_parquet, expected)

    raw = adult_raw.head(20)  # what a CSV reader gives: int64 numbers, text
    rows = normalise_frame(
        raw, missing_values=adult_params.data.missing_values, drop_columns=["income"]
    ).drop(columns="Unnamed: 0", errors="ignore")
    assert rows["age"].dtype == np.int64
    as_csv = np.asarray(model.predict(rows))  # type: ignore[attr-defined]
    features = list(pipeline.feature_names_in_)  # type: ignore[attr-defined]
    np.testing.assert_allclose(as_csv, pipeline.predict_proba(rows[features]))  # type: ignore[attr-defined]
    assert rows["workclass"].notna().all()  # known categories, not silently "missing"

    records = json.loads(test.head(3).astype(object).to_json(orient="records"))
    records[0]["occupation"] = None  # nullable in the schema: missing is allowed
    records[1]["age"] = float(records[1]["age"])  # 39.0 where 39 was: still a number
    as_json = np.asarray(model.predict(pd.DataFrame(records)))  # type: ignore[attr-defined]
    np.testing.assert_allclose(as_json[1:], expected[1:3])
    assert 0.0 < as_json[0][1] < 1.0


def test_a_missing_required_column_is_refused_by_name(
    served: tuple[object, object, list[str]], adult_splits: dict[str, pd.DataFrame]
) -> None:
    _, model, _ = served
    rows = adult_splits["test"].drop(columns=["income", "age"]).head(3)
    with pytest.raises(mlflow.exceptions.MlflowException, match="age"):
        model.predict(rows)  # type: ignore[attr-defined]


def test_a_regressor_returns_its_prediction() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [2.0, 4.0, 6.0, 8.0]})
    model = Ridge().fit(frame[["x"]], frame["y"])
    signature = store.model_signature(model)
    assert [spec.name for spec in signature.outputs.inputs] == ["prediction"]


def test_dataset_lineage_keeps_every_rows_count_digest_and_the_full_frames_schema(
    adult_splits: dict[str, pd.DataFrame], tmp_path_factory: pytest.TempPathFactory
) -> None:
    train = adult_splits["train"]
    folder = tmp_path_factory.mktemp("lineage")
    tracking = store.TrackingStore(
        uri=f"sqlite:///{folder / 'mlflow.db'}", artifact_location=str(folder / "artifacts")
    )
    experiment = store.connect(tracking, "lineage")
    with store.stage_run(experiment_id=experiment, stage="train") as run_id:
        digest = store.log_dataset(
            train, name="adult-train", source=Path("train.parquet"), target="income", context="x"
        )
    inputs = mlflow.get_run(run_id).inputs
    assert inputs is not None
    (logged,) = inputs.dataset_inputs
    assert digest == frame_sha256(train)[:16] == logged.dataset.digest
    assert json.loads(str(logged.dataset.profile))["num_rows"] == len(train)
    assert json.loads(str(logged.dataset.schema)) == {
        "mlflow_colspec": infer_signature(train).inputs.to_dict()
    }
