"""The records the model card and the report's page headers are built from.

Read from the pipeline's outputs; used by the report stage (the card, the pages on
disk) and by promote (the headers of the pages it logs to MLflow), so promote does not
import the notebook runner.
"""

from __future__ import annotations

from pathlib import Path

from tabpipe import __version__
from tabpipe.records.dataset import DatasetSummary, SplitSummary
from tabpipe.records.drift import DriftReport
from tabpipe.records.evaluation import GatesReport, MetricsReport, ModelSummary
from tabpipe.records.params import Params
from tabpipe.repositories.datasets import read_record
from tabpipe.repositories.schema_file import schema_columns
from tabpipe.services.reporting.card_inputs import CardInputs
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
