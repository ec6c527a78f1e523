"""The pages of a model's training run: the drift page, the model card and the notebooks.

The drift, eda and report stages write files only (they import no MLflow); promote, which
opens the store anyway, logs those files to the model's training run, as the child
runs ``drift`` and ``report`` that the stages used to log themselves. The copies in the
store carry the run's id, commit and date in their header (the DVC outputs cannot
without changing on every run). Logged once per content: the runs carry the digest of
the pages, so an unchanged promote logs nothing again.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from loguru import logger

from tabpipe.records.drift import DriftReport
from tabpipe.records.notebooks import ExecutedNotebook
from tabpipe.records.params import Params
from tabpipe.repositories import mlflow_store as store
from tabpipe.repositories.datasets import read_record
from tabpipe.utils.hashing import path_sha256
from tabpipe.utils.project import git_state, project_root

PAGES_TAG = "tabpipe.pages_sha256"


def page_files(params: Params, root: Path) -> list[Path]:
    """The files promote logs as pages (those present): drift, card, notebook exports."""
    paths = params.paths
    candidates = [root / paths.drift_page, root / paths.drift_summary, root / paths.model_card]
    candidates += [html for _, html, _ in _notebook_exports(params, root)]
    return [path for path in candidates if path.is_file()]


def pages_sha256(params: Params, root: Path) -> str:
    """One digest of every page file's name and content."""
    digest = hashlib.sha256()
    for path in page_files(params, root):
        digest.update(f"{path.relative_to(root)}\x1f{path_sha256(path)}\n".encode())
    return digest.hexdigest()


def _notebook_exports(params: Params, root: Path) -> list[tuple[Path, Path, Path]]:
    """Each notebook's source, HTML export and executed copy, by the runner's names."""
    paths = params.paths
    found = []
    for folder, sources in (
        (paths.eda_dir, params.report.data_notebooks),
        (paths.notebooks_dir, params.report.notebooks),
    ):
        for source in sources:
            stem = Path(source).stem
            found.append(
                (Path(source), root / folder / f"{stem}.html", root / folder / f"{stem}.ipynb")
            )
    return found


def log_pages(
    params: Params, root: Path, experiment_id: str, training: store.TrainingRunRef
) -> None:
    """Log the drift page and the report's card and notebooks under ``training`` (once)."""
    key = pages_sha256(params, root)
    if store.find_child_run(experiment_id, training.run_id, "report", {PAGES_TAG: key}):
        return
    logger.info("promote: logging the drift page, card and notebooks to run {}", training.run_id)
    git = git_state(project_root(root))
    tags = {PAGES_TAG: key}
    if (root / params.paths.drift_summary).is_file():
        _log_drift(params, root, experiment_id, training, tags, git)
    _log_report(params, root, experiment_id, training, tags, git)


def _log_drift(
    params: Params,
    root: Path,
    experiment_id: str,
    training: store.TrainingRunRef,
    tags: dict[str, str],
    git: dict[str, str],
) -> None:
    from tabpipe.repositories.drift_report import headed_copy  # noqa: PLC0415
    from tabpipe.services.reporting.page_headers import tracked_header  # noqa: PLC0415
    from tabpipe.services.stages.drift import page_header, page_title  # noqa: PLC0415

    paths = params.paths
    report = read_record(root / paths.drift_summary, DriftReport)
    with store.stage_run(
        experiment_id=experiment_id, stage="drift", parent_run_id=training.run_id, tags=tags
    ) as run_id:
        store.log_metrics({"drift_share": report.drifted_share})
        header = tracked_header(
            page_header(report, params.data.name),
            run_id=run_id,
            stage="drift",
            training_run_id=training.run_id,
            git=git,
        )
        if (root / paths.drift_page).is_file():
            title = page_title(report, params.data.name)
            with headed_copy(root / paths.drift_page, title, header) as copy:
                store.log_artifact(copy, folder="drift")
        store.log_artifact(root / paths.drift_summary, folder="drift")


def _log_report(
    params: Params,
    root: Path,
    experiment_id: str,
    training: store.TrainingRunRef,
    tags: dict[str, str],
    git: dict[str, str],
) -> None:
    from tabpipe.repositories.notebook_exports import (  # noqa: PLC0415 - nbconvert
        export_for_tracking,
        reader_path,
    )
    from tabpipe.services.reporting.card_sources import (  # noqa: PLC0415
        card_inputs,
        report_header,
    )
    from tabpipe.services.reporting.page_headers import tracked_header  # noqa: PLC0415

    executed = [
        ExecutedNotebook(
            source=source,
            executed=notebook,
            html=html,
            reader_html=reader_path(html),
            parameters=(),
            seconds=0.0,
        )
        for source, html, notebook in _notebook_exports(params, root)
        if notebook.is_file()
    ]
    with store.stage_run(
        experiment_id=experiment_id, stage="report", parent_run_id=training.run_id, tags=tags
    ) as run_id:
        store.log_artifact(root / params.paths.model_card)
        header = tracked_header(
            report_header(params, card_inputs(params, root)),
            run_id=run_id,
            stage="report",
            training_run_id=training.run_id,
            git=git,
        )
        with export_for_tracking(executed, header, params.data.name) as pages:
            for page in pages:
                store.log_artifact(page, folder="notebooks")
