"""Batch monitoring: a new batch against the registered champion and its training data.

The same checks as the pipeline, for data the pipeline never saw: the batch is
validated with the dataset schema (labels optional), scored by the champion from
the MLflow registry, compared with the training reference logged in the champion's
run, and, when labels are present, measured against the champion's absolute gates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from loguru import logger

from tabpipe.errors import DriftDetectedError, GateFailedError, TabpipeError, TrackingError
from tabpipe.records.evaluation import GateResult, MetricsReport
from tabpipe.records.monitoring import MonitorSummary
from tabpipe.records.params import GateRule, GatesParams, Params
from tabpipe.repositories import mlflow_store as store
from tabpipe.repositories.datasets import write_record
from tabpipe.services.analysis.gates import evaluate_gates
from tabpipe.services.analysis.metrics import compute_metrics, predict
from tabpipe.services.data.batches import load_batch
from tabpipe.services.data.preparation import labelled_rows
from tabpipe.services.engines.dask_batches import ScannedBatch, scan_batch
from tabpipe.services.reporting.page_headers import tracked_header
from tabpipe.services.stages.drift import (
    measure_drift,
    page_header,
    page_title,
    scorer_for,
    write_drift_outputs,
)
from tabpipe.utils.hashing import frame_sha256
from tabpipe.utils.project import git_state, project_root


@dataclass(frozen=True)
class MonitorOutcome:
    """One monitoring run's summary and the folder its reports were written to."""

    summary: MonitorSummary
    folder: Path


def verdict_error(summary: MonitorSummary) -> TabpipeError | None:
    """What a batch's verdict means for the exit code: quality first, then drift, else None.

    A champion that fails its gates on a labelled batch is a quality collapse (exit 4),
    whether or not the batch drifted too; drift alone exits 5.
    """
    if summary.gates_passed is False:
        return GateFailedError(summary.verdict)
    if not summary.drift.passed:
        return DriftDetectedError(summary.verdict)
    return None


def run_monitor(batch_path: Path, params: Params, root: Path = Path()) -> MonitorOutcome:
    """Check one batch against the champion: read and validate it, measure drift, gate quality.

    Reads the batch, the champion (registry alias, loaded with tabpipe's trusted types)
    and the training data its run kept; computes drift against that data and, for a
    labelled batch, the champion's metrics and its absolute gates; writes Evidently's
    page, drift.json and summary.json under ``paths.monitoring_dir`` and logs a monitoring
    run. The exit decision is :func:`verdict_error`'s.
    """
    data, registry = params.data, params.mlflow
    # pandas: bad data fails before any tracking call. Dask validates on the cluster,
    # where the champion scores each part as it goes, so it needs the champion first.
    batch = None if params.engine == "dask" else load_batch(batch_path, params, root)
    tracking = store.tracking_store(project_root(root))
    store.connect(tracking, registry.experiment_name)
    champion = store.version_by_alias(registry.registered_model_name, registry.champion_alias)
    if champion is None:
        msg = (
            f"no '{registry.champion_alias}' version of model '{registry.registered_model_name}' "
            f"in {tracking.uri}: run `make train` first"
        )
        raise TrackingError(msg)
    model = store.load_version_model(registry.registered_model_name, champion.version)
    task, positive = data.task, data.positive_class
    if batch is None:
        scanned = scan_batch(batch_path, model, params, root)
    else:
        known = labelled_rows(batch, data.target)
        scanned = ScannedBatch(
            sample=batch,
            n_rows=len(batch),
            sha256=frame_sha256(batch),
            predictions=predict(model, known, data.target, task=task, positive_class=positive)
            if len(known)
            else None,
        )
    labelled = scanned.predictions is not None
    n_rows = scanned.n_rows
    logger.info("monitor: {} rows from {}, champion v{}", n_rows, batch_path, champion.version)
    reference = store.load_reference(champion.run_id)
    scorer = scorer_for(model, params, root)
    result = measure_drift(
        reference,
        scanned.sample,
        params.drift,
        reference_name=f"champion v{champion.version} training data",
        current_name=str(batch_path),
        scorer=scorer,
        model_sha256=champion.model_sha256,
    )
    metrics: dict[str, float] = {}
    gates: tuple[GateResult, ...] = ()
    gates_passed: bool | None = None
    if scanned.predictions is not None:
        metrics = compute_metrics(scanned.predictions, task=task)
        absolute = tuple(
            GateRule(metric=rule.metric, min=rule.min, max=rule.max, policy=rule.policy)
            for rule in params.gates.rules
            if rule.min is not None or rule.max is not None
        )
        report = MetricsReport(
            model_sha256=champion.model_sha256 or "unknown", test_sha256=scanned.sha256,
            task=task, primary_metric=params.primary_metric, test=metrics, baseline={},
            uplift={}, train={}, val={},
        )  # fmt: skip
        # No bootstrap here: a batch's gates are estimates, and say so under an evidence policy.
        verdict = evaluate_gates(GatesParams(policy=params.gates.policy, rules=absolute), report)
        # A metric a batch cannot support (ROC AUC on one class, a normal day of
        # traffic) says nothing about the model: that gate is skipped, not failed.
        gates = tuple(
            gate.model_copy(
                update={"passed": None, "note": f"not computable on this batch ({n_rows} rows)"}
            )
            if gate.value is None
            else gate
            for gate in verdict.gates
        )
        gates_passed = all(gate.passed is not False for gate in gates)
    line = result.report.verdict()
    if gates_passed is not None:
        line += f"; champion gates {'still pass' if gates_passed else 'FAIL'} on this batch"
    summary = MonitorSummary(
        batch=str(batch_path),
        n_rows=n_rows,
        labelled=labelled,
        model_name=registry.registered_model_name,
        champion_version=champion.version,
        drift=result.report,
        metrics=metrics,
        gates=gates,
        gates_passed=gates_passed,
        verdict=line,
    )
    stamp = datetime.now(tz=UTC).strftime("%Y-%m-%dT%H%M%SZ")
    folder = root / params.paths.monitoring_dir / f"{stamp}-{batch_path.stem}"
    run_id = store.start_monitoring_run(
        f"{registry.experiment_name}-monitoring",
        tracking,
        {
            "model.name": registry.registered_model_name,
            "model.version": champion.version,
            "model.run_id": champion.run_id,
            store.MODEL_SHA_TAG: champion.model_sha256 or "",
            "batch": str(batch_path),
        },
    )
    try:
        html, _ = write_drift_outputs(
            result,
            folder,
            title=page_title(result.report, params.data.name),
            header=tracked_header(
                page_header(result.report, params.data.name)
                | {"Champion": f"{registry.registered_model_name} v{champion.version}"},
                run_id=run_id,
                stage=f"monitor, experiment {registry.experiment_name}-monitoring",
                training_run_id=champion.run_id,
                git=git_state(project_root(root)),
            ),
        )
        write_record(summary, folder / "summary.json")
        store.log_metrics({"drift_share": result.report.drifted_share, "n_rows": float(n_rows)})
        store.log_metrics(metrics, prefix="batch_")
        store.log_artifact(html, folder="monitoring")
        store.log_artifact(folder / "summary.json", folder="monitoring")
    finally:
        store.end_run()
    return MonitorOutcome(summary=summary, folder=folder)
