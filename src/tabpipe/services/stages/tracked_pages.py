"""The pages of a model's training run: the drift page, the model card and the notebooks.

The drift, eda and report stages write files only (they import no MLflow); promote, which
opens the store anyway, logs those files to the model's training run, as the child
runs ``drift`` and ``report`` that the stages used to log themselves. The copies in the
store carry the run's id, commit and date in their header (the DVC outputs cannot
without changing on every run). Logged once per content: the runs carry the digest of
the pages, so an unchanged promote logs nothing again.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator
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
    candidates += [
        html
        for folder, sources in _notebook_folders(params)
        for _, html, _ in _notebook_exports(root / folder, sources)
    ]
    return [path for path in candidates if path.is_file()]


def pages_sha256(params: Params, root: Path) -> str:
    """One digest of every page file's name and content."""
    digest = hashlib.sha256()
    for path in page_files(params, root):
        digest.update(f"{path.relative_to(root)}\x1f{path_sha256(path)}\n".encode())
    return digest.hexdigest()


def _notebook_folders(params: Params) -> list[tuple[Path, tuple[Path, ...]]]:
    """Where each stage runs its notebooks: eda's (data alone), then report's (the model)."""
    paths, report = params.paths, params.report
    return [(paths.eda_dir, report.data_notebooks), (paths.notebooks_dir, report.notebooks)]


def _notebook_exports(folder: Path, sources: tuple[Path, ...]) -> list[tuple[Path, Path, Path]]:
    """Each notebook's source, HTML export and executed copy in ``folder`` (the runner's names)."""
    return [
        (Path(source), folder / f"{Path(source).stem}.html", folder / f"{Path(source).stem}.ipynb")
        for source in sources
    ]


Headed = Callable[[dict[str, str]], dict[str, str]]


def log_pages(
    params: Params, root: Path, experiment_id: str, training: store.TrainingRunRef
) -> None:
    """Log the drift page and the notebooks and card under ``training`` (once per content)."""
    key = pages_sha256(params, root)
    if store.find_child_run(experiment_id, training.run_id, "report", {PAGES_TAG: key}):
        return
    logger.info("promote: logging the drift page, card and notebooks to run {}", training.run_id)
    git = git_state(project_root(root))

    @contextlib.contextmanager
    def child_run(stage: str) -> Iterator[Headed]:
        """A ``stage`` run under the training run; yields what heads a page logged in it."""
        from tabpipe.services.reporting.page_headers import tracked_header  # noqa: PLC0415

        with store.stage_run(
            experiment_id=experiment_id,
            stage=stage,
            parent_run_id=training.run_id,
            tags={PAGES_TAG: key},
        ) as run_id:
            yield lambda base: tracked_header(
                base, run_id=run_id, stage=stage, training_run_id=training.run_id, git=git
            )

    if (root / params.paths.drift_summary).is_file():
        with child_run("drift") as headed:
            _log_drift(params, root, headed)
    with child_run("report") as headed:
        _log_report(params, root, headed)


def _log_drift(params: Params, root: Path, headed: Headed) -> None:
    from tabpipe.repositories.drift_report import headed_copy  # noqa: PLC0415
    from tabpipe.services.stages.drift import page_header, page_title  # noqa: PLC0415

    paths = params.paths
    report = read_record(root / paths.drift_summary, DriftReport)
    store.log_metrics({"drift_share": report.drifted_share})
    if (root / paths.drift_page).is_file():
        title = page_title(report, params.data.name)
        header = headed(page_header(report, params.data.name))
        with headed_copy(root / paths.drift_page, title, header) as copy:
            store.log_artifact(copy, folder="drift")
    store.log_artifact(root / paths.drift_summary, folder="drift")


def _log_report(params: Params, root: Path, headed: Headed) -> None:
    """The card, and each notebook's exports headed as its own stage heads them on disk."""
    from tabpipe.repositories.notebook_exports import (  # noqa: PLC0415 - nbconvert
        export_for_tracking,
        reader_path,
    )
    from tabpipe.services.reporting.card_sources import (  # noqa: PLC0415
        card_inputs,
        report_header,
    )
    from tabpipe.services.reporting.page_headers import data_header  # noqa: PLC0415

    store.log_artifact(root / params.paths.model_card)
    inputs = card_inputs(params, root)
    headers = [
        data_header(inputs.dataset, params.mlflow.experiment_name),
        report_header(params, inputs),
    ]
    for (folder, sources), header in zip(_notebook_folders(params), headers, strict=True):
        executed = [
            ExecutedNotebook(
                source=source,
                executed=notebook,
                html=html,
                reader_html=reader_path(html),
                parameters=(),  # not read when exporting: the executed copy holds them
                seconds=0.0,
            )
            for source, html, notebook in _notebook_exports(root / folder, sources)
            if notebook.is_file()
        ]
        with export_for_tracking(executed, headed(header), params.data.name) as pages:
            for page in pages:
                store.log_artifact(page, folder="notebooks")
