"""Shared fixtures: the committed Adult data, params and schema, and temporary projects."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.pandas as pa
import pytest
import yaml
from hypothesis import HealthCheck, settings

from tabpipe.records.params import Params
from tabpipe.repositories.params_file import load_params, parse_params
from tabpipe.repositories.raw_data import read_raw
from tabpipe.repositories.schema_file import load_schema
from tabpipe.services.data.validation import build_schema
from tests.helpers import REPO_ROOT, ProjectFactory

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
# The fast loop (`make unit`) tries fewer examples; CI tries more.
settings.register_profile("dev", max_examples=15, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def adult_params() -> Params:
    return load_params(REPO_ROOT / "params.yaml")


@pytest.fixture(scope="session")
def adult_raw() -> pd.DataFrame:
    """The committed raw file, read once per session (callers must not mutate it)."""
    return read_raw(REPO_ROOT / "data/raw/adult.csv.gz", file_format="csv")


@pytest.fixture(scope="session")
def adult_schema(adult_params: Params) -> pa.DataFrameSchema:
    base = load_schema(REPO_ROOT / adult_params.data.schema_path)
    return build_schema(base, target=adult_params.data.target, task=adult_params.data.task)


@pytest.fixture
def raw_params_dict() -> dict[str, Any]:
    loaded = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture
def make_project(
    tmp_path: Path, raw_params_dict: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> ProjectFactory:
    """Build a working directory holding params.yaml, the schema and a raw file, and cd into it.

    ``raw`` is a DataFrame (written as CSV in raw UCI form) or a path to copy;
    ``data`` holds overrides of the ``data`` section.
    """

    def factory(
        raw: pd.DataFrame | Path | None = None,
        raw_name: str = "adult.csv.gz",
        **data: Any,
    ) -> Path:
        project = tmp_path / "project"
        (project / "data/raw").mkdir(parents=True, exist_ok=True)
        (project / "schemas").mkdir(exist_ok=True)
        shutil.copy(REPO_ROOT / "schemas/adult.yaml", project / "schemas/adult.yaml")
        destination = project / "data/raw" / raw_name
        if raw is None:
            shutil.copy(REPO_ROOT / "data/raw/adult.csv.gz", destination)
        elif isinstance(raw, Path):
            shutil.copy(raw, destination)
        else:
            raw.to_csv(destination, index=False)
        params = dict(raw_params_dict)
        params["data"] = {**params["data"], "raw_path": f"data/raw/{raw_name}", **data}
        (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        parse_params(params)  # the fixture itself must build valid params
        monkeypatch.chdir(project)
        return project

    return factory


@pytest.fixture(scope="session")
def adult_splits(
    adult_raw: pd.DataFrame, adult_params: Params, adult_schema: pa.DataFrameSchema
) -> dict[str, pd.DataFrame]:
    """Train / val / test from 4,000 validated Adult rows: small enough to fit in a second."""
    from tabpipe.services.data.preparation import ingest_frame
    from tabpipe.services.data.split_rows import split_dataset

    frame, _ = ingest_frame(
        adult_raw.head(4000), adult_schema, data=adult_params.data, ingest=adult_params.ingest
    )
    return split_dataset(
        frame, adult_params.split, target=adult_params.data.target, task=adult_params.data.task
    )
