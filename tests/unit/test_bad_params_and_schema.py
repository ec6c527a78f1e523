"""Bad parameters and schema files: exit 2 before any data is judged, naming the key, and
bad data that passed every column check but not the dataset-level bounds: exit 3.

Each case names the command, what breaks, the exit code and a fragment of the message.
Nothing the last good run wrote is touched.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from tabpipe.cli.app import app
from tabpipe.errors import ExitCode
from tabpipe.repositories.params_file import load_params
from tests.helpers import ProjectFactory

SCHEMA = Path("schemas/adult.yaml")
RAW = Path("data/raw/adult.csv.gz")
OUTPUTS = (Path("data/interim/validated.parquet"), Path("reports/ingest/dataset.json"))

Breaker = Callable[[Path, pd.DataFrame], None]


def _edit_schema(project: Path, change: Callable[[str], str]) -> None:
    path = project / SCHEMA
    path.write_text(change(path.read_text()))


def _edit_params(project: Path, section: str, **values: Any) -> None:
    path = project / "params.yaml"
    params = yaml.safe_load(path.read_text())
    params[section] = {**params[section], **values}
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def _raw(project: Path, frame: pd.DataFrame) -> None:
    frame.to_csv(project / RAW, index=False)


def _schema_text(old: str, new: str) -> Breaker:
    return lambda project, _: _edit_schema(project, lambda text: text.replace(old, new, 1))


def _params(section: str, **values: Any) -> Breaker:
    return lambda project, _: _edit_params(project, section, **values)


def _rows(pick: Callable[[pd.DataFrame], pd.DataFrame]) -> Breaker:
    return lambda project, frame: _raw(project, pick(frame))


def _schema_is_a_list(project: Path, _: pd.DataFrame) -> None:
    (project / SCHEMA).write_text("- age\n- income\n")


def _rare_class(frame: pd.DataFrame) -> pd.DataFrame:
    income = frame["income"].str.strip()
    return pd.concat([frame[income == "<=50K"].head(300), frame[income == ">50K"].head(3)])


AGE_MIN = "greater_than_or_equal_to: 17.0"
CASES: dict[str, tuple[Breaker, int, str]] = {
    "misspelt check name": (
        _schema_text(AGE_MIN, "greater_than_or_equalz: 17.0"),
        ExitCode.BAD_PARAMS,
        "columns.age: unknown key or check 'greater_than_or_equalz': "
        "did you mean 'greater_than_or_equal_to'?",
    ),
    "bound of the wrong type": (
        _schema_text(AGE_MIN, "greater_than_or_equal_to: seventeen"),
        ExitCode.BAD_PARAMS,
        "columns.age.greater_than_or_equal_to: must be a number for this numeric column, "
        "got 'seventeen'",
    ),
    "schema file is a list": (
        _schema_is_a_list,
        ExitCode.BAD_PARAMS,
        "the file is a list, not a mapping",
    ),
    "unknown top-level key": (
        _schema_text("schema_type: dataframe", "schema_type: dataframe\nstrictly: true"),
        ExitCode.BAD_PARAMS,
        "unknown top-level key 'strictly': did you mean 'strict'?",
    ),
    "isin not a list": (
        _schema_text(
            "    isin:\n    - Federal-gov", "    isin: Federal-gov\n    notin:\n    - Federal-gov"
        ),
        ExitCode.BAD_PARAMS,
        "columns.workclass.isin: must be a list of values, got 'Federal-gov'",
    ),
    "target not in the schema": (
        _params("data", target="salary"),
        ExitCode.BAD_PARAMS,
        "data.target: 'salary' is not a column of the schema schemas/adult.yaml",
    ),
    "drop column absent from the file": (
        _params("data", drop_columns=["Unnamed: 0", "row_id"]),
        ExitCode.BAD_PARAMS,
        "data.drop_columns: 'row_id' not in data/raw/adult.csv.gz",
    ),
    "too few rows": (
        _rows(lambda frame: frame.head(8)),
        ExitCode.DATA_INVALID,
        "8 valid rows, fewer than the 67 required (10 rows for the smallest split fraction, 0.15)",
    ),
    "a class too rare to split": (
        _rows(_rare_class),
        ExitCode.DATA_INVALID,
        "class(es) with fewer than 7 rows, too few to appear in every split: '>50K' 3",
    ),
    "too many missing cells": (
        _params("ingest", max_missing_share=0.001),
        ExitCode.DATA_INVALID,
        "of all cells are missing, above ingest.max_missing_share (0.001)",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_params_or_schema_exit_2_and_bad_datasets_exit_3_leaving_outputs_alone(
    case: str, adult_raw: pd.DataFrame, make_project: ProjectFactory
) -> None:
    sample = adult_raw.head(400).copy()
    project = make_project(sample)
    runner = CliRunner()
    assert runner.invoke(app, ["ingest"]).exit_code == ExitCode.OK
    before = {path: (project / path).read_bytes() for path in OUTPUTS}

    breaker, code, fragment = CASES[case]
    breaker(project, sample)
    result = runner.invoke(app, ["ingest"])

    assert result.exit_code == code, result.output
    assert fragment in result.output
    assert "Traceback" not in result.output
    assert {path: (project / path).read_bytes() for path in OUTPUTS} == before
    assert not list((project / "data/interim").glob(".*.tmp"))


def test_params_check_cross_checks_every_column_name_at_once(
    make_project: ProjectFactory,
) -> None:
    project = make_project()
    _edit_params(project, "data", positive_class="rich")
    _edit_params(project, "evaluate", slice_columns=["gender", "sex"])
    _edit_params(project, "train", exclude_columns=["id"])
    _edit_params(project, "drift", per_column_method={"agee": "psi", "prediction": "psi"})
    _edit_params(
        project, "gates", behaviour=[{"kind": "invariance", "column": "colour", "value": "red"}]
    )

    result = CliRunner().invoke(app, ["params", "--check"])

    assert result.exit_code == ExitCode.BAD_PARAMS, result.output
    for fragment in (
        "5 parameter(s) do not match the data's schema",
        "gates.behaviour.0.column: 'colour' is not a column",
        "data.positive_class: 'rich' is not a declared value of 'income' (allowed: <=50K, >50K)",
        "evaluate.slice_columns.1: 'sex' is not a column",
        "train.exclude_columns.0: 'id' is not a column",
        "drift.per_column_method.agee: 'agee' is not a column",
    ):
        assert fragment in result.output


@pytest.mark.parametrize("stage", ["ingest", "split", "train", "evaluate", "drift"])
def test_every_stage_checks_every_column_name_before_any_work(
    stage: str, make_project: ProjectFactory
) -> None:
    """Under plain `dvc repro` the first stage that runs stops on a later stage's key."""
    project = make_project()
    _edit_params(project, "evaluate", slice_columns=["sex"])
    result = CliRunner().invoke(app, [stage])
    assert result.exit_code == ExitCode.BAD_PARAMS, result.output
    assert "evaluate.slice_columns.0: 'sex' is not a column of the schema" in result.output
    assert "Traceback" not in result.output
    assert not (project / "data/interim/validated.parquet").exists()
    assert not (project / "data/processed").exists()


def test_params_read_with_yaml_1_2_rules_as_dvc_writes_them(make_project: ProjectFactory) -> None:
    """`dvc exp run -S` rewrites params.yaml with YAML 1.2 rules: unquoted Yes is a string,
    1e-3 a number (PyYAML's YAML 1.1 reads them as True and as the string '1e-3')."""
    project = make_project()
    text = (project / "params.yaml").read_text()
    text = text.replace("name: adult", "name: Yes").replace(
        "learning_rate: 0.1", "learning_rate: 1e-3"
    )
    (project / "params.yaml").write_text(text)
    result = CliRunner().invoke(app, ["params", "--check"])
    assert result.exit_code == ExitCode.OK, result.output
    assert "dataset 'Yes'" in result.output
    assert load_params(project / "params.yaml").train.model.model_dump()["learning_rate"] == 0.001


def test_every_rule_the_task_breaks_is_reported_in_one_run(make_project: ProjectFactory) -> None:
    project = make_project()
    _edit_params(project, "data", task="regression", positive_class=None)
    result = CliRunner().invoke(app, ["params", "--check"])
    assert result.exit_code == ExitCode.BAD_PARAMS, result.output
    params = yaml.safe_load((project / "params.yaml").read_text())
    assert "evaluate.primary_metric: 'roc_auc' is not a regression metric" in result.output
    for i, rule in enumerate(params["gates"]["rules"]):  # every gate, not just the first
        assert f"gates.rules.{i}.metric: '{rule['metric']}' is not a regression metric" in (
            result.output
        )
    assert "Value error" not in result.output


def test_switching_the_model_kind_names_the_keys_to_delete_and_the_new_kinds_keys(
    make_project: ProjectFactory,
) -> None:
    project = make_project()
    params = yaml.safe_load((project / "params.yaml").read_text())
    old_keys = sorted(set(params["train"]["model"]) - {"kind"})
    params["train"]["model"]["kind"] = "random_forest"
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    result = CliRunner().invoke(app, ["params", "--check"])

    assert result.exit_code == ExitCode.BAD_PARAMS, result.output
    line = next(line for line in result.output.splitlines() if "train.model:" in line)
    assert all(key in line for key in old_keys)
    assert "keys of kind hist_gradient_boosting" in line
    assert "not of 'random_forest'" in line
    assert "('random_forest' takes: class_weight, kind, max_depth, max_features, min_sam" in line
    assert len([ln for ln in result.output.splitlines() if "train.model" in ln]) == 1
