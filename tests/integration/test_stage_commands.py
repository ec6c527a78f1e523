"""Each stage command in process, on a small Adult sample, with a real MLflow SQLite store."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
import yaml
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from tabpipe.cli.app import app
from tabpipe.errors import ExitCode
from tests.conftest import ProjectFactory

pytestmark = pytest.mark.integration
runner = CliRunner()


def _invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _set(project: Path, section: str, **values: object) -> None:
    path = project / "params.yaml"
    params = yaml.safe_load(path.read_text())
    params[section] = {**params[section], **values}
    path.write_text(yaml.safe_dump(params, sort_keys=False))


@pytest.fixture
def project(
    make_project: ProjectFactory, adult_raw: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> Path:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("DVC_ROOT", raising=False)
    root = make_project(adult_raw.head(3000))
    _set(root, "evaluate", bootstrap_samples=50)
    _set(
        root,
        "gates",
        rules=[{"metric": "roc_auc", "min": 0.8, "max_drop_vs_champion": 0.02}],
        slice_gaps=[],
    )
    _invoke("ingest")
    _invoke("split")
    return root


def _client(project: Path) -> MlflowClient:
    return MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")


def test_train_evaluate_promote_then_status(project: Path) -> None:
    assert "train ok: hist_gradient_boosting" in _invoke("train")
    assert "gates passed" in _invoke("evaluate")
    assert "promote: tabpipe-adult v1: all gates passed" in _invoke("promote")
    assert "this run's model is already the champion" in _invoke("promote")

    status = _invoke("status")
    assert "tabpipe-adult v1 is 'champion'" in status
    assert "quality gates    reports/gates.md  (passed)" in status
    metrics = json.loads((project / "reports/metrics.json").read_text())
    assert metrics["interval"]["n_resamples"] == 50
    version = _client(project).get_model_version_by_alias("tabpipe-adult", "champion")
    assert (
        version.tags["tabpipe.run_id"]
        == json.loads((project / "models/training_run.json").read_text())["run_id"]
    )


def test_failed_gates_stop_or_warn_and_never_promote(project: Path) -> None:
    _invoke("train")
    _set(project, "gates", rules=[{"metric": "roc_auc", "min": 0.999}], slice_gaps=[])
    failed = runner.invoke(app, ["evaluate"])
    assert failed.exit_code == ExitCode.GATE_FAILED
    assert "1 quality gate(s) failed; the model is not promoted" in failed.output
    assert "roc_auc >= 0.999: FAILED" in failed.output
    assert "Traceback" not in failed.output
    assert (project / "reports/metrics.json").is_file()
    assert "1 gate(s) failed; the alias did not move" in _invoke("promote")

    _set(project, "gates", enforce=False)
    explored = _invoke("evaluate")
    assert "gates FAILED (not enforced)" in explored
    assert "the alias did not move" in _invoke("promote")
    with pytest.raises(MlflowException, match="not found"):
        _client(project).get_model_version_by_alias("tabpipe-adult", "champion")


def test_a_run_left_running_by_a_killed_stage_is_closed_by_the_next_train(
    project: Path,
) -> None:
    client = _client(project)
    experiment_id = client.create_experiment(
        "tabpipe-adult", artifact_location=(project / "mlartifacts").as_uri()
    )
    orphan = client.create_run(
        experiment_id, tags={"tabpipe.pid": "999999999", "tabpipe.host": os.uname().nodename}
    )
    assert client.get_run(orphan.info.run_id).info.status == "RUNNING"
    _invoke("train")
    assert client.get_run(orphan.info.run_id).info.status == "FAILED"


def test_evaluate_without_a_model_says_what_to_run(project: Path) -> None:
    result = runner.invoke(app, ["evaluate"])
    assert result.exit_code == ExitCode.DATA_INVALID
    assert "Run the stage that produces it first" in result.output
