"""The whole pipeline under DVC with a real MLflow SQLite store: train, gates, promotion."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from tabpipe.errors import ExitCode
from tests.integration.conftest import champion_version, edit_params, mlflow_client, run

pytestmark = pytest.mark.integration

ADULT_MIN_ROC_AUC = 0.92


def _metrics(repo: Path) -> dict[str, object]:
    loaded = json.loads((repo / "reports/metrics.json").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_full_pipeline_trains_tracks_gates_and_promotes(repo_copy: Path) -> None:
    result = run(["dvc", "repro"], cwd=repo_copy)
    for stage in ("ingest", "split", "train", "evaluate", "promote", "drift"):
        assert f"Running stage '{stage}'" in result.stdout
    drift = json.loads((repo_copy / "reports/drift/drift.json").read_text())
    assert drift["drifted_share"] < drift["max_drifted_share"]  # Adult's test split: no drift
    assert "drift: OK" in result.stdout

    metrics = _metrics(repo_copy)
    test = metrics["test"]
    assert isinstance(test, dict)
    assert test["roc_auc"] >= ADULT_MIN_ROC_AUC
    gates = json.loads((repo_copy / "reports/gates.json").read_text())
    assert gates["passed"] is True
    assert json.loads((repo_copy / "reports/promotion.json").read_text())["version"] == "1"
    for plot in ("roc.json", "precision_recall.json", "calibration.json", "confusion.csv"):
        assert (repo_copy / "reports/plots" / plot).is_file()

    client = mlflow_client(repo_copy)
    version = client.get_model_version_by_alias("tabpipe-adult", "champion")
    assert str(version.version) == "1"
    assert version.run_id is not None
    tracked = client.get_run(version.run_id)
    assert tracked.info.status == "FINISHED"
    assert tracked.data.params["train.model.kind"] == "hist_gradient_boosting"
    assert tracked.data.metrics["test_roc_auc"] == pytest.approx(test["roc_auc"])
    assert tracked.data.metrics["gates_passed"] == 1.0
    assert {"git.commit", "git.dirty", "dvc.lock.sha256"} <= set(tracked.data.tags)
    assert tracked.inputs is not None
    contexts = {
        next(tag.value for tag in ds.tags if tag.key == "mlflow.data.context")
        for ds in tracked.inputs.dataset_inputs
    }
    assert contexts == {"training", "validation", "testing"}
    artifacts = {a.path for a in client.list_artifacts(tracked.info.run_id, "plots")}
    assert "plots/roc_curve.png" in artifacts

    # The registered champion serves raw rows, loaded through skops with declared trusted types.
    mlflow.set_tracking_uri(f"sqlite:///{repo_copy / 'mlflow.db'}")
    model = mlflow.pyfunc.load_model("models:/tabpipe-adult@champion")
    rows = pd.read_parquet(repo_copy / "data/processed/test.parquet").head(5)
    features = rows.drop(columns="income")
    features = features.astype(  # the signature's contract: text and floating-point numbers
        dict.fromkeys(features.select_dtypes("category").columns, object)
        | dict.fromkeys(features.select_dtypes("integer").columns, float)
    )
    assert set(model.predict(features)) <= {"<=50K", ">50K"}

    # An impossible gate: exit 4 from the stage, the champion stays where it was.
    edit_params(repo_copy, gates={"rules": [{"metric": "roc_auc", "min": 0.999}], "slice_gaps": []})
    failed = run(["dvc", "repro"], cwd=repo_copy, check=False)
    assert failed.returncode != 0
    assert "quality gate(s) failed" in failed.stderr
    assert "roc_auc >= 0.999: FAILED" in failed.stderr
    assert champion_version(repo_copy) == "1"
    direct = run(["tabpipe", "evaluate"], cwd=repo_copy, check=False)
    assert direct.returncode == ExitCode.GATE_FAILED
    assert "Traceback" not in direct.stderr
    assert json.loads((repo_copy / "reports/gates.json").read_text())["passed"] is False


def test_a_better_model_takes_the_alias_and_a_worse_one_does_not(repo_copy: Path) -> None:
    weak = {"kind": "hist_gradient_boosting", "max_iter": 2, "early_stopping": False}
    champion_gate: dict[str, object] = {
        "rules": [{"metric": "roc_auc", "min": 0.5, "max_drop_vs_champion": 0.01}],
        "slice_gaps": [],
    }
    edit_params(repo_copy, train={"model": weak}, gates=champion_gate)
    run(["dvc", "repro"], cwd=repo_copy)
    assert champion_version(repo_copy) == "1"
    weak_auc = _metrics(repo_copy)["test"]["roc_auc"]  # type: ignore[index]

    edit_params(repo_copy, train={"model": {"kind": "hist_gradient_boosting"}})
    run(["dvc", "repro"], cwd=repo_copy)
    assert champion_version(repo_copy) == "2"
    assert _metrics(repo_copy)["test"]["roc_auc"] > weak_auc  # type: ignore[index]
    client = mlflow_client(repo_copy)
    assert client.get_model_version("tabpipe-adult", "2").tags["replaced_version"] == "1"
    assert client.get_model_version("tabpipe-adult", "1").tags["replaced_by_version"] == "2"

    edit_params(repo_copy, train={"model": weak})
    worse = run(["dvc", "repro"], cwd=repo_copy, check=False)
    assert worse.returncode != 0
    assert "roc_auc within 0.01 of the champion: FAILED" in worse.stderr
    assert champion_version(repo_copy) == "2"


def test_dvc_experiment_is_its_own_mlflow_run(repo_copy: Path) -> None:
    run(["dvc", "repro"], cwd=repo_copy)
    run(["git", "add", "-A"], cwd=repo_copy)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "run"], cwd=repo_copy)

    run(
        ["dvc", "exp", "run", "-n", "lr-high", "-S", "train.model.learning_rate=0.3"], cwd=repo_copy
    )

    shown = run(["dvc", "exp", "show", "--json"], cwd=repo_copy).stdout
    assert "lr-high" in shown
    assert '"learning_rate": 0.3' in shown.replace("\n", " ").replace("  ", " ") or "0.3" in shown
    client = mlflow_client(repo_copy)
    experiment = client.get_experiment_by_name("tabpipe-adult")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 2
    experiment_run = next(r for r in runs if r.data.tags.get("dvc.experiment") == "lr-high")
    assert experiment_run.data.params["train.model.learning_rate"] == "0.3"
    assert experiment_run.info.run_name == "lr-high"
