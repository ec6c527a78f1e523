"""Every way raw data can break gives exit 3, one readable message, and loses nothing."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from tabpipe.cli.app import app
from tabpipe.errors import ExitCode
from tests.fixtures.read_only import read_only_folder
from tests.helpers import ProjectFactory

RAW = Path("data/raw/adult.csv.gz")
OUTPUTS = (
    Path("data/interim/validated.parquet"),
    Path("reports/ingest/dataset.json"),
)

Breaker = Callable[[pd.DataFrame, Path], None]


def _write(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False)


def _empty(_: pd.DataFrame, path: Path) -> None:
    path.write_bytes(b"")


def _header_only(frame: pd.DataFrame, path: Path) -> None:
    _write(frame.head(0), path)


def _undecodable(frame: pd.DataFrame, path: Path) -> None:
    text = frame.to_csv(index=False).encode()
    path.write_bytes(gzip.compress(text[:500] + b"\xff\xfe\xfa" + text[500:]))


def _corrupt_gzip(frame: pd.DataFrame, path: Path) -> None:
    path.write_bytes(gzip.compress(frame.to_csv(index=False).encode())[:2000])


def _wrong_delimiter(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, sep=";")


def _missing_column(frame: pd.DataFrame, path: Path) -> None:
    _write(frame.drop(columns=["education"]), path)


def _extra_column(frame: pd.DataFrame, path: Path) -> None:
    _write(frame.assign(shoe_size=42), path)


def _missing_target(frame: pd.DataFrame, path: Path) -> None:
    _write(frame.drop(columns=["income"]), path)


def _wrong_type(frame: pd.DataFrame, path: Path) -> None:
    broken = frame.astype({"age": object})
    broken.loc[3, "age"] = "forty"
    _write(broken, path)


def _out_of_range(frame: pd.DataFrame, path: Path) -> None:
    _write(frame.assign(age=frame["age"].where(frame.index != 5, 150)), path)


def _unknown_category(frame: pd.DataFrame, path: Path) -> None:
    broken = frame.copy()
    broken.loc[7, "workclass"] = " Space-force"
    _write(broken, path)


def _one_class(frame: pd.DataFrame, path: Path) -> None:
    _write(frame.assign(income=" <=50K"), path)


def _huge_value(frame: pd.DataFrame, path: Path) -> None:
    broken = frame.copy()
    broken.loc[9, "workclass"] = "x" * 1_000_000
    _write(broken, path)


def _all_missing(frame: pd.DataFrame, path: Path) -> None:
    _write(frame.assign(occupation=" ?"), path)


CASES: dict[str, tuple[Breaker, str]] = {
    "missing file": (lambda _, path: path.unlink(), "file not found"),
    "empty file": (_empty, "file is empty"),
    "header only": (_header_only, "has a header (15 columns) but no data rows"),
    "undecodable bytes": (_undecodable, "cannot be decoded as utf-8"),
    "corrupt gzip": (_corrupt_gzip, "cannot be decompressed"),
    "wrong delimiter": (_wrong_delimiter, "Is data.delimiter (',') right"),
    "missing column": (
        _missing_column,
        "column missing from the data (column_in_dataframe): education",
    ),
    "extra column": (
        _extra_column,
        "column not declared in the schema (column_in_schema): shoe_size",
    ),
    "missing target": (
        _missing_target,
        "column missing from the data (column_in_dataframe): income",
    ),
    "wrong type": (_wrong_type, "column 'age': coerce_dtype('int64'): forty"),
    "out of range": (_out_of_range, "column 'age': less_than_or_equal_to(90.0): 150"),
    "unknown category": (_unknown_category, "column 'workclass': isin("),
    "one-class target": (_one_class, "column 'income': the target has fewer than two classes"),
    "all-NA column": (_all_missing, "column 'occupation': every value is missing"),
    "a 1 MB value": (_huge_value, "xxxxxxxx... (1,000,000 characters)"),
}


@pytest.fixture
def sample(adult_raw: pd.DataFrame) -> pd.DataFrame:
    return adult_raw.head(400).copy()


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_exits_3_with_one_message_and_keeps_earlier_outputs(
    case: str, sample: pd.DataFrame, make_project: ProjectFactory
) -> None:
    runner = CliRunner()
    project = make_project(sample)
    first = runner.invoke(app, ["ingest"])
    assert first.exit_code == ExitCode.OK, first.output
    before = {path: (project / path).read_bytes() for path in OUTPUTS}

    breaker, expected = CASES[case]
    breaker(sample, project / RAW)
    result = runner.invoke(app, ["ingest"])

    assert result.exit_code == ExitCode.DATA_INVALID, result.output
    assert expected in result.output
    assert "Traceback" not in result.output
    assert len(result.output) < 20_000  # every echoed value is shortened
    assert str(RAW) in result.output
    assert {path: (project / path).read_bytes() for path in OUTPUTS} == before
    assert not list((project / "data/interim").glob(".*.tmp"))


def test_schema_failures_leave_a_machine_readable_report(
    sample: pd.DataFrame, make_project: ProjectFactory
) -> None:
    project = make_project(sample)
    _out_of_range(sample, project / RAW)
    result = CliRunner().invoke(app, ["ingest"])
    assert result.exit_code == ExitCode.DATA_INVALID
    assert "full report: reports/ingest/validation.json" in result.output
    report = (project / "reports/ingest/validation.json").read_text()
    assert '"passed": false' in report
    assert '"column": "age"' in report


def test_verbose_shows_the_traceback(sample: pd.DataFrame, make_project: ProjectFactory) -> None:
    project = make_project(sample)
    _empty(sample, project / RAW)
    result = CliRunner().invoke(app, ["--verbose", "ingest"])
    assert result.exit_code == ExitCode.DATA_INVALID
    assert "Traceback" in result.output


def test_duplicates_are_counted_and_dropped_on_request(
    sample: pd.DataFrame, make_project: ProjectFactory
) -> None:
    doubled = pd.concat([sample, sample.head(10)], ignore_index=True)
    make_project(doubled)
    kept = CliRunner().invoke(app, ["ingest"])
    assert kept.exit_code == 0, kept.output
    assert "410 rows x 14 columns" in kept.output
    assert "duplicate rows kept" in kept.output


def test_an_output_folder_that_refuses_writes_exits_9_naming_the_output(
    sample: pd.DataFrame, make_project: ProjectFactory
) -> None:
    project = make_project(sample)
    runner = CliRunner()
    assert runner.invoke(app, ["ingest"]).exit_code == ExitCode.OK
    before = (project / OUTPUTS[0]).read_bytes()
    with read_only_folder(project / OUTPUTS[0].parent):
        result = runner.invoke(app, ["ingest"])
    assert result.exit_code == ExitCode.OUTPUT_NOT_WRITABLE, result.output
    assert f"cannot write {OUTPUTS[0]}: " in result.output
    assert "Traceback" not in result.output
    assert "unexpected error" not in result.output
    assert (project / OUTPUTS[0]).read_bytes() == before
    assert not list((project / OUTPUTS[0].parent).glob(".*.tmp"))


def _blank_income(sample: pd.DataFrame, path: Path, rows: int) -> None:
    """``sample`` written to ``path`` with the target of its first ``rows`` rows missing."""
    blanked = sample.copy()
    blanked.loc[: rows - 1, "income"] = None
    _write(blanked, path)


def _without_income(sample: pd.DataFrame, project: Path, rows: int = 7) -> None:
    """The raw file with ``rows`` targets blanked, and the schema declaring the target nullable."""
    _blank_income(sample, project / RAW, rows)
    schema = project / "schemas/adult.yaml"
    text = schema.read_text()
    schema.write_text(
        text.replace(
            "  income:\n    dtype: category\n",
            "  income:\n    dtype: category\n    nullable: true\n",
        )
    )


def test_rows_without_a_target_are_dropped_counted_and_reported_by_default(
    sample: pd.DataFrame, make_project: ProjectFactory
) -> None:
    project = make_project(sample)
    _without_income(sample, project)
    result = CliRunner().invoke(app, ["ingest"])
    assert result.exit_code == ExitCode.OK, result.output
    assert "7 of 400 rows have no 'income' (the target) and are left out" in result.output
    summary = json.loads((project / "reports/ingest/dataset.json").read_text())
    assert (summary["n_rows"], summary["rows_without_target"]) == (393, 7)
    report = json.loads((project / "reports/ingest/validation.json").read_text())
    assert report["rows_without_target"] == 7
    validated = pd.read_parquet(project / "data/interim/validated.parquet")
    assert validated["income"].notna().all()


def test_missing_target_fail_names_the_column_the_count_and_the_way_forward(
    sample: pd.DataFrame, make_project: ProjectFactory
) -> None:
    project = make_project(sample)
    first = CliRunner().invoke(app, ["ingest"])
    assert first.exit_code == ExitCode.OK, first.output
    before = {path: (project / path).read_bytes() for path in OUTPUTS}
    _without_income(sample, project)
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["ingest"]["missing_target"] = "fail"
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    result = CliRunner().invoke(app, ["ingest"])
    assert result.exit_code == ExitCode.DATA_INVALID, result.output
    assert "column 'income': missing values in a non-nullable column (not_nullable) (7 rows)" in (
        result.output
    )
    assert "ingest.missing_target is 'fail'" in result.output
    assert "ingest.missing_target: drop" in result.output
    report = json.loads((project / "reports/ingest/validation.json").read_text())
    assert report["failures"][0]["column"] == "income"
    assert "Traceback" not in result.output
    assert {path: (project / path).read_bytes() for path in OUTPUTS} == before


def test_a_target_the_schema_declares_non_nullable_says_how_to_accept_missing_ones(
    sample: pd.DataFrame, make_project: ProjectFactory
) -> None:
    project = make_project(sample)
    _blank_income(sample, project / RAW, 3)
    result = CliRunner().invoke(app, ["ingest"])
    assert result.exit_code == ExitCode.DATA_INVALID, result.output
    assert "declares it non-nullable" in result.output
    assert "set `nullable: true` for 'income'" in result.output
    assert "ingest.missing_target (now 'drop')" in result.output


def test_a_batch_may_hold_rows_without_a_target(
    sample: pd.DataFrame, make_project: ProjectFactory
) -> None:
    from tabpipe.repositories.params_file import load_params
    from tabpipe.services.data.batches import load_batch
    from tabpipe.services.data.preparation import labelled_rows

    project = make_project(sample)
    _blank_income(sample, project / "batch.csv", 5)
    batch = load_batch(project / "batch.csv", load_params(project / "params.yaml"), project)
    assert len(batch) == 400
    assert batch["income"].isna().sum() == 5
    assert len(labelled_rows(batch, "income")) == 395
