"""The evaluate stage: metrics on every split, a dummy baseline, slices, curves, and gates.

All outputs are written before the verdict is raised, so a failed gate still
leaves reports/metrics.json and reports/gates.json to read.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loguru import logger

from tabpipe.errors import GateFailedError, StaleOutputsError
from tabpipe.records.evaluation import (
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
from tabpipe.repositories.reports import check_writable, write_json, write_text
from tabpipe.services.params.checks import check_against_schema
from tabpipe.services.reporting.gate_tables import gates_markdown
from tabpipe.services.stages.training_run import log_training_run
from tabpipe.utils.project import project_root

# The measuring (scikit-learn, about a second with SciPy) is imported where it is
# called, so the stage says what it reads before it pays for it.
if TYPE_CHECKING:
    from tabpipe.services.analysis.evaluation import Evaluation

# The verdict a training run carries says whose it is: a later evaluation of the same
# model (changed gates) is its own evaluate run, and never rewrites the training run.
FIRST_VERDICT = "gates_passed_at_first_evaluation"
TOP_LOGGED_IMPORTANCES = 20  # MLflow metrics; the artifact and metrics.json hold them all


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


def _plot_tables(
    evaluation: Evaluation, trained: ModelSummary | None, params: Params
) -> dict[str, Any]:
    """The curves DVC plots: the test split's, the explanations', training's, the threshold's."""
    from tabpipe.services.analysis.curves import (  # noqa: PLC0415 - scikit-learn
        curve_tables,
        explanation_tables,
        training_tables,
    )
    from tabpipe.services.analysis.thresholds import threshold_table  # noqa: PLC0415

    report, test = evaluation.report, evaluation.test_predictions
    tables = curve_tables(test, task=params.data.task)
    tables |= explanation_tables(report.importance, evaluation.partial_dependence)
    if trained is not None:
        greater = GREATER_IS_BETTER[params.primary_metric]
        tables |= training_tables(trained, greater_is_better=greater)
    if test.positive_class is not None:
        is_positive = test.y_true.to_numpy() == test.positive_class
        tables["threshold"] = threshold_table(is_positive, test.positive_scores)
    return tables


def run_evaluate(params: Params, root: Path = Path()) -> tuple[MetricsReport, GatesReport]:
    """Score the model file, check the gates, write the reports, log them to a run of their own.

    The first evaluation of a model logs its training run (``training_run.py``: train
    writes files only); it is found by the model file's digest and never reopened: this
    evaluation is a child run of it. The first evaluation of a model also copies the
    split metrics onto the (finished) training run, so that runs compare side by side
    in the MLflow UI; later evaluations (a changed gate, say) never touch it again.
    """
    check_against_schema(params, root)
    outputs = params.paths
    written = (outputs.metrics, outputs.gates, outputs.scores, outputs.gates_summary)
    check_writable(*(root / path for path in (*written, outputs.plots_dir)))
    logger.info("evaluate: {} on the splits of {}", params.paths.model, params.paths.split_dir)
    # The store first: an unreachable tracking server fails here, before the scoring work
    # and before any output is written (exit 8).
    tracking = store.tracking_store(project_root(root))
    store.connect(tracking, params.mlflow.experiment_name)
    from tabpipe.services.analysis.evaluation import evaluate_model  # noqa: PLC0415 - sklearn
    from tabpipe.services.analysis.gates import evaluate_gates  # noqa: PLC0415

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
    trained = _summary_of(root / paths.model_summary, digest)
    tables = _plot_tables(evaluation, trained, params)
    write_record(report, root / paths.metrics)
    write_plots(tables, root / paths.plots_dir)
    write_record(gates, root / paths.gates)
    write_json(root / paths.scores, headline_scores(report, gates))
    write_text(root / paths.gates_summary, gates_markdown(gates))

    if trained is not None:  # a model file with its train-stage record
        log_training_run(params, root, model, splits, trained)
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
            verdict = {FIRST_VERDICT: float(gates.passed)}
            store.add_metrics_to_finished_run(training.run_id, split_metrics | headline | verdict)
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
