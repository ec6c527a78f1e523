"""An executed notebook's exports: the reproducible .ipynb, its HTML page, their paths, titles."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from nbconvert.preprocessors import CoalesceStreamsPreprocessor

from tabpipe.records.notebooks import ExecutedNotebook
from tabpipe.utils.atomic import write_text_atomic


def output_paths(source: Path, out_dir: Path) -> tuple[Path, Path, Path]:
    """Executed copy, HTML export and failed copy of ``source`` under ``out_dir``."""
    stem = source.stem
    return out_dir / f"{stem}.ipynb", out_dir / f"{stem}.html", out_dir / f"{stem}.failed.ipynb"


def reader_path(html: Path) -> Path:
    """The code-hidden export beside the full one (``<name>.reader.html``)."""
    return html.with_name(f"{html.stem}.reader.html")


HEADER_CELL_ID = "report-header"


def report_title(notebook: nbformat.NotebookNode, fallback: str, subject: str = "") -> str:
    """The notebook's first Markdown heading (else ``fallback``), with the subject after it."""
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            if line.startswith("#"):
                heading = line.lstrip("#").strip()
                return f"{heading}: {subject}" if subject else heading
    return f"{fallback}: {subject}" if subject else fallback


def export_html(
    notebook: nbformat.NotebookNode,
    *,
    title: str,
    header: Mapping[str, str],
    code: bool,
) -> str:
    """One HTML page of an executed notebook: the header first, code shown or hidden."""
    copy = nbformat.from_dict(notebook)
    if header:
        rows = "\n".join(
            f"| {name} | {value.replace('|', '&#124;')} |" for name, value in header.items()
        )
        cell = nbformat.v4.new_markdown_cell(f"| Report | {title} |\n|---|---|\n{rows}")
        cell["id"] = HEADER_CELL_ID
        copy.cells.insert(0, cell)
    exporter = HTMLExporter(
        exclude_input=not code, exclude_input_prompt=not code, exclude_output_prompt=not code
    )
    body, _ = exporter.from_notebook_node(copy, resources={"metadata": {"name": title}})
    return str(body)


def write_exports(
    notebook: nbformat.NotebookNode, html: Path, *, title: str, header: Mapping[str, str]
) -> tuple[Path, Path]:
    """Write the full export to ``html`` and the code-hidden one beside it (each atomic)."""
    reader = reader_path(html)
    write_text_atomic(html, export_html(notebook, title=title, header=header, code=True))
    write_text_atomic(reader, export_html(notebook, title=title, header=header, code=False))
    return html, reader


@contextlib.contextmanager
def export_for_tracking(
    executed: list[ExecutedNotebook], header: Mapping[str, str], subject: str
) -> Iterator[list[Path]]:
    """Both exports of each executed notebook with ``header``, in a folder removed afterwards.

    For the tracking store: its copies may name the run, commit and date, which the DVC
    outputs cannot without changing on every run.
    """
    with tempfile.TemporaryDirectory(prefix="tabpipe-report-exports-") as folder:
        written: list[Path] = []
        for notebook in executed:
            node = nbformat.read(notebook.executed, as_version=4)
            title = report_title(node, notebook.source.stem, subject)
            written += write_exports(
                node, Path(folder) / notebook.html.name, title=title, header=header
            )
        yield written


INJECTED_CELL_ID = "injected-parameters"


_RUN_METADATA = ("start_time", "end_time", "duration", "input_path", "output_path")


def reproducible(notebook: nbformat.NotebookNode, source: Path) -> nbformat.NotebookNode:
    """Drop what changes from run to run (times, temporary paths, random cell ids).

    Printed text reaches the notebook in as many stream outputs as the kernel happened to
    flush (``print`` may arrive as the text and its newline, or as one), so consecutive
    streams are merged, with nbconvert's own preprocessor, into what was printed.
    """
    notebook, _ = CoalesceStreamsPreprocessor().preprocess(notebook, {})
    run = notebook.metadata.get("papermill", {})
    for key in _RUN_METADATA:
        run.pop(key, None)
    run["input_path"] = source.as_posix()
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
        papermill_cell = cell.metadata.get("papermill", {})
        for key in _RUN_METADATA:
            papermill_cell.pop(key, None)
        if INJECTED_CELL_ID in cell.metadata.get("tags", []):
            cell["id"] = INJECTED_CELL_ID
    return notebook
