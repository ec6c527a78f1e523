"""The whole pipeline under DVC with a real MLflow SQLite store: train, gates, promotion, report."""

from __future__ import annotations

import json
import re
import shutil
import urllib.request
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.entities import Run
from mlflow.tracking import MlflowClient
from scripts.loadtest import served

from tests.fixtures.imports_seen import record_imports, stage_imports
from tests.fixtures.other_machine import simulated_machine
from tests.helpers import overprecise_outputs
from tests.integration.conftest import champion_version, edit_params, mlflow_client, run
from tests.integration.test_documented_commands import document_blocks, reader_terminal

pytestmark = pytest.mark.integration

ADULT_MIN_ROC_AUC = 0.92


def _metrics(repo: Path) -> dict[str, object]:
    loaded = json.loads((repo / "reports/metrics.json").read_text())
    assert isinstance(loaded, dict)
    return loaded


def _child_run(client: MlflowClient, parent: Run, stage: str) -> Run:
    found = client.search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.`mlflow.parentRunId` = '{parent.info.run_id}' "
        f"and tags.`tabpipe.stage` = '{stage}'",
        order_by=["attributes.start_time DESC"],
    )
    assert found, f"no {stage} run under {parent.info.run_id}"
    return found[0]


def test_the_readmes_commands_train_track_gate_promote_and_report(
    repo_copy: Path, tmp_path: Path
) -> None:
    """README.md's command blocks, verbatim and in order, in a fresh clone and terminal.

    On another machine (``tests/fixtures/other_machine.py``: every computed float a few
    ulps off), which must reproduce the committed dvc.lock all the same.
    """
    terminal = reader_terminal(repo_copy)
    terminal.env |= simulated_machine(tmp_path / "other-machine")
    imports_log = tmp_path / "imports.jsonl"
    record_imports(tmp_path / "other-machine", imports_log)
    blocks = [block for block in document_blocks("README.md") if block.runs]
    assert blocks[0].text.startswith("make train"), "README.md should start with make train"
    result = terminal.apply(blocks[0])
    for stage in ("ingest", "split", "train", "evaluate", "drift", "eda", "report", "promote"):
        assert f"Running stage '{stage}'" in result.stdout
    assert result.stdout.index("Running stage 'report'") < result.stdout.index(
        "Running stage 'promote'"
    )
    # Bit-for-bit: the committed dvc.lock and every committed output were reproduced.
    changed = run(["git", "status", "--porcelain"], cwd=repo_copy).stdout
    diff = run(["git", "diff"], cwd=repo_copy).stdout[:3000]
    assert changed == "", (
        f"not reproduced (after a code change: dvc repro, commit dvc.lock):\n{diff}"
    )
    assert overprecise_outputs(repo_copy) == {}
    drift = json.loads((repo_copy / "reports/drift/drift.json").read_text())
    assert drift["drifted_share"] < drift["max_drifted_share"]  # Adult's test split: no drift
    assert "drift: OK" in result.stdout

    metrics = _metrics(repo_copy)
    test = metrics["test"]
    assert isinstance(test, dict)
    assert test["roc_auc"] >= ADULT_MIN_ROC_AUC
    gates = json.loads((repo_copy / "reports/gates.json").read_text())
    assert gates["passed"] is True
    promotion = json.loads((repo_copy / "reports/promotion.json").read_text())
    assert (promotion["mode"], promotion["version"]) == ("champion", "1")
    for plot in ("roc.json", "precision_recall.json", "calibration.json", "confusion.csv"):
        assert (repo_copy / "reports/plots" / plot).is_file()
    assert not (repo_copy / "reports/plots/residuals.json").exists()
    # `dvc plots show` draws offline: the page carries vega itself (.dvc/plots/offline.html).
    run(["dvc", "plots", "show", "-o", "plots-page"], cwd=repo_copy)
    page = (repo_copy / "plots-page/index.html").read_text()
    assert "<script src=" not in page
    assert "vegaEmbed(" in page
    assert "Permutation importance" in page
    assert "Precision, recall and F1 by decision threshold" in page
    shutil.rmtree(repo_copy / "plots-page")

    # Both notebooks ran on this run's outputs: HTML with real plots and the run's numbers.
    eda = (repo_copy / "reports/eda/01-eda.html").read_text()
    model_report = (repo_copy / "reports/notebooks/02-model-report.html").read_text()
    assert eda.count("data:image/png;base64") >= 5
    assert "32,561 rows x 14 columns" in eda
    assert model_report.count("data:image/png;base64") >= 4
    assert f"{test['roc_auc']:.4f}" in model_report
    assert "Gates passed" in model_report

    tracked = _the_runs_and_the_registry_tell_one_story(repo_copy, test)
    _make_serve_answers_raw_rows_as_tabpipe_predict_does(repo_copy, terminal.env)
    outputs = "".join(terminal.apply(block).stdout for block in blocks[1:])  # the rest
    _the_experiment_registers_a_challenger_and_the_run_cache_restores(repo_copy, tracked, outputs)
    _an_experiment_on_the_model_pays_for_mlflow_twice_and_no_evidently(outputs, imports_log)
    _an_impossible_gate_stops_promotion(repo_copy)


def _assert_report_copies_name_their_run(
    client: MlflowClient, report: Run, tracked: Run, repo_copy: Path
) -> None:
    """The tracked copies name their run and commit; the DVC outputs only digests."""
    logged = Path(client.download_artifacts(report.info.run_id, "notebooks", str(repo_copy.parent)))
    headed = (logged / "02-model-report.reader.html").read_text()
    for expected in (report.info.run_id, tracked.info.run_id, "Commit", " UTC"):
        assert expected in headed
    assert "<title>Model report: adult</title>" in headed
    assert "hl-ipython3" not in headed, "the reader's copy hides the code"
    # The data notebook's copy keeps its own stage's header: the data, no model.
    eda = (logged / "01-eda.reader.html").read_text()
    assert "this page describes the data alone" in eda
    assert "DVC stage <code>eda" in eda
    assert report.info.run_id in eda
    on_disk = (repo_copy / "reports/notebooks/02-model-report.reader.html").read_text()
    assert report.info.run_id not in on_disk
    assert "sha256" in on_disk


def _assert_drift_page_logged(client: MlflowClient, tracked: Run) -> Run:
    """The drift stage writes files only; promote logs its page under the training run.

    Returns the report run that promote logged beside it.
    """
    drift = _child_run(client, tracked, "drift")
    assert "drift_share" in drift.data.metrics
    logged = {a.path for a in client.list_artifacts(drift.info.run_id, "drift")}
    assert logged == {"drift/drift.html", "drift/drift.json"}
    return _child_run(client, tracked, "report")


def _assert_gate_intervals_logged(evaluation: Run) -> None:
    """The intervals the gates were judged by, beside the estimates, on the evaluate run."""
    logged = evaluation.data.metrics
    for name in ("test_roc_auc", "test_log_loss", "test_balanced_accuracy"):
        assert logged[f"{name}_ci_low"] <= logged[name] <= logged[f"{name}_ci_high"]
    gap = "slice_gap_gender_roc_auc"
    assert logged[f"{gap}_ci_low"] <= logged[gap] <= logged[f"{gap}_ci_high"]


def _the_runs_and_the_registry_tell_one_story(repo_copy: Path, test: dict[str, float]) -> Run:
    """The champion's training run, its stage runs, the card and a servable model."""
    client = mlflow_client(repo_copy)
    version = client.get_model_version_by_alias("tabpipe-adult", "champion")
    assert str(version.version) == "1"
    assert version.run_id is not None
    tracked = client.get_run(version.run_id)
    assert tracked.info.status == "FINISHED"
    assert tracked.data.tags["tabpipe.stage"] == "train"
    assert tracked.data.params["train.model.kind"] == "hist_gradient_boosting"
    assert tracked.data.metrics["test_roc_auc"] == pytest.approx(test["roc_auc"])
    assert {"git.commit", "git.dirty", "tabpipe.model_sha256"} <= set(tracked.data.tags)
    # What the MLflow UI opens on: a model-training experiment with a description, a run
    # named after its commit, a registered model that says what its aliases mean.
    experiment = client.get_experiment(tracked.info.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    assert "Each `train` run" in experiment.tags["mlflow.note.content"]
    assert tracked.info.run_name == f"train {tracked.data.tags['git.commit'][:8]}"
    assert "`champion` is production" in client.get_registered_model("tabpipe-adult").description
    assert tracked.data.params["decision_threshold"] == "0.5"
    steps = client.get_metric_history(tracked.info.run_id, "val_loss")
    assert len(steps) > 10
    assert [m.step for m in steps] == list(range(len(steps)))
    evaluation = _child_run(client, tracked, "evaluate")
    assert evaluation.data.metrics["gates_passed"] == 1.0
    _assert_gate_intervals_logged(evaluation)
    assert evaluation.inputs is not None
    assert tracked.inputs is not None
    contexts = {
        next(tag.value for tag in ds.tags if tag.key == "mlflow.data.context")
        for ds in (*tracked.inputs.dataset_inputs, *evaluation.inputs.dataset_inputs)
    }
    assert contexts == {"training", "validation", "testing"}
    artifacts = {a.path for a in client.list_artifacts(evaluation.info.run_id, "plots")}
    assert "plots/roc_curve.png" in artifacts
    assert "plots/score_deciles.png" in artifacts
    report = _assert_drift_page_logged(client, tracked)
    notebooks = {a.path for a in client.list_artifacts(report.info.run_id, "notebooks")}
    assert notebooks == {
        f"notebooks/{stem}{kind}.html"
        for stem in ("01-eda", "02-model-report")
        for kind in ("", ".reader")
    }
    _assert_report_copies_name_their_run(client, report, tracked, repo_copy)
    card = (repo_copy / "reports/model_card.md").read_text()
    assert f"| **roc_auc** | {test['roc_auc']:.4f} |" in card
    assert "model_card.md" in {a.path for a in client.list_artifacts(report.info.run_id)}
    described = client.get_model_version("tabpipe-adult", "1").description or ""
    assert described.startswith("# Model card: tabpipe-adult\n\n**Version 1**, registered ")
    assert f"from training run `{tracked.info.run_id}`" in described
    assert described.endswith(card.split("# Model card: tabpipe-adult\n", 1)[1])
    assert _child_run(client, tracked, "promote").data.tags["promote.alias"] == "champion"

    # The registered champion takes the split's rows as they are (categories, int64) through
    # pyfunc, loaded with skops and declared trusted types, and answers with probabilities.
    mlflow.set_tracking_uri(f"sqlite:///{repo_copy / 'mlflow.db'}")
    model = mlflow.pyfunc.load_model("models:/tabpipe-adult@champion")
    rows = pd.read_parquet(repo_copy / "data/processed/test.parquet").head(5)
    probabilities = np.asarray(model.predict(rows.drop(columns="income")))
    assert probabilities.shape == (5, 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    outputs = model.metadata.signature.outputs.inputs
    assert [spec.name for spec in outputs] == ["<=50K", ">50K"]
    return tracked


def _make_serve_answers_raw_rows_as_tabpipe_predict_does(clone: Path, env: dict[str, str]) -> None:
    """MLflow's scoring server (`make serve`) on the champion: JSON rows in, probabilities out."""
    with served(None, root=clone, env=env) as base:  # the README's own command, in the clone
        assert _answers(f"{base}/health")
        rows = (
            pd.read_parquet(clone / "data/processed/test.parquet").head(25).drop(columns="income")
        )
        records = json.loads(rows.to_json(orient="records"))  # NaN -> null, categories -> text
        records[0]["occupation"] = None  # a missing value where the schema allows one
        request = urllib.request.Request(  # noqa: S310 - a fixed loopback URL
            f"{base}/invocations",
            data=json.dumps({"dataframe_records": records}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            served_rows = np.asarray(json.loads(response.read())["predictions"], dtype=float)
    pd.DataFrame(records).to_csv(clone / "batch.csv", index=False)
    run(["tabpipe", "predict", "batch.csv", "--output", "predicted.parquet"], cwd=clone)
    predicted = pd.read_parquet(clone / "predicted.parquet")
    # One probability per class, in the order of the signature's outputs (<=50K, >50K).
    assert served_rows.shape == (len(records), 2)
    np.testing.assert_allclose(served_rows[:, 0], predicted["proba_<=50K"], atol=1e-9)
    np.testing.assert_allclose(served_rows[:, 1], predicted["proba_>50K"], atol=1e-9)
    (clone / "batch.csv").unlink()
    (clone / "predicted.parquet").unlink()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
            return bool(response.status == 200)
    except OSError:
        return False


def _the_experiment_registers_a_challenger_and_the_run_cache_restores(
    repo_copy: Path, baseline: Run, readme_output: str
) -> None:
    """The README's `dvc exp run` never moves the champion; a repeat is not retrained."""
    assert "promote (challenger): tabpipe-adult v2: DVC experiment 'lr-low'" in readme_output
    client = mlflow_client(repo_copy)
    assert champion_version(repo_copy) == "1"
    assert str(client.get_model_version_by_alias("tabpipe-adult", "challenger").version) == "2"
    assert "lr-low" in run(["dvc", "exp", "show", "--json"], cwd=repo_copy).stdout
    # `make exps` (the README's) puts the primary metric, its interval and the gate verdict
    # beside each experiment on an 80-column screen, with the param that changed.
    table = run(["make", "-s", "exps"], cwd=repo_copy, env={"COLUMNS": "80"}).stdout
    header = table.splitlines()[1]
    for column in ("Experiment", "roc_auc", "roc_auc_low", "roc_auc_high", "gates_passed"):
        assert column in header, table
    assert "…" not in header, table
    lr_low = next(line for line in table.splitlines() if "lr-low" in line)
    assert re.search(r"0\.9\d+\s+0\.9\d+\s+0\.9\d+\s+(True|False)", lr_low), table
    # The README's `tabpipe compare`: v1 against the experiment's v2 on the test split.
    assert "champion   tabpipe-adult v1:" in readme_output
    assert "challenger tabpipe-adult v2:" in readme_output
    assert "DeLong's test: z = " in readme_output
    assert "verdict: " in readme_output
    assert "minimum units per arm: control 3,841, treatment 3,841" in readme_output
    trained = client.search_runs(
        [baseline.info.experiment_id], filter_string="tags.`tabpipe.stage` = 'train'"
    )
    assert len(trained) == 2
    experiment_run = next(r for r in trained if r.data.tags.get("dvc.experiment") == "lr-low")
    assert experiment_run.data.params["train.model.learning_rate"] == "0.05"
    assert experiment_run.info.run_name == "lr-low"

    # Back to the committed learning rate: DVC restores train, evaluate and report (the
    # model card included) from its run cache; drift and eda never depended on the model.
    again = run(
        ["dvc", "exp", "run", "report", "-S", "train.model.learning_rate=0.1"], cwd=repo_copy
    )
    for stage in ("train", "evaluate", "report"):
        assert f"Stage '{stage}' is cached - skipping run, checking out outputs" in again.stdout
    assert "Running stage" not in again.stdout, again.stdout
    trained_again = client.search_runs(
        [baseline.info.experiment_id], filter_string="tags.`tabpipe.stage` = 'train'"
    )
    assert len(trained_again) == 2  # no third training run: nothing was retrained


def _an_experiment_on_the_model_pays_for_mlflow_twice_and_no_evidently(
    readme_output: str, imports_log: Path
) -> None:
    """`dvc exp run -S train.*`: no drift, no EDA; MLflow in evaluate and promote only."""
    seen = stage_imports(imports_log, "lr-low")
    assert set(seen) == {"tabpipe train", "tabpipe evaluate", "tabpipe report", "tabpipe promote"}
    with_mlflow = {command for command, found in seen.items() if found["mlflow"]}
    assert with_mlflow == {"tabpipe evaluate", "tabpipe promote"}, seen
    assert not any(found["evidently"] for found in seen.values()), seen
    assert [command for command, found in seen.items() if found["papermill"]] == [
        "tabpipe report"
    ], seen
    assert "promote (challenger): tabpipe-adult v2" in readme_output


def _an_impossible_gate_stops_promotion(repo_copy: Path) -> None:
    """The evaluate stage exits 4 under DVC; promote does not run; the champion stays."""
    champion = champion_version(repo_copy)
    edit_params(repo_copy, gates={"rules": [{"metric": "roc_auc", "min": 0.999}], "slice_gaps": []})
    failed = run(["dvc", "repro"], cwd=repo_copy, check=False)
    assert failed.returncode != 0
    assert "quality gate(s) failed" in failed.stderr
    assert "roc_auc >= 0.999: FAILED" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert "Running stage 'promote'" not in failed.stdout
    assert champion_version(repo_copy) == champion
    assert json.loads((repo_copy / "reports/gates.json").read_text())["passed"] is False
    status = run(["tabpipe", "status"], cwd=repo_copy, check=False)
    assert status.returncode == 7  # evaluate is out of date in dvc.lock: not one consistent run
    assert "is a REJECTED candidate" in status.stdout
    assert "evaluate:" in status.stdout
