"""A full disk or a read-only folder under train, evaluate and report: exit 9, nothing lost.

Each stage runs as the real ``tabpipe`` command in its own process (as DVC runs it), on
a real tmpfs that is out of room or a folder the file system refuses to write into.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pandas as pd
import pytest

from tabpipe.errors import ExitCode
from tests.fixtures.full_disk import full_disk
from tests.fixtures.read_only import read_only_folder
from tests.helpers import REPO_ROOT, ProjectFactory
from tests.integration.conftest import commit_params, commit_project, invoke_all, run

pytestmark = pytest.mark.integration


def _contents(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (temporary ones included) with its digest."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def evaluated(
    make_project: ProjectFactory, adult_raw: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A committed project on 2,000 Adult rows through ingest, split, train and evaluate."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("DVC_ROOT", raising=False)
    root = make_project(adult_raw.head(2000))
    commit_project(root)
    commit_params(root, "evaluate", bootstrap_samples=20)
    commit_params(root, "gates", rules=[{"metric": "roc_auc", "min": 0.8}], slice_gaps=[])
    for stage in ("ingest", "split", "train", "evaluate"):
        invoke_all(stage)
    return root


def _refused(project: Path, stage: str, folder: str) -> str:
    """Run ``tabpipe STAGE`` in its own process; it must exit 9 naming ``folder``."""
    done = run(["tabpipe", stage], cwd=project, check=False)
    said = done.stdout + done.stderr
    assert done.returncode == ExitCode.OUTPUT_NOT_WRITABLE, said
    assert f"cannot write {folder}" in said, said
    assert "Traceback" not in said, said
    return said


def test_train_refuses_a_read_only_folder_before_fitting_and_a_full_disk_after(
    evaluated: Path,
) -> None:
    models = evaluated / "models"
    before = _contents(models)
    with read_only_folder(models):
        said = _refused(evaluated, "train", "models/")
    assert "fit" not in said.lower(), said  # refused before the fit
    assert _contents(models) == before
    with full_disk(models):
        said = _refused(evaluated, "train", "models/")
        assert "No space left on device" in said
        assert _contents(models) == before  # no partial model, no temporary file


def test_evaluate_on_a_read_only_folder_or_a_full_disk_keeps_the_last_results(
    evaluated: Path,
) -> None:
    reports = evaluated / "reports"
    before = _contents(reports)
    with read_only_folder(reports):
        _refused(evaluated, "evaluate", "reports/")
    assert _contents(reports) == before
    with full_disk(reports):
        said = _refused(evaluated, "evaluate", "reports/")
        assert "No space left on device" in said
        assert _contents(reports) == before


def test_report_refuses_a_read_only_folder_before_any_notebook_and_a_full_disk_after(
    evaluated: Path,
) -> None:
    shutil.copytree(REPO_ROOT / "notebooks", evaluated / "notebooks")
    commit_params(evaluated, "drift", enforce=False)  # 2,000 rows: a noisy drift verdict
    invoke_all("drift")
    invoke_all("report")
    reports = evaluated / "reports"
    before = _contents(reports)
    with read_only_folder(reports / "notebooks"):
        said = _refused(evaluated, "report", "reports/notebooks")
    assert ": running" not in said  # no notebook kernel started
    assert _contents(reports) == before
    with full_disk(reports):
        said = _refused(evaluated, "report", "reports/")
        assert "No space left on device" in said
        assert _contents(reports) == before
