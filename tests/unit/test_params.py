from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tabpipe.errors import ExitCode, ParamsError
from tabpipe.records.params import Params
from tabpipe.repositories.params_file import load_params, parse_params
from tabpipe.services.params.info import check_params, params_json_schema, params_reference


def test_committed_params_file_is_valid(adult_params: Params) -> None:
    assert adult_params.data.target == "income"
    assert adult_params.data.task == "classification"
    assert adult_params.split.train + adult_params.split.val + adult_params.split.test == 1


def test_unknown_key_names_its_path_and_the_allowed_keys(raw_params_dict: dict[str, Any]) -> None:
    raw_params_dict["split"]["trian"] = 0.7
    with pytest.raises(ParamsError) as excinfo:
        parse_params(raw_params_dict)
    message = str(excinfo.value)
    assert "split.trian" in message
    assert "allowed keys here: group_column, method, seed, stratify, test, train, val" in message
    assert excinfo.value.exit_code == ExitCode.BAD_PARAMS


def test_bad_choice_lists_the_allowed_values(raw_params_dict: dict[str, Any]) -> None:
    raw_params_dict["data"]["task"] = "clustering"
    with pytest.raises(ParamsError, match=r"data\.task: .*'classification' or 'regression'"):
        parse_params(raw_params_dict)


def test_split_fractions_must_sum_to_one(raw_params_dict: dict[str, Any]) -> None:
    raw_params_dict["split"]["test"] = 0.3
    with pytest.raises(ParamsError, match=r"split: .*must sum to 1, got 1\.15"):
        parse_params(raw_params_dict)


def test_strict_types_reject_a_quoted_number(raw_params_dict: dict[str, Any]) -> None:
    raw_params_dict["split"]["seed"] = "42"
    with pytest.raises(ParamsError, match=r"split\.seed: Input should be a valid integer"):
        parse_params(raw_params_dict)


def test_params_are_frozen(adult_params: Params) -> None:
    with pytest.raises(ValueError, match="frozen"):
        adult_params.split.seed = 1  # type: ignore[misc]


def test_missing_and_malformed_files_are_params_errors(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match="parameters file not found"):
        load_params(tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("data: [unclosed\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(broken)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("42\n")
    with pytest.raises(ParamsError, match="expected a mapping"):
        load_params(scalar)


def test_json_schema_describes_every_section() -> None:
    schema = json.loads(params_json_schema())
    assert set(schema["properties"]) == {
        "engine", "dask", "data", "ingest", "split", "train", "evaluate", "gates", "drift",
        "mlflow", "compare", "report", "paths",
    }  # fmt: skip
    model = schema["$defs"]["TrainParams"]["properties"]["model"]
    assert set(model["discriminator"]["mapping"]) == {
        "hist_gradient_boosting", "logistic_regression", "random_forest", "ridge", "xgboost",
    }  # fmt: skip
    assert "DataParams" in schema["$defs"]


def test_check_params_reports_the_dataset(repo_root: Path) -> None:
    assert "dataset 'adult', task classification" in check_params(repo_root / "params.yaml")


def test_notebook_rules_are_validated_with_their_key_path(raw_params_dict: dict[str, Any]) -> None:
    raw_params_dict["report"]["rules"]["min_documented_ratio"] = 1.5
    with pytest.raises(ParamsError, match=r"report\.rules\.min_documented_ratio"):
        parse_params(raw_params_dict)


def test_the_committed_configuration_reference_is_current(repo_root: Path) -> None:
    committed = (repo_root / "docs/configuration.md").read_text()
    assert committed == params_reference(), "run `make docs` and commit docs/configuration.md"


def test_the_dask_engine_names_every_setting_it_cannot_run_at_once(
    raw_params_dict: dict[str, Any],
) -> None:
    raw_params_dict["engine"] = "dask"
    raw_params_dict["split"]["method"] = "shuffle"
    raw_params_dict["ingest"]["duplicates"] = "drop"
    with pytest.raises(ParamsError) as excinfo:
        parse_params(raw_params_dict)
    message = str(excinfo.value)
    assert "train.model.kind: 'hist_gradient_boosting' trains in one process" in message
    assert "split.method: 'shuffle' needs the whole table in one process" in message
    assert "ingest.duplicates: 'drop' needs every row in one place" in message


def test_split_method_auto_means_shuffle_on_pandas_and_hash_on_dask(
    raw_params_dict: dict[str, Any],
) -> None:
    assert parse_params(raw_params_dict).split_method == "shuffle"
    raw_params_dict["engine"] = "dask"
    raw_params_dict["train"]["model"] = {"kind": "xgboost"}
    assert parse_params(raw_params_dict).split_method == "hash"


@pytest.mark.parametrize(("written", "read"), [(1, "1"), (0, "0"), (True, "True"), ("Yes", "Yes")])
def test_an_unquoted_integer_or_boolean_positive_class_names_that_class(
    raw_params_dict: dict[str, object], written: object, read: str
) -> None:
    raw = dict(raw_params_dict)
    raw["data"] = {**raw["data"], "positive_class": written}  # type: ignore[dict-item]
    assert parse_params(raw).data.positive_class == read
