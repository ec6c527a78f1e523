"""Notebook files: read one (or say why it cannot be), write one atomically."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat import NotebookNode

from tabpipe.records.notebooks import Violation
from tabpipe.utils.atomic import write_text_atomic


def read_notebook(path: Path) -> NotebookNode | Violation:
    """The notebook, or the reason it cannot be checked at all."""
    try:
        notebook: NotebookNode = nbformat.read(path, as_version=nbformat.NO_CONVERT)
        nbformat.validate(notebook)
    except FileNotFoundError:
        return Violation(
            notebook=path, cell=None, rule="invalid-notebook", message="file not found"
        )
    except (ValueError, KeyError, AttributeError, nbformat.ValidationError) as exc:
        # nbformat's NotJSONError and NBFormatError are ValueErrors; JSON that is not an
        # object fails on attribute or key access.
        first_line = str(exc).strip().splitlines()[0]
        return Violation(
            notebook=path,
            cell=None,
            rule="invalid-notebook",
            message=f"not a valid notebook ({first_line}); open and save it in Jupyter",
        )
    if notebook.nbformat < 4:  # noqa: PLR2004 - the nbformat major version with cell ids
        return Violation(
            notebook=path,
            cell=None,
            rule="invalid-notebook",
            message=f"nbformat {notebook.nbformat} is too old; save it with Jupyter (v4)",
        )
    return notebook


def write_notebook(path: Path, notebook: NotebookNode) -> None:
    """Write ``notebook`` in nbformat's JSON layout, replacing ``path`` whole."""
    write_text_atomic(path, nbformat.writes(notebook) + "\n")
