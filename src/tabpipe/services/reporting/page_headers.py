"""What a report page says about its run: a DVC output's note, a tracked copy's lines.

Pages written as DVC outputs (the notebooks' HTML, the drift page) must give the same
bytes for the same data, params and code, so they hold no run id, commit or clock; the
copies logged to MLflow replace that note with the run, the commit and the date.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tabpipe import __version__
from tabpipe.utils.text import utc_now_text

if TYPE_CHECKING:
    from tabpipe.records.dataset import DatasetSummary

RUN_KEY = "Run, commit, date"


def dvc_output_note(experiment: str, stage: str) -> dict[str, str]:
    """The header line of a page that is a DVC output: where its run, commit and date are."""
    return {
        RUN_KEY: f"in this page's copy in MLflow (experiment {experiment}, run {stage}, "
        "nested under the model's training run). This file is a DVC output: the same data, "
        "params and code give the same bytes."
    }


def tracked_header(
    base: dict[str, str],
    *,
    run_id: str,
    stage: str,
    training_run_id: str | None,
    git: dict[str, str],
) -> dict[str, str]:
    """``base`` without the DVC output's note, with the run, training run, commit and date."""
    header = {name: value for name, value in base.items() if name != RUN_KEY}
    header["MLflow run"] = f"{run_id} ({stage})" + (
        f", training run {training_run_id}" if training_run_id else ""
    )
    commit = git.get("git.commit")
    header["Commit"] = (
        commit + (" with uncommitted changes" if git.get("git.dirty") == "true" else "")
        if commit
        else "not a git repository"
    )
    header["Date"] = utc_now_text()
    return header


def data_header(dataset: DatasetSummary, experiment: str) -> dict[str, str]:
    """What a page on the data alone (the eda stage's) opens with: the data, by full digest."""
    return {
        "Dataset": f"`{dataset.name}`: `{dataset.source_path}` (sha256 `{dataset.source_sha256}`)",
        "Validated data": f"{dataset.n_rows:,} rows, content sha256 `{dataset.content_sha256}`",
        "Model": "none: this page describes the data alone",
        "Produced by": f"tabpipe {__version__}, DVC stage `eda`",
    } | dvc_output_note(experiment, "eda")
