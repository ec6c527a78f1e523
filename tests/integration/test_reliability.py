"""Two pipelines at once, and a pipeline killed mid-stage: DVC's lock and our stale-run sweep."""

from __future__ import annotations

import os
import signal
import subprocess
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
    """SIGKILL mid-fit: no partial model, no MLflow run (train opens none); repro refits."""
    _wait_for_line(background_repro, "train: fitting")
    os.killpg(background_repro.pid, signal.SIGKILL)
    background_repro.communicate(timeout=30)
    assert not (repo_copy / "models/model.skops").exists()
    assert not list((repo_copy / "models").glob(".model.skops.*"))  # no temporary left behind

    recovered = run(["dvc", "repro", "evaluate"], cwd=repo_copy)

    assert "Running stage 'train'" in recovered.stdout
    client = mlflow_client(repo_copy)
    experiment = client.get_experiment_by_name("tabpipe-adult")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    stages = sorted(r.data.tags["tabpipe.stage"] for r in runs)
    assert stages == ["evaluate", "train"]  # one training run, logged by evaluate
    assert "up to date" in run(["dvc", "status", "train"], cwd=repo_copy).stdout
