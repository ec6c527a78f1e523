"""The model card states what people declared and what the pipeline measured, and nothing else."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pandera.pandas as pa
import pytest
import yaml

from tabpipe.records.dataset import DatasetSummary, SplitSummary
from tabpipe.records.drift import DriftReport
from tabpipe.records.evaluation import (
    FeatureScore,
    GatesReport,
    LeakageCheck,
    MetricsReport,
    ModelSummary,
    SliceMetrics,
)
from tabpipe.records.params import Params
from tabpipe.repositories.datasets import read_record
from tabpipe.services.analysis.evaluation import evaluate_model
from tabpipe.services.analysis.gates import evaluate_gates
from tabpipe.services.data.split_rows import summarise_split
from tabpipe.services.modelling.features import feature_columns
from tabpipe.services.reporting.card_inputs import CardInputs
from tabpipe.services.reporting.model_card import registry_description, render_model_card
from tabpipe.services.stages.drift import measure_drift
from tabpipe.services.stages.train import fit_model
from tests.helpers import REPO_ROOT, with_overrides


@pytest.fixture(scope="module")
def measured(
    adult_params: Params, adult_schema: pa.DataFrameSchema, adult_splits: dict[str, pd.DataFrame]
) -> tuple[SplitSummary, MetricsReport, GatesReport, DriftReport]:
    """The split, metrics, gates and drift of a model fitted on the session's Adult splits.

    Measured here by the stages' own services (the pipeline's copies are DVC outputs, not
    in git, so a clean checkout has none).
    """
    data = adult_params.data
    columns = feature_columns(adult_schema, target=data.target)
    fitted = fit_model(adult_params, columns, adult_splits["train"], adult_splits["val"])
    report = evaluate_model(fitted.pipeline, adult_splits, adult_params, model_sha256="f" * 64)
    gates = evaluate_gates(adult_params.gates, report.report, behaviour=report.behaviour)
    split = summarise_split(adult_splits, adult_params.split, target=data.target, task=data.task)
    drift = measure_drift(
        adult_splits["train"], adult_splits["test"], adult_params.drift,
        reference_name="train", current_name="test",
    ).report  # fmt: skip
    return split, report.report, gates, drift


@pytest.fixture
def inputs(
    adult_params: Params, measured: tuple[SplitSummary, MetricsReport, GatesReport, DriftReport]
) -> CardInputs:
    """The committed dataset summary, and what the fixture above measured."""
    split, metrics, gates, drift = measured
    return CardInputs(
        dataset=read_record(REPO_ROOT / adult_params.paths.dataset_summary, DatasetSummary),
        split=split,
        model=ModelSummary(
            model_sha256="f" * 64, model_kind="hist_gradient_boosting", n_iter=84,
            features=("age", "workclass"), train_sha256="1" * 64, val_sha256="2" * 64,
        ),
        metrics=metrics,
        gates=gates,
        drift=drift,
    )  # fmt: skip


def test_the_card_holds_declared_use_and_measured_results(
    adult_params: Params, inputs: CardInputs
) -> None:
    card = render_model_card(adult_params, inputs)

    assert card.startswith("---\nlicense: MIT\nlibrary_name: sklearn\n")  # the Hub's metadata
    assert "\n---\n\n# Model card: tabpipe-adult\n" in card
    assert adult_params.report.model_card.intended_use in card
    assert adult_params.report.model_card.out_of_scope in card
    for limitation in adult_params.report.model_card.limitations:
        assert f"- {limitation}" in card
    assert f"Model file sha256 `{'f' * 64}`" in card
    assert f"{inputs.dataset.n_rows:,} rows after validation" in card
    primary = inputs.metrics.primary_metric
    assert f"| **{primary}** | {inputs.metrics.test[primary]:.4f} |" in card
    assert inputs.metrics.interval is not None
    assert f"[{inputs.metrics.interval.low:.4f}, {inputs.metrics.interval.high:.4f}]" in card
    assert len([line for line in card.splitlines() if line.startswith("| gender = ")]) == 2
    assert f"## Quality gates: {'passed' if inputs.gates.passed else 'FAILED'}" in card
    assert inputs.drift is not None
    assert inputs.drift.verdict() in card
    for gap in inputs.metrics.slice_gaps:
        assert f"across `{gap.column}`" in card


def test_a_card_without_drift_says_so(adult_params: Params, inputs: CardInputs) -> None:
    bare = CardInputs(**{**inputs.__dict__, "drift": None})
    card = render_model_card(adult_params, bare)
    assert "No drift report for this run." in card


def test_the_card_names_no_run_or_registry_version(
    adult_params: Params, inputs: CardInputs
) -> None:
    """The card is committed: it must read the same on every machine's MLflow store."""
    card = render_model_card(adult_params, inputs)
    assert "MLflow run `" not in card
    assert "version 1" not in card
    assert "`champion` from a clean commit, `challenger` from an experiment" in card


def test_the_declared_text_comes_from_params(adult_params: Params, inputs: CardInputs) -> None:
    params = with_overrides(
        adult_params,
        report={"model_card": {"intended_use": "Triage only.", "out_of_scope": "Diagnosis."}},
    )
    card = render_model_card(params, inputs)
    assert "Triage only." in card
    assert "**Out of scope:** Diagnosis." in card
    assert adult_params.report.model_card.limitations[0] not in card


def test_the_card_names_leakage_suspects_with_their_scores(
    adult_params: Params, inputs: CardInputs
) -> None:
    leakage = LeakageCheck(
        metric="roc_auc",
        threshold=0.99,
        top_features=(
            FeatureScore(feature="status", score=1.0),
            FeatureScore(feature="age", score=0.68),
        ),
        suspects=("status",),
    )
    model = inputs.model.model_copy(update={"leakage": leakage})
    card = render_model_card(adult_params, CardInputs(**{**inputs.__dict__, "model": model}))
    assert "## Leakage check" in card
    assert "possible target leakage: status (roc_auc 1.0000 alone)" in card
    assert "| status | 1.0000 |" in card
    assert "| age | 0.6800 |" in card


def test_a_card_of_a_model_without_a_leakage_check_says_so(
    adult_params: Params, inputs: CardInputs
) -> None:
    assert "## Leakage check\n\nNot run for this model." in render_model_card(adult_params, inputs)


def _regression_metrics(train_rmse: float, test_rmse: float) -> MetricsReport:
    return MetricsReport(
        model_sha256="f" * 64, test_sha256="0" * 64, task="regression", primary_metric="rmse",
        test={"rmse": test_rmse, "r2": 0.5}, baseline={"rmse": 80.0, "r2": 0.0},
        uplift={"rmse": 80.0 - test_rmse, "r2": 0.5}, train={"rmse": train_rmse, "r2": 0.7},
        val={"rmse": test_rmse, "r2": 0.5},
        slices=(
            SliceMetrics(column="sex", value="1", n_rows=200, metrics={"rmse": 50.0, "r2": 0.6}),
            SliceMetrics(column="sex", value="2", n_rows=180, metrics={"rmse": 58.0, "r2": 0.4}),
            SliceMetrics(column="age_band", value="90+", n_rows=4, metrics={"rmse": 120.0}),
        ),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("train_rmse", "test_rmse", "gap"), [(40.0, 55.0, 15.0), (60.0, 55.0, -5.0)]
)
def test_an_error_metric_reads_a_higher_test_error_as_the_overfitting_shortfall(
    train_rmse: float, test_rmse: float, gap: float
) -> None:
    metrics = _regression_metrics(train_rmse, test_rmse)
    assert metrics.train_test_gap() == pytest.approx(gap)


def test_the_weakest_slice_follows_the_metrics_direction_and_skips_small_slices() -> None:
    metrics = _regression_metrics(40.0, 55.0)
    weakest = metrics.weakest_slice(min_rows=30)
    assert weakest is not None
    assert (weakest.column, weakest.value) == ("sex", "2")  # highest RMSE, not the lowest
    assert metrics.weakest_slice(min_rows=30, metric="r2") == weakest  # lowest R²
    assert metrics.weakest_slice(min_rows=1000) is None


def test_a_regression_card_calls_a_higher_test_error_worse(
    adult_params: Params, inputs: CardInputs
) -> None:
    regression = CardInputs(**{**inputs.__dict__, "metrics": _regression_metrics(40.0, 55.0)})
    card = render_model_card(adult_params, regression)
    assert "Test rmse is 15.0000 worse than on the training split" in card


def test_the_card_covers_the_model_card_sections_and_its_header_parses(
    adult_params: Params, inputs: CardInputs
) -> None:
    schema = {"age": {"dtype": "int64", "greater_than_or_equal_to": 17.0}}
    card = render_model_card(
        adult_params,
        dataclasses.replace(inputs, schema=schema, software={"python": "3.11", "numpy": "2.0"}),
    )
    header = yaml.safe_load(card.split("---\n")[1])
    assert header["license"] == "MIT"
    assert header["datasets"] == ["adult"]
    (result,) = header["model-index"][0]["results"]
    reported = {m["type"]: m["value"] for m in result["metrics"]}
    assert reported["roc_auc"] == round(inputs.metrics.test["roc_auc"], 4)
    sections = [line for line in card.splitlines() if line.startswith("## ")]
    for expected in (
        "## Model details", "## How to load the model", "## Intended use", "## Inputs",
        "## Training data", "## Evaluation data", "## Quantitative analyses (test split)",
        "## Ethical considerations", "## Caveats and recommendations", "## Software",
        "## Citation",
    ):  # fmt: skip
        assert expected in sections
    assert 'mlflow.pyfunc.load_model("models:/tabpipe-adult@champion")' in card
    assert "| age | int64 | 17 to ... | no |" in card
    assert "python 3.11, numpy 2.0" in card
    assert inputs.dataset.source_sha256 in card  # full digests, not prefixes
    assert inputs.metrics.test_sha256 in card
    assert "10.24432/C5XW20" in card


def test_undeclared_owners_and_licence_say_where_to_declare_them(
    adult_params: Params, inputs: CardInputs
) -> None:
    bare = with_overrides(
        adult_params,
        report={"model_card": {"intended_use": "x", "out_of_scope": "y"}},
    )
    card = render_model_card(bare, inputs)
    assert "Owners: not declared (set `report.model_card.owners` in params.yaml)" in card
    assert "license:" not in card.split("---\n")[1]
    assert "## Citation\n\nnot declared (set `report.model_card.citation`" in card


def test_the_registered_copy_names_version_date_run_and_commit_without_the_metadata(
    adult_params: Params, inputs: CardInputs
) -> None:
    card = render_model_card(adult_params, inputs)
    described = registry_description(
        card,
        version="7",
        registered_at="2026-11-28 10:00 UTC",
        run_id="abc123",
        git={"git.commit": "f00d", "git.dirty": "true"},
    )
    assert described.startswith("# Model card: tabpipe-adult\n\n**Version 7**, registered ")
    assert "2026-11-28 10:00 UTC from training run `abc123`, commit `f00d` with uncommitted" in (
        described
    )
    assert "model-index" not in described
    assert described.endswith(card.split("# Model card: tabpipe-adult\n", 1)[1])
