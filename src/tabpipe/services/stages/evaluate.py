"""The evaluate stage: metrics on every split, a dummy baseline, slices, curves, and gates.

All outputs are written before the verdict is raised, so a failed gate still
leaves reports/metrics.json and reports/gates.json to read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from loguru import logger
from sklearn.dummy import DummyClassifier, DummyRegressor

from tabpipe.errors import GateFailedError, StaleOutputsError
from tabpipe.records.evaluation import (
    GateResult,
    GatesReport,
    LeakageCheck,
    MetricsReport,
    ModelSummary,
)
from tabpipe.records.params import GREATER_IS_BETTER, Params, Task
from tabpipe.repositories import mlflow_store as store
from tabpipe.repositories.datasets import (
    SPLIT_NAMES,
    read_record,
    read_split,
    split_path,
    write_record,
)
from tabpipe.repositories.model_file import load_model, model_digest
from tabpipe.repositories.plots import write_plots
from tabpipe.repositories.reports import write_text
from tabpipe.services.analysis.behaviour import behaviour_gates
from tabpipe.services.analysis.curves import curve_tables, explanation_tables, training_tables
from tabpipe.services.analysis.error_analysis import error_analysis
from tabpipe.services.analysis.explanations import partial_dependences, permutation_importances
from tabpipe.services.analysis.gates import evaluate_gates
from tabpipe.services.analysis.metrics import (
    Predictions,
    compute_metrics,
    predict,
)
from tabpipe.services.analysis.slices import slice_report
from tabpipe.services.analysis.thresholds import model_threshold, threshold_table
from tabpipe.services.analysis.uncertainty import gate_intervals
from tabpipe.services.params.checks import check_against_schema
from tabpipe.services.reporting.gate_tables import gates_markdown
from tabpipe.utils.hashing import frame_sha256
from tabpipe.utils.project import project_root

TOP_LOGGED_IMPORTANCES = 20  # MLflow metrics; the artifact and metrics.json hold them all


@dataclass(frozen=True)
class Evaluation:
    """The metrics report of one model, and its test predictions for curves and figures."""

    report: MetricsReport
    test_predictions: Predictions
    behaviour: tuple[GateResult, ...] = ()
    partial_dependence: list[dict[str, Any]] = field(default_factory=list)


def evaluate_model(
    model: object, splits: dict[str, pd.DataFrame], params: Params, *, model_sha256: str
) -> Evaluation:
    """Pure evaluation: no files, no tracking."""
    task, target = params.data.task, params.data.target
    positive = params.data.positive_class
    scored = dict(splits)
    limit = params.evaluate.max_train_rows
    if len(splits["train"]) > limit:  # predicting 700,000 rows costs more than it tells
        scored["train"] = splits["train"].sample(n=limit, random_state=params.train.seed)
    predictions = {}
    for name, frame in scored.items():
        logger.info("evaluate: scoring {} {} rows", len(frame), name)
        predictions[name] = predict(model, frame, target, task=task, positive_class=positive)
    metrics = {name: compute_metrics(p, task=task) for name, p in predictions.items()}
    baseline_model = (
        DummyClassifier(strategy="prior")
        if task == "classification"
        else DummyRegressor(strategy="mean")
    )
    train = splits["train"]
    baseline_model.fit(train.drop(columns=[target]), train[target])
    baseline_test = predict(
        baseline_model, splits["test"], target, task=task, positive_class=positive
    )
    baseline = compute_metrics(baseline_test, task=task)
    primary = params.primary_metric
    test = predictions["test"]
    intervals = gate_intervals(test, baseline_test, params)
    gap_metrics: set[str] = {primary, *(rule.metric for rule in params.gates.slice_gaps)}
    if params.evaluate.slice_columns:
        logger.info("evaluate: slices by {}", ", ".join(params.evaluate.slice_columns))
    slices, gaps = slice_report(
        splits["test"],
        test,
        params.evaluate.slice_columns,
        gap_metrics,
        params=params,
        gated={(rule.column, rule.metric) for rule in params.gates.slice_gaps},
    )
    importance = permutation_importances(model, splits["test"], params)
    chosen = model_threshold(model) if test.positive_class is not None else None
    report = MetricsReport(
        model_sha256=model_sha256,
        test_sha256=frame_sha256(splits["test"]),
        task=task,
        primary_metric=primary,
        test=metrics["test"],
        baseline=baseline,
        uplift={
            name: metrics["test"][name] - baseline[name]
            for name in metrics["test"]
            if name in baseline
        },
        train=metrics["train"],
        val=metrics["val"],
        interval=next((i for i in intervals.metrics if i.metric == primary), None),
        intervals=intervals.metrics,
        uplift_intervals=intervals.uplifts,
        slices=slices,
        slice_gaps=gaps,
        importance=importance,
        decision_threshold=None if chosen is None else chosen[0],
        errors=error_analysis(test, splits["test"].drop(columns=[target])),
    )
    if params.gates.behaviour:
        logger.info("evaluate: {} behavioural check(s)", len(params.gates.behaviour))
    behaviour = behaviour_gates(
        model,
        splits["test"].drop(columns=[target]),
        params.gates.behaviour,
        task=task,
        positive_class=positive,
        seed=params.train.seed,
    )
    return Evaluation(
        report=report,
        test_predictions=test,
        behaviour=behaviour,
        partial_dependence=partial_dependences(model, splits["test"], importance, params),
    )


def _summary_of(summary_path: Path, model_sha256: str) -> ModelSummary | None:
    """models/model.json when it describes this very model file (else None)."""
    if not summary_path.is_file():
        return None
    summary = read_record(summary_path, ModelSummary)
    return summary if summary.model_sha256 == model_sha256 else None


def _leakage_of(summary_path: Path, model_sha256: str) -> LeakageCheck | None:
    """The train stage's leakage check of this very model (None for another model's summary)."""
    if not summary_path.is_file():
        return None
    summary = read_record(summary_path, ModelSummary)
    if summary.model_sha256 != model_sha256:
        msg = (
            f"{summary_path} describes another model (sha256 {summary.model_sha256[:12]}) than "
            f"the model file ({model_sha256[:12]}): run `dvc repro train` to bring them in line."
        )
        raise StaleOutputsError(msg)
    if summary.leakage is not None and summary.leakage.suspects:
        logger.warning("evaluate: {}", summary.leakage.describe())
    return summary.leakage


def run_evaluate(params: Params, root: Path = Path()) -> tuple[MetricsReport, GatesReport]:
    """Score the model file, check the gates, write the reports, log them to a run of their own.

    The training run is found by the model file's digest and never reopened: this
    evaluation is a child run of it. The first evaluation of a model also copies the
    split metrics onto the (finished) training run, so that runs compare side by side
    in the MLflow UI; later evaluations (a changed gate, say) never touch it again.
    """
    check_against_schema(params, root)
    logger.info("evaluate: {} on the splits of {}", params.paths.model, params.paths.split_dir)
    paths = params.paths
    digest = model_digest(root / paths.model)
    model = load_model(root / paths.model)
    # Train metrics use a sample (evaluate.max_train_rows); on Dask it is drawn while
    # reading, so the train split is never held whole. Validation and test are scored in full.
    train_rows = params.evaluate.max_train_rows if params.engine == "dask" else None
    splits = {
        name: read_split(
            root / paths.split_dir,
            name,
            max_rows=train_rows if name == "train" else None,
            seed=params.train.seed,
        )
        for name in SPLIT_NAMES
    }
    evaluation = evaluate_model(model, splits, params, model_sha256=digest)
    report = evaluation.report
    gates = evaluate_gates(
        params.gates,
        report,
        leakage=_leakage_of(root / paths.model_summary, digest),
        behaviour=evaluation.behaviour,
    )
    tables = curve_tables(evaluation.test_predictions, task=params.data.task)
    tables |= explanation_tables(report.importance, evaluation.partial_dependence)
    trained = _summary_of(root / paths.model_summary, digest)
    if trained is not None:
        greater = GREATER_IS_BETTER[params.primary_metric]
        tables |= training_tables(trained, greater_is_better=greater)
    test_predictions = evaluation.test_predictions
    if test_predictions.positive_class is not None:
        is_positive = test_predictions.y_true.to_numpy() == test_predictions.positive_class
        tables["threshold"] = threshold_table(is_positive, test_predictions.positive_scores)
    write_record(report, root / paths.metrics)
    write_plots(tables, root / paths.plots_dir)
    write_record(gates, root / paths.gates)
    write_text(root / paths.scores, json.dumps(headline_scores(report, gates), indent=2) + "\n")
    write_text(root / paths.gates_summary, gates_markdown(gates))

    tracking = store.tracking_store(project_root(root))
    split_metrics = {
        f"{name}_{metric}": value
        for name in SPLIT_NAMES
        for metric, value in getattr(report, name).items()
    } | {f"baseline_{metric}": value for metric, value in report.baseline.items()}
    with store.model_stage_run(
        tracking,
        params.mlflow.experiment_name,
        stage="evaluate",
        model_sha256=digest,
        tags={"gates.passed": str(gates.passed).lower()},
    ) as run:
        store.log_params_flat({"evaluate": params.evaluate.model_dump(mode="json")})
        store.log_dataset(
            splits["test"],
            name=f"{params.data.name}-test",
            source=split_path(paths.split_dir, "test"),
            target=params.data.target,
            context="testing",
        )
        store.log_metrics(split_metrics)
        # Every interval the gates used (the primary metric's among them), and the gaps'.
        intervals = {
            f"{i.metric}_ci_{end}": getattr(i, end)
            for i in report.intervals
            for end in ("low", "high")
        }
        store.log_metrics(intervals, prefix="test_")
        store.log_metrics({f"slice_gap_{g.column}_{g.metric}": g.gap for g in report.slice_gaps})
        store.log_metrics(
            {
                f"slice_gap_{g.column}_{g.metric}_ci_{end}": value
                for g in report.slice_gaps
                for end, value in (("low", g.low), ("high", g.high))
                if value is not None
            }
        )
        store.log_metrics({"gates_passed": float(gates.passed)})
        _log_figures(evaluation, tables, task=params.data.task)
        if report.decision_threshold is not None:
            store.log_metrics({"decision_threshold": report.decision_threshold})
        store.log_metrics(
            {
                "importance_" + re.sub(r"[^A-Za-z0-9_.\- /]", "_", i.feature): i.mean
                for i in report.importance[:TOP_LOGGED_IMPORTANCES]
            }
        )
        for path in (paths.metrics, paths.gates, paths.gates_summary):
            store.log_artifact(root / path, folder="evaluation")
        training = run.training
        if training is not None and not training.metric_names & set(split_metrics):
            # What the runs table compares, on the training run: the split metrics, the
            # primary metric's interval and the verdict of this, its first, evaluation
            # (a later one, under changed gates, is an evaluate run of its own under it).
            primary = f"{report.primary_metric}_ci_"
            headline = {f"test_{k}": v for k, v in intervals.items() if k.startswith(primary)}
            store.add_metrics_to_finished_run(
                training.run_id, split_metrics | headline | {"gates_passed": float(gates.passed)}
            )
        _raise_on_failed_gates(gates)
    return report, gates


def _log_figures(evaluation: Evaluation, tables: dict[str, Any], *, task: Task) -> None:
    """The evaluation's figures on the active run: curves, threshold, explanations, errors."""
    from tabpipe.services.analysis.figures import (  # noqa: PLC0415 - matplotlib only here
        close,
        error_figure,
        evaluation_figures,
        explanation_figures,
        threshold_figure,
    )

    for name, figure in evaluation_figures(evaluation.test_predictions, task=task).items():
        store.log_figure(figure, f"plots/{name}")
        close(figure)
    if "threshold" in tables:
        figure = threshold_figure(tables["threshold"], evaluation.report.decision_threshold)
        store.log_figure(figure, "plots/threshold_curve.png")
        close(figure)
    if evaluation.report.errors is not None and evaluation.report.errors.deciles:
        figure = error_figure(evaluation.report.errors)
        store.log_figure(figure, "plots/score_deciles.png")
        close(figure)
    for name, figure in explanation_figures(
        evaluation.report.importance,
        evaluation.partial_dependence,
        metric=evaluation.report.primary_metric,
    ).items():
        store.log_figure(figure, f"explanations/{name}")
        close(figure)


def headline_scores(report: MetricsReport, gates: GatesReport) -> dict[str, float | bool]:
    """The few numbers worth comparing across experiments (reports/scores.json, a DVC metric).

    The primary metric on the test split, its bootstrap interval and the gate verdict,
    so that `dvc exp show` and `dvc metrics show` put them on screen; everything else
    stays in reports/metrics.json and reports/gates.json.
    """
    primary = report.primary_metric
    scores: dict[str, float | bool] = {primary: round(report.test[primary], 5)}
    if report.interval is not None:
        scores[f"{primary}_low"] = round(report.interval.low, 5)
        scores[f"{primary}_high"] = round(report.interval.high, 5)
    scores["gates_passed"] = gates.passed
    return scores


def _raise_on_failed_gates(gates: GatesReport) -> None:
    for gate in gates.gates:
        log = (
            logger.info
            if gate.passed is not False
            else (logger.error if gates.enforced else logger.warning)
        )
        log("gate {}", gate.describe())
    if gates.failed and gates.enforced:
        failed = "\n".join(f"  - {gate.describe()}" for gate in gates.failed)
        msg = (
            f"{len(gates.failed)} quality gate(s) failed; the model is not promoted:\n{failed}\n"
            "See reports/gates.md. models/model.skops stays the rejected candidate; the "
            "registry's champion did not change. Set gates.enforce: false to explore."
        )
        raise GateFailedError(msg)
    if gates.failed:
        logger.warning(
            "gates failed but gates.enforce is false: continuing, the model will not be promoted"
        )
