"""The report stage: check the notebooks, run them on the pipeline's outputs, write the card.

Notebooks get their inputs only through papermill parameters built here from
``params.yaml``, so they never hard-code a path or a column the pipeline knows.
"""

from __future__ import annotations

from pathlib import Path

from loguru import logger

from tabpipe import __version__
from tabpipe.errors import StaleOutputsError
from tabpipe.records.dataset import DatasetSummary, SplitSummary
from tabpipe.records.drift import DriftReport
from tabpipe.records.evaluation import GatesReport, MetricsReport, ModelSummary
from tabpipe.records.notebooks import ExecutedNotebook
from tabpipe.records.params import Params
from tabpipe.repositories import notebook_runner as runner
from tabpipe.repositories.datasets import read_record
from tabpipe.repositories.reports import check_writable, write_text
from tabpipe.repositories.schema_file import schema_columns
from tabpipe.services.params.checks import check_against_schema
from tabpipe.services.reporting.card_inputs import CardInputs
from tabpipe.services.reporting.model_card import render_model_card
from tabpipe.services.reporting.notebook_inputs import notebook_parameters, notebook_run_options
from tabpipe.services.reporting.notebook_rules import raise_on_violations
from tabpipe.services.reporting.page_headers import dvc_output_note
from tabpipe.utils.environment import package_versions

CARD_PACKAGES = ("scikit-learn", "pandas", "numpy", "pandera", "mlflow", "skops")


def card_inputs(params: Params, root: Path) -> CardInputs:
    """The records the model card is rendered from (drift when the drift stage ran)."""
    paths = params.paths
    drift_file = root / paths.drift_summary
    return CardInputs(
        dataset=read_record(root / paths.dataset_summary, DatasetSummary),
        split=read_record(root / paths.split_summary, SplitSummary),
        model=read_record(root / paths.model_summary, ModelSummary),
        metrics=read_record(root / paths.metrics, MetricsReport),
        gates=read_record(root / paths.gates, GatesReport),
        drift=read_record(drift_file, DriftReport) if drift_file.is_file() else None,
        schema=schema_columns(root / params.data.schema_path),
        software=package_versions(
            [
                "tabpipe",
                *CARD_PACKAGES,
                *(["xgboost"] if params.train.model.kind == "xgboost" else []),
            ]
        ),
    )


def report_header(params: Params, inputs: CardInputs) -> dict[str, str]:
    """What every HTML export opens with: the data and model it describes, by full digest.

    Only values fixed by the data, params and code: the files are DVC outputs. The copies
    logged to MLflow add the run, commit and date (``page_headers.tracked_header``).
    """
    dataset, model = inputs.dataset, inputs.model
    return {
        "Dataset": f"`{dataset.name}`: `{dataset.source_path}` (sha256 `{dataset.source_sha256}`)",
        "Validated data": f"{dataset.n_rows:,} rows, content sha256 `{dataset.content_sha256}`",
        "Test split": f"content sha256 `{inputs.metrics.test_sha256}`",
        "Model": f"`{model.model_kind}`, file sha256 `{model.model_sha256}`",
        "Produced by": f"tabpipe {__version__}, DVC stage `report`",
    } | dvc_output_note(params.mlflow.experiment_name, "report")


def run_report(params: Params, root: Path = Path()) -> list[ExecutedNotebook]:
    """Lint, execute every notebook, then write the model card (promote logs them to MLflow).

    The notebooks run into a fresh folder that replaces the previous one only when
    every notebook ran; the card is written after them, so a failed notebook leaves
    the last good card and HTML as they were.
    """
    check_against_schema(params, root)
    check_writable(root / params.paths.notebooks_dir, root / params.paths.model_card)
    logger.info("report: {} notebook(s) and the model card", len(params.report.notebooks))
    raise_on_violations([root / path for path in params.report.notebooks], params.report.rules)
    inputs = card_inputs(params, root)
    outputs = [inputs.model.model_sha256, inputs.metrics.model_sha256, inputs.gates.model_sha256]
    if inputs.drift is not None:
        outputs.append(inputs.drift.model_sha256 or inputs.model.model_sha256)
    if len(set(outputs)) > 1:
        msg = (
            "the model summary, metrics, gates and drift files describe different models: "
            "they come from different runs. Run `dvc repro` to bring them in line."
        )
        raise StaleOutputsError(msg)
    card = render_model_card(params, inputs)
    header = report_header(params, inputs)
    executed = runner.run_notebooks(
        [root / source for source in params.report.notebooks],
        root / params.paths.notebooks_dir,
        notebook_parameters(params),
        notebook_run_options(params, root, header),
    )
    write_text(root / params.paths.model_card, card)
    logger.info("report: model card -> {}", params.paths.model_card)
    return executed


def execute_all(params: Params, root: Path, out_dir: Path) -> list[ExecutedNotebook]:
    """Run the report's notebooks into ``out_dir`` (see ``notebook_runner.execute_all``)."""
    return runner.execute_all(
        [root / source for source in params.report.notebooks],
        out_dir,
        notebook_parameters(params),
        notebook_run_options(params, root),
    )
