"""What a report page says about its run: a DVC output's note, a tracked copy's lines.

Pages written as DVC outputs (the notebooks' HTML, the drift page) must give the same
bytes for the same data, params and code, so they hold no run id, commit or clock; the
copies logged to MLflow replace that note with the run, the commit and the date.
"""

from __future__ import annotations

from tabpipe.utils.text import utc_now_text

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
