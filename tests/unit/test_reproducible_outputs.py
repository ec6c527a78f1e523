"""Outputs DVC tracks hold the same bytes for the same inputs, and nothing of an earlier run."""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
import yaml

from tabpipe.repositories.drift_report import canonical_ids
from tabpipe.repositories.notebook_exports import reproducible
from tabpipe.repositories.params_file import load_params
from tabpipe.repositories.plots import plot_file, write_plots
from tabpipe.services.analysis.curves import curve_tables
from tabpipe.services.analysis.metrics import Predictions
from tabpipe.services.usage.champion import promotion_mode


def test_a_plots_folder_holds_only_the_curves_of_the_last_run(tmp_path: Path) -> None:
    folder = tmp_path / "plots"
    write_plots(
        {"roc": [{"fpr": 0.0, "tpr": 0.0}], "confusion": [{"actual": "a", "predicted": "b"}]},
        folder,
    )
    assert {p.name for p in folder.iterdir()} == {"roc.json", "confusion.csv"}

    write_plots({"residuals": [{"predicted": 1.0, "residual": 0.5}]}, folder)  # a regression

    assert {p.name for p in folder.iterdir()} == {"residuals.json"}
    assert not list(tmp_path.glob(".plots*"))  # no temporary folder left behind


def test_evidently_ids_are_numbered_and_data_values_left_alone() -> None:
    first = (
        'var metric_2eb145c15c77408689eb72f5c2e1d39d = {"id": '
        '"01a2205c-07ea-7f7e-bdef-5f8e62b581e0", "value": '
        '"3f2b8c1e-1a2b-4c3d-8e9f-0a1b2c3d4e5f", "again": "01a2205c-07ea-7f7e-bdef-5f8e62b581e0"}'
    )
    second = first.replace("2eb145c15c77408689eb72f5c2e1d39d", "1de295fdd87f42cfb6e2c9f5ca3079b8")
    second = second.replace("01a2205c-07ea-7f7e", "01a2205e-0be8-7057")
    assert canonical_ids(first) == canonical_ids(second)
    canonical = canonical_ids(first)
    assert "3f2b8c1e-1a2b-4c3d-8e9f-0a1b2c3d4e5f" in canonical  # a version-4 value: data
    ids = [part for part in canonical.split('"') if part.count("-") == 4]
    assert ids[0] == ids[2]  # the same id twice stays the same id


@pytest.mark.parametrize(
    ("experiment", "uncommitted", "mode", "why"),
    [
        (None, [], "champion", "clean commit"),
        ("lr-high", [], "challenger", "DVC experiment 'lr-high'"),
        (None, ["params.yaml"], "challenger", "uncommitted changes: params.yaml"),
        (None, None, "challenger", "not a git repository"),
    ],
)
def test_only_a_clean_commit_outside_experiments_may_move_the_champion(
    experiment: str | None, uncommitted: list[str] | None, mode: str, why: str
) -> None:
    decision = promotion_mode(experiment, uncommitted)
    assert decision.mode == mode
    assert why in decision.why


def _predictions(task: str, classes: tuple[str, ...], positive: str | None) -> Predictions:
    rng = np.random.default_rng(0)
    if task == "regression":
        truth = rng.normal(size=50)
        return Predictions(
            y_true=pd.Series(truth), y_pred=truth + 0.1, proba=None, classes=(),
            positive_class=None,
        )  # fmt: skip
    labels = np.array(classes)[rng.integers(0, len(classes), 50)]
    proba = rng.dirichlet(np.ones(len(classes)), 50)
    return Predictions(
        y_true=pd.Series(labels), y_pred=labels, proba=proba, classes=classes,
        positive_class=positive,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("task", "classes", "positive"),
    [
        ("classification", ("no", "yes"), "yes"),
        ("classification", ("a", "b", "c"), None),
        ("regression", (), None),
    ],
)
def test_dvc_yaml_declares_a_plot_for_every_curve_file_of_every_task(
    task: str, classes: tuple[str, ...], positive: str | None, repo_root: Path
) -> None:
    """`dvc plots show` draws what evaluate writes, whatever the task, from paths.plots_dir."""
    plots_dir = load_params(repo_root / "params.yaml").paths.plots_dir
    declared = {
        str(next(iter(entry))).replace("${paths.plots_dir}", str(plots_dir))
        for entry in yaml.safe_load((repo_root / "dvc.yaml").read_text())["plots"]
    }
    tables = curve_tables(_predictions(task, classes, positive), task=task)  # type: ignore[arg-type]
    written = {str(plot_file(plots_dir, stem)) for stem in tables}
    assert written
    assert written <= declared


def test_a_print_flushed_in_two_pieces_is_stored_as_one_stream_output() -> None:
    cell = nbformat.v4.new_code_cell("print('2 classes')")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="2 classes"),
        nbformat.v4.new_output("stream", name="stdout", text="\n"),
        nbformat.v4.new_output("stream", name="stderr", text="warning\n"),
    ]
    notebook = reproducible(nbformat.v4.new_notebook(cells=[cell]), Path("nb.ipynb"))
    assert [(o.name, o.text) for o in notebook.cells[0].outputs] == [
        ("stdout", "2 classes\n"),
        ("stderr", "warning\n"),
    ]
