"""Two pipelines at once, and a pipeline killed mid-stage: DVC's lock and our stale-run sweep."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import mlflow_client, pipeline_env, run

pytestmark = pytest.mark.integration


@pytest.fixture
def background_repro(repo_copy: Path) -> Iterator[subprocess.Popen[str]]:
    """`dvc repro train` in its own process group, its output line-buffered into a pipe."""
    process = subprocess.Popen(
        ["dvc", "repro", "train"],
        cwd=repo_copy,
        env=pipeline_env({"PYTHONUNBUFFERED": "1"}),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    yield process
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)


def _wait_for_line(process: subprocess.Popen[str], text: str) -> list[str]:
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if text in line:
            return seen
    msg = f"process ended before printing {text!r}:\n{''.join(seen)}"
    raise AssertionError(msg)


def _wait_for_running_run(repo: Path, process: subprocess.Popen[str], deadline_s: float) -> str:
    """The id of the train stage's RUNNING run, read from the SQLite file read-only.

    Read-only so that the test never creates MLflow's tables itself, racing the stage.
    """
    database = repo / "mlflow.db"
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline and process.poll() is None:
        if database.exists():
            try:
                with contextlib.closing(
                    sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)
                ) as connection:
                    row = connection.execute(
                        "SELECT run_uuid FROM runs WHERE status = 'RUNNING'"
                    ).fetchone()
            except sqlite3.OperationalError:  # tables not created yet
                row = None
            if row:
                return str(row[0])
        time.sleep(0.2)
    output = process.communicate(timeout=60)[0] if process.poll() is not None else ""
    msg = f"the train stage never showed a RUNNING MLflow run:\n{output}"
    raise AssertionError(msg)


def test_a_second_repro_fails_at_once_while_the_first_completes(
    repo_copy: Path, background_repro: subprocess.Popen[str]
) -> None:
    _wait_for_line(background_repro, "Running stage 'ingest'")

    second = run(["dvc", "repro", "train"], cwd=repo_copy, check=False)

    assert second.returncode != 0
    # DVC's read/write lock on the stage outputs names the process that holds them.
    assert "is busy, it is being blocked by" in second.stderr
    assert "dvc repro train" in second.stderr
    assert background_repro.poll() is None  # refused while the first one was still working
    output, _ = background_repro.communicate(timeout=600)
    assert background_repro.returncode == 0, output
    status = run(["dvc", "status", "train"], cwd=repo_copy).stdout
    assert "up to date" in status
    assert (repo_copy / "models/model.skops").stat().st_size > 0


def test_a_pipeline_killed_during_train_recovers_on_the_next_repro(
    repo_copy: Path, background_repro: subprocess.Popen[str]
) -> None:
    _wait_for_line(background_repro, "Running stage 'train'")
    killed_run = _wait_for_running_run(repo_copy, background_repro, deadline_s=120)

    os.killpg(background_repro.pid, signal.SIGKILL)
    background_repro.communicate(timeout=30)
    client = mlflow_client(repo_copy)
    assert client.get_run(killed_run).info.status == "RUNNING"  # nobody was left to close it

    recovered = run(["dvc", "repro", "train"], cwd=repo_copy)

    assert "Running stage 'train'" in recovered.stdout
    assert client.get_run(killed_run).info.status == "FAILED"
    experiment = client.get_experiment_by_name("tabpipe-adult")
    assert experiment is not None
    statuses = sorted(r.info.status for r in client.search_runs([experiment.experiment_id]))
    assert statuses == ["FAILED", "FINISHED"]
    assert "up to date" in run(["dvc", "status", "train"], cwd=repo_copy).stdout
