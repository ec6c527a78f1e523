from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pandera.pandas as pa
import pytest
import typer
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from tabpipe.cli.app import app
from tabpipe.cli.errors import exit_on_error
from tabpipe.errors import ExitCode
from tabpipe.repositories.raw_data import read_raw
from tabpipe.services.data.normalise import normalise_frame
from tests.helpers import ProjectFactory

runner = CliRunner()


def test_params_schema_prints_json_schema(make_project: ProjectFactory) -> None:
    make_project()
    result = runner.invoke(app, ["params", "--schema"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["title"] == "Params"


def test_params_check_exits_2_naming_the_bad_key(make_project: ProjectFactory) -> None:
    project = make_project()
    params = project / "params.yaml"
    params.write_text(params.read_text().replace("task: classification", "task: ranking"))
    result = runner.invoke(app, ["params", "--check"])
    assert result.exit_code == ExitCode.BAD_PARAMS
    assert "data.task: Input should be 'classification' or 'regression'" in result.output
    assert "Traceback" not in result.output


def test_bad_params_stop_a_stage_before_any_work(make_project: ProjectFactory) -> None:
    project = make_project()
    params = project / "params.yaml"
    params.write_text(params.read_text().replace("seed: 42", "seed: -1"))
    result = runner.invoke(app, ["ingest"])
    assert result.exit_code == ExitCode.BAD_PARAMS
    assert "split.seed" in result.output
    assert not (project / "data/interim").exists()


def test_missing_schema_file_is_a_params_error(make_project: ProjectFactory) -> None:
    project = make_project()
    (project / "schemas/adult.yaml").unlink()
    result = runner.invoke(app, ["ingest"])
    assert result.exit_code == ExitCode.BAD_PARAMS
    assert "schema file not found" in result.output


def test_ingest_then_split_then_status(make_project: ProjectFactory) -> None:
    project = make_project()
    assert runner.invoke(app, ["ingest"]).exit_code == 0
    result = runner.invoke(app, ["split"])
    assert result.exit_code == 0, result.output
    assert "split ok: train=22792, val=4884, test=4885" in result.stdout
    status = runner.invoke(app, ["status"])
    assert "32561 rows x 14 columns" in status.stdout
    for name in ("train", "val", "test"):
        assert (project / f"data/processed/{name}.parquet").is_file()
    logs = (project / "logs/tabpipe.jsonl").read_text().splitlines()
    record = json.loads(logs[-1])
    assert record["record"]["level"]["name"] == "INFO"


def test_split_before_ingest_says_what_to_run(make_project: ProjectFactory) -> None:
    make_project()
    result = runner.invoke(app, ["split"])
    assert result.exit_code == ExitCode.DATA_INVALID
    assert "Run the stage that produces it first" in result.output


def test_schema_infer_drafts_a_schema_the_data_passes(repo_root: Path, tmp_path: Path) -> None:
    raw = repo_root / "data/raw/adult.csv.gz"
    result = runner.invoke(
        app, ["schema", "infer", str(raw), "--missing", "?", "--drop-column", "Unnamed: 0"]
    )
    assert result.exit_code == 0, result.output
    draft = tmp_path / "draft.yaml"
    draft.write_text(result.stdout)
    schema = pa.DataFrameSchema.from_yaml(draft)
    assert schema.strict is True
    assert set(schema.columns["workclass"].checks[0].statistics["allowed_values"]) >= {"Private"}
    frame = normalise_frame(
        read_raw(raw, file_format="csv"), missing_values=("?",), drop_columns=("Unnamed: 0",)
    )
    schema.validate(frame, lazy=True)


def test_schema_infer_marks_unique_identifiers_but_never_a_decimal_measurement(
    tmp_path: Path,
) -> None:
    raw = tmp_path / "ids.parquet"
    pd.DataFrame(
        {"id": ["a", "b", "c"], "n": [7, 8, 9], "v": [1, 1, 2], "x": [0.5, 1.25, 2.0]}
    ).to_parquet(raw)
    result = runner.invoke(app, ["schema", "infer", str(raw)])
    schema = pa.DataFrameSchema.from_yaml(result.stdout.split("\n", 3)[3])
    assert schema.columns["id"].unique
    assert schema.columns["n"].unique
    assert not schema.columns["v"].unique
    assert not schema.columns["x"].unique  # all distinct here, but a measurement


def test_unexpected_errors_exit_1_with_one_line_and_a_traceback_only_when_verbose(
    make_project: ProjectFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project()

    def broken(*_: object, **__: object) -> str:
        raise RuntimeError("boom")

    monkeypatch.setattr("tabpipe.services.reporting.outputs.describe_outputs", broken)
    quiet = runner.invoke(app, ["status"])
    assert quiet.exit_code == ExitCode.UNEXPECTED
    assert "unexpected error: RuntimeError: boom (rerun with --verbose" in quiet.output
    assert "Traceback" not in quiet.output
    verbose = runner.invoke(app, ["--verbose", "status"])
    assert verbose.exit_code == ExitCode.UNEXPECTED
    assert "Traceback" in verbose.output


def test_interrupt_exits_130() -> None:
    with pytest.raises(typer.Exit) as excinfo, exit_on_error(verbose=False):
        raise KeyboardInterrupt
    assert excinfo.value.exit_code == 130


def test_help_lists_the_stage_commands() -> None:
    result = runner.invoke(app, ["--help"])
    for command in ("params", "ingest", "split", "schema", "status"):
        assert command in result.stdout


def test_version_prints_the_installed_packages_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"tabpipe {importlib.metadata.version('tabpipe')}\n"


def test_a_corrupted_summary_is_a_clear_error(make_project: ProjectFactory) -> None:
    project = make_project()
    assert runner.invoke(app, ["ingest"]).exit_code == 0
    (project / "reports/ingest/dataset.json").write_text('{"name": 3}')
    result = runner.invoke(app, ["status"])
    assert result.exit_code == ExitCode.STALE_OUTPUTS
    assert "not a valid DatasetSummary" in result.output


def test_params_get_prints_one_validated_value_and_names_an_unknown_key(
    make_project: ProjectFactory,
) -> None:
    make_project()
    assert runner.invoke(app, ["params", "--get", "mlflow.champion_alias"]).stdout == "champion\n"
    assert runner.invoke(app, ["params", "--get", "split.group_column"]).stdout == "\n"
    listed = runner.invoke(app, ["params", "--get", "evaluate.slice_columns"])
    assert json.loads(listed.stdout) == ["gender", "race"]
    unknown = runner.invoke(app, ["params", "--get", "mlflow.champion"])
    assert unknown.exit_code == ExitCode.BAD_PARAMS
    assert "mlflow.champion: 'champion' is not a key of mlflow (keys: experiment_name" in (
        unknown.output
    )


def test_status_reads_the_registry_without_creating_or_tagging_anything(
    make_project: ProjectFactory,
) -> None:
    project = make_project()
    uri = f"sqlite:///{project / 'mlflow.db'}"
    client = MlflowClient(uri)
    client.create_experiment("someone-else")  # a store exists, without this project's experiment
    status = runner.invoke(app, ["status"])
    assert "registry (" in status.stdout
    assert "champion         none" in status.stdout
    assert client.get_experiment_by_name("tabpipe-adult") is None


_MAIN_THEN_FREEZE_COUNT = (
    "import gc, sys\n"
    "from tabpipe.cli.app import main\n"
    "sys.argv = ['tabpipe', {args}]\n"
    "try:\n"
    "    main()\n"
    "except SystemExit as exit:\n"
    "    print(exit.code, gc.get_freeze_count() > 0)\n"
)


@pytest.mark.parametrize(("args", "code"), [("'--version'", "0"), ("'no-such-command'", "2")])
def test_the_entry_point_freezes_what_is_left_so_the_process_exits_without_a_last_sweep(
    args: str, code: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _MAIN_THEN_FREEZE_COUNT.format(args=args)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert done.stdout.split()[-2:] == [code, "True"], done.stdout + done.stderr
