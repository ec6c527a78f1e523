"""engine: dask end to end on a 2-worker LocalCluster, on a separately started scheduler,
and against the pandas engine on the same data."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from tabpipe.cli.app import app
from tabpipe.errors import ExitCode
from tabpipe.repositories.model_file import load_model
from tabpipe.repositories.params_file import load_params
from tabpipe.services.data.batches import load_batch
from tests.fixtures.other_machine import install, simulated_machine
from tests.helpers import REPO_ROOT, ProjectFactory
from tests.integration.conftest import VENV_BIN, commit_project, invoke_all, mlflow_client

pytestmark = pytest.mark.integration
runner = CliRunner()

ROWS = 6000
DASK = {"n_workers": 2, "threads_per_worker": 1, "memory_limit": "1GB", "blocksize": "100KB"}
MODEL = {"kind": "xgboost", "n_estimators": 150, "learning_rate": 0.2, "max_depth": 4}


def set_params(project: Path, **sections: Any) -> None:
    """Replace top-level keys or merge into sections of params.yaml."""
    path = project / "params.yaml"
    params = yaml.safe_load(path.read_text())
    for name, value in sections.items():
        params[name] = {**params[name], **value} if isinstance(value, dict) else value
    path.write_text(yaml.safe_dump(params, sort_keys=False))


@pytest.fixture
def project(
    make_project: ProjectFactory, adult_raw: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """6,000 Adult rows as plain CSV (several 100 KB blocks), XGBoost, light gates."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    root = make_project(adult_raw.head(ROWS), raw_name="adult.csv")
    shutil.copytree(REPO_ROOT / "notebooks", root / "notebooks")
    set_params(
        root,
        engine="dask",
        dask=DASK,
        split={"method": "hash"},
        train={"model": MODEL},
        evaluate={"bootstrap_samples": 50},
        gates={"rules": [{"metric": "roc_auc", "min": 0.85}], "slice_gaps": [], "behaviour": []},
    )
    commit_project(root)
    return root


def outputs(root: Path) -> dict[str, Any]:
    """The digests and test metrics a run leaves."""
    dataset = json.loads((root / "reports/ingest/dataset.json").read_text())
    split = json.loads((root / "reports/split/summary.json").read_text())
    metrics = json.loads((root / "reports/metrics.json").read_text())
    return {
        "dataset": dataset["content_sha256"],
        "duplicates": dataset["duplicate_rows"],
        "parts": {
            part["name"]: (part["n_rows"], part["content_sha256"]) for part in split["parts"]
        },
        "test": metrics["test"],
    }


def _assert_validation_curve_recorded(project: Path) -> None:
    """The Dask learner's validation loss per round reaches models/model.json."""
    trained = json.loads((project / "models/model.json").read_text())
    curve = trained["learning_curve"]["val_loss"]
    assert len(curve) >= trained["n_iter"] > 1
    assert min(curve) < curve[0]


def written(root: Path) -> dict[str, str]:
    """The digest of every file the stages ingest to report leave (promote's record aside)."""
    files = [p for folder in ("reports", "models") for p in (root / folder).rglob("*")]
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(files)
        if p.is_file() and p.name != "promotion.json"
    }


def _assert_the_same_bytes_on_another_machine(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each stage run again with every computed float a few ulps off writes the same bytes."""
    here = written(project)
    install(monkeypatch.setattr)  # this process; the notebook kernels through PYTHONPATH:
    monkeypatch.setenv("PYTHONPATH", simulated_machine(tmp_path / "other")["PYTHONPATH"])
    for stage in ("ingest", "split", "train", "evaluate", "drift", "report"):
        invoke_all(stage)
    there = written(project)
    assert {name for name in here if here[name] != there.get(name)} == set()
    assert there.keys() == here.keys()


def test_the_whole_pipeline_runs_on_a_two_worker_local_cluster(
    project: Path, adult_raw: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = invoke_all("ingest")
    assert "LocalCluster of 2 worker(s); dashboard http://127.0.0.1:" in log
    parts = sorted((project / "data/interim/validated.parquet").glob("part.*.parquet"))
    assert len(parts) > 1, "the raw CSV was read in blocks, one Parquet part each"
    invoke_all("split")
    for name in ("train", "val", "test"):
        assert len(list((project / f"data/processed/{name}.parquet").glob("part.*"))) == len(parts)
    assert "XGBoost on Dask" in invoke_all("train")
    _assert_validation_curve_recorded(project)
    assert "gates passed" in invoke_all("evaluate")
    invoke_all("drift")
    invoke_all("report")
    assert "promote" in invoke_all("promote")
    # A partitioned test split (a folder) is part of what promote's record digests.
    assert "nothing changed since the last promote" in invoke_all("promote")
    assert mlflow_client(project).get_model_version_by_alias("tabpipe-adult", "champion")
    _assert_the_same_bytes_on_another_machine(project, tmp_path, monkeypatch)

    metrics = outputs(project)["test"]
    assert metrics["roc_auc"] > 0.85

    # A labelled batch, validated and scored by partition on the cluster.
    batch_file = project / "batch.csv"
    adult_raw.iloc[ROWS : ROWS + 3000].to_csv(batch_file, index=False)
    result = runner.invoke(app, ["monitor", str(batch_file)])
    assert result.exit_code in (ExitCode.OK, ExitCode.DRIFT_DETECTED), result.output
    assert "monitor: scoring" in result.output
    (summary_file,) = (project / "reports/monitoring").glob("*/summary.json")
    summary = json.loads(summary_file.read_text())
    assert summary["n_rows"] == 3000
    assert summary["labelled"]
    assert summary["metrics"]["roc_auc"] > 0.85
    assert not list((project / "reports/monitoring").glob(".scratch-*")), "scratch removed"
    # The model file loads and predicts with no cluster: a plain scikit-learn pipeline.
    model = load_model(project / "models/model.skops")
    batch = load_batch(project / "data/raw/adult.csv", load_params(Path("params.yaml")))
    scores = model.predict_proba(batch.drop(columns=["income"]).head(200))
    assert scores.shape == (200, 2)
    assert np.allclose(scores.sum(axis=1), 1)
    assert set(model.predict(batch.head(200))) <= {"<=50K", ">50K"}
    card = (project / "reports/model_card.md").read_text()
    assert "xgboost" in card

    # An unlabelled batch, validated and scored by partition, streamed into one file.
    unlabelled = project / "unlabelled.csv"
    adult_raw.iloc[ROWS : ROWS + 3000].drop(columns="income").to_csv(unlabelled, index=False)
    output = project / "out" / "predictions.parquet"
    predicted = runner.invoke(app, ["predict", str(unlabelled), "-o", str(output), "--key", "age"])
    assert predicted.exit_code == 0, predicted.output
    assert "parts on the cluster" in predicted.output
    written = pd.read_parquet(output)
    assert written["row"].tolist() == list(range(3000))
    assert written["age"].tolist() == adult_raw["age"].iloc[ROWS : ROWS + 3000].tolist()
    validated = load_batch(unlabelled, load_params(Path("params.yaml")))
    expected = model.predict_proba(validated[list(model.feature_names_in_)])[:, 1]
    np.testing.assert_allclose(written["proba_>50K"], expected, atol=1e-6)
    assert set(written["model_version"]) == {"1"}
    assert not list((project / "out").glob(".scratch-*")), "scratch removed"


def test_pandas_and_dask_engines_agree_on_verdicts_splits_and_metrics(
    project: Path, adult_raw: pd.DataFrame
) -> None:
    for engine in ("pandas", "dask"):
        set_params(project, engine=engine)
        for stage in ("ingest", "split", "train", "evaluate"):
            invoke_all(stage)
        if engine == "pandas":
            on_pandas = outputs(project)
    on_dask = outputs(project)
    assert on_dask["dataset"] == on_pandas["dataset"], "the same validated rows, in order"
    assert on_dask["duplicates"] == on_pandas["duplicates"]
    assert on_dask["parts"] == on_pandas["parts"], "the same rows in train, val and test"
    for name, value in on_pandas["test"].items():  # stated tolerance: 0.005
        assert on_dask["test"][name] == pytest.approx(value, abs=0.005), name

    # Bad values in different blocks: the same verdict, the same report on both engines.
    broken = adult_raw.head(ROWS).copy()
    broken.loc[[10, 2500, 5900], "age"] = [-4, 200, -4]
    broken.loc[[30, 4000], "race"] = ["Martian", "Venusian"]
    broken.to_csv(project / "data/raw/adult.csv", index=False)
    reports = {}
    for engine in ("pandas", "dask"):
        set_params(project, engine=engine)
        result = runner.invoke(app, ["ingest"])
        assert result.exit_code == ExitCode.DATA_INVALID, result.output
        assert "check(s) failed on 6000 rows" in result.output
        report = json.loads((project / "reports/ingest/validation.json").read_text())
        reports[engine] = {
            (f["column"], f["check"]): (f["n_failures"], sorted(f["examples"]))
            for f in report["failures"]
        }
    assert reports["dask"] == reports["pandas"]
    assert reports["dask"][("race", "isin(<5 allowed values, see the schema file>)")][0] == 2


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("truncated.csv.gz", "truncated", "cannot be decompressed or read"),
        ("header.csv", "header", "has a header but no data rows"),
    ],
)
def test_a_broken_raw_file_exits_3_with_one_message_on_dask(
    project: Path, adult_raw: pd.DataFrame, name: str, content: str, message: str
) -> None:
    path = project / "data/raw" / name
    if content == "truncated":
        adult_raw.head(3000).to_csv(path, index=False, compression="gzip")
        path.write_bytes(path.read_bytes()[:20_000])
    else:
        path.write_text(",".join(adult_raw.columns) + "\n")
    set_params(project, data={"raw_path": f"data/raw/{name}"})
    result = runner.invoke(app, ["ingest"])
    assert result.exit_code == ExitCode.DATA_INVALID, result.output
    assert f"data/raw/{name}: {message}" in result.output
    assert "Traceback" not in result.output
    assert not list(project.glob("data/interim/*"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_stage_uses_a_separately_started_scheduler_and_leaves_it_running(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scheduler_file = tmp_path / "scheduler.json"
    dask = str(VENV_BIN / "dask")
    common = ["--no-dashboard"]
    scheduler = subprocess.Popen(
        [dask, "scheduler", "--host", "127.0.0.1", "--port", "0",
         "--scheduler-file", str(scheduler_file), *common],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    worker = None
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.is_file() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        worker = subprocess.Popen(
            [dask, "worker", "--scheduler-file", str(scheduler_file), "--nworkers", "1",
             "--nthreads", "1", "--host", "127.0.0.1", *common],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", address)
        log = invoke_all("ingest")
        assert f"Dask on {address}" in log
        invoke_all("split")
        assert scheduler.poll() is None, "a stage never stops a cluster it did not start"
        assert worker.poll() is None
        assert len(list((project / "data/processed/test.parquet").glob("part.*"))) > 1
    finally:
        for process in (worker, scheduler):
            if process is not None:
                process.terminate()
                process.wait(timeout=30)


def test_workers_that_run_out_of_memory_exit_10_with_what_to_change(project: Path) -> None:
    set_params(project, dask={"memory_limit": "100MB"})  # below a worker's own footprint
    result = runner.invoke(app, ["ingest"])
    assert result.exit_code == ExitCode.CLUSTER_FAILED, result.output
    assert "most often from running out of memory. Raise dask.memory_limit (100MB)" in (
        result.output
    )
    assert "Traceback" not in result.output
    assert not list(project.glob("data/interim/*")), "no partial or temporary output left"


def test_a_scheduler_that_does_not_answer_exits_10_naming_the_address(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_params(project, dask={"timeout_s": 2})
    address = f"tcp://127.0.0.1:{free_port()}"
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", address)
    before = {p.name for p in (project / "data").rglob("*")}
    started = time.monotonic()
    result = runner.invoke(app, ["ingest"])
    assert result.exit_code == ExitCode.CLUSTER_FAILED, result.output
    assert time.monotonic() - started < 60, "bounded, never a hang"
    assert f"DASK_SCHEDULER_ADDRESS={address}: no Dask scheduler answered within 2 s" in (
        result.output
    )
    assert "Traceback" not in result.output
    assert {p.name for p in (project / "data").rglob("*")} == before, "nothing half-written"
    del os.environ["DASK_SCHEDULER_ADDRESS"]


@pytest.mark.parametrize("dataset", ["digits", "diabetes"])
def test_integer_multiclass_labels_and_regression_run_on_dask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dataset: str
) -> None:
    from sklearn.datasets import load_diabetes, load_digits

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    root = tmp_path / dataset
    (root / "data/raw").mkdir(parents=True)
    (root / "schemas").mkdir()
    multiclass = dataset == "digits"
    frame = (load_digits if multiclass else load_diabetes)(as_frame=True).frame
    if multiclass:  # 16 of the 64 pixels keep it quick
        frame = frame[[*[f"pixel_{r}_{c}" for r in (2, 3, 4, 5) for c in (2, 3, 4, 5)], "target"]]
    frame.to_csv(root / "data/raw/data.csv", index=False)
    monkeypatch.chdir(root)
    schema = invoke_all("schema", "infer", "data/raw/data.csv")
    (root / "schemas/data.yaml").write_text(schema[schema.index("schema_type") :])
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    task, metric = ("classification", "accuracy") if multiclass else ("regression", "rmse")
    params |= {
        "engine": "dask",
        "dask": DASK | {"blocksize": "8KB"},
        "data": {"name": dataset, "raw_path": "data/raw/data.csv", "target": "target",
                 "task": task, "schema_path": "schemas/data.yaml", "missing_values": []},
        "train": {"model": {"kind": "xgboost", "n_estimators": 100}},
        "evaluate": {"primary_metric": metric, "bootstrap_samples": 20},
        "gates": {"rules": [{"metric": metric, "min": 0.6} if multiclass
                            else {"metric": metric, "max": 90.0}]},
        "drift": {"enforce": False},
        "mlflow": {"experiment_name": dataset, "registered_model_name": dataset},
    }  # fmt: skip
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    for stage in ("ingest", "split", "train", "evaluate", "drift"):
        invoke_all(stage)
    assert len(list((root / "data/interim/validated.parquet").glob("part.*"))) > 1
    model = load_model(root / "models/model.skops")
    if multiclass:
        assert list(model.classes_) == list(range(10)), "integer labels keep their type"
        assert model.predict(frame.head(50)).dtype.kind == "i"
    metrics = json.loads((root / "reports/metrics.json").read_text())["test"]
    assert metrics["accuracy" if multiclass else "rmse"] == pytest.approx(
        0.9 if multiclass else 60.0, abs=0.1 if multiclass else 25.0
    )


def test_rows_without_a_target_are_dropped_and_counted_on_dask_as_on_pandas(
    project: Path, adult_raw: pd.DataFrame
) -> None:
    """Every block drops its own rows without a label; the counts add up to the pandas
    engine's, and `missing_target: fail` refuses the file with the same message."""
    blanked = adult_raw.head(ROWS).copy()
    blanked.loc[blanked.index[::97], "income"] = None  # spread over every block
    blanked.to_csv(project / "data/raw/adult.csv", index=False)
    schema = project / "schemas/adult.yaml"
    schema.write_text(
        schema.read_text().replace(
            "  income:\n    dtype: category\n",
            "  income:\n    dtype: category\n    nullable: true\n",
        )
    )
    expected = int(blanked["income"].isna().sum())

    def summary(engine: str) -> dict[str, Any]:
        set_params(project, engine=engine)
        result = runner.invoke(app, ["ingest"])
        assert result.exit_code == 0, result.output
        found: dict[str, Any] = json.loads((project / "reports/ingest/dataset.json").read_text())
        return found

    on_dask, on_pandas = summary("dask"), summary("pandas")
    assert on_dask["rows_without_target"] == on_pandas["rows_without_target"] == expected
    assert on_dask["n_rows"] == on_pandas["n_rows"] == ROWS - expected
    assert on_dask["content_sha256"] == on_pandas["content_sha256"]
    set_params(project, engine="dask", ingest={"missing_target": "fail"})
    refused = runner.invoke(app, ["ingest"])
    assert refused.exit_code == ExitCode.DATA_INVALID, refused.output
    # The failure counts every block's rows, as the pandas engine's message does.
    assert (
        f"column 'income': missing values in a non-nullable column (not_nullable) ({expected} rows)"
        in refused.output
    )
    assert "ingest.missing_target is 'fail'" in refused.output
    assert "Traceback" not in refused.output
