from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes
from sklearn.preprocessing import FunctionTransformer

from tabpipe.errors import DataReadError
from tabpipe.records.params import (
    HistGradientBoostingSpec,
    LogisticRegressionSpec,
    ModelSpec,
    RandomForestSpec,
    RidgeSpec,
    Task,
    XGBoostSpec,
)
from tabpipe.repositories.model_file import load_model, model_digest, save_model
from tabpipe.services.modelling.estimators import build_pipeline
from tabpipe.services.modelling.features import FeatureColumns

FRAME = load_diabetes(as_frame=True).frame.assign(
    group=lambda f: pd.Categorical(np.where(f["age"] > 0, "old", "young")),
    label=lambda f: np.where(f["target"] > 140, "high", "low"),
)
COLUMNS = FeatureColumns(
    categorical=("group",),
    numeric=tuple(c for c in FRAME if c not in {"group", "target", "label"}),
)


@pytest.mark.parametrize(
    ("task", "spec"),
    [
        ("classification", HistGradientBoostingSpec()),
        ("classification", LogisticRegressionSpec(kind="logistic_regression")),
        ("classification", RandomForestSpec(kind="random_forest", n_estimators=5)),
        ("regression", HistGradientBoostingSpec()),
        ("regression", RidgeSpec(kind="ridge")),
        ("regression", RandomForestSpec(kind="random_forest", n_estimators=5)),
        ("classification", XGBoostSpec(kind="xgboost", n_estimators=5, early_stopping=False)),
        ("regression", XGBoostSpec(kind="xgboost", n_estimators=5, early_stopping=False)),
    ],
)
def test_every_model_kind_round_trips_through_the_trusted_list(
    task: Task, spec: ModelSpec, tmp_path: Path
) -> None:
    target = "label" if task == "classification" else "target"
    model = build_pipeline(spec, task=task, columns=COLUMNS, seed=0)
    model.fit(FRAME[COLUMNS.all], FRAME[target])
    save_model(model, tmp_path / "model.skops")
    loaded = load_model(tmp_path / "model.skops")
    np.testing.assert_array_equal(
        loaded.predict(FRAME[COLUMNS.all]), model.predict(FRAME[COLUMNS.all])
    )


def arbitrary_code(values: object) -> object:
    return values


def test_a_model_holding_an_untrusted_type_is_refused(tmp_path: Path) -> None:
    save_model(FunctionTransformer(arbitrary_code), tmp_path / "model.skops")
    with pytest.raises(DataReadError, match=r"not on the trusted list: .*arbitrary_code"):
        load_model(tmp_path / "model.skops")
    assert zipfile.is_zipfile(tmp_path / "model.skops")


def test_a_missing_model_says_which_stage_to_run(tmp_path: Path) -> None:
    with pytest.raises(DataReadError, match="Run the train stage first"):
        load_model(tmp_path / "absent.skops")


def test_the_same_fitted_model_gives_the_same_bytes(tmp_path: Path) -> None:
    """skops names members after object ids and stamps the time; the saved file must not."""
    spec = HistGradientBoostingSpec(max_iter=20)
    model = build_pipeline(spec, task="regression", columns=COLUMNS, seed=0)
    model.fit(FRAME[COLUMNS.all], FRAME["target"])
    twin = build_pipeline(spec, task="regression", columns=COLUMNS, seed=0)
    twin.fit(FRAME[COLUMNS.all], FRAME["target"])
    save_model(model, tmp_path / "a.skops")
    save_model(twin, tmp_path / "b.skops")
    assert (tmp_path / "a.skops").read_bytes() == (tmp_path / "b.skops").read_bytes()
    assert model_digest(tmp_path / "a.skops") == model_digest(tmp_path / "b.skops")
    with zipfile.ZipFile(tmp_path / "a.skops") as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    reloaded = load_model(tmp_path / "a.skops")
    np.testing.assert_array_equal(
        reloaded.predict(FRAME[COLUMNS.all]), model.predict(FRAME[COLUMNS.all])
    )
