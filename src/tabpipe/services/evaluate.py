"""The evaluate stage: metrics on every split, a dummy baseline, slices, curves, and gates.

All outputs are written before the verdict is raised, so a failed gate still
leaves reports/metrics.json and reports/gates.json to read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from loguru import logger
from sklearn.dummy import DummyClassifier, DummyRegressor

from tabpipe.errors import GateFailedError, ParamsError
from tabpipe.models.evaluation import (
    GatesReport,
    Interval,
    MetricsReport,
    SliceGap,
    SliceMetrics,
    TrainingRun,
)
from tabpipe.models.params import GREATER_IS_BETTER, Params
from tabpipe.repositories import mlflow_store as store
from tabpipe.repositories.datasets import read_frame, read_model, write_model
from tabpipe.repositories.model_file import load_model
from tabpipe.services.curves import curve_tables
from tabpipe.services.figures import close, evaluation_figures
from tabpipe.services.gates import ChampionMetrics, evaluate_gates, gates_markdown
from tabpipe.services.metrics import Predictions, bootstrap_interval, compute_metrics, predict
from tabpipe.services.split import split_path
from tabpipe.utils.atomic import write_json_atomic, write_text_atomic
from tabpipe.utils.project import project_root


@dataclass(frozen=True)
class Evaluation:
    report: MetricsReport
    test_predictions: Predictions


def evaluate_model(model: object, splits: dict[str, pd.DataFrame], params: Params) -> Evaluation:
    """Pure evaluation: no files, no tracking."""
    task, target = params.data.task, params.data.target
    positive = params.data.positive_class
    scored = dict(splits)
    limit = params.evaluate.max_train_rows
    if len(splits["train"]) > limit:  # predicting 700,000 rows costs more than it tells
        scored["train"] = splits["train"].sample(n=limit, random_state=params.train.seed)
    predictions = {
        name: predict(model, frame, target, task=task, positive_class=positive)
        for name, frame in scored.items()
    }
    metrics = {name: compute_metrics(p, task=task) for name, p in predictions.items()}
    baseline_model = (
        DummyClassifier(strategy="prior")
        if task == "classification"
        else DummyRegressor(strategy="mean")
    )
    train = splits["train"]
    baseline_model.fit(train.drop(columns=[target]), train[target])
    baseline = compute_metrics(
        predict(baseline_model, splits["test"], target, task=task, positive_class=positive),
        task=task,
    )
    primary = params.primary_metric
    test = predictions["test"]
    interval = None
    if params.evaluate.bootstrap_samples:
        bounds = bootstrap_interval(
            test,
            primary,
            task=task,
            n_resamples=params.evaluate.bootstrap_samples,
            seed=params.train.seed,
        )
        if bounds is not None:
            interval = Interval(
                metric=primary,
                low=bounds[0],
                high=bounds[1],
                n_resamples=params.evaluate.bootstrap_samples,
            )
    gap_metrics: set[str] = {primary, *(rule.metric for rule in params.gates.slice_gaps)}
    slices, gaps = slice_report(
        splits["test"], test, params.evaluate.slice_columns, gap_metrics, params=params
    )
    report = MetricsReport(
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
        interval=interval,
        slices=slices,
        slice_gaps=gaps,
    )
    return Evaluation(report=report, test_predictions=test)


def slice_report(
    frame: pd.DataFrame,
    predictions: Predictions,
    columns: tuple[str, ...],
    gap_metrics: set[str],
    *,
    params: Params,
) -> tuple[tuple[SliceMetrics, ...], tuple[SliceGap, ...]]:
    """Metrics per value of each slice column, and the best-minus-worst gap per metric.

    Slices smaller than ``evaluate.min_slice_size`` are reported but left out of gaps:
    their metrics are mostly noise.
    """
    slices: list[SliceMetrics] = []
    gaps: list[SliceGap] = []
    for column in columns:
        if column not in frame.columns:
            msg = f"evaluate.slice_columns: '{column}' is not a column of the data"
            raise ParamsError(msg)
        values = frame[column].astype("string").fillna("<missing>").to_numpy()
        column_slices = []
        for value in sorted(set(values)):
            rows = np.flatnonzero(values == value)
            metrics = compute_metrics(predictions.take(rows), task=params.data.task)
            entry = SliceMetrics(column=column, value=str(value), n_rows=len(rows), metrics=metrics)
            slices.append(entry)
            if len(rows) >= params.evaluate.min_slice_size:
                column_slices.append(entry)
        for metric in sorted(gap_metrics):
            scored = [s for s in column_slices if metric in s.metrics]
            if len(scored) < 2:  # noqa: PLR2004 - a gap needs two slices
                continue
            ranked = sorted(
                scored, key=lambda s: s.metrics[metric], reverse=GREATER_IS_BETTER[metric]
            )
            best, worst = ranked[0], ranked[-1]
            gaps.append(
                SliceGap(
                    column=column,
                    metric=metric,
                    best=best.value,
                    worst=worst.value,
                    gap=abs(best.metrics[metric] - worst.metrics[metric]),
                )
            )
    return tuple(slices), tuple(gaps)


def run_evaluate(params: Params, root: Path = Path()) -> tuple[MetricsReport, GatesReport]:
    paths = params.paths
    run = read_model(root / paths.training_run, TrainingRun)
    model = load_model(root / paths.model)
    splits = {
        name: read_frame(split_path(root / paths.split_dir, name))
        for name in ("train", "val", "test")
    }
    logger.info("evaluate: scoring {} test rows", len(splits["test"]))
    evaluation = evaluate_model(model, splits, params)
    report = evaluation.report

    tracking = store.tracking_store(project_root(root))
    experiment_id = store.connect(tracking, params.mlflow.experiment_name)
    champion = store.current_champion(
        params.mlflow.registered_model_name, params.mlflow.champion_alias
    )
    champion_metrics = (
        None
        if champion is None
        else ChampionMetrics(
            version=champion.version,
            test={
                k.removeprefix("test_"): v
                for k, v in champion.metrics.items()
                if k.startswith("test_")
            },
        )
    )
    gates = evaluate_gates(params.gates, report, champion_metrics)

    write_model(report, root / paths.metrics)
    plots_dir = root / paths.plots_dir
    for stem, rows in curve_tables(evaluation.test_predictions, task=params.data.task).items():
        if stem == "confusion":
            write_text_atomic(plots_dir / "confusion.csv", pd.DataFrame(rows).to_csv(index=False))
        else:
            write_json_atomic(plots_dir / f"{stem}.json", rows)
    write_model(gates, root / paths.gates)
    write_text_atomic(root / paths.gates_summary, gates_markdown(gates))

    with store.pipeline_run(experiment_id=experiment_id, run_id=run.run_id):
        for split_name in ("train", "val", "test"):
            store.log_metrics(getattr(report, split_name), prefix=f"{split_name}_")
        store.log_metrics(report.baseline, prefix="baseline_")
        if report.interval is not None:
            store.log_metrics(
                {
                    f"{report.interval.metric}_ci_low": report.interval.low,
                    f"{report.interval.metric}_ci_high": report.interval.high,
                },
                prefix="test_",
            )
        store.log_metrics({f"slice_gap_{g.column}_{g.metric}": g.gap for g in report.slice_gaps})
        store.log_metrics({"gates_passed": float(gates.passed)})
        store.set_tags({"gates.passed": str(gates.passed).lower()})
        for name, figure in evaluation_figures(
            evaluation.test_predictions, task=params.data.task
        ).items():
            store.log_figure(figure, f"plots/{name}")
            close(figure)
        for path in (paths.metrics, paths.gates, paths.gates_summary):
            store.log_artifact(root / path, folder="evaluation")
        _raise_on_failed_gates(gates)
    return report, gates


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
            "See reports/gates.md. Set gates.enforce: false to explore without stopping."
        )
        raise GateFailedError(msg)
    if gates.failed:
        logger.warning(
            "gates failed but gates.enforce is false: continuing, the model will not be promoted"
        )
