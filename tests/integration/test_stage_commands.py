"""Each stage command in process, on a small Adult sample, with a real MLflow SQLite store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from threadpoolctl import threadpool_limits
from typer.testing import CliRunner

from tabpipe.cli.app import app
from tabpipe.errors import ExitCode
from tabpipe.repositories.model_file import load_model
from tabpipe.repositories.params_file import load_params
from tabpipe.services.data.batches import load_batch
from tests.helpers import ProjectFactory
from tests.integration.conftest import (
    champion_version,
    commit_params,
    commit_project,
    invoke_all,
    mlflow_client,
    pipeline_env,
    run,
)

pytestmark = pytest.mark.integration
runner = CliRunner()


@pytest.fixture
def project(
    make_project: ProjectFactory, adult_raw: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> Path:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("DVC_ROOT", raising=False)
    root = make_project(adult_raw.head(3000))
    commit_project(root)
    commit_params(root, "evaluate", bootstrap_samples=50)
    commit_params(
        root,
        "gates",
        rules=[{"metric": "roc_auc", "min": 0.8, "max_drop_vs_champion": 0.02}],
        slice_gaps=[],
    )
    invoke_all("ingest")
    invoke_all("split")
    return root


def test_train_evaluate_promote_then_status(project: Path) -> None:
    assert "train ok: hist_gradient_boosting" in invoke_all("train")
    assert "gates passed" in invoke_all("evaluate")
    promoted = invoke_all("promote")
    assert "promote (champion): tabpipe-adult v1: all gates passed; first champion" in promoted
    assert "this model is already 'champion' (v1)" in invoke_all("promote")

    status = invoke_all("status")
    assert "champion         v1 (model " in status
    assert "the model in this work tree" in status
    assert "quality gates    reports/gates.md  (passed)" in status
    assert "verdict: consistent" in status
    metrics = json.loads((project / "reports/metrics.json").read_text())
    assert metrics["interval"]["n_resamples"] == 50
    summary = json.loads((project / "models/model.json").read_text())
    version = mlflow_client(project).get_model_version_by_alias("tabpipe-adult", "champion")
    assert version.tags["tabpipe.model_sha256"] == summary["model_sha256"]
    assert version.tags["tabpipe.test_sha256"] == metrics["test_sha256"]
    assert "tabpipe.champion_since" in version.tags
    # The runs table compares training runs by what `dvc exp show` shows for experiments.
    assert version.run_id is not None
    trained = mlflow_client(project).get_run(version.run_id).data.metrics
    low, high = trained["test_roc_auc_ci_low"], trained["test_roc_auc_ci_high"]
    assert low <= trained["test_roc_auc"] <= high
    assert (low, high) == (metrics["interval"]["low"], metrics["interval"]["high"])
    assert trained["gates_passed_at_first_evaluation"] == 1.0
    assert "gates_passed" not in trained  # the current verdict is the evaluate run's
    promotion = json.loads((project / "reports/promotion.json").read_text())
    assert (promotion["mode"], promotion["version"], promotion["promoted"]) == (
        "champion",
        "1",
        True,
    )


def test_promote_repeats_its_decision_without_mlflow_until_something_it_read_changes(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _run_stages("train", "evaluate", "promote")
    again = invoke_all("promote")
    assert "nothing changed since the last promote" in again
    assert "promote (champion): tabpipe-adult v1: this model is already 'champion' (v1)" in again
    fresh = subprocess.run(  # a process of its own, as DVC runs it: MLflow is never imported
        [sys.executable, "-c", _PROMOTE_AND_LIST_MLFLOW], cwd=project, env=pipeline_env(),
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert fresh.stdout.split()[-2:] == ["0", "False"], fresh.stdout + fresh.stderr

    # The registry changed behind promote's back: it asks the registry again and acts.
    mlflow_client(project).delete_registered_model_alias("tabpipe-adult", "champion")
    restored = invoke_all("promote")
    assert "nothing changed since the last promote" not in restored
    assert "first champion" in restored
    assert champion_version(project) == "1"

    # A changed input (metrics re-measured with another bootstrap) makes it ask again.
    commit_params(project, "evaluate", bootstrap_samples=60)
    invoke_all("evaluate")
    remeasured = invoke_all("promote")
    assert "nothing changed since the last promote" not in remeasured
    assert "this model is already 'champion' (v1)" in remeasured

    # Another mode (an experiment) is another decision, even on an unchanged registry.
    monkeypatch.setenv("DVC_EXP_NAME", "same-model")
    challenger = invoke_all("promote")
    assert "nothing changed since the last promote" not in challenger
    assert "registered as 'challenger'" in challenger
    client = mlflow_client(project)
    assert str(client.get_model_version_by_alias("tabpipe-adult", "challenger").version) == "1"
    assert "nothing changed since the last promote" in invoke_all("promote")


_PROMOTE_AND_LIST_MLFLOW = (
    "import sys\n"
    "from typer.testing import CliRunner\n"
    "from tabpipe.cli.app import app\n"
    "result = CliRunner().invoke(app, ['promote'])\n"
    "print(result.output)\n"
    "print(result.exit_code, 'mlflow' in sys.modules)\n"
)


def _run_stages(*stages: str) -> None:
    for stage in stages:
        invoke_all(stage)


def test_a_better_model_takes_the_alias_and_a_worse_one_does_not(project: Path) -> None:
    weak = {"kind": "hist_gradient_boosting", "max_iter": 2, "early_stopping": False}
    commit_params(
        project, "gates", rules=[{"metric": "roc_auc", "min": 0.5, "max_drop_vs_champion": 0.01}]
    )

    commit_params(project, "train", model=weak)
    _run_stages("train", "evaluate", "promote")
    weak_auc = json.loads((project / "reports/metrics.json").read_text())["test"]["roc_auc"]
    assert champion_version(project) == "1"

    commit_params(project, "train", model={"kind": "hist_gradient_boosting"})
    _run_stages("train", "evaluate", "promote")
    better = json.loads((project / "reports/metrics.json").read_text())["test"]["roc_auc"]
    assert better > weak_auc
    assert champion_version(project) == "2"
    client = mlflow_client(project)
    assert client.get_model_version("tabpipe-adult", "2").tags["replaced_version"] == "1"
    assert client.get_model_version("tabpipe-adult", "1").tags["replaced_by_version"] == "2"

    commit_params(project, "train", model=weak)
    _run_stages("train", "evaluate")  # the absolute gates pass: only the champion is better
    worse = runner.invoke(app, ["promote"])
    assert worse.exit_code == ExitCode.GATE_FAILED, worse.output
    assert "worse than the champion beyond the tolerance" in worse.output
    assert "roc_auc within 0.01 of the champion: FAILED" in worse.output
    assert "tabpipe promote --version 1" in worse.output  # the same bytes as v1: no new version
    assert champion_version(project) == "2"

    # A person may still decide (a rollback): the absolute gates are re-checked first.
    explicit = invoke_all("promote", "--version", "1")
    assert "promote (explicit): tabpipe-adult v1: explicit promotion; replaced v2" in explicit
    assert champion_version(project) == "1"


def test_an_experiment_or_uncommitted_change_registers_a_challenger_only(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _run_stages("train", "evaluate", "promote")
    assert champion_version(project) == "1"

    commit_params(project, "train", model={"kind": "hist_gradient_boosting", "learning_rate": 0.2})
    invoke_all("train")
    invoke_all("evaluate")
    monkeypatch.setenv("DVC_EXP_NAME", "lr-high")
    experiment = invoke_all("promote")
    assert "promote (challenger): tabpipe-adult v2: DVC experiment 'lr-high'" in experiment
    assert "'champion' stays v1" in experiment
    monkeypatch.delenv("DVC_EXP_NAME")
    client = mlflow_client(project)
    assert champion_version(project) == "1"
    assert str(client.get_model_version_by_alias("tabpipe-adult", "challenger").version) == "2"

    (project / "params.yaml").write_text((project / "params.yaml").read_text() + "\n# note\n")
    dirty = invoke_all("promote")
    assert "uncommitted changes: params.yaml" in dirty
    assert champion_version(project) == "1"


def test_promote_refuses_metrics_of_another_model_or_test_split(project: Path) -> None:
    """Run out of order, promote would compare numbers from different runs: exit 7."""
    _run_stages("train", "evaluate")
    commit_params(project, "split", seed=7)
    invoke_all("split")
    other_split = runner.invoke(app, ["promote"])
    assert other_split.exit_code == ExitCode.STALE_OUTPUTS, other_split.output
    assert "computed on another test split" in other_split.output

    invoke_all("train")  # a new model on the new split, not evaluated yet
    other_model = runner.invoke(app, ["promote"])
    assert other_model.exit_code == ExitCode.STALE_OUTPUTS, other_model.output
    assert "the outputs are from different runs" in other_model.output
    with pytest.raises(MlflowException, match="not found"):
        mlflow_client(project).get_model_version_by_alias("tabpipe-adult", "champion")


def test_reevaluating_never_rewrites_a_registered_models_runs(project: Path) -> None:
    _run_stages("train", "evaluate", "promote")
    client = mlflow_client(project)
    version = client.get_model_version_by_alias("tabpipe-adult", "champion")
    assert version.run_id is not None
    trained = client.get_run(version.run_id)
    experiment = trained.info.experiment_id
    before = {
        run.info.run_id: (run.info.status, run.data.metrics, run.data.tags)
        for run in client.search_runs([experiment])
    }

    commit_params(project, "gates", rules=[{"metric": "roc_auc", "min": 0.999}], slice_gaps=[])
    failed = runner.invoke(app, ["evaluate"])
    assert failed.exit_code == ExitCode.GATE_FAILED

    after = {run.info.run_id: run for run in client.search_runs([experiment])}
    for run_id, (status, metrics, tags) in before.items():
        assert (after[run_id].info.status, after[run_id].data.metrics) == (status, metrics)
        assert after[run_id].data.tags == tags
    new = [run for run_id, run in after.items() if run_id not in before]
    assert len(new) == 1
    assert new[0].data.tags["tabpipe.stage"] == "evaluate"
    assert new[0].data.tags["mlflow.parentRunId"] == trained.info.run_id
    assert new[0].data.tags["gates.passed"] == "false"
    assert new[0].info.status == "FINISHED"  # a verdict, not a crash


def test_failed_gates_stop_or_warn_and_never_promote(project: Path) -> None:
    invoke_all("train")
    commit_params(project, "gates", rules=[{"metric": "roc_auc", "min": 0.999}], slice_gaps=[])
    failed = runner.invoke(app, ["evaluate"])
    assert failed.exit_code == ExitCode.GATE_FAILED
    assert "1 quality gate(s) failed; the model is not promoted" in failed.output
    assert "roc_auc >= 0.999: FAILED" in failed.output
    assert "stays the rejected candidate" in failed.output
    assert "Traceback" not in failed.output
    assert (project / "reports/metrics.json").is_file()
    assert "1 gate(s) failed: not registered" in invoke_all("promote")
    status = runner.invoke(app, ["status"])
    assert "is a REJECTED candidate" in status.output

    commit_params(project, "gates", enforce=False)
    explored = invoke_all("evaluate")
    assert "gates FAILED (not enforced)" in explored
    assert "not registered" in invoke_all("promote")
    with pytest.raises(MlflowException, match="not found"):
        mlflow_client(project).get_model_version_by_alias("tabpipe-adult", "champion")


def test_status_flags_outputs_of_different_runs_and_exits_7(project: Path) -> None:
    _run_stages("train", "evaluate", "drift", "promote")
    assert "verdict: consistent" in invoke_all("status")

    commit_params(project, "train", model={"kind": "hist_gradient_boosting", "max_iter": 3})
    invoke_all("train")  # a new model; metrics and gates still describe the last one

    status = runner.invoke(app, ["status"])
    assert status.exit_code == ExitCode.STALE_OUTPUTS
    assert "reports/gates.json" in status.output
    assert "[STALE: describes model" in status.output
    assert "champion         v1 (model " in status.output
    assert "not the model in this work tree" in status.output
    assert "verdict: NOT CONSISTENT" in status.output


def test_a_run_left_running_by_a_killed_stage_is_closed_by_the_next_evaluate(
    project: Path,
) -> None:
    """train opens no MLflow store; evaluate, the first stage that does, closes the orphan."""
    invoke_all("train")
    client = mlflow_client(project)
    experiment_id = client.create_experiment(
        "tabpipe-adult", artifact_location=(project / "mlartifacts").as_uri()
    )
    orphan = client.create_run(
        experiment_id, tags={"tabpipe.pid": "999999999", "tabpipe.host": os.uname().nodename}
    )
    assert client.get_run(orphan.info.run_id).info.status == "RUNNING"
    invoke_all("evaluate")
    assert client.get_run(orphan.info.run_id).info.status == "FAILED"


def test_the_sweep_never_fails_a_finished_or_registered_run(project: Path) -> None:
    """A registered model's run keeps its record even if its process died while RUNNING."""
    _run_stages("train", "evaluate", "promote")
    client = mlflow_client(project)
    champion = client.get_model_version_by_alias("tabpipe-adult", "champion")
    assert champion.run_id is not None
    assert champion.source is not None
    experiment = client.get_run(champion.run_id).info.experiment_id
    dead = {"tabpipe.pid": "999999999", "tabpipe.host": os.uname().nodename}
    registered_orphan = client.create_run(experiment, tags=dead)
    client.create_model_version(
        "tabpipe-adult", champion.source, run_id=registered_orphan.info.run_id
    )
    plain_orphan = client.create_run(experiment, tags=dead)

    invoke_all("evaluate")

    assert client.get_run(plain_orphan.info.run_id).info.status == "FAILED"
    assert client.get_run(registered_orphan.info.run_id).info.status == "RUNNING"
    assert client.get_run(champion.run_id).info.status == "FINISHED"


def test_evaluate_without_a_model_says_what_to_run(project: Path) -> None:
    result = runner.invoke(app, ["evaluate"])
    assert result.exit_code == ExitCode.DATA_INVALID
    assert "no trained model. Run the train stage first" in result.output


def _shifted_batch(adult_raw: pd.DataFrame, path: Path) -> Path:
    batch = adult_raw.sample(2000, random_state=11).copy()
    batch["age"] = (batch["age"] + 10).clip(upper=90)
    batch["hours-per-week"] = (batch["hours-per-week"] * 1.3).round().clip(1, 99).astype(int)
    batch.loc[batch.sample(frac=0.4, random_state=12).index, "workclass"] = " Self-emp-inc"
    batch.to_csv(path, index=False)
    return path


def test_drift_stage_passes_on_the_test_split_and_gates_a_shifted_batch(
    project: Path, adult_raw: pd.DataFrame
) -> None:
    assert "drift: OK" in invoke_all("drift")  # data against data: no model needed
    assert "drift            reports/drift/drift.html  (OK: " in invoke_all("status")
    report = json.loads((project / "reports/drift/drift.json").read_text())
    assert report["drifted_share"] < report["max_drifted_share"]
    columns = {c["column"] for c in report["columns"]}
    assert columns >= {"age", "income"}
    assert "prediction" not in columns  # the prediction's drift is `tabpipe monitor`'s
    assert report["model_sha256"] is None
    assert (project / "reports/drift/drift.html").stat().st_size > 10_000

    commit_params(
        project, "drift", current_path=str(_shifted_batch(adult_raw, project / "batch.csv"))
    )
    result = runner.invoke(app, ["drift"])
    assert result.exit_code == ExitCode.DRIFT_DETECTED
    for column in ("age", "hours-per-week", "workclass"):
        assert column in result.output
    assert "Traceback" not in result.output


def test_monitor_flags_shift_passes_resamples_and_rejects_broken_batches(
    project: Path, adult_raw: pd.DataFrame
) -> None:
    invoke_all("train")
    invoke_all("evaluate")
    invoke_all("promote")

    shifted = runner.invoke(app, ["monitor", str(_shifted_batch(adult_raw, project / "s.csv"))])
    assert shifted.exit_code == ExitCode.DRIFT_DETECTED, shifted.output
    assert shifted.stdout.startswith("DRIFT:")
    for column in ("age", "hours-per-week", "workclass"):
        assert column in shifted.stdout

    resample = adult_raw.sample(2000, random_state=21)
    resample.to_csv(project / "r.csv", index=False)
    calm = runner.invoke(app, ["monitor", str(project / "r.csv")])
    assert calm.exit_code == 0, calm.output
    assert calm.stdout.startswith("OK:")
    assert "champion gates still pass" in calm.stdout

    resample.drop(columns="income").to_parquet(project / "u.parquet")
    unlabelled = runner.invoke(app, ["monitor", str(project / "u.parquet")])
    assert unlabelled.exit_code == 0, unlabelled.output
    summaries = sorted((project / "reports/monitoring").glob("*-u/summary.json"))
    assert json.loads(summaries[-1].read_text())["labelled"] is False

    resample.drop(columns="education").to_csv(project / "b.csv", index=False)
    broken = runner.invoke(app, ["monitor", str(project / "b.csv")])
    assert broken.exit_code == ExitCode.DATA_INVALID
    assert "column missing from the data (column_in_dataframe): education" in broken.output

    client = mlflow_client(project)
    experiment = client.get_experiment_by_name("tabpipe-adult-monitoring")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 3
    assert {run.data.tags["model.version"] for run in runs} == {"1"}


def test_monitor_alerts_on_quality_not_on_noise(project: Path, adult_raw: pd.DataFrame) -> None:
    """Shuffled labels exit 4; five rows are too few to judge; one class is a normal day."""
    _run_stages("train", "evaluate", "promote")
    batch = adult_raw.sample(2000, random_state=31).reset_index(drop=True)
    shuffled = batch.assign(income=batch["income"].sample(frac=1, random_state=5).to_numpy())
    shuffled.to_csv(project / "shuffled.csv", index=False)
    collapsed = runner.invoke(app, ["monitor", str(project / "shuffled.csv")])
    assert collapsed.exit_code == ExitCode.GATE_FAILED, collapsed.output
    assert "champion gates FAIL on this batch" in collapsed.output

    batch.head(5).to_csv(project / "tiny.csv", index=False)
    tiny = runner.invoke(app, ["monitor", str(project / "tiny.csv")])
    assert tiny.exit_code == 0, tiny.output
    assert "NOT JUDGED: 5 rows, fewer than drift.min_rows (100)" in tiny.output

    one_class = batch[batch["income"].str.strip() == "<=50K"].head(500)
    one_class.to_csv(project / "one-class.csv", index=False)
    ordinary = runner.invoke(app, ["monitor", str(project / "one-class.csv")])
    assert ordinary.exit_code != ExitCode.DATA_INVALID, ordinary.output
    summaries = sorted((project / "reports/monitoring").glob("*-one-class/summary.json"))
    gates = json.loads(summaries[-1].read_text())["gates"]
    assert any("not computable on this batch" in gate["note"] for gate in gates)


def untrusted_code(values: object) -> object:
    return values


def test_a_registered_model_with_an_untrusted_type_is_refused(
    project: Path, adult_raw: pd.DataFrame
) -> None:
    """The artifact's own allow-list is not trusted: tabpipe's list decides."""
    from sklearn.preprocessing import FunctionTransformer

    _run_stages("train", "evaluate", "promote")
    client = mlflow_client(project)
    mlflow.set_tracking_uri(f"sqlite:///{project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("tabpipe-adult")
    assert experiment is not None
    with mlflow.start_run(experiment_id=experiment.experiment_id):
        info = mlflow.sklearn.log_model(
            FunctionTransformer(untrusted_code),
            name="model",
            serialization_format="skops",
            skops_trusted_types=[f"{__name__}.untrusted_code"],
        )
    version = mlflow.register_model(info.model_uri, "tabpipe-adult")
    client.set_registered_model_alias("tabpipe-adult", "champion", str(version.version))
    adult_raw.head(300).to_csv(project / "batch.csv", index=False)

    refused = runner.invoke(app, ["monitor", str(project / "batch.csv")])

    assert refused.exit_code == ExitCode.DATA_INVALID, refused.output
    assert "not on the trusted list" in refused.output
    assert "untrusted_code" in refused.output


def test_monitor_without_a_champion_says_to_train_first(project: Path) -> None:
    result = runner.invoke(app, ["monitor", "data/raw/adult.csv.gz"])
    assert result.exit_code == ExitCode.TRACKING_UNAVAILABLE
    assert "run `make train` first" in result.output


def test_model_uri_names_the_champion_only_once_the_registry_holds_it(project: Path) -> None:
    no_store = runner.invoke(app, ["model-uri"])
    assert no_store.exit_code == ExitCode.TRACKING_UNAVAILABLE
    assert "no MLflow store at sqlite:///" in no_store.output
    invoke_all("train")
    invoke_all("evaluate")  # a store with runs, no registered model yet
    no_champion = runner.invoke(app, ["model-uri"])
    assert no_champion.exit_code == ExitCode.TRACKING_UNAVAILABLE
    assert "no 'champion' version of model 'tabpipe-adult'" in no_champion.output
    invoke_all("promote")
    served = runner.invoke(app, ["model-uri"])
    assert served.exit_code == 0, served.output
    assert served.stdout == "models:/tabpipe-adult@champion\n"


def test_a_leaked_feature_is_named_at_train_and_fails_the_gate_when_enforced(
    make_project: ProjectFactory, adult_raw: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("DVC_ROOT", raising=False)
    raw = adult_raw.head(3000)
    rich = raw["income"].str.strip() == ">50K"
    leaked = raw.assign(**{"hours-per-week": rich.map({True: 60, False: 20})})  # a copy of it
    root = make_project(leaked)
    commit_project(root)
    commit_params(root, "evaluate", bootstrap_samples=50)
    commit_params(root, "gates", rules=[{"metric": "roc_auc", "min": 0.8}], slice_gaps=[])
    invoke_all("ingest")
    invoke_all("split")

    trained = runner.invoke(app, ["train"])
    assert trained.exit_code == 0, trained.output
    assert "possible target leakage: hours-per-week (roc_auc 1.0000 alone)" in trained.output
    summary = json.loads((root / "models/model.json").read_text())
    assert summary["leakage"]["suspects"] == ["hours-per-week"]
    assert "possible target leakage" in invoke_all("evaluate")  # a warning: not enforced

    commit_params(root, "gates", fail_on_leakage=True)
    failed = runner.invoke(app, ["evaluate"])
    assert failed.exit_code == ExitCode.GATE_FAILED, failed.output
    assert "no feature predicts the target alone (roc_auc < 0.99): FAILED" in failed.output
    assert "suspects: hours-per-week" in failed.output


def test_a_search_logs_each_trial_as_a_child_run_and_plots_its_history(project: Path) -> None:
    search = {
        "sampler": "tpe",
        "n_trials": 4,
        "space": {
            "learning_rate": {"low": 0.05, "high": 0.3, "log": True},
            "max_leaf_nodes": [7, 31],
        },
    }
    commit_params(project, "train", search=search)
    trained = invoke_all("train")
    assert "search picked trial" in trained
    summary = json.loads((project / "models/model.json").read_text())
    found = summary["search"]
    assert (found["sampler"], len(found["trials"])) == ("tpe", 4)
    best = found["trials"][found["best_trial"]]
    assert summary["best_params"] == best["params"]
    assert set(found["importances"]) == {"learning_rate", "max_leaf_nodes"}

    invoke_all("evaluate")  # the first evaluation logs the training run and its trials
    client = mlflow_client(project)
    experiment = client.get_experiment_by_name("tabpipe-adult")
    assert experiment is not None
    training = client.search_runs(
        [experiment.experiment_id], filter_string="tags.`tabpipe.stage` = 'train'"
    )
    assert len(training) == 1
    trials = client.search_runs(
        [experiment.experiment_id], filter_string="tags.`tabpipe.stage` = 'train.trial'"
    )
    assert len(trials) == 4
    assert {run.data.tags["mlflow.parentRunId"] for run in trials} == {training[0].info.run_id}
    assert {run.info.status for run in trials} == {"FINISHED"}
    by_number = {int(run.data.tags["optuna.trial"]): run for run in trials}
    for trial in found["trials"]:
        run = by_number[trial["number"]]
        assert run.data.metrics["val_roc_auc"] == pytest.approx(trial["value"])
        assert run.data.params["trial.max_leaf_nodes"] == str(trial["params"]["max_leaf_nodes"])
    assert training[0].data.tags["search.best.max_leaf_nodes"] == str(
        best["params"]["max_leaf_nodes"]
    )

    invoke_all("evaluate")
    history = json.loads((project / "reports/plots/search_history.json").read_text())
    assert [row["trial"] for row in history] == [t["number"] for t in found["trials"]]
    assert history[-1]["best"] == pytest.approx(best["value"])
    bests = [row["best"] for row in history]
    assert bests == sorted(bests)  # the best so far never gets worse (roc_auc: higher)
    importance = json.loads((project / "reports/plots/search_importance.json").read_text())
    assert {row["parameter"] for row in importance} == {"learning_rate", "max_leaf_nodes"}

    commit_params(project, "train", search=None)  # no search: its plots leave with it
    invoke_all("train")
    invoke_all("evaluate")
    assert not (project / "reports/plots/search_history.json").exists()


def test_the_model_file_is_the_same_whatever_the_machines_thread_count(project: Path) -> None:
    """HistGradientBoosting's parallel sums depend on the thread count; train fixes it
    (train.n_threads), so a laptop, CI and a server write the same model.skops."""
    digests = []
    for threads in (1, 3):
        with threadpool_limits(limits=threads):  # what the machine (or OMP_NUM_THREADS) offers
            invoke_all("train")
        digests.append(json.loads((project / "models/model.json").read_text())["model_sha256"])
    assert digests[0] == digests[1]


def test_predict_scores_a_batch_with_the_champion_and_writes_its_provenance(
    project: Path, adult_raw: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    for stage in ("train", "evaluate", "promote"):
        invoke_all(stage)
    monkeypatch.setattr("tabpipe.services.usage.predict.CHUNK_ROWS", 7)  # 18 chunks, one ragged
    adult_raw.head(120).drop(columns="income").to_csv(project / "batch.csv", index=False)

    result = runner.invoke(
        app, ["predict", "batch.csv", "--output", "out/predictions.parquet", "--key", "age"]
    )

    assert result.exit_code == 0, result.output
    assert "predict ok: 120 rows scored by tabpipe-adult v1 -> out/predictions.parquet" in (
        result.output
    )
    written = pd.read_parquet(project / "out/predictions.parquet")
    assert list(written.columns) == [
        "row", "age", "prediction", "proba_<=50K", "proba_>50K", "decision_threshold",
        "model_name", "model_version", "model_run_id",
    ]  # fmt: skip
    assert written["row"].tolist() == list(range(120))
    np.testing.assert_allclose(written[["proba_<=50K", "proba_>50K"]].sum(axis=1), 1.0)
    model = load_model(project / "models/model.skops")  # the champion is this model file
    validated = load_batch(project / "batch.csv", load_params(project / "params.yaml"), project)
    expected = model.predict_proba(validated[list(model.feature_names_in_)])
    np.testing.assert_allclose(written["proba_>50K"], expected[:, 1], atol=1e-12)
    assert set(written["model_version"]) == {"1"}
    runs = mlflow_client(project).search_runs(
        [mlflow_client(project).get_experiment_by_name("tabpipe-adult").experiment_id],  # type: ignore[union-attr]
        filter_string="tags.`tabpipe.stage` = 'predict'",
    )
    assert len(runs) == 1
    assert runs[0].data.metrics["n_rows"] == 120
    assert runs[0].data.tags["tabpipe.model_version"] == "1"

    as_csv = runner.invoke(app, ["predict", "batch.csv", "-o", "out/p.csv", "--version", "1"])
    assert as_csv.exit_code == 0, as_csv.output
    assert len(pd.read_csv(project / "out/p.csv")) == 120


def test_predict_refuses_bad_batches_names_and_aliases_and_writes_nothing(
    project: Path, adult_raw: pd.DataFrame
) -> None:
    for stage in ("train", "evaluate", "promote"):
        invoke_all(stage)
    adult_raw.head(50).drop(columns=["income", "age"]).to_csv(project / "bad.csv", index=False)
    adult_raw.head(50).to_csv(project / "good.csv", index=False)
    cases = [
        (["bad.csv", "-o", "p.parquet"], ExitCode.DATA_INVALID, "age"),
        (["good.csv", "-o", "p.txt"], ExitCode.BAD_PARAMS, "name the output file .parquet or .csv"),
        (["good.csv", "-o", "p.parquet", "--alias", "challenger"], ExitCode.TRACKING_UNAVAILABLE,
         "no 'challenger' version of model 'tabpipe-adult'"),
        (["good.csv", "-o", "p.parquet", "--version", "9"], ExitCode.BAD_PARAMS,
         "--version 9: tabpipe-adult has no such version (registered: 1)"),
        (["good.csv", "-o", "p.parquet", "--key", "id"], ExitCode.BAD_PARAMS,
         "--key: id not a column of good.csv"),
        (["good.csv", "-o", "p.parquet", "--alias", "champion", "--version", "1"],
         ExitCode.BAD_PARAMS, "--alias and --version: give one of them"),
        (["good.csv", "-o", "good.csv/p.parquet"], ExitCode.OUTPUT_NOT_WRITABLE,
         "cannot write good.csv/p.parquet: a file stands where a folder of its path must be"),
    ]  # fmt: skip
    for args, code, fragment in cases:
        result = runner.invoke(app, ["predict", *args])
        assert result.exit_code == code, (args, result.output)
        assert fragment in result.output
        assert "Traceback" not in result.output
        assert not (project / args[2]).is_dir()
        assert args[2] == "good.csv/p.parquet" or not (project / args[2]).exists()


def test_compare_detects_a_better_challenger_promotes_it_and_refuses_a_worse_one(
    project: Path, adult_raw: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit_params(project, "gates", rules=[{"metric": "roc_auc", "min": 0.5}], behaviour=[])
    commit_params(project, "compare", bootstrap_samples=300)
    weak = {"kind": "hist_gradient_boosting", "max_iter": 2, "early_stopping": False}
    commit_params(project, "train", model=weak)
    _run_stages("train", "evaluate", "promote")  # v1: the (weak) champion
    monkeypatch.setenv("DVC_EXP_NAME", "strong")
    commit_params(project, "train", model={"kind": "hist_gradient_boosting"})
    _run_stages("train", "evaluate", "promote")  # v2: a challenger
    monkeypatch.delenv("DVC_EXP_NAME")
    fresh = adult_raw.iloc[3000:6000]  # rows the project never trained or tested on
    fresh.to_csv(project / "fresh.csv", index=False)

    better = invoke_all("compare", "fresh.csv", "--output", "out/comparison.json")
    assert "champion   tabpipe-adult v1:" in better
    assert "challenger tabpipe-adult v2:" in better
    assert "DeLong's test: z = " in better
    assert "verdict: challenger better (p = " in better
    assert "| gender = Female |" in better
    recorded = json.loads((project / "out/comparison.json").read_text())
    assert (recorded["verdict"], recorded["n_rows"], recorded["test"]) == (
        "challenger better", 3000, "DeLong",
    )  # fmt: skip
    assert recorded["interval_low"] > 0
    assert champion_version(project) == "1"  # no --promote: nothing moves

    # Better, but failing a gate of params.yaml on this batch: the champion stays.
    commit_params(project, "gates", rules=[{"metric": "roc_auc", "min": 0.999}], behaviour=[])
    gated = runner.invoke(app, ["compare", "fresh.csv", "--promote"])
    assert gated.exit_code == ExitCode.GATE_FAILED, gated.output
    assert "verdict: challenger better" in gated.output
    assert "v2 fails 1 gate(s) on the batch (roc_auc >= 0.999: FAILED" in gated.output
    assert champion_version(project) == "1"
    commit_params(project, "gates", rules=[{"metric": "roc_auc", "min": 0.5}], behaviour=[])

    promoted = invoke_all("compare", "fresh.csv", "--promote")
    assert "promotion: v2 is now 'champion' (replaced v1)" in promoted
    assert champion_version(project) == "2"
    client = mlflow_client(project)
    assert client.get_model_version("tabpipe-adult", "2").tags["promoted_by"] == "compare"
    runs = client.search_runs(
        [client.get_experiment_by_name("tabpipe-adult").experiment_id],  # type: ignore[union-attr]
        filter_string="tags.`tabpipe.stage` = 'compare'",
    )
    assert len(runs) == 3
    assert sorted(run.data.tags["compare.promoted"] for run in runs) == ["false", "false", "true"]
    assert all(run.data.metrics["n_rows"] == 3000 for run in runs)

    worse = runner.invoke(app, ["compare", "fresh.csv", "--challenger", "1", "--promote"])
    assert worse.exit_code == ExitCode.GATE_FAILED, worse.output
    assert "verdict: challenger worse" in worse.output
    assert "not promoted: the verdict is 'challenger worse'" in worse.output
    assert champion_version(project) == "2"

    monkeypatch.setenv("DVC_EXP_NAME", "nearly-the-same")
    commit_params(project, "train", model={"kind": "hist_gradient_boosting", "learning_rate": 0.11})
    _run_stages("train", "evaluate", "promote")  # v3: the challenger, as good as v2
    monkeypatch.delenv("DVC_EXP_NAME")
    same = runner.invoke(app, ["compare", "fresh.csv", "--promote"])
    assert same.exit_code == ExitCode.GATE_FAILED, same.output
    assert "verdict: no evidence" in same.output
    assert champion_version(project) == "2"


def test_compare_refuses_unlabelled_batches_missing_challengers_and_bad_names(
    project: Path, adult_raw: pd.DataFrame
) -> None:
    _run_stages("train", "evaluate", "promote")
    adult_raw.iloc[3000:3200].to_csv(project / "labelled.csv", index=False)
    adult_raw.iloc[3000:3200].drop(columns="income").to_csv(project / "bare.csv", index=False)
    cases = [
        (["labelled.csv"], ExitCode.TRACKING_UNAVAILABLE,
         "no 'challenger' version of model 'tabpipe-adult': run an experiment"),
        (["labelled.csv", "--challenger", "1"], ExitCode.BAD_PARAMS,
         "'champion' and the challenger are both v1: nothing to compare"),
        (["labelled.csv", "--challenger", "7"], ExitCode.BAD_PARAMS,
         "--challenger 7: tabpipe-adult has no such version (registered: 1)"),
        (["bare.csv", "--challenger", "1"], ExitCode.DATA_INVALID,
         "bare.csv: no 'income' column. compare scores both models against the true labels"),
        (["labelled.csv", "-o", "c.txt"], ExitCode.BAD_PARAMS, "name the comparison file .json"),
    ]  # fmt: skip
    for args, code, fragment in cases:
        result = runner.invoke(app, ["compare", *args])
        assert result.exit_code == code, (args, result.output)
        assert fragment in result.output
        assert "Traceback" not in result.output
    assert not (project / "c.txt").exists()


def test_every_reader_of_a_truncated_registered_model_names_it_and_exits_3(
    project: Path, adult_raw: pd.DataFrame
) -> None:
    """predict, monitor, compare, promote and make serve's first step, each its own process."""
    invoke_all("train")
    invoke_all("evaluate")
    invoke_all("promote")
    adult_raw.sample(300, random_state=3).to_csv(project / "batch.csv", index=False)
    (artifact,) = project.glob("mlartifacts/**/model.skops")  # version 1's
    whole = artifact.read_bytes()
    artifact.write_bytes(whole[: len(whole) // 2])  # a cut copy: a full disk while logging

    def refused(*args: str) -> None:
        done = run(["tabpipe", *args], cwd=project, check=False)
        said = f"tabpipe {' '.join(args)}: {done.stdout}{done.stderr}"
        assert done.returncode == ExitCode.DATA_INVALID, said
        assert "models:/tabpipe-adult/1 (artifact model.skops)" in said, said
        assert "BadZipFile" in said, said
        assert "Traceback" not in said, said

    refused("predict", "batch.csv", "--output", "predictions.parquet")  # the champion, v1
    refused("monitor", "batch.csv")
    refused("model-uri")
    assert not (project / "predictions.parquet").exists()
    # A sound champion v2 beside the damaged v1: v1 as challenger or promoted is refused.
    artifact.write_bytes(whole)
    commit_params(project, "train", seed=7)
    invoke_all("train")
    invoke_all("evaluate")
    invoke_all("promote")
    invoke_all("promote", "--version", "2")
    artifact.write_bytes(whole[: len(whole) // 2])
    refused("compare", "batch.csv", "--challenger", "1")
    refused("promote", "--version", "1")
    assert champion_version(project) == "2"
