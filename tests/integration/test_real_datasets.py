"""Real datasets nobody here tuned for, through the whole pipeline: the seven stages in
process, and `dvc repro` in a copy of the repository, with only a data file, its drafted
schema and params.yaml changed.

- Palmer penguins (the ``palmerpenguins`` package): ``sex`` as a binary target with
  missing values (11 rows), text features, missing measurements; ``bill_length_mm`` as a
  decimal regression target with missing values and categorical features.
- Grunfeld's investment data (statsmodels' bundled copy): ``invest``, a decimal target,
  from a categorical firm and numeric features.
- A matrix cell (tests/fixtures/data_shapes.py): a rare Yes/No target with missing values,
  an identifier and a boolean feature.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from palmerpenguins import load_penguins
from statsmodels.datasets import grunfeld

from tests.fixtures.data_shapes import Shape, make_dataset
from tests.helpers import REPO_ROOT, ProjectFactory
from tests.integration.conftest import champion_version, commit_project, edit_params, invoke, run

pytestmark = pytest.mark.integration


def _penguins() -> pd.DataFrame:
    frame: pd.DataFrame = load_penguins()
    return frame


def _grunfeld() -> pd.DataFrame:
    frame: pd.DataFrame = grunfeld.load_pandas().data
    return frame.assign(year=frame["year"].astype(int))


def _rare_yes_no() -> pd.DataFrame:
    shape = Shape("binary", "yes_no", "identifier", "target", "rare", n_rows=6000)
    return make_dataset(shape).assign(member=lambda f: f["x_signal"] > 0)


Case = tuple[Callable[[], pd.DataFrame], str, str, dict[str, Any], list[dict[str, Any]]]
CASES: dict[str, Case] = {
    # name: (data, target, task, model, gate rules)
    "penguins_sex": (
        _penguins, "sex", "classification", {"kind": "random_forest", "n_estimators": 100},
        [{"metric": "roc_auc", "min": 0.8}, {"metric": "roc_auc", "min_uplift": 0.2}],
    ),
    "grunfeld_invest": (
        _grunfeld, "invest", "regression", {"kind": "hist_gradient_boosting", "max_iter": 200},
        [{"metric": "r2", "min": 0.5}, {"metric": "rmse", "min_uplift": 10.0}],
    ),
    "penguins_bill_length": (
        _penguins, "bill_length_mm", "regression",
        {"kind": "hist_gradient_boosting", "max_iter": 200},
        [{"metric": "r2", "min": 0.5}],
    ),
    "rare_yes_no": (
        _rare_yes_no, "outcome", "classification",
        {"kind": "hist_gradient_boosting", "class_weight": "balanced"},
        [{"metric": "roc_auc", "min": 0.7}],
    ),
}  # fmt: skip


def _own_dataset(project: Path, case: str) -> dict[str, Any]:
    """Write the case's raw file and drafted schema into ``project``; return its params."""
    make_frame, target, task, model, rules = CASES[case]
    frame = make_frame()
    (project / "data/raw").mkdir(parents=True, exist_ok=True)
    frame.to_csv(project / "data/raw/own.csv", index=False)
    drafted = run(["tabpipe", "schema", "infer", "data/raw/own.csv"], cwd=project).stdout
    (project / "schemas/own.yaml").write_text(drafted)
    return {
        "data": {
            "name": case,
            "raw_path": "data/raw/own.csv",
            "missing_values": [],
            "drop_columns": [],
            "target": target,
            "task": task,
            "positive_class": "Yes" if case == "rare_yes_no" else None,
            "schema_path": "schemas/own.yaml",
        },
        "train": {
            "model": model,
            "exclude_columns": ["customer_id"] if case == "rare_yes_no" else [],
        },
        "evaluate": {
            "primary_metric": None,
            "slice_columns": ["island"] if case.startswith("penguins") else [],
        },
        "gates": {"rules": rules, "slice_gaps": [], "behaviour": []},
        "mlflow": {"experiment_name": case, "registered_model_name": case},
    }


def _labelled(case: str) -> pd.DataFrame:
    make_frame, target, *_ = CASES[case]
    frame = make_frame()
    return frame[frame[target].notna()]


@pytest.mark.parametrize("case", ["penguins_sex", "grunfeld_invest"])
def test_a_real_dataset_runs_every_stage_to_a_champion_with_params_and_schema_only(
    case: str, make_project: ProjectFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("DVC_ROOT", raising=False)
    project = make_project()
    (project / "notebooks").mkdir()
    for notebook in (REPO_ROOT / "notebooks").glob("*.ipynb"):
        (project / "notebooks" / notebook.name).write_bytes(notebook.read_bytes())
    edit_params(project, **_own_dataset(project, case))
    commit_project(project)

    for stage in ("ingest", "split", "train", "evaluate", "drift", "report", "promote"):
        invoke(stage)

    summary = json.loads((project / "reports/ingest/dataset.json").read_text())
    assert summary["n_rows"] == len(_labelled(case))
    assert summary["rows_without_target"] == len(CASES[case][0]()) - len(_labelled(case))
    gates = json.loads((project / "reports/gates.json").read_text())
    assert gates["passed"] is True, gates
    assert all(gate["low"] is not None for gate in gates["gates"])
    assert champion_version(project, name=case) == "1"
    card = (project / "reports/model_card.md").read_text()
    assert "| interval |" in card
    status = invoke("status")  # each gate's estimate, interval and policy, one line each
    first = gates["gates"][0]
    assert f"{first['name']}: passed: {first['value']:.4f} [{first['low']:.4f}," in status
    if summary["rows_without_target"]:
        assert "raw rows had no" in card
        # The raw file, rows without a target included, is a batch predict scores whole.
        invoke("predict", "data/raw/own.csv", "--output", "scored.csv")
        scored = pd.read_csv(project / "scored.csv")
        assert len(scored) == len(CASES[case][0]())


@pytest.mark.parametrize("case", ["penguins_bill_length", "rare_yes_no"])
def test_dvc_repro_takes_a_new_dataset_through_promote(case: str, repo_copy: Path) -> None:
    edit_params(repo_copy, **_own_dataset(repo_copy, case))
    (repo_copy / "dvc.lock").unlink()  # another dataset: nothing of the Adult run applies
    run(["git", "add", "-A"], cwd=repo_copy)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", case], cwd=repo_copy)

    result = run(["dvc", "repro"], cwd=repo_copy)

    for stage in ("ingest", "split", "train", "evaluate", "drift", "report", "promote"):
        assert f"Running stage '{stage}'" in result.stdout
    summary = json.loads((repo_copy / "reports/ingest/dataset.json").read_text())
    assert summary["rows_without_target"] > 0
    scores = json.loads((repo_copy / "reports/scores.json").read_text())
    assert scores["gates_passed"] is True
    promotion = json.loads((repo_copy / "reports/promotion.json").read_text())
    assert (promotion["promoted"], promotion["alias"]) == (True, "champion")
    again = run(["dvc", "repro"], cwd=repo_copy)
    assert "Running stage 'train'" not in again.stdout
