"""Another dataset, another task, no code change: only a data file, its schema and params.yaml."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_wine

from tests.integration.conftest import champion_version, edit_params, run

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
def test_a_new_dataset_trains_and_gates_with_params_and_schema_only(
    case: str, repo_copy: Path
) -> None:
    make_frame, model, primary, rules = CASES[case]
    make_frame().to_csv(repo_copy / "data/raw/own.csv", index=False)
    drafted = run(["tabpipe", "schema", "infer", "data/raw/own.csv"], cwd=repo_copy)
    (repo_copy / "schemas/own.yaml").write_text(drafted.stdout)
    task = "regression" if case == "regression" else "classification"
    edit_params(
        repo_copy,
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
        gates={"rules": rules, "slice_gaps": []},
        mlflow={"experiment_name": case, "registered_model_name": case},
    )

    run(["dvc", "repro"], cwd=repo_copy)

    metrics = json.loads((repo_copy / "reports/metrics.json").read_text())
    assert metrics["task"] == task
    assert metrics["primary_metric"] == primary
    assert metrics["interval"]["low"] <= metrics["test"][primary] <= metrics["interval"]["high"]
    gates = json.loads((repo_copy / "reports/gates.json").read_text())
    assert gates["passed"] is True, gates
    assert champion_version(repo_copy, name=case) == "1"
    plots = {path.name for path in (repo_copy / "reports/plots").iterdir()}
    if case == "regression":
        assert {"predicted_vs_actual.json", "residuals.json"} <= plots
    else:
        assert "confusion.csv" in plots
