"""Each notebook rule on small crafted notebooks: one broken rule, one message."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from typer.testing import CliRunner

from tabpipe.cli.app import app
from tabpipe.errors import ExitCode
from tabpipe.records.params import NotebookRules, Params
from tabpipe.services.reporting.notebook_rules import lint_paths, strip_paths
from tests.helpers import REPO_ROOT, ProjectFactory

RULES = NotebookRules()
SECTIONS = RULES.required_sections


def good_notebook() -> NotebookNode:
    """A notebook that follows every default rule."""
    parameters = new_code_cell("# Parameters\nvalue = 1")
    parameters.metadata["tags"] = ["parameters"]
    cells = [new_markdown_cell("# A title"), parameters]
    for title in SECTIONS:
        cells.append(new_markdown_cell(f"# {title}\n\nWhy this section exists."))
        cells.append(new_code_cell(f"# Work of the section {title}\nvalue += 1"))
    notebook: NotebookNode = new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )
    return notebook


def write(tmp_path: Path, notebook: NotebookNode, name: str = "nb.ipynb") -> Path:
    path = tmp_path / name
    nbformat.write(notebook, path)
    return path


def rules_broken(path: Path, rules: NotebookRules = RULES) -> list[str]:
    return [violation.rule for violation in lint_paths([path], rules)]


def test_a_notebook_that_follows_the_rules_has_no_violations(tmp_path: Path) -> None:
    assert lint_paths([write(tmp_path, good_notebook())], RULES) == []


def test_the_committed_notebooks_follow_the_rules(adult_params: Params) -> None:
    paths = [REPO_ROOT / path for path in adult_params.report.notebooks]
    assert [str(v) for v in lint_paths(paths, adult_params.report.rules)] == []


def test_a_missing_section_is_named(tmp_path: Path) -> None:
    notebook = good_notebook()
    notebook.cells = [c for c in notebook.cells if "# Data Processing" not in c.source]
    violations = lint_paths([write(tmp_path, notebook)], RULES)
    assert [v.rule for v in violations] == ["missing-section"]
    assert "'# Data Processing'" in violations[0].message
    assert violations[0].cell is None


def test_sections_out_of_order_name_the_misplaced_cell(tmp_path: Path) -> None:
    notebook = good_notebook()
    conclusions = next(i for i, c in enumerate(notebook.cells) if c.source.startswith("# Concl"))
    notebook.cells.insert(2, notebook.cells.pop(conclusions))
    violations = lint_paths([write(tmp_path, notebook)], RULES)
    assert [v.rule for v in violations] == ["section-order"]
    assert violations[0].cell == 2
    assert "'# Conclusions' comes before '# Results and Validation'" in violations[0].message


def test_headings_inside_code_fences_and_lower_levels_do_not_count(tmp_path: Path) -> None:
    notebook = good_notebook()
    notebook.cells = [c for c in notebook.cells if "# Conclusions" not in c.source]
    notebook.cells.append(new_markdown_cell("```\n# Conclusions\n```\n## Conclusions"))
    assert rules_broken(write(tmp_path, notebook)) == ["missing-section"]


def test_undocumented_code_cells_below_the_ratio_are_each_named(tmp_path: Path) -> None:
    notebook = good_notebook()  # 6 code cells, all documented
    for index in (3, 5):
        notebook.cells[index].source = notebook.cells[index].source.split("\n", 1)[1]
    violations = lint_paths([write(tmp_path, notebook)], RULES)  # 4/6 = 67% < 80%
    assert [(v.rule, v.cell) for v in violations] == [
        ("undocumented-code", 3),
        ("undocumented-code", 5),
    ]
    assert "67% of code cells do; at least 80% must" in violations[0].message


def test_undocumented_cells_within_the_ratio_pass(tmp_path: Path) -> None:
    notebook = good_notebook()
    notebook.cells[3].source = "value += 1"  # 5/6 = 83% >= 80%
    path = write(tmp_path, notebook)
    assert rules_broken(path) == []
    assert rules_broken(path, NotebookRules(min_documented_ratio=0.9)) == ["undocumented-code"]


def test_a_notebook_without_a_parameters_cell_fails(tmp_path: Path) -> None:
    notebook = good_notebook()
    notebook.cells[1].metadata["tags"] = []
    violations = lint_paths([write(tmp_path, notebook)], RULES)
    assert [v.rule for v in violations] == ["no-parameters-cell"]
    assert "tagged 'parameters'" in violations[0].message


def test_stored_outputs_and_execution_counts_fail_per_cell(tmp_path: Path) -> None:
    notebook = good_notebook()
    notebook.cells[3].outputs = [new_output("stream", name="stdout", text="2\n")]
    notebook.cells[3].execution_count = 4
    notebook.cells[5].execution_count = 5
    violations = lint_paths([write(tmp_path, notebook)], RULES)
    assert [(v.rule, v.cell) for v in violations] == [("stored-outputs", 3), ("stored-outputs", 5)]
    assert violations[0].message.startswith("1 output(s) and execution count 4 committed")


def test_a_notebook_without_a_kernelspec_fails(tmp_path: Path) -> None:
    notebook = good_notebook()
    del notebook.metadata["kernelspec"]
    assert rules_broken(write(tmp_path, notebook)) == ["no-kernelspec"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "not a valid notebook"),
        ('{"cells": "nope", "metadata": {}, "nbformat": 4, "nbformat_minor": 5}', "not a valid"),
    ],
)
def test_a_file_that_is_not_a_notebook_is_reported_not_raised(
    tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "broken.ipynb"
    path.write_text(content)
    violations = lint_paths([path, tmp_path / "absent.ipynb"], RULES)
    assert [v.rule for v in violations] == ["invalid-notebook", "invalid-notebook"]
    assert expected in violations[0].message
    assert violations[1].message == "file not found"


def test_the_section_list_is_configurable(tmp_path: Path) -> None:
    path = write(tmp_path, good_notebook())
    rules = NotebookRules(required_sections=("Data Import and Validation", "Appendix"))
    assert rules_broken(path, rules) == ["missing-section"]


def test_strip_removes_outputs_counts_and_run_metadata_only(tmp_path: Path) -> None:
    notebook = good_notebook()
    notebook.cells[3].outputs = [new_output("stream", name="stdout", text="2\n")]
    notebook.cells[3].execution_count = 1
    notebook.cells[3].metadata["execution"] = {"iopub.status.busy": "2026-01-01"}
    notebook.metadata["papermill"] = {"duration": 1.0}
    path = write(tmp_path, notebook)
    clean = write(tmp_path, good_notebook(), "clean.ipynb")
    before = clean.read_bytes()

    assert strip_paths([path, clean]) == [path]
    assert clean.read_bytes() == before
    stripped = nbformat.read(path, as_version=4)
    assert stripped.cells[3].outputs == []
    assert stripped.cells[3].execution_count is None
    assert "execution" not in stripped.cells[3].metadata
    assert "papermill" not in stripped.metadata
    assert stripped.cells[1].metadata["tags"] == ["parameters"]
    assert lint_paths([path], RULES) == []


def test_lint_command_lists_every_violation_and_exits_6(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    make_project()
    notebook = good_notebook()
    notebook.cells[1].metadata["tags"] = []
    notebook.cells[3].execution_count = 3
    path = write(tmp_path, notebook)

    result = CliRunner().invoke(app, ["notebooks", "lint", str(path)])

    assert result.exit_code == ExitCode.NOTEBOOK_FAILED
    assert "2 notebook rule violation(s)" in result.output
    assert f"{path}: notebook: [no-parameters-cell]" in result.output
    assert f"{path}: cell 3: [stored-outputs]" in result.output
    assert "Traceback" not in result.output

    fixed = CliRunner().invoke(app, ["notebooks", "lint", "--fix", str(path)])
    assert f"stripped outputs: {path}" in fixed.output
    assert fixed.exit_code == ExitCode.NOTEBOOK_FAILED  # the missing tag is not fixable
    assert "[stored-outputs]" not in fixed.output
