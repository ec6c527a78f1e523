"""The report's HTML exports and feedback: header, title, code hidden, progress lines."""

from __future__ import annotations

import json
import time
from pathlib import Path

import nbformat
from loguru import logger
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from tabpipe.repositories.notebook_exports import export_html, report_title
from tabpipe.repositories.notebook_runner import progress_lines, running_cell
from tabpipe.services.reporting.page_headers import RUN_KEY, dvc_output_note, tracked_header


def _executed() -> nbformat.NotebookNode:
    code = new_code_cell("# Print the answer\nprint(6 * 7)")
    code.outputs = [new_output("stream", name="stdout", text="42\n")]
    notebook: nbformat.NotebookNode = new_notebook(
        cells=[new_markdown_cell("# Model report\n\nText."), code]
    )
    return notebook


def test_the_reader_export_hides_code_and_both_open_with_the_header() -> None:
    notebook = _executed()
    header = {"Model": "file sha256 `abc`", "Dataset": "`adult`"}
    full = export_html(notebook, title="Model report: adult", header=header, code=True)
    reader = export_html(notebook, title="Model report: adult", header=header, code=False)
    for page in (full, reader):
        assert "<title>Model report: adult</title>" in page
        assert "file sha256 <code>abc</code>" in page
        assert "42" in page  # outputs stay
        assert page.index("file sha256") < page.index("<p>Text.</p>")  # the header comes first
    assert "# Print the answer" in full
    assert "# Print the answer" not in reader


def test_the_title_is_the_first_heading_else_the_file_name() -> None:
    assert report_title(_executed(), "02-model-report", "adult") == "Model report: adult"
    bare = new_notebook(cells=[new_code_cell("1")])
    assert report_title(bare, "02-model-report") == "02-model-report"


def test_progress_lines_name_the_running_cell_while_a_notebook_executes(tmp_path: Path) -> None:
    partial = tmp_path / "run.ipynb"
    notebook = _executed()
    notebook.cells[1].metadata["papermill"] = {"status": "running"}
    partial.write_text(nbformat.writes(notebook))
    assert running_cell(partial) == (2, 2, "# Print the answer")
    lines: list[str] = []
    sink = logger.add(lines.append, format="{message}")
    try:
        with progress_lines(Path("nb.ipynb"), partial, every_s=0.05):
            time.sleep(0.3)
    finally:
        logger.remove(sink)
    assert any("notebook nb.ipynb: cell 2 of 2 running (# Print the answer)" in x for x in lines)


def test_a_half_written_notebook_is_skipped_not_an_error(tmp_path: Path) -> None:
    partial = tmp_path / "run.ipynb"
    partial.write_text(json.dumps({"cells": []})[:-3])
    assert running_cell(partial) is None
    assert running_cell(tmp_path / "missing.ipynb") is None


def test_a_header_value_with_a_pipe_stays_in_its_cell() -> None:
    page = export_html(_executed(), title="t", header={"Dataset": "a|b"}, code=False)
    assert "<td>a|b</td>" in page


def test_a_tracked_copy_replaces_the_dvc_note_with_run_commit_and_date() -> None:
    base = {"Model": "m"} | dvc_output_note("exp", "report")
    assert "DVC output" in base[RUN_KEY]
    header = tracked_header(
        base,
        run_id="r1",
        stage="report",
        training_run_id="t1",
        git={"git.commit": "abc", "git.dirty": "true"},
    )
    assert RUN_KEY not in header
    assert header["MLflow run"] == "r1 (report), training run t1"
    assert header["Commit"] == "abc with uncommitted changes"
    assert header["Date"].endswith(" UTC")
    assert tracked_header(base, run_id="r", stage="s", training_run_id=None, git={})["Commit"] == (
        "not a git repository"
    )
