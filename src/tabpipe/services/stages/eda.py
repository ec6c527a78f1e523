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

from tabpipe.records.dataset import DatasetSummary
from tabpipe.records.notebooks import ExecutedNotebook
from tabpipe.records.params import Params
from tabpipe.repositories import notebook_runner as runner
from tabpipe.repositories.datasets import read_record
from tabpipe.repositories.reports import check_writable
from tabpipe.services.params.checks import check_against_schema
from tabpipe.services.reporting.notebook_inputs import notebook_parameters, notebook_run_options
from tabpipe.services.reporting.notebook_rules import raise_on_violations
from tabpipe.services.reporting.page_headers import data_header


def run_eda(params: Params, root: Path = Path()) -> list[ExecutedNotebook]:
    """Lint and execute every data notebook into paths.eda_dir (replaced as a whole)."""
    check_against_schema(params, root)
    check_writable(root / params.paths.eda_dir)
    sources = [root / path for path in params.report.data_notebooks]
    logger.info("eda: {} notebook(s) on the data alone", len(sources))
    raise_on_violations(sources, params.report.rules)
    dataset = read_record(root / params.paths.dataset_summary, DatasetSummary)
    header = data_header(dataset, params.mlflow.experiment_name)
    options = notebook_run_options(params, root, header)
    return runner.run_notebooks(
        sources,
        root / params.paths.eda_dir,
        notebook_parameters(params),
        dataclasses.replace(options, failed_dir=root / params.paths.eda_dir),
    )
