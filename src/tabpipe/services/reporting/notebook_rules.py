"""The rules every committed notebook follows, checked on its nbformat structure.

Notebooks rot when nobody can tell what a cell is for, when outputs from someone's
laptop are committed, or when the story loses its shape. These checks keep them
readable and diffable; execution is a separate concern (``repositories.notebook_runner``).
nbformat parses and validates the file; the rules themselves are ours, since no
library checks a team's section layout or comment discipline.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from nbformat import NotebookNode

from tabpipe.errors import NotebookError
from tabpipe.records.notebooks import Violation
from tabpipe.records.params import NotebookRules
from tabpipe.repositories.notebook_files import read_notebook, write_notebook

PARAMETERS_TAG = "parameters"
# Execution metadata that Jupyter and papermill add and a committed notebook must not carry.
_VOLATILE_CELL_METADATA = ("execution", "ExecuteTime", "papermill", "collapsed", "scrolled")
_VOLATILE_NOTEBOOK_METADATA = ("papermill", "widgets")
_HEADING = re.compile(r"^#\s+(?P<title>.+?)\s*#*\s*$")


def level_one_headings(cell: NotebookNode) -> list[str]:
    """Level-1 Markdown headings of a cell, skipping fenced code blocks."""
    titles: list[str] = []
    in_fence = False
    for line in cell.source.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
            continue
        match = _HEADING.match(line)
        if match and not in_fence:
            titles.append(match["title"])
    return titles


def is_documented(source: str) -> bool:
    """A code cell is documented when its first non-blank line is a comment."""
    for line in source.splitlines():
        if line.strip():
            return line.lstrip().startswith("#")
    return True


def check_sections(path: Path, notebook: NotebookNode, required: Sequence[str]) -> list[Violation]:
    """The required level-one sections, each present once and in the declared order."""
    found: dict[str, int] = {}
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown":
            for title in level_one_headings(cell):
                found.setdefault(title, index)
    violations = [
        Violation(
            notebook=path,
            cell=None,
            rule="missing-section",
            message=f"no Markdown heading '# {title}' (required sections, in order: "
            + ", ".join(required)
            + ")",
        )
        for title in required
        if title not in found
    ]
    present = [title for title in required if title in found]
    for before, after in itertools.pairwise(present):
        if found[after] < found[before]:
            violations.append(
                Violation(
                    notebook=path,
                    cell=found[after],
                    rule="section-order",
                    message=f"'# {after}' comes before '# {before}' (cell {found[before]}); "
                    "move it after",
                )
            )
    return violations


def check_documentation(path: Path, notebook: NotebookNode, min_ratio: float) -> list[Violation]:
    """Enough code cells open with a comment saying what they do (``min_ratio`` of them)."""
    code = [
        (index, cell)
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and cell.source.strip()
    ]
    if not code:
        return []
    undocumented = [index for index, cell in code if not is_documented(cell.source)]
    ratio = 1 - len(undocumented) / len(code)
    if ratio >= min_ratio:
        return []
    return [
        Violation(
            notebook=path,
            cell=index,
            rule="undocumented-code",
            message=f"code cell does not begin with a '# what this cell does' comment "
            f"({ratio:.0%} of code cells do; at least {min_ratio:.0%} must)",
        )
        for index in undocumented
    ]


def check_parameters_cell(path: Path, notebook: NotebookNode) -> list[Violation]:
    """One cell tagged ``parameters``, before any other code cell (papermill injects after it)."""
    tagged = [
        cell
        for cell in notebook.cells
        if cell.cell_type == "code" and PARAMETERS_TAG in cell.get("metadata", {}).get("tags", [])
    ]
    if tagged:
        return []
    return [
        Violation(
            notebook=path,
            cell=None,
            rule="no-parameters-cell",
            message="no code cell tagged 'parameters': papermill cannot inject the "
            "pipeline's paths (add the tag in Jupyter: View > Cell Toolbar > Tags)",
        )
    ]


def check_outputs(path: Path, notebook: NotebookNode) -> list[Violation]:
    """No stored outputs or execution counts: committed notebooks are clean sources."""
    violations: list[Violation] = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        stored = []
        if cell.get("outputs"):
            stored.append(f"{len(cell.outputs)} output(s)")
        if cell.get("execution_count") is not None:
            stored.append(f"execution count {cell.execution_count}")
        if stored:
            violations.append(
                Violation(
                    notebook=path,
                    cell=index,
                    rule="stored-outputs",
                    message=" and ".join(stored)
                    + " committed; run `tabpipe notebooks lint --fix` to strip them",
                )
            )
    return violations


def check_kernelspec(path: Path, notebook: NotebookNode) -> list[Violation]:
    """A kernel spec is declared, so papermill knows which kernel to start."""
    if notebook.metadata.get("kernelspec", {}).get("name"):
        return []
    return [
        Violation(
            notebook=path,
            cell=None,
            rule="no-kernelspec",
            message="no kernel spec in the metadata; select a kernel in Jupyter and save",
        )
    ]


def lint_notebook(path: Path, notebook: NotebookNode, rules: NotebookRules) -> list[Violation]:
    """Every rule's violations for one notebook."""
    return [
        *check_kernelspec(path, notebook),
        *check_parameters_cell(path, notebook),
        *check_sections(path, notebook, rules.required_sections),
        *check_documentation(path, notebook, rules.min_documented_ratio),
        *check_outputs(path, notebook),
    ]


def lint_paths(paths: Iterable[Path], rules: NotebookRules) -> list[Violation]:
    """Every violation of every notebook, an unreadable file being one violation."""
    violations: list[Violation] = []
    for path in paths:
        notebook = read_notebook(path)
        if isinstance(notebook, Violation):
            violations.append(notebook)
        else:
            violations.extend(lint_notebook(path, notebook, rules))
    return violations


def raise_on_violations(paths: Sequence[Path], rules: NotebookRules) -> int:
    """Raise with every violation, one per line; return how many notebooks were checked."""
    violations = lint_paths(paths, rules)
    if violations:
        lines = "\n".join(f"  {violation}" for violation in violations)
        msg = (
            f"{len(violations)} notebook rule violation(s):\n{lines}\n"
            "Fix them (outputs: `tabpipe notebooks lint --fix`); the rules are report.rules "
            "in params.yaml."
        )
        raise NotebookError(msg)
    return len(paths)


def strip_notebook(notebook: NotebookNode) -> bool:
    """Remove outputs, execution counts and run metadata; True when anything changed."""
    changed = False
    for cell in notebook.cells:
        if cell.cell_type == "code":
            if cell.get("outputs") or cell.get("execution_count") is not None:
                changed = True
            cell.outputs = []
            cell.execution_count = None
        for key in _VOLATILE_CELL_METADATA:
            changed |= cell.metadata.pop(key, None) is not None
    for key in _VOLATILE_NOTEBOOK_METADATA:
        changed |= notebook.metadata.pop(key, None) is not None
    return changed


def strip_paths(paths: Iterable[Path]) -> list[Path]:
    """Strip each readable notebook in place (atomically); return the ones rewritten."""
    rewritten: list[Path] = []
    for path in paths:
        notebook = read_notebook(path)
        if isinstance(notebook, Violation) or not strip_notebook(notebook):
            continue
        write_notebook(path, notebook)
        rewritten.append(path)
    return rewritten
