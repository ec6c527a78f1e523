"""Any tabular dataset: every shape of data ends in a trained, evaluated model or in one
documented refusal (exit 2 or 3, naming the column and what to do), never in exit 1.

The matrix crosses task, target dtype, feature kinds, missing values, class balance and
size (tests/fixtures/data_shapes.py), each cell with the model kind a user might pick.
Cells run the stages in process (ingest, split, train, evaluate) as `dvc repro` runs
them; tests/integration/test_real_datasets.py runs the whole DVC pipeline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from tabpipe.cli.app import app
from tabpipe.errors import ExitCode
from tabpipe.repositories.model_file import load_model
from tests.fixtures.data_shapes import TARGET, Shape, make_dataset

pytestmark = pytest.mark.integration

STAGES = ("ingest", "split", "train", "evaluate")


@dataclass(frozen=True)
class Cell:
    """A dataset shape, the model a user picks, and what must happen."""

    shape: Shape
    model: dict[str, Any] | None = None  # None: params.yaml's (HistGradientBoosting)
    refusal: tuple[int, str, str] | None = None  # exit code, stage, message fragment
    ingest: dict[str, Any] | None = None
    nullable_target: bool | None = None  # None: as `tabpipe schema infer` drafts it
    positive_class: Any = None  # as a user writes it in params.yaml (1, true, "Yes")

    @property
    def id(self) -> str:
        kind = (self.model or {}).get("kind", "hist_gradient_boosting")
        extra = "-".join(f"{k}={v}" for k, v in (self.ingest or {}).items())
        return "-".join(filter(None, [self.shape.name, kind, extra]))


XGB = {"kind": "xgboost", "n_estimators": 60}
FOREST = {"kind": "random_forest", "n_estimators": 60}
LOGISTIC = {"kind": "logistic_regression"}
RIDGE = {"kind": "ridge"}
SMALL = 80  # just above ingest.min_rows' default (67 rows for a 0.15 split part)

CELLS = [
    # binary: each target dtype, each feature kind, missing values, imbalance, size
    Cell(Shape("binary", "text", "mixed")),
    Cell(Shape("binary", "yes_no", "categorical")),
    Cell(Shape("binary", "boolean", "numeric"), LOGISTIC, positive_class=True),
    Cell(Shape("binary", "int_codes", "boolean", "features"), FOREST, positive_class=1),
    Cell(Shape("binary", "text", "identifier")),
    Cell(Shape("binary", "text", "constant"), XGB),
    Cell(Shape("binary", "yes_no", "mixed", "target", "rare")),
    Cell(Shape("binary", "boolean", "boolean", "features", "rare"), LOGISTIC),
    Cell(Shape("binary", "text", "numeric", n_rows=SMALL)),
    Cell(
        Shape("binary", "text", "mixed", balance="rare", n_rows=SMALL),
        refusal=(ExitCode.DATA_INVALID, "ingest", "too few to appear in every split: 'yes' 3"),
    ),
    # multiclass: text and integer-coded classes
    Cell(Shape("multiclass", "text", "mixed")),
    Cell(Shape("multiclass", "int_codes", "numeric", "features"), LOGISTIC),
    Cell(Shape("multiclass", "text", "categorical", "target"), FOREST),
    Cell(Shape("multiclass", "int_codes", "identifier"), XGB),
    Cell(Shape("multiclass", "text", "boolean", n_rows=SMALL)),
    # regression: integer and decimal targets, categorical features, missing targets
    Cell(Shape("regression", "decimal", "categorical")),
    Cell(Shape("regression", "decimal", "categorical", "features")),
    Cell(Shape("binary", "text", "categorical", "features"), LOGISTIC),
    Cell(Shape("regression", "decimal", "mixed", "target")),
    Cell(Shape("regression", "int", "identifier"), RIDGE),
    Cell(Shape("regression", "decimal", "boolean", "features"), FOREST),
    Cell(Shape("regression", "int", "constant", n_rows=SMALL), RIDGE),
    Cell(Shape("regression", "decimal", "numeric", "target"), XGB),
    # documented refusals of a missing target
    Cell(
        Shape("regression", "decimal", "categorical", "target"),
        ingest={"missing_target": "fail"},
        refusal=(ExitCode.DATA_INVALID, "ingest", "and ingest.missing_target is 'fail'"),
    ),
    Cell(
        Shape("binary", "text", "mixed", "target"),
        nullable_target=False,
        refusal=(ExitCode.DATA_INVALID, "ingest", "set `nullable: true` for 'outcome'"),
    ),
]


def _project(cell: Cell, root: Path, params: dict[str, Any]) -> Path:
    """A project folder holding the cell's raw file, its drafted schema and params.yaml."""
    (root / "data/raw").mkdir(parents=True)  # the working directory: paths are relative
    (root / "schemas").mkdir()
    frame = make_dataset(cell.shape)
    frame.to_csv(root / "data/raw/own.csv", index=False)
    drafted = CliRunner().invoke(app, ["schema", "infer", "data/raw/own.csv"])
    assert drafted.exit_code == 0, drafted.output
    schema = yaml.safe_load(drafted.stdout)
    if cell.nullable_target is not None:
        schema["columns"][TARGET]["nullable"] = cell.nullable_target
    (root / "schemas/own.yaml").write_text(yaml.safe_dump(schema, sort_keys=False))
    task = "regression" if cell.shape.task == "regression" else "classification"
    gated = "roc_auc" if task == "classification" else "r2"
    slices = ["colour"] if "colour" in frame.columns else []
    params["data"] = {
        **params["data"],
        "name": "own",
        "raw_path": "data/raw/own.csv",
        "missing_values": [],
        "drop_columns": [],
        "target": TARGET,
        "task": task,
        "positive_class": "Yes" if cell.shape.target == "yes_no" else cell.positive_class,
        "schema_path": "schemas/own.yaml",
    }
    params["ingest"] = {**params["ingest"], **(cell.ingest or {})}
    params["evaluate"] = {
        **{k: v for k, v in params["evaluate"].items() if k != "threshold"},
        "primary_metric": None,
        "slice_columns": slices,
        "bootstrap_samples": 100,
        "importance_repeats": 2,
    }
    params["gates"] = {
        **params["gates"],
        "policy": "fail_when_evidence",
        "rules": [{"metric": gated, "min": 0.3 if gated == "r2" else 0.6}],
        "slice_gaps": [{"column": c, "metric": gated, "max_gap": 0.5} for c in slices],
        "behaviour": [
            {"kind": "invariance", "column": c, "value": "red", "max_violation_share": 0.5}
            for c in slices
            if task == "classification"  # a regressor's prediction moves with any feature
        ],
    }
    if cell.model is not None:
        params["train"] = {**params["train"], "model": cell.model}
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return root


@pytest.mark.parametrize("cell", CELLS, ids=[cell.id for cell in CELLS])
def test_every_data_shape_ends_in_a_model_or_a_documented_refusal(
    cell: Cell,
    tmp_path: Path,
    raw_params_dict: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    _project(cell, project, raw_params_dict)
    outcome = None
    for stage in STAGES:
        result = CliRunner().invoke(app, [stage])
        assert result.exit_code != ExitCode.UNEXPECTED, f"{stage}: {result.output}"
        assert "Traceback" not in result.output
        if result.exit_code != 0:
            outcome = (result.exit_code, stage, result.output)
            break
    if cell.refusal is not None:
        assert outcome is not None, f"expected a refusal, the pipeline ran: {cell.refusal}"
        code, stage, fragment = cell.refusal
        assert outcome[:2] == (code, stage), outcome
        assert fragment in outcome[2]
        return
    if outcome is not None:
        pytest.fail(f"{outcome[1]} exited {outcome[0]}:\n{outcome[2]}")
    _check_model(cell, project)


def _check_model(cell: Cell, project: Path) -> None:
    """The evaluated model fits the data: classes, metrics, intervals, gates, lineage."""
    raw = make_dataset(cell.shape)
    labelled = raw[raw[TARGET].notna()]
    summary = json.loads((project / "reports/ingest/dataset.json").read_text())
    assert summary["rows_without_target"] == len(raw) - len(labelled)
    assert summary["n_rows"] == len(labelled)
    metrics = json.loads((project / "reports/metrics.json").read_text())
    primary = metrics["primary_metric"]
    assert metrics["interval"]["low"] <= metrics["test"][primary] <= metrics["interval"]["high"]
    gates = json.loads((project / "reports/gates.json").read_text())
    assert gates["passed"] is True, gates
    rule = gates["gates"][0]  # the metric rule: judged by its interval, which it carries
    assert rule["policy"] == "fail_when_evidence"
    assert rule["low"] <= rule["value"] <= rule["high"]
    model = load_model(project / "models/model.skops")
    if cell.shape.classification:
        expected = sorted({str(v) for v in labelled[TARGET]})
        assert sorted(str(c) for c in model.classes_) == expected
        assert metrics["test"]["roc_auc"] > metrics["baseline"]["roc_auc"]
    else:
        assert metrics["test"]["rmse"] < metrics["baseline"]["rmse"]
        predictions = model.predict(pd.read_parquet(project / "data/processed/test.parquet"))
        assert len(set(predictions.round(6))) > 10  # a real regressor, not a class lookup
    record = json.loads((project / "models/model.json").read_text())
    assert record["leakage"]["suspects"] == []
