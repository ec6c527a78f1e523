"""The report stage: check the notebooks, run them on the pipeline's outputs, write the card.

Notebooks get their inputs only through papermill parameters built here from
``params.yaml``, so they never hard-code a path or a column the pipeline knows.
"""

from __future__ import annotations

from pathlib import Path

from loguru import logger

from tabpipe.errors import StaleOutputsError
from tabpipe.records.notebooks import ExecutedNotebook
from tabpipe.records.params import Params
from tabpipe.repositories import notebook_runner as runner
from tabpipe.repositories.reports import check_writable, write_text
from tabpipe.services.params.checks import check_against_schema
from tabpipe.services.reporting.card_sources import card_inputs, report_header
from tabpipe.services.reporting.model_card import render_model_card
from tabpipe.services.reporting.notebook_inputs import notebook_parameters, notebook_run_options
from tabpipe.services.reporting.notebook_rules import raise_on_violations


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
