"""A model measured on the splits: metrics, a dummy baseline, intervals, slices, explanations.

Pure: frames and a fitted model in, records out; no files, no tracking. The evaluate
stage writes and logs what this returns; ``tabpipe promote --version`` re-measures a
registered version with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from loguru import logger
from sklearn.dummy import DummyClassifier, DummyRegressor

from tabpipe.records.evaluation import GateResult, MetricsReport
from tabpipe.records.params import Params
from tabpipe.services.analysis.behaviour import behaviour_gates
from tabpipe.services.analysis.error_analysis import error_analysis
from tabpipe.services.analysis.explanations import partial_dependences, permutation_importances
from tabpipe.services.analysis.metrics import Predictions, compute_metrics, predict
from tabpipe.services.analysis.slices import slice_report
from tabpipe.services.analysis.thresholds import model_threshold
from tabpipe.services.analysis.uncertainty import gate_intervals
from tabpipe.utils.hashing import frame_sha256


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
