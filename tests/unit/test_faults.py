"""Faults a team meets in a week: a damaged model, a merge conflict, a store held by a reader."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from sklearn.linear_model import LogisticRegression

from tabpipe.errors import ExitCode, ModelFileError
from tabpipe.records.params import Params
from tabpipe.repositories import mlflow_store as store
from tabpipe.repositories.model_file import load_model, save_model
from tabpipe.services.usage.predict import served_model_uri
from tests.helpers import REPO_ROOT, with_overrides

TABPIPE = [str(Path(sys.executable).with_name("tabpipe"))]


def _cut_in_half(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.fixture
def small_model() -> LogisticRegression:
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "y": [0, 0, 1, 1]})
    return LogisticRegression().fit(frame[["x"]], frame["y"])


def test_a_truncated_model_file_is_named_with_what_to_do(
    tmp_path: Path, small_model: LogisticRegression
) -> None:
    path = tmp_path / "model.skops"
    save_model(small_model, path)
    _cut_in_half(path)
    with pytest.raises(ModelFileError) as raised:
        load_model(path)
    message = str(raised.value)
    assert str(path) in message
    assert "not a complete skops model file (BadZipFile" in message
    assert "dvc repro train" in message
    assert raised.value.exit_code == ExitCode.DATA_INVALID


@pytest.fixture
def registered(tmp_path: Path, small_model: LogisticRegression) -> Path:
    """A real SQLite store holding version 1 of model 'faulty'; yields the store's folder."""
    tracking = store.TrackingStore(
        uri=f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_location=str(tmp_path / "artifacts")
    )
    experiment = store.connect(tracking, "faults")
    with store.stage_run(experiment_id=experiment, stage="train"):
        uri = store.log_sklearn_model(small_model, pd.DataFrame({"x": [1.0]}))
    mlflow.register_model(uri, "faulty")
    return tmp_path


def test_a_truncated_registered_artifact_names_its_uri_and_how_to_recover(
    registered: Path,
) -> None:
    assert store.load_version_model("faulty", "1") is not None  # sound before
    (artifact,) = registered.glob("artifacts/**/model.skops")
    _cut_in_half(artifact)
    with pytest.raises(ModelFileError) as raised:
        store.load_version_model("faulty", "1")
    message = str(raised.value)
    assert message.startswith("models:/faulty/1 (artifact model.skops): not a complete skops")
    assert "tabpipe promote --version N" in message
    assert "\n" not in message


def test_a_registered_artifact_that_is_gone_names_its_uri(registered: Path) -> None:
    (artifact,) = registered.glob("artifacts/**/model.skops")
    artifact.unlink()
    with pytest.raises(ModelFileError, match=r"^models:/faulty/1: its artifact model.skops is"):
        store.load_version_model("faulty", "1")


def test_a_long_reader_of_the_sqlite_store_does_not_block_a_stages_writes(
    registered: Path,
) -> None:
    """`make ui` or a database browser holding a read transaction: writes go on (WAL)."""
    database = registered / "mlflow.db"
    with contextlib.closing(sqlite3.connect(database)) as probe:
        assert probe.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    reader = subprocess.Popen(  # a real second process holding a read transaction for 60 s
        [sys.executable, "-c", _LONG_READER, str(database)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert reader.stdout is not None
        assert reader.stdout.readline().strip() == "reading"
        started = time.monotonic()
        experiment = mlflow.get_experiment_by_name("faults")
        assert experiment is not None
        with mlflow.start_run(experiment_id=experiment.experiment_id):
            mlflow.log_metric("written_while_read", 1.0)
        assert time.monotonic() - started < 15  # MLflow's lock timeout would be ~20 s
        assert reader.poll() is None, "the reader still holds its transaction"
    finally:
        reader.kill()
        reader.wait()


_LONG_READER = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN")
connection.execute("SELECT count(*) FROM runs").fetchone()
print("reading", flush=True)
time.sleep(60)
"""


def _conflicted(text: str) -> str:
    lines = text.splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.strip() and not line.startswith("#"))
    conflict = ["<<<<<<< HEAD\n", lines[at], "=======\n", lines[at], ">>>>>>> exp\n"]
    return "".join([*lines[:at], *conflict, *lines[at + 1 :]])


@pytest.mark.parametrize("name", ["params.yaml", "dvc.lock"])
def test_a_merge_conflict_in_params_or_lock_stops_make_train_before_dvc_runs(
    tmp_path: Path, name: str
) -> None:
    """`make train` starts with `tabpipe params --check`: exit 2 naming the file and line."""
    for file in ("params.yaml", "dvc.lock", "dvc.yaml"):
        (tmp_path / file).write_text((REPO_ROOT / file).read_text())
    (tmp_path / "schemas").mkdir()
    for schema in (REPO_ROOT / "schemas").iterdir():
        (tmp_path / "schemas" / schema.name).write_text(schema.read_text())
    check = [*TABPIPE, "params", "--check"]
    checked = subprocess.run(check, cwd=tmp_path, capture_output=True, check=False)
    assert checked.returncode == 0, checked.stderr
    target = tmp_path / name
    target.write_text(_conflicted(target.read_text()))

    refused = subprocess.run(check, cwd=tmp_path, capture_output=True, text=True, check=False)

    assert refused.returncode == ExitCode.BAD_PARAMS
    output = refused.stdout + refused.stderr
    assert f"{name}: holds a merge conflict (line " in output
    assert "Traceback" not in output
    assert "git checkout" in output


def test_make_serve_refuses_a_damaged_champion_before_mlflow_serves_it(
    registered: Path, adult_params: Params, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`tabpipe model-uri` (what `make serve` asks first) loads the version it names."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{registered / 'mlflow.db'}")
    params = with_overrides(
        adult_params, mlflow={"experiment_name": "faults", "registered_model_name": "faulty"}
    )
    MlflowClient().set_registered_model_alias("faulty", "champion", "1")
    assert served_model_uri(params, registered) == "models:/faulty@champion"
    (artifact,) = registered.glob("artifacts/**/model.skops")
    _cut_in_half(artifact)
    with pytest.raises(ModelFileError, match=r"^models:/faulty/1 \(artifact model.skops\): not"):
        served_model_uri(params, registered)
