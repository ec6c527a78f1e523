"""The data stages (ingest, split) run by DVC in a copy of the repository."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.helpers import REPO_ROOT
from tests.integration.conftest import run

pytestmark = pytest.mark.integration


def _data_stages(lock_text: str) -> dict[str, object]:
    stages = yaml.safe_load(lock_text)["stages"]
    return {name: stages[name] for name in ("ingest", "split")}


def test_dvc_repro_runs_the_data_stages_reproduces_the_lock_and_then_does_nothing(
    repo_copy: Path,
) -> None:
    committed_lock = (repo_copy / "dvc.lock").read_text()

    first = run(["dvc", "repro", "split"], cwd=repo_copy)
    assert "Running stage 'ingest'" in first.stdout
    assert "Running stage 'split'" in first.stdout

    dataset = json.loads((repo_copy / "reports/ingest/dataset.json").read_text())
    assert (dataset["n_rows"], dataset["n_columns"]) == (32561, 14)
    assert dataset["target"]["class_counts"] == {"<=50K": 24720, ">50K": 7841}
    for name in ("train", "val", "test"):
        assert (repo_copy / f"data/processed/{name}.parquet").is_file()
    # The committed lock is current: same code, params and data give the same hashes.
    assert _data_stages((repo_copy / "dvc.lock").read_text()) == _data_stages(committed_lock)

    second = run(["dvc", "repro", "split"], cwd=repo_copy)
    assert "Data and pipelines are up to date." in second.stdout
    assert "Running stage" not in second.stdout

    # The data stages' summaries are committed records, not DVC metrics (scores.json is).
    metrics = run(["dvc", "metrics", "show", "--json"], cwd=repo_copy)
    assert "n_rows" not in metrics.stdout
    summary = run(["dvc", "metrics", "show", "--json", "reports/split/summary.json"], cwd=repo_copy)
    assert '"seed": 42' in summary.stdout  # still readable by DVC, as a target


def test_a_failed_stage_keeps_the_last_good_outputs(repo_copy: Path) -> None:
    run(["dvc", "repro", "split"], cwd=repo_copy)
    validated = repo_copy / "data/interim/validated.parquet"
    before = validated.read_bytes()

    raw = repo_copy / "data/raw/adult.csv.gz"
    raw.write_bytes(raw.read_bytes()[:5000])  # a truncated gzip
    failed = run(["dvc", "repro", "split"], cwd=repo_copy, check=False)

    assert failed.returncode != 0
    assert "cannot be decompressed" in failed.stderr + failed.stdout
    assert validated.read_bytes() == before


def test_changing_a_split_param_reruns_split_only(repo_copy: Path) -> None:
    run(["dvc", "repro", "split"], cwd=repo_copy)
    params = repo_copy / "params.yaml"
    params.write_text(params.read_text().replace("  seed: 42\n  stratify", "  seed: 7\n  stratify"))
    rerun = run(["dvc", "repro", "split"], cwd=repo_copy)
    assert "Stage 'ingest' didn't change, skipping" in rerun.stdout
    assert "Running stage 'split'" in rerun.stdout


def test_the_pull_request_report_compares_metrics_and_params_with_a_base_revision() -> None:
    """`make pr-report` (the CI job summary): read-only on this repository."""
    missing = run(["make", "-s", "pr-report"], cwd=REPO_ROOT, check=False)
    assert missing.returncode == 2
    assert "usage: make pr-report BASE=" in missing.stderr
    report = run(["make", "-s", "pr-report", "BASE=HEAD"], cwd=REPO_ROOT).stdout
    for heading in ("## metrics: this change against `HEAD`", "## params: this change",
                    "## Gates of this change"):  # fmt: skip
        assert heading in report
    gates_written = (REPO_ROOT / "reports/gates.md").is_file()  # only after `make train`
    assert ("# Quality gates:" in report) == gates_written
    assert ("No gate table" in report) == (not gates_written)
