"""The pipeline against a real `mlflow server` over HTTP, and against one that is not there."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from tabpipe.cli.app import app
from tabpipe.errors import ExitCode, TrackingUnavailableError
from tabpipe.repositories import mlflow_store as store
from tests.helpers import ProjectFactory
from tests.integration.conftest import (
    VENV_BIN,
    commit_project,
    edit_params,
    invoke,
    pipeline_env,
)

pytestmark = pytest.mark.integration
runner = CliRunner()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


_SERVERS: dict[str, subprocess.Popen[bytes]] = {}


class _ServerGroup:
    """`mlflow server` and its workers (one process group): freeze, thaw or kill them all."""

    def __init__(self, server: subprocess.Popen[bytes]) -> None:
        self.group = server.pid  # start_new_session: the server leads its own group

    def send_signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.group, signum)


def _server_process(url: str) -> _ServerGroup:
    return _ServerGroup(_SERVERS[url])


def _wait_until_healthy(url: str, server: subprocess.Popen[bytes], deadline_s: float) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            msg = f"mlflow server exited with {server.returncode}"
            raise AssertionError(msg)
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:  # noqa: S310
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    msg = f"mlflow server at {url} not healthy after {deadline_s} s"
    raise AssertionError(msg)


@pytest.fixture
def tracking_server(tmp_path: Path) -> Iterator[str]:
    """`mlflow server` on a free loopback port with its own SQLite backend and artifact folder."""
    folder = tmp_path / "server"
    folder.mkdir()
    port = _free_port()
    server = subprocess.Popen(
        [
            str(VENV_BIN / "mlflow"),
            "server",
            "--backend-store-uri",
            f"sqlite:///{folder / 'mlflow.db'}",
            "--artifacts-destination",
            str(folder / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        cwd=folder,
        env=pipeline_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, so that a test can freeze it whole
    )
    url = f"http://127.0.0.1:{port}"
    _SERVERS[url] = server
    try:
        _wait_until_healthy(url, server, deadline_s=120)
        yield url
    finally:
        _SERVERS.pop(url, None)
        group = _ServerGroup(server)
        group.send_signal(signal.SIGCONT)
        group.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            group.send_signal(signal.SIGKILL)


@pytest.fixture
def small_project(
    make_project: ProjectFactory, adult_raw: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> Path:
    monkeypatch.delenv("DVC_ROOT", raising=False)
    project = make_project(adult_raw.head(3000))
    edit_params(
        project,
        evaluate={"bootstrap_samples": 50},
        gates={"rules": [{"metric": "roc_auc", "min": 0.8}], "slice_gaps": []},
    )
    commit_project(project)
    return project


def test_the_pipeline_tracks_registers_and_promotes_through_a_tracking_server(
    tracking_server: str, small_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_server)

    for stage in ("ingest", "split", "train", "evaluate", "promote"):
        invoke(stage)

    client = MlflowClient(tracking_uri=tracking_server)
    version = client.get_model_version_by_alias("tabpipe-adult", "champion")
    assert str(version.version) == "1"
    assert version.run_id is not None
    tracked = client.get_run(version.run_id)
    assert tracked.info.status == "FINISHED"
    assert "test_roc_auc" in tracked.data.metrics  # copied by the model's first evaluation
    assert tracked.info.artifact_uri.startswith("mlflow-artifacts:")  # stored by the server
    evaluation = client.search_runs(
        [tracked.info.experiment_id],
        filter_string=f"tags.`mlflow.parentRunId` = '{tracked.info.run_id}' "
        "and tags.`tabpipe.stage` = 'evaluate'",
    )[0]
    assert evaluation.data.metrics["gates_passed"] == 1.0
    plots = {a.path for a in client.list_artifacts(evaluation.info.run_id, "plots")}
    assert "plots/roc_curve.png" in plots  # uploaded through the server's artifact proxy
    mlflow.set_tracking_uri(tracking_server)
    champion = mlflow.sklearn.load_model("models:/tabpipe-adult@champion")
    rows = pd.read_parquet(small_project / "data/processed/test.parquet").head(3)
    assert len(champion.predict(rows.drop(columns="income"))) == 3
    assert not (small_project / "mlflow.db").exists()  # nothing went to the local default store
    assert not (small_project / "mlartifacts").exists()


def test_two_clones_on_one_server_never_promote_a_model_worse_than_the_champion_of_now(
    tracking_server: str, small_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Clone 1 evaluates a weak model; clone 2 promotes a better one; clone 1's promote
    compares with the champion that holds the alias at that moment, and refuses."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_server)
    gates = {"rules": [{"metric": "roc_auc", "min": 0.5, "max_drop_vs_champion": 0.01}]}
    edit_params(small_project, gates=gates)
    clone_2 = small_project.parent / "clone-2"
    shutil.copytree(small_project, clone_2)
    clone_1 = small_project
    weak = {"kind": "hist_gradient_boosting", "max_iter": 2, "early_stopping": False}
    edit_params(clone_1, train={"model": weak})
    commit_project(clone_1)
    commit_project(clone_2)

    monkeypatch.chdir(clone_1)
    for stage in ("ingest", "split", "train", "evaluate"):
        invoke(stage)  # the weak model passes the absolute gates; no champion yet

    monkeypatch.chdir(clone_2)
    for stage in ("ingest", "split", "train", "evaluate", "promote"):
        invoke(stage)
    client = MlflowClient(tracking_uri=tracking_server)
    better = client.get_model_version_by_alias("tabpipe-adult", "champion")
    assert str(better.version) == "1"

    monkeypatch.chdir(clone_1)
    refused = runner.invoke(app, ["promote"])

    assert refused.exit_code == ExitCode.GATE_FAILED, refused.output
    assert "worse than the champion beyond the tolerance" in refused.output
    assert "champion v1, re-scored on this test split" in refused.output
    assert str(client.get_model_version_by_alias("tabpipe-adult", "champion").version) == "1"
    promotion = json.loads((clone_1 / "reports/promotion.json").read_text())
    assert (promotion["champion_before"], promotion["champion_after"]) == ("1", "1")
    assert promotion["promoted"] is False


def _short_retries(monkeypatch: pytest.MonkeyPatch, *, retries: int, timeout_s: int) -> None:
    """Set through monkeypatch, so what tabpipe changes after a lost server is undone."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", str(retries))
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", str(timeout_s))


def test_an_unreachable_tracking_server_fails_soon_with_the_uri_and_what_to_check(
    small_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    for name in ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)  # tabpipe's defaults
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", raising=False)
    for stage in ("ingest", "split", "train"):  # no MLflow in these
        invoke(stage)

    started = time.monotonic()
    result = runner.invoke(app, ["evaluate"])
    waited = time.monotonic() - started

    assert result.exit_code == ExitCode.TRACKING_UNAVAILABLE, result.output
    assert f"MLflow tracking server {uri} did not answer after 2 retries" in result.output
    assert "MLFLOW_TRACKING_URI" in result.output
    assert "Traceback" not in result.output
    assert waited < 60  # bounded retries, not MLflow's four-minute default
    assert not (small_project / "reports/metrics.json").exists()  # refused before scoring


def test_a_frozen_tracking_server_fails_within_the_bounded_time_with_its_own_exit_code(
    tracking_server: str, small_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_server)
    _short_retries(monkeypatch, retries=1, timeout_s=2)
    for stage in ("ingest", "split", "train"):
        invoke(stage)
    server = _server_process(tracking_server)
    server.send_signal(signal.SIGSTOP)  # accepts connections, never answers
    try:
        started = time.monotonic()
        result = runner.invoke(app, ["evaluate"])
        waited = time.monotonic() - started
    finally:
        server.send_signal(signal.SIGCONT)

    assert result.exit_code == ExitCode.TRACKING_UNAVAILABLE, result.output
    assert "did not answer after 1 retries (timeout 2 s each)" in result.output
    assert "Traceback" not in result.output
    assert waited < 30  # 2 tries x 2 s, backoff, and one short try to close: not minutes
    assert not (small_project / "reports/metrics.json").exists()


def test_a_server_lost_in_the_middle_of_a_stage_gives_the_same_message_not_a_bug(
    tracking_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _short_retries(monkeypatch, retries=1, timeout_s=2)
    tracking = store.TrackingStore(uri=tracking_server, artifact_location=None)
    experiment_id = store.connect(tracking, "lost-server")
    server = _server_process(tracking_server)

    started = time.monotonic()
    with (
        pytest.raises(TrackingUnavailableError) as raised,
        store.stage_run(experiment_id=experiment_id, stage="evaluate"),
    ):
        server.send_signal(signal.SIGSTOP)
        try:
            store.log_metrics({"roc_auc": 0.9})
        finally:
            server.send_signal(signal.SIGKILL)  # and then it is gone for good
    waited = time.monotonic() - started

    assert raised.value.exit_code == ExitCode.TRACKING_UNAVAILABLE
    assert str(raised.value).startswith(f"MLflow tracking server {tracking_server} did not answer")
    assert "docs/runbook.md" in str(raised.value)
    assert mlflow.active_run() is None  # closed (or given up) without a second error
    assert waited < 30
