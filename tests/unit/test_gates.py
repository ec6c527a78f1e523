from __future__ import annotations

import pytest

from tabpipe.records.evaluation import MetricsReport, SliceGap
from tabpipe.records.params import GateRule, GatesParams, SliceGapRule
from tabpipe.services.analysis.gates import (
    ChampionScore,
    PromotedScore,
    champion_gates,
    evaluate_gates,
)
from tabpipe.services.reporting.gate_tables import gates_markdown


def _report(**test: float) -> MetricsReport:
    baseline = {"roc_auc": 0.5, "log_loss": 0.55}
    return MetricsReport(
        model_sha256="a" * 64,
        test_sha256="b" * 64,
        task="classification",
        primary_metric="roc_auc",
        test=test,
        baseline=baseline,
        uplift={k: v - baseline[k] for k, v in test.items() if k in baseline},
        train=test,
        val=test,
        slice_gaps=(SliceGap(column="gender", metric="roc_auc", best="F", worst="M", gap=0.04),),
    )


def _verdicts(params: GatesParams) -> list[bool | None]:
    report = evaluate_gates(params, _report(roc_auc=0.91, log_loss=0.30))
    return [gate.passed for gate in report.gates]


def _champion_verdicts(
    rule: GateRule,
    champion: ChampionScore | None,
    best: dict[str, PromotedScore] | None = None,
    value: float = 0.91,
) -> list[bool | None]:
    gates = champion_gates(GatesParams(rules=(rule,)), {rule.metric: value}, champion, best or {})
    return [gate.passed for gate in gates]


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
    )
    assert [gate.passed for gate in report.gates] == [True, False, True]
    assert report.gates[0].bound == pytest.approx(0.9)
    assert report.gates[0].reference == 0.5
    assert report.gates[2].bound == pytest.approx(0.35)  # lower is better: baseline minus uplift


def test_the_champion_comparison_is_not_part_of_the_reproducible_gates() -> None:
    report = evaluate_gates(
        GatesParams(rules=(GateRule(metric="roc_auc", max_drop_vs_champion=0.01),)),
        _report(roc_auc=0.91),
    )
    assert report.passed
    assert report.gates == ()
    assert report.model_sha256 == "a" * 64


def test_champion_gates_are_skipped_without_a_champion_or_a_promoted_version() -> None:
    rule = GateRule(metric="roc_auc", max_drop_vs_champion=0.01)
    gates = champion_gates(GatesParams(rules=(rule,)), {"roc_auc": 0.91}, None, {})
    assert [g.passed for g in gates] == [None, None]
    assert [g.note for g in gates] == [
        "no champion yet",
        "no version promoted on this test split yet",
    ]


def test_candidate_may_trail_the_champion_by_the_tolerance_only() -> None:
    rule = GateRule(metric="roc_auc", max_drop_vs_champion=0.01)
    close = ChampionScore(version="3", test={"roc_auc": 0.915})
    far = ChampionScore(version="3", test={"roc_auc": 0.93})
    assert _champion_verdicts(rule, close)[0] is True
    assert _champion_verdicts(rule, far)[0] is False
    lower_is_better = GateRule(metric="log_loss", max_drop_vs_champion=0.01)
    worse = ChampionScore(version="1", test={"log_loss": 0.28})
    assert _champion_verdicts(lower_is_better, worse, value=0.30)[0] is False


def test_small_drops_cannot_add_up_past_the_best_promoted_score() -> None:
    """Each release within 0.01 of the last champion, but 0.018 below the best ever promoted."""
    rule = GateRule(metric="roc_auc", max_drop_vs_champion=0.01)
    champion = ChampionScore(version="5", test={"roc_auc": 0.921})
    best = {"roc_auc": PromotedScore(version="3", value=0.930)}
    assert _champion_verdicts(rule, champion, best, value=0.912) == [True, False]
    gates = champion_gates(GatesParams(rules=(rule,)), {"roc_auc": 0.912}, champion, best)
    assert gates[1].kind == "max_drop_vs_best"
    assert gates[1].bound == pytest.approx(0.92)
    assert "v3" in gates[1].note


def test_a_champion_that_cannot_score_the_test_split_blocks_automatic_promotion() -> None:
    rule = GateRule(metric="roc_auc", max_drop_vs_champion=0.01)
    broken = ChampionScore(version="2", test={}, error="KeyError: 'age'")
    gates = champion_gates(GatesParams(rules=(rule,)), {"roc_auc": 0.99}, broken, {})
    assert gates[0].passed is False
    assert "cannot be compared: KeyError: 'age'" in gates[0].note


def test_slice_gap_gate_and_markdown_summary() -> None:
    params = GatesParams(
        rules=(GateRule(metric="roc_auc", min=0.99),),
        slice_gaps=(SliceGapRule(column="gender", metric="roc_auc", max_gap=0.05),),
    )
    report = evaluate_gates(params, _report(roc_auc=0.91))
    assert [gate.passed for gate in report.gates] == [False, True]
    assert not report.passed
    assert [gate.name for gate in report.failed] == ["roc_auc >= 0.99"]
    text = gates_markdown(report)
    assert text.startswith("# Quality gates: FAILED")
    assert "| roc_auc >= 0.99 | 0.9100 | - | 0.9900 | point |  | **FAIL** |" in text


def test_a_metric_that_could_not_be_computed_fails_its_gate() -> None:
    report = evaluate_gates(
        GatesParams(rules=(GateRule(metric="pr_auc", min=0.5),)), _report(roc_auc=0.91)
    )
    assert report.gates[0].passed is False
    assert "could not be computed" in report.gates[0].note


def _uncertain_report() -> MetricsReport:
    """ROC AUC 0.91 in [0.89, 0.93]; log loss 0.30 in [0.27, 0.33]; uplift over 0.5 in
    [0.385, 0.425]; a gender gap of 0.04 in [0.01, 0.07]."""
    from tabpipe.records.evaluation import Interval

    report = _report(roc_auc=0.91, log_loss=0.30)
    gap = report.slice_gaps[0].model_copy(update={"low": 0.01, "high": 0.07})
    return report.model_copy(
        update={
            "intervals": (
                Interval(metric="roc_auc", low=0.89, high=0.93, n_resamples=500),
                Interval(metric="log_loss", low=0.27, high=0.33, n_resamples=500),
            ),
            "uplift_intervals": (
                Interval(metric="roc_auc", low=0.385, high=0.425, n_resamples=500),
            ),
            "slice_gaps": (gap,),
        }
    )


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        # bound inside the interval: the estimate decides under point; the worse end under
        # pass_when_evidence; the better end under fail_when_evidence.
        ("point", [True, False, True, False, True, False]),
        ("pass_when_evidence", [False, False, False, False, False, False]),
        ("fail_when_evidence", [True, True, True, True, True, True]),
    ],
)
def test_the_policy_decides_how_the_interval_counts(policy: str, expected: list[bool]) -> None:
    params = GatesParams.model_validate(
        {
            "policy": policy,
            "rules": [
                {"metric": "roc_auc", "min": 0.90},  # estimate above, interval straddles
                {"metric": "roc_auc", "min": 0.92},  # estimate below, interval straddles
                {"metric": "log_loss", "max": 0.31},  # estimate below, interval straddles
                {"metric": "roc_auc", "min_uplift": 0.42},  # uplift 0.41 in [0.385, 0.425]
            ],
            "slice_gaps": [
                {"column": "gender", "metric": "roc_auc", "max_gap": 0.05},  # 0.04 in [.01, .07]
                {"column": "gender", "metric": "roc_auc", "max_gap": 0.03},
            ],
        },
        strict=False,
    )
    report = evaluate_gates(params, _uncertain_report())
    assert [gate.passed for gate in report.gates] == expected
    assert {gate.policy for gate in report.gates} == {policy}
    assert all(gate.interval_text for gate in report.gates)
    table = gates_markdown(report)
    assert "| interval |" in table
    assert f"| {policy} |" in table


def test_a_rule_s_own_policy_overrides_the_default_and_clear_evidence_always_decides() -> None:
    params = GatesParams.model_validate(
        {
            "policy": "fail_when_evidence",
            "rules": [
                {"metric": "roc_auc", "min": 0.95},  # the whole interval is below: fails anyway
                {"metric": "roc_auc", "min": 0.90, "policy": "pass_when_evidence"},
                {"metric": "roc_auc", "min": 0.85, "policy": "pass_when_evidence"},  # all above
            ],
        },
        strict=False,
    )
    gates = evaluate_gates(params, _uncertain_report()).gates
    assert [gate.passed for gate in gates] == [False, False, True]
    assert [gate.policy for gate in gates] == [
        "fail_when_evidence", "pass_when_evidence", "pass_when_evidence",
    ]  # fmt: skip


def test_an_evidence_policy_without_an_interval_is_judged_on_the_estimate_and_says_so() -> None:
    params = GatesParams.model_validate(
        {"policy": "pass_when_evidence", "rules": [{"metric": "roc_auc", "min": 0.90}]},
        strict=False,
    )
    (gate,) = evaluate_gates(params, _report(roc_auc=0.91, log_loss=0.30)).gates
    assert gate.passed is True
    assert "no interval on these rows: judged on the estimate" in gate.note


def test_an_evidence_policy_needs_the_bootstrap(raw_params_dict: dict[str, object]) -> None:
    from tabpipe.errors import ParamsError
    from tabpipe.repositories.params_file import parse_params

    raw = dict(raw_params_dict)
    raw["evaluate"] = {**raw["evaluate"], "bootstrap_samples": 0}  # type: ignore[dict-item]
    with pytest.raises(ParamsError, match=r"gates\.rules\.0\.policy: 'pass_when_evidence'") as info:
        parse_params(raw)
    assert "gates.slice_gaps.0.policy: 'fail_when_evidence'" in str(info.value)
    raw["gates"] = {**raw["gates"], "policy": "pass_when_evidence", "rules": [], "slice_gaps": []}  # type: ignore[dict-item]
    with pytest.raises(ParamsError, match=r"gates\.policy: 'pass_when_evidence' judges"):
        parse_params(raw)


def test_a_value_that_cannot_be_computed_fails_unless_the_policy_fails_only_on_evidence() -> None:
    report = _report(roc_auc=0.91, log_loss=0.30).model_copy(update={"slice_gaps": ()})
    rule = {"column": "gender", "metric": "roc_auc", "max_gap": 0.05}
    verdicts = {
        policy: evaluate_gates(
            GatesParams.model_validate({"policy": policy, "slice_gaps": [rule]}, strict=False),
            report,
        ).gates[0]
        for policy in ("point", "pass_when_evidence", "fail_when_evidence")
    }
    assert [gate.passed for gate in verdicts.values()] == [False, False, None]
    assert "no evidence against it" in verdicts["fail_when_evidence"].note
