from __future__ import annotations

import pytest

from tabpipe.models.evaluation import MetricsReport, SliceGap
from tabpipe.models.params import GateRule, GatesParams, SliceGapRule
from tabpipe.services.gates import ChampionMetrics, evaluate_gates, gates_markdown


def _report(**test: float) -> MetricsReport:
    baseline = {"roc_auc": 0.5, "log_loss": 0.55}
    return MetricsReport(
        task="classification",
        primary_metric="roc_auc",
        test=test,
        baseline=baseline,
        uplift={k: v - baseline[k] for k, v in test.items() if k in baseline},
        train=test,
        val=test,
        slice_gaps=(SliceGap(column="gender", metric="roc_auc", best="F", worst="M", gap=0.04),),
    )


def _verdicts(params: GatesParams, champion: ChampionMetrics | None = None) -> list[bool | None]:
    report = evaluate_gates(params, _report(roc_auc=0.91, log_loss=0.30), champion)
    return [gate.passed for gate in report.gates]


def test_absolute_bounds_pass_and_fail() -> None:
    rules = (
        GateRule(metric="roc_auc", min=0.9),
        GateRule(metric="roc_auc", min=0.95),
        GateRule(metric="log_loss", max=0.35),
        GateRule(metric="log_loss", max=0.2),
    )
    assert _verdicts(GatesParams(rules=rules)) == [True, False, True, False]


def test_uplift_is_measured_against_the_dummy_baseline() -> None:
    report = evaluate_gates(
        GatesParams(
            rules=(
                GateRule(metric="roc_auc", min_uplift=0.4),
                GateRule(metric="roc_auc", min_uplift=0.45),
                GateRule(metric="log_loss", min_uplift=0.2),
            )
        ),
        _report(roc_auc=0.91, log_loss=0.30),
        None,
    )
    assert [gate.passed for gate in report.gates] == [True, False, True]
    assert report.gates[0].bound == pytest.approx(0.9)
    assert report.gates[0].reference == 0.5
    assert report.gates[2].bound == pytest.approx(0.35)  # lower is better: baseline minus uplift


def test_champion_gate_is_skipped_without_a_champion() -> None:
    report = evaluate_gates(
        GatesParams(rules=(GateRule(metric="roc_auc", max_drop_vs_champion=0.01),)),
        _report(roc_auc=0.91),
        None,
    )
    assert report.passed
    assert report.gates[0].passed is None
    assert report.gates[0].note == "no champion yet"


def test_candidate_may_trail_the_champion_by_the_tolerance_only() -> None:
    rule = (GateRule(metric="roc_auc", max_drop_vs_champion=0.01),)
    close = ChampionMetrics(version="3", test={"roc_auc": 0.915})
    far = ChampionMetrics(version="3", test={"roc_auc": 0.93})
    assert _verdicts(GatesParams(rules=rule), close) == [True]
    assert _verdicts(GatesParams(rules=rule), far) == [False]
    lower_is_better = (GateRule(metric="log_loss", max_drop_vs_champion=0.01),)
    assert _verdicts(
        GatesParams(rules=lower_is_better), ChampionMetrics(version="1", test={"log_loss": 0.28})
    ) == [False]


def test_slice_gap_gate_and_markdown_summary() -> None:
    params = GatesParams(
        rules=(GateRule(metric="roc_auc", min=0.99),),
        slice_gaps=(SliceGapRule(column="gender", metric="roc_auc", max_gap=0.05),),
    )
    report = evaluate_gates(params, _report(roc_auc=0.91), None)
    assert [gate.passed for gate in report.gates] == [False, True]
    assert not report.passed
    assert [gate.name for gate in report.failed] == ["roc_auc >= 0.99"]
    text = gates_markdown(report)
    assert text.startswith("# Quality gates: FAILED")
    assert "| roc_auc >= 0.99 | 0.9100 | 0.9900 |  | **FAIL** |" in text


def test_a_metric_that_could_not_be_computed_fails_its_gate() -> None:
    report = evaluate_gates(
        GatesParams(rules=(GateRule(metric="pr_auc", min=0.5),)), _report(roc_auc=0.91), None
    )
    assert report.gates[0].passed is False
    assert "could not be computed" in report.gates[0].note
