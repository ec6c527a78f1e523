"""Notebooks executed by papermill on a real Jupyter kernel of this environment."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import pytest
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from tabpipe.errors import ExitCode, NotebookError
from tabpipe.records.params import Params
from tabpipe.repositories.notebook_runner import NotebookRunOptions, execute_notebook, run_notebooks
from tabpipe.services.stages.report import execute_all
from tests.helpers import with_overrides

pytestmark = pytest.mark.integration


def _notebook(*sources: str) -> NotebookNode:
    parameters = new_code_cell('# Parameters\nvalue = 1\nout_path = "out.json"')
    parameters.metadata["tags"] = ["parameters"]
    notebook: NotebookNode = new_notebook(
        cells=[new_markdown_cell("# Probe"), parameters, *map(new_code_cell, sources)],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )
    return notebook


def _run(source: Path, out_dir: Path, **parameters: object) -> object:
    return execute_notebook(
        source, out_dir, parameters, kernel_name="python3", cell_timeout_s=120, cwd=source.parent
    )


def test_papermill_injects_declared_parameters_into_this_environments_kernel(
    tmp_path: Path,
) -> None:
    source = tmp_path / "probe.ipynb"
    nbformat.write(
        _notebook(
            "# Record what the kernel received\nimport json, sys\n"
            "json.dump({'value': value, 'python': sys.executable}, open(out_path, 'w'))\n"
            "print(f'value is {value}')"
        ),
        source,
    )
    out_dir = tmp_path / "reports"

    result = _run(source, out_dir, value=41, out_path="seen.json", undeclared="ignored")

    seen = json.loads((tmp_path / "seen.json").read_text())  # written in cwd = the source folder
    assert seen["value"] == 41
    assert Path(seen["python"]).resolve() == Path(sys.executable).resolve()
    assert getattr(result, "parameters", None) == ("out_path", "value")
    executed = nbformat.read(out_dir / "probe.ipynb", as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1
    assert "value = 41" in injected[0].source
    html = (out_dir / "probe.html").read_text()
    assert "value is 41" in html
    assert not list(out_dir.glob(".*"))  # no partial file left behind


def test_the_same_notebook_and_parameters_give_the_same_bytes(tmp_path: Path) -> None:
    """No run times, temporary names or random cell ids: DVC's lock hash stays put."""
    source = tmp_path / "same.ipynb"
    nbformat.write(_notebook("# Show the value\nprint(value * 3)"), source)
    first, second = tmp_path / "first", tmp_path / "second"
    _run(source, first, value=7)
    _run(source, second, value=7)
    for name in ("same.ipynb", "same.html", "same.reader.html"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert "<title>Probe</title>" in (first / "same.html").read_text()  # its first heading


def test_a_cell_that_raises_fails_the_run_naming_the_cell_and_keeps_the_last_good_html(
    tmp_path: Path,
) -> None:
    source = tmp_path / "report.ipynb"
    out_dir = tmp_path / "reports"
    out_dir.mkdir()
    (out_dir / "report.html").write_text("last good")
    (out_dir / "report.ipynb").write_text("last good executed copy")
    nbformat.write(
        _notebook("# Fine\nx = value * 2", "# Fails on purpose\nraise ValueError(f'boom {x}')"),
        source,
    )

    with pytest.raises(NotebookError) as raised:
        _run(source, out_dir, value=5)

    message = str(raised.value)
    assert f"notebook {source}: cell 3 ('# Fails on purpose') raised ValueError: boom 10" in message
    assert "report.failed.ipynb" in message
    assert (out_dir / "report.html").read_text() == "last good"
    assert (out_dir / "report.ipynb").read_text() == "last good executed copy"
    partial = nbformat.read(out_dir / "report.failed.ipynb", as_version=4)
    assert any(o.get("ename") == "ValueError" for c in partial.cells for o in c.get("outputs", []))

    nbformat.write(_notebook("# Fine now\nx = value * 2"), source)
    _run(source, out_dir, value=5)
    assert not (out_dir / "report.failed.ipynb").exists()
    assert (out_dir / "report.html").read_text() != "last good"


def test_a_failure_names_the_files_that_stay_not_the_scratch_folder(tmp_path: Path) -> None:
    source = tmp_path / "report.ipynb"
    nbformat.write(_notebook("# Fails on purpose\nraise ValueError('boom')"), source)
    out_dir = tmp_path / "reports" / "notebooks"
    options = NotebookRunOptions(
        kernel_name="python3",
        cell_timeout_s=120,
        max_parallel=1,
        cwd=tmp_path,
        failed_dir=out_dir,
    )
    with pytest.raises(NotebookError) as raised:
        run_notebooks([source], out_dir, {"value": 1}, options)
    message = str(raised.value)
    assert f"the last good HTML ({out_dir / 'report.html'}) is unchanged" in message
    assert ".tmp" not in message
    assert (out_dir / "report.failed.ipynb").is_file()


def test_notebooks_run_side_by_side_and_every_failure_is_reported(
    tmp_path: Path, adult_params: Params
) -> None:
    for name, body in (("good", "# Fine\nx = value + 1"), ("bad", "# Breaks\n1 / 0")):
        nbformat.write(_notebook(body), tmp_path / f"{name}.ipynb")
    params = with_overrides(
        adult_params, report={"notebooks": ["good.ipynb", "bad.ipynb"], "max_parallel": 2}
    )

    out_dir = tmp_path / params.paths.notebooks_dir
    with pytest.raises(NotebookError) as raised:
        execute_all(params, tmp_path, out_dir)

    assert "bad.ipynb: cell 2 ('# Breaks') raised ZeroDivisionError" in str(raised.value)
    assert "good.ipynb" not in str(raised.value)
    assert (out_dir / "good.html").is_file()  # the other notebook still ran to the end
    assert (out_dir / "bad.failed.ipynb").is_file()
    assert not (out_dir / "bad.html").exists()


def test_a_cell_past_the_timeout_fails_with_what_to_check(tmp_path: Path) -> None:
    source = tmp_path / "slow.ipynb"
    nbformat.write(_notebook("# Too slow\nimport time\ntime.sleep(30)"), source)

    with pytest.raises(NotebookError) as raised:
        execute_notebook(
            source, tmp_path / "out", {}, kernel_name="python3", cell_timeout_s=2, cwd=tmp_path
        )

    message = str(raised.value)
    assert f"notebook {source} could not run" in message
    assert "report.cell_timeout_s (2)" in message
    assert not (tmp_path / "out" / "slow.html").exists()
    assert not list((tmp_path / "out").glob(".*"))  # no partial file left under its temp name


def _pid_notebook(seconds: int) -> NotebookNode:
    """Writes its kernel's and its worker's pids to ``out_path``, then sleeps."""
    return _notebook(
        "# Who runs me\nimport os, pathlib, time\n"
        "pathlib.Path(out_path).write_text(f'{os.getpid()} {os.getppid()}')\n"
        f"time.sleep({seconds})"
    )


def _wait_for_pids(paths: list[Path], deadline_s: float = 60) -> list[int]:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if all(path.is_file() and path.read_text() for path in paths):
            return [int(pid) for path in paths for pid in path.read_text().split()]
        time.sleep(0.2)
    msg = f"the notebooks did not start within {deadline_s} s"
    raise AssertionError(msg)


def _gone(pids: list[int], deadline_s: float = 20) -> list[int]:
    """The pids still running after ``deadline_s`` (a zombie has ended)."""
    deadline = time.monotonic() + deadline_s
    while True:
        left = [pid for pid in pids if _running(pid)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _two_sleepers(folder: Path, adult_params: Params) -> Params:
    for name in ("one", "two"):
        notebook = _pid_notebook(120)
        notebook.cells[1].source = f'# Parameters\nvalue = 1\nout_path = "{name}.pids"'
        nbformat.write(notebook, folder / f"{name}.ipynb")
    return with_overrides(
        adult_params, report={"notebooks": ["one.ipynb", "two.ipynb"], "max_parallel": 2}
    )


def test_a_killed_worker_fails_the_report_naming_the_notebook_and_leaves_no_kernel_files(
    tmp_path: Path, adult_params: Params
) -> None:
    params = _two_sleepers(tmp_path, adult_params)
    out_dir = tmp_path / params.paths.notebooks_dir
    raised: list[BaseException] = []

    def report() -> None:
        try:
            execute_all(params, tmp_path, out_dir)
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            raised.append(exc)

    runner = threading.Thread(target=report)
    runner.start()
    kernel_one, worker_one, kernel_two, worker_two = _wait_for_pids(
        [tmp_path / "one.pids", tmp_path / "two.pids"]
    )
    os.kill(worker_one, signal.SIGKILL)
    runner.join(timeout=60)

    assert not runner.is_alive()
    assert len(raised) == 1
    assert isinstance(raised[0], NotebookError)
    assert raised[0].exit_code == ExitCode.NOTEBOOK_FAILED
    assert f"notebook {tmp_path / 'one.ipynb'}: did not finish" in str(raised[0])
    assert "worker process of the report died" in str(raised[0])
    assert _gone([kernel_one, worker_two, kernel_two]) == []
    assert not list(Path(tempfile.gettempdir()).glob(f"tabpipe-report-{os.getpid()}-*"))
    assert not list(out_dir.glob("*running*"))


def test_killing_the_report_kills_its_workers_and_kernels(
    tmp_path: Path, adult_params: Params
) -> None:
    params = _two_sleepers(tmp_path, adult_params)
    (tmp_path / "params.json").write_text(params.model_dump_json())
    script = (
        "import sys; from pathlib import Path\n"
        "from tabpipe.records.params import Params\n"
        "from tabpipe.services.stages.report import execute_all\n"
        "root = Path(sys.argv[1])\n"
        "params = Params.model_validate_json((root / 'params.json').read_text())\n"
        "execute_all(params, root, root / 'out')\n"
    )
    report = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)])
    try:
        pids = _wait_for_pids([tmp_path / "one.pids", tmp_path / "two.pids"])
        report.send_signal(signal.SIGKILL)  # no cleanup code of its own can run
        report.wait(timeout=30)
        assert _gone(pids) == []  # workers die with it, kernels with their workers
    finally:
        if report.poll() is None:
            report.kill()
    assert not (tmp_path / "out" / "one.html").exists()  # nothing written after the kill
