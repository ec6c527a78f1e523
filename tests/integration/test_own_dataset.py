"""Another dataset, another task, no code change: only a data file, its schema and params.yaml."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

from tabpipe.repositories.model_file import load_model
from tests.helpers import REPO_ROOT, ProjectFactory
from tests.integration.conftest import (
    champion_version,
    commit_project,
    edit_params,
    invoke,
    run,
)

pytestmark = pytest.mark.integration


def _diabetes() -> pd.DataFrame:
    frame: pd.DataFrame = load_diabetes(as_frame=True, scaled=False).frame
    return frame


def _wine() -> pd.DataFrame:
    frame: pd.DataFrame = load_wine(as_frame=True).frame
    return frame.assign(target="cultivar_" + frame["target"].astype(str))


CASES = {
    "regression": (
        _diabetes,
        {"kind": "ridge", "alpha": 1.0},
        "rmse",
        [{"metric": "r2", "min": 0.3}, {"metric": "rmse", "min_uplift": 5.0}],
    ),
    "multiclass": (
        _wine,
        {"kind": "hist_gradient_boosting", "max_iter": 100},
        "roc_auc",
        [{"metric": "accuracy", "min": 0.8}, {"metric": "roc_auc", "min_uplift": 0.3}],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_new_task_trains_gates_and_reports_with_params_and_schema_only(
    case: str, make_project: ProjectFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("DVC_ROOT", raising=False)
    project = make_project()
    shutil.copytree(REPO_ROOT / "notebooks", project / "notebooks")
    make_frame, model, primary, rules = CASES[case]
    make_frame().to_csv(project / "data/raw/own.csv", index=False)
    (project / "schemas/own.yaml").write_text(invoke("schema", "infer", "data/raw/own.csv"))
    task = "regression" if case == "regression" else "classification"
    edit_params(
        project,
        data={
            "name": case,
            "raw_path": "data/raw/own.csv",
            "missing_values": [],
            "drop_columns": [],
            "target": "target",
            "task": task,
            "positive_class": None,
            "schema_path": "schemas/own.yaml",
        },
        train={"model": model},
        evaluate={"primary_metric": primary, "slice_columns": [], "bootstrap_samples": 100},
        gates={"rules": rules, "slice_gaps": [], "behaviour": []},
        mlflow={"experiment_name": case, "registered_model_name": case},
    )
    commit_project(project)

    for stage in ("ingest", "split", "train", "evaluate", "drift", "eda"):
        invoke(stage)
    reported = invoke("report")
    invoke("promote")

    metrics = json.loads((project / "reports/metrics.json").read_text())
    assert metrics["task"] == task
    assert metrics["primary_metric"] == primary
    assert metrics["interval"]["low"] <= metrics["test"][primary] <= metrics["interval"]["high"]
    gates = json.loads((project / "reports/gates.json").read_text())
    assert gates["passed"] is True, gates
    assert champion_version(project, name=case) == "1"
    plots = {path.name for path in (project / "reports/plots").iterdir()}
    # Only this task's curves, nothing of another task; importance for every task, the
    # learning curve for boosted models, the threshold for binary targets only.
    every = {"importance.json", "partial_dependence.json"}
    if case == "regression":
        assert plots - {"learning_curve.json"} == every | {
            "predicted_vs_actual.json",
            "residuals.json",
        }
    else:
        assert plots - {"learning_curve.json"} == every | {"confusion.csv"}
    assert reported.count("report ok") == 1
    model_report = (project / "reports/notebooks/02-model-report.html").read_text()
    assert f"{metrics['test'][primary]:.4f}" in model_report
    assert "data:image/png;base64" in (project / "reports/eda/01-eda.html").read_text()
    # Error analysis in the task's own terms, and a card without another task's leftovers.
    errors = metrics["errors"]
    assert (len(errors["deciles"]), len(errors["worst"])) == (10, 10)
    assert errors["score"] == (
        "predicted value" if task == "regression" else "confidence (highest class probability)"
    )
    card = (project / "reports/model_card.md").read_text()
    assert "Decision threshold" not in card  # binary only
    assert "selection_rate" not in card  # binary fairness rates only
    assert ("mean of the target." in card) == (task == "regression")
    reader = (project / "reports/notebooks/02-model-report.reader.html").read_text()
    assert f"<title>Model report: {case}</title>" in reader


def test_a_yes_no_target_survives_dvc_exp_run_set_param(repo_copy: Path) -> None:
    """`dvc exp run -S` rewrites params.yaml and drops the quotes around "Yes"; the pipeline
    must still read the positive class as the string Yes (YAML 1.2), not as True."""
    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.frame.assign(malignant=(bunch.target == 0).map({True: "Yes", False: "No"}))
    frame.drop(columns="target").to_csv(repo_copy / "data/raw/yes_no.csv", index=False)
    drafted = run(["tabpipe", "schema", "infer", "data/raw/yes_no.csv"], cwd=repo_copy)
    (repo_copy / "schemas/yes_no.yaml").write_text(drafted.stdout)
    edit_params(
        repo_copy,
        data={
            "name": "yes_no",
            "raw_path": "data/raw/yes_no.csv",
            "missing_values": [],
            "drop_columns": [],
            "target": "malignant",
            "task": "classification",
            "positive_class": "Yes",
            "schema_path": "schemas/yes_no.yaml",
        },
        evaluate={"slice_columns": []},
        gates={"rules": [{"metric": "roc_auc", "min": 0.9}], "slice_gaps": [], "behaviour": []},
    )
    assert "positive_class: 'Yes'" in (repo_copy / "params.yaml").read_text()  # quoted now
    (repo_copy / "dvc.lock").unlink()  # another dataset: nothing of the Adult run applies
    run(["git", "add", "-A"], cwd=repo_copy)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "yes"], cwd=repo_copy)

    run(["dvc", "exp", "run", "-S", "train.model.learning_rate=0.05", "train"], cwd=repo_copy)

    rewritten = (repo_copy / "params.yaml").read_text()
    assert "learning_rate: 0.05" in rewritten
    assert "positive_class: Yes\n" in rewritten  # DVC dropped the quotes, as it does
    checked = run(["tabpipe", "params", "--check"], cwd=repo_copy).stdout
    assert "ok" in checked
    assert list(load_model(repo_copy / "models/model.skops").classes_) == ["No", "Yes"]
