"""Executing a notebook with papermill and exporting it to HTML with nbconvert.

The executed copy and the HTML are written only when every cell ran. When a cell
raises, the partial executed copy is kept as ``<name>.failed.ipynb`` for debugging.

Two HTML exports: ``<name>.html`` with the code, and ``<name>.reader.html`` for readers,
code hidden. Both open with a header (what data and model the report describes) and are
titled after the notebook's first heading.

All of it is byte-reproducible: papermill's timings and the kernel's execution times
are dropped, the injected parameters cell gets a fixed id, and the header holds digests,
not clocks, so the same inputs give the same files (and the same hashes in ``dvc.lock``)
on every machine. :func:`export_for_tracking` writes copies whose header adds the run,
commit and date, for the tracking store.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import papermill
from jupyter_client.manager import AsyncKernelManager
from loguru import logger
from papermill.exceptions import PapermillExecutionError
from traitlets import CaselessStrEnum, default

from tabpipe.errors import NotebookError
from tabpipe.records.notebooks import ExecutedNotebook
from tabpipe.repositories.notebook_exports import (
    output_paths,
    reader_path,
    report_title,
    reproducible,
    write_exports,
)
from tabpipe.utils.atomic import atomic_dir, write_text_atomic
from tabpipe.utils.processes import alive, die_with_parent
from tabpipe.utils.progress import PROGRESS_EVERY_S


class LocalKernelManager(AsyncKernelManager):
    """A kernel manager that talks to its kernel over IPC sockets of its own.

    The kernel is ours alone: no TCP port opened on the machine, and no warning from
    ipykernel about unencrypted TCP in every pipeline log. :func:`kernel_manager_in`
    gives each run a folder of its own for the sockets (jupyter_client's default is
    ``kernel-ipc`` in the working folder, shared by every kernel started there).
    """

    transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc")


_SCRATCH_PREFIX = "tabpipe-report-"


def kernel_manager_in(folder: Path) -> type[LocalKernelManager]:
    """A :class:`LocalKernelManager` whose sockets and connection file live in ``folder``."""

    class FolderKernelManager(LocalKernelManager):
        @default("ip")
        def _socket_prefix_in_folder(self) -> str:
            return str(folder / f"ipc-{uuid.uuid4().hex[:12]}")

        @default("connection_file")
        def _connection_file_in_folder(self) -> str:
            return str(folder / f"kernel-{uuid.uuid4().hex[:12]}.json")

    return FolderKernelManager


def new_scratch_folder() -> Path:
    """A private folder for a run's kernel sockets, connection files and partial copies.

    One per report run, outside every output folder, removed on every exit path; a run
    killed outright leaves it behind with its pid in the name, and the next run removes
    it (:func:`sweep_scratch_folders`).
    """
    return Path(tempfile.mkdtemp(prefix=f"{_SCRATCH_PREFIX}{os.getpid()}-"))


def sweep_scratch_folders() -> int:
    """Remove the scratch folders of report runs whose process no longer exists."""
    removed = 0
    for folder in Path(tempfile.gettempdir()).glob(f"{_SCRATCH_PREFIX}*-*"):
        owner = folder.name.removeprefix(_SCRATCH_PREFIX).split("-", 1)[0]
        if owner.isdigit() and not alive(int(owner)):
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def declared_parameters(source: Path) -> set[str]:
    """Names assigned in the notebook's ``parameters`` cell (papermill's own parser)."""
    return set(papermill.inspect_notebook(str(source)))


def source_cell_index(source: Path, failed_source: str, fallback: int) -> int:
    """Index of the failing cell in the committed notebook.

    papermill counts cells of the executed copy, which has an extra injected
    parameters cell; the user edits the committed one.
    """
    notebook = nbformat.read(source, as_version=4)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and cell.source == failed_source:
            return index
    return fallback


def running_cell(partial: Path) -> tuple[int, int, str] | None:
    """(position, cell count, first line) of the cell papermill marks running, if any.

    papermill saves the notebook as each cell starts; a file caught mid-write is skipped.
    """
    try:
        cells = json.loads(partial.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    for index, cell in enumerate(cells):
        if cell.get("metadata", {}).get("papermill", {}).get("status") == "running":
            source = cell.get("source", "")
            text = "".join(source) if isinstance(source, list) else str(source)
            return index + 1, len(cells), _first_line(text)
    return None


@contextlib.contextmanager
def progress_lines(
    source: Path, partial: Path, every_s: float = PROGRESS_EVERY_S
) -> Iterator[None]:
    """Log the running cell every ``every_s`` seconds while a notebook executes."""
    stop = threading.Event()
    started = time.perf_counter()

    def watch() -> None:
        while not stop.wait(every_s):
            found = running_cell(partial)
            if found is not None:
                position, total, first = found
                logger.info(
                    "notebook {}: cell {} of {} running ({}), {:.0f} s so far",
                    source,
                    position,
                    total,
                    first,
                    time.perf_counter() - started,
                )

    watcher = threading.Thread(target=watch, name=f"progress-{source.stem}", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()


def _first_line(source: str) -> str:
    lines = [line.strip() for line in source.splitlines() if line.strip()]
    return lines[0] if lines else ""


def execute_notebook(
    source: Path,
    out_dir: Path,
    parameters: Mapping[str, Any],
    *,
    kernel_name: str,
    cell_timeout_s: int,
    cwd: Path,
    failed_dir: Path | None = None,
    scratch: Path | None = None,
    header: Mapping[str, str] | None = None,
    subject: str = "",
) -> ExecutedNotebook:
    """Run ``source`` with the parameters it declares; write the executed copy and HTML.

    A failed run's partial copy goes to ``failed_dir`` (default ``out_dir``). ``header``
    (name to value) opens both HTML exports; ``subject`` follows the title. The
    kernel's files and the copy being run live in ``scratch`` (default: a folder of its
    own, removed when the notebook is done), never in an output folder.
    """
    executed, html, _ = output_paths(source, out_dir)
    # Messages name the final folder's files: out_dir may be a fresh folder that replaces it.
    _, last_good, failed = output_paths(source, failed_dir or out_dir)
    declared = declared_parameters(source)
    injected = {name: value for name, value in parameters.items() if name in declared}
    started = time.perf_counter()
    logger.info("notebook {}: running ({} parameters injected)", source, len(injected))
    # papermill saves after every cell; it writes to a private name (ending in .ipynb,
    # as papermill expects) that becomes the executed copy only when every cell ran.
    folder = new_scratch_folder() if scratch is None else scratch
    partial = folder / f"{source.stem}.{os.getpid()}.running.ipynb"
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        try:
            with progress_lines(source, partial):
                papermill.execute_notebook(
                    str(source),
                    str(partial),
                    parameters=injected,
                    kernel_name=kernel_name,
                    execution_timeout=cell_timeout_s,
                    cwd=str(cwd),
                    progress_bar=False,
                    kernel_manager_class=kernel_manager_in(folder),
                )
        except PapermillExecutionError as exc:
            failed.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(partial, failed)
            index = source_cell_index(source, exc.source, exc.cell_index)
            msg = (
                f"notebook {source}: cell {index} ({_first_line(exc.source)!r}) raised "
                f"{exc.ename}: {exc.evalue}\n"
                f"The partial run is in {failed}; the last good HTML ({last_good}) is unchanged."
            )
            raise NotebookError(msg) from None
        except Exception as exc:
            # The kernel died, would not start, or a cell ran past the timeout.
            if partial.exists():
                failed.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(partial, failed)
            msg = (
                f"notebook {source} could not run: {type(exc).__name__}: {exc}\n"
                f"Check report.kernel_name ('{kernel_name}') and report.cell_timeout_s "
                f"({cell_timeout_s}); the last good HTML ({last_good}) is unchanged."
            )
            raise NotebookError(msg) from exc
        notebook = reproducible(nbformat.read(partial, as_version=4), source)
        title = report_title(notebook, source.stem, subject)
        write_exports(notebook, html, title=title, header=header or {})
        write_text_atomic(executed, nbformat.writes(notebook) + "\n")
    finally:
        partial.unlink(missing_ok=True)
        if scratch is None:
            shutil.rmtree(folder, ignore_errors=True)
    failed.unlink(missing_ok=True)
    seconds = time.perf_counter() - started
    logger.info("notebook {}: done in {:.1f} s", source, seconds)
    return ExecutedNotebook(
        source=source,
        executed=executed,
        html=html,
        reader_html=reader_path(html),
        parameters=tuple(sorted(injected)),
        seconds=round(seconds, 2),
    )


@dataclass(frozen=True)
class NotebookRunOptions:
    """How notebooks run: the kernel, the per-cell timeout, how many at once, and where."""

    kernel_name: str
    cell_timeout_s: int
    max_parallel: int
    cwd: Path
    failed_dir: Path
    header: Mapping[str, str] = field(default_factory=dict)  # opens each HTML export
    subject: str = ""  # after the title, e.g. the dataset's name


def run_notebooks(
    sources: list[Path],
    out_dir: Path,
    parameters: Mapping[str, Any],
    options: NotebookRunOptions,
) -> list[ExecutedNotebook]:
    """Execute every notebook into a fresh folder that replaces ``out_dir`` only when all ran.

    A failure leaves the previous folder as it was (and the failed copy in
    ``options.failed_dir``); the returned paths are the final ones, under ``out_dir``.
    """
    with atomic_dir(out_dir) as fresh:
        return [
            notebook.model_copy(
                update={
                    "executed": out_dir / notebook.executed.name,
                    "html": out_dir / notebook.html.name,
                    "reader_html": out_dir / notebook.reader_html.name,
                }
            )
            for notebook in execute_all(sources, fresh, parameters, options)
        ]


def execute_all(
    sources: list[Path],
    out_dir: Path,
    parameters: Mapping[str, Any],
    options: NotebookRunOptions,
) -> list[ExecutedNotebook]:
    """Run the notebooks, several at once in separate processes; raise after all have finished.

    Separate processes, not threads: jupyter_client's sessions are not thread-safe.
    Every notebook runs to the end even when another fails, so one report names every
    failing notebook.
    """
    values = dict(parameters)
    workers = min(options.max_parallel, len(sources))
    if stale := sweep_scratch_folders():
        logger.info("report: removed {} scratch folder(s) of killed runs", stale)
    scratch = new_scratch_folder()
    settings = {
        "kernel_name": options.kernel_name,
        "cell_timeout_s": options.cell_timeout_s,
        "cwd": options.cwd,
        "failed_dir": options.failed_dir,
        "scratch": scratch,
        "header": dict(options.header),
        "subject": options.subject,
    }
    try:
        if workers <= 1:
            outcomes = [_outcome(source, out_dir, values, settings) for source in sources]
        else:
            outcomes = _in_workers(sources, workers, out_dir, values, settings)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    failures = [outcome for outcome in outcomes if isinstance(outcome, NotebookError)]
    if failures:
        raise NotebookError("\n".join(str(failure) for failure in failures))
    return [outcome for outcome in outcomes if isinstance(outcome, ExecutedNotebook)]


def _in_workers(
    sources: list[Path],
    workers: int,
    out_dir: Path,
    values: dict[str, Any],
    options: dict[str, Any],
) -> list[ExecutedNotebook | NotebookError]:
    """Each notebook in a worker process that dies with this one (see ``die_with_parent``)."""
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=die_with_parent) as pool:
        futures = {
            source: pool.submit(_outcome, source, out_dir, values, options) for source in sources
        }
        outcomes: list[ExecutedNotebook | NotebookError] = []
        for source, future in futures.items():
            try:
                outcomes.append(future.result())
            except BrokenProcessPool:
                outcomes.append(
                    NotebookError(
                        f"notebook {source}: did not finish, because a worker process of "
                        "the report died (killed, or out of memory); no output of it was "
                        "kept. Rerun the report stage (`dvc repro report`)."
                    )
                )
    return outcomes


def _outcome(
    source: Path, out_dir: Path, values: dict[str, Any], options: dict[str, Any]
) -> ExecutedNotebook | NotebookError:
    try:
        return execute_notebook(source, out_dir, values, **options)
    except NotebookError as exc:
        return exc
