"""The model card states what people declared and what the pipeline measured, and nothing else."""

from __future__ import annotations

import pytest

from tabpipe.models.dataset import DatasetModel, SplitSummary
from tabpipe.models.drift import DriftReport
from tabpipe.models.evaluation import GatesReport, MetricsReport, PromotionResult, TrainingRun
from tabpipe.models.params import Params
from tabpipe.repositories.datasets import read_model
from tabpipe.services.model_card import CardInputs, render_model_card
from tests.conftest import REPO_ROOT, with_overrides


@pytest.fixture
def inputs(adult_params: Params) -> CardInputs:
    """The committed outputs of the Adult pipeline (metrics, gates, summaries, drift)."""
    paths = adult_params.paths
    return CardInputs(
        dataset=read_model(REPO_ROOT / paths.dataset_summary, DatasetModel),
        split=read_model(REPO_ROOT / paths.split_summary, SplitSummary),
        training=TrainingRun(
            run_id="abc123", experiment_id="1", model_uri="models:/m-1",
            model_kind="hist_gradient_boosting", n_iter=84,
        ),
        metrics=read_model(REPO_ROOT / paths.metrics, MetricsReport),
        gates=read_model(REPO_ROOT / paths.gates, GatesReport),
        drift=read_model(REPO_ROOT / paths.drift_dir / "drift.json", DriftReport),
        promotion=PromotionResult(
            promoted=True, model_name="tabpipe-adult", alias="champion", version="3",
            previous_version="2", reason="all gates passed",
        ),
    )  # fmt: skip


def test_the_card_holds_declared_use_and_measured_results(
    adult_params: Params, inputs: CardInputs
) -> None:
    card = render_model_card(adult_params, inputs)

    assert card.startswith("# Model card: tabpipe-adult\n")
    assert adult_params.report.model_card.intended_use in card
    assert adult_params.report.model_card.out_of_scope in card
    for limitation in adult_params.report.model_card.limitations:
        assert f"- {limitation}" in card
    assert "Registered as `tabpipe-adult` version 3, alias `champion`." in card
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


def test_a_card_without_drift_or_promotion_says_so(
    adult_params: Params, inputs: CardInputs
) -> None:
    bare = CardInputs(**{**inputs.__dict__, "drift": None, "promotion": None})
    card = render_model_card(adult_params, bare)
    assert "No drift report for this run." in card
    assert "Not yet considered for promotion" in card


def test_a_rejected_model_is_not_called_registered(
    adult_params: Params, inputs: CardInputs
) -> None:
    rejected = PromotionResult(
        promoted=False, model_name="tabpipe-adult", alias="champion",
        reason="1 gate(s) failed; the alias did not move",
    )  # fmt: skip
    card = render_model_card(adult_params, CardInputs(**{**inputs.__dict__, "promotion": rejected}))
    assert "Not registered: 1 gate(s) failed" in card
    assert "Registered as" not in card


def test_the_declared_text_comes_from_params(adult_params: Params, inputs: CardInputs) -> None:
    params = with_overrides(
        adult_params,
        report={"model_card": {"intended_use": "Triage only.", "out_of_scope": "Diagnosis."}},
    )
    card = render_model_card(params, inputs)
    assert "Triage only." in card
    assert "**Out of scope:** Diagnosis." in card
    assert adult_params.report.model_card.limitations[0] not in card
