"""The eda stage: the notebooks on the data alone (``report.data_notebooks``).

They read the validated data, the splits and the ingest and split records, never the
model, so DVC runs them again only when the data, their params or the notebooks change:
an experiment on the model (``train.*``) pays for no Jupyter kernel here. The model's
notebooks run in the report stage. promote logs both stages' pages to MLflow.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from loguru import logger

from tabpipe import __version__
from tabpipe.records.dataset import DatasetSummary
from tabpipe.records.notebooks import ExecutedNotebook
from tabpipe.records.params import Params
from tabpipe.repositories import notebook_runner as runner
from tabpipe.repositories.datasets import read_record
from tabpipe.repositories.reports import check_writable
from tabpipe.services.params.checks import check_against_schema
from tabpipe.services.reporting.notebook_inputs import notebook_parameters, notebook_run_options
from tabpipe.services.reporting.notebook_rules import raise_on_violations
from tabpipe.services.reporting.page_headers import dvc_output_note


def data_header(params: Params, root: Path) -> dict[str, str]:
    """What each data notebook's page opens with: the data it describes, by full digest."""
    dataset = read_record(root / params.paths.dataset_summary, DatasetSummary)
    return {
        "Dataset": f"`{dataset.name}`: `{dataset.source_path}` (sha256 `{dataset.source_sha256}`)",
        "Validated data": f"{dataset.n_rows:,} rows, content sha256 `{dataset.content_sha256}`",
        "Model": "none: this page describes the data alone",
        "Produced by": f"tabpipe {__version__}, DVC stage `eda`",
    } | dvc_output_note(params.mlflow.experiment_name, "eda")


def run_eda(params: Params, root: Path = Path()) -> list[ExecutedNotebook]:
    """Lint and execute every data notebook into paths.eda_dir (replaced as a whole)."""
    check_against_schema(params, root)
    check_writable(root / params.paths.eda_dir)
    sources = [root / path for path in params.report.data_notebooks]
    logger.info("eda: {} notebook(s) on the data alone", len(sources))
    raise_on_violations(sources, params.report.rules)
    options = notebook_run_options(params, root, data_header(params, root))
    return runner.run_notebooks(
        sources,
        root / params.paths.eda_dir,
        notebook_parameters(params),
        dataclasses.replace(options, failed_dir=root / params.paths.eda_dir),
    )
