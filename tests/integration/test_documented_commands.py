"""Every command block of README.md and docs/*.md works verbatim in a fresh clone.

Each document runs in its own fresh copy of the work tree, in a terminal that has no
virtualenv active and no ``.venv/bin`` on ``PATH`` (``tests/documented_commands.py``).
README.md runs in ``test_pipeline_mlflow.py``, whose assertions need the clone it trains;
the dataset guide runs here, checked after each of its three ``make train``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.documented_commands import Block, Terminal, clean_environment, read_blocks
from tests.helpers import REPO_ROOT
from tests.integration.conftest import champion_version

pytestmark = pytest.mark.integration

GUIDE = "docs/bring-your-own-dataset.md"
RUN_ELSEWHERE = {
    "README.md": "tests/integration/test_pipeline_mlflow.py",
    GUIDE: "test_the_dataset_guide_runs_verbatim_for_each_task",
}
DOCUMENTS = [
    "README.md",
    *sorted(p.relative_to(REPO_ROOT).as_posix() for p in (REPO_ROOT / "docs").glob("*.md")),
]


def document_blocks(document: str) -> list[Block]:
    """The fenced blocks of one document of this work tree."""
    return read_blocks(REPO_ROOT / document, REPO_ROOT)


def reader_terminal(clone: Path) -> Terminal:
    """A fresh terminal in ``clone``, with git able to commit as a reader's would."""
    env = clean_environment() | {
        "GIT_AUTHOR_NAME": "reader",
        "GIT_AUTHOR_EMAIL": "reader@tabpipe.invalid",
        "GIT_COMMITTER_NAME": "reader",
        "GIT_COMMITTER_EMAIL": "reader@tabpipe.invalid",
    }
    return Terminal(cwd=clone, env=env)


SKIPPED = [block for document in DOCUMENTS for block in document_blocks(document) if block.skip]


@pytest.mark.parametrize("block", SKIPPED, ids=[block.where for block in SKIPPED])
def test_a_block_marked_skip_is_reported_with_its_reason(block: Block) -> None:
    pytest.skip(f"{block.where} not run by the docs test: {block.skip}")


OTHERS = [
    document
    for document in DOCUMENTS
    if document not in RUN_ELSEWHERE and any(b.runs for b in document_blocks(document))
]


@pytest.mark.parametrize("document", OTHERS)
def test_every_other_documents_blocks_run_verbatim_in_a_fresh_clone(
    document: str, repo_copy: Path
) -> None:
    terminal = reader_terminal(repo_copy)
    for block in document_blocks(document):
        if block.runs:
            terminal.apply(block)


def test_the_dataset_guide_runs_verbatim_for_each_task(repo_copy: Path) -> None:
    terminal = reader_terminal(repo_copy)
    trained: dict[str, dict[str, object]] = {}
    for block in document_blocks(GUIDE):
        if not block.runs:
            continue
        result = terminal.apply(block)
        if "make train" in block.text:
            trained[_dataset(repo_copy)] = _outcome(repo_copy, result.stdout)

    assert set(trained) == {"breast_cancer", "wine", "diabetes"}
    binary, multiclass, regression = (trained[n] for n in ("breast_cancer", "wine", "diabetes"))
    assert binary["task"] == multiclass["task"] == "classification"
    assert regression["task"] == "regression"
    assert (binary["primary"], multiclass["primary"], regression["primary"]) == (
        "roc_auc",
        "accuracy",
        "rmse",
    )
    for outcome in trained.values():
        assert outcome["gates_passed"] is True, outcome
        assert outcome["champion"] == "1", outcome
        assert outcome["interval_holds_value"] is True, outcome
        assert outcome["report_shows_value"] is True, outcome
    # Each task draws its own curves, and nothing of another task is left behind.
    # Every task: permutation importance and partial dependence; boosted models with early
    # stopping also their learning curve. Binary alone: the ROC family and the threshold.
    every = {"importance.json", "partial_dependence.json"}
    assert _names(binary["plots"]) - {"learning_curve.json"} == every | {
        "calibration.json", "confusion.csv", "precision_recall.json", "roc.json", "threshold.json",
    }  # fmt: skip
    assert _names(multiclass["plots"]) - {"learning_curve.json"} == every | {"confusion.csv"}
    assert _names(regression["plots"]) - {"learning_curve.json"} == every | {
        "predicted_vs_actual.json", "residuals.json",
    }  # fmt: skip
    # The diabetes identifier stays in the data but is not a feature.
    features = json.loads((repo_copy / "models/model.json").read_text())["features"]
    assert "patient_id" not in features
    assert "bmi" in features


def _dataset(clone: Path) -> str:
    params = yaml.safe_load((clone / "params.yaml").read_text())
    return str(params["data"]["name"])


def _outcome(clone: Path, make_output: str) -> dict[str, object]:
    """What one `make train` left: task, verdict, alias, plots and the report's numbers."""
    metrics = json.loads((clone / "reports/metrics.json").read_text())
    primary = metrics["primary_metric"]
    value = metrics["test"][primary]
    report = (clone / "reports/notebooks/02-model-report.html").read_text()
    name = yaml.safe_load((clone / "params.yaml").read_text())["mlflow"]["registered_model_name"]
    assert "Running stage 'promote'" in make_output
    return {
        "task": metrics["task"],
        "primary": primary,
        "gates_passed": json.loads((clone / "reports/gates.json").read_text())["passed"],
        "champion": champion_version(clone, name=name),
        "interval_holds_value": metrics["interval"]["low"] <= value <= metrics["interval"]["high"],
        "report_shows_value": f"{value:.4f}" in report
        and "data:image/png;base64" in (clone / "reports/eda/01-eda.html").read_text(),
        "plots": sorted(path.name for path in (clone / "reports/plots").iterdir()),
    }


def _names(listed: object) -> set[str]:
    """The plot file names an outcome lists."""
    assert isinstance(listed, list)
    return {str(name) for name in listed}
